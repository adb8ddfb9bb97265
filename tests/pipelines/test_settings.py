"""The sampler settings every training node reads: checked, with errors that name the key."""

import pytest

from gail_pipeline.pipelines.common import (
    num_envs_setting,
    sampler_settings,
    update_threads_setting,
)
from gail_pipeline.tasks import ConfigError


def test_num_envs_auto_is_one_full_length_episode_per_env():
    assert num_envs_setting("auto", 5000, 200, "imitation.num_envs") == 25
    assert num_envs_setting("auto", 50_000, 1000, "imitation.num_envs") == 50
    assert num_envs_setting("auto", 50_000, 50, "imitation.num_envs") == 64  # capped
    assert num_envs_setting("auto", 100, 1000, "imitation.num_envs") == 1
    assert num_envs_setting(3, 5000, 200, "imitation.num_envs") == 3
    for bad in (0, -2, 2.5, True, "many"):
        with pytest.raises(ConfigError, match="imitation.num_envs: expected a positive integer or 'auto'"):
            num_envs_setting(bad, 5000, 200, "imitation.num_envs")


def test_sampler_settings_are_checked():
    assert sampler_settings({}, "imitation") == {"sampler_backend": "auto", "num_workers": None}
    assert sampler_settings({"sampler": {"backend": "workers", "num_workers": 2}}, "expert") == {
        "sampler_backend": "workers",
        "num_workers": 2,
    }
    with pytest.raises(ConfigError, match="imitation.sampler.backend: expected one of auto, inprocess"):
        sampler_settings({"sampler": {"backend": "threads"}}, "imitation")
    with pytest.raises(ConfigError, match="expert.sampler.num_workers: expected a positive integer"):
        sampler_settings({"sampler": {"num_workers": 0}}, "expert")
    with pytest.raises(ConfigError, match=r"imitation.sampler: unknown setting\(s\) \['workers'\]"):
        sampler_settings({"sampler": {"workers": 2}}, "imitation")


def test_update_threads_setting():
    assert update_threads_setting({}, "imitation") is None  # auto
    assert update_threads_setting({"update_threads": "auto"}, "expert") is None
    assert update_threads_setting({"update_threads": 3}, "expert") == 3
    for bad in (0, -1, 1.5, True, "all"):
        with pytest.raises(
            ConfigError, match="imitation.update_threads: expected a positive integer or 'auto'"
        ):
            update_threads_setting({"update_threads": bad}, "imitation")
