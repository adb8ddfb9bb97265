import multiprocessing as mp

import pytest
import torch

from gail_pipeline.pipelines.common import device_setting
from gail_pipeline.rl.device import (
    auto_update_threads,
    available_cpus,
    resolve_device,
    torch_threads,
)
from gail_pipeline.tasks import ConfigError


def test_auto_and_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(None).type == expected
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_refused_by_name():
    with pytest.raises(ConfigError, match="imitation.device: 'cuda' asked for, but torch sees no CUDA device"):
        device_setting({"device": "cuda"}, "imitation")


@pytest.mark.parametrize("bad", ["tpu", "gpu", 3, "cuda:x"])
def test_unknown_devices_are_refused(bad):
    with pytest.raises(ConfigError, match="expert.device: expected auto, cpu, cuda or cuda:N"):
        device_setting({"device": bad}, "expert")


def test_torch_threads_are_restored_after_the_block():
    before = torch.get_num_threads()
    with torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(before + 2):
        raise RuntimeError("an update failed")
    assert torch.get_num_threads() == before


def _auto_threads_in_child(queue):
    import os

    os.environ.pop("GAIL_PIPELINE_TORCH_THREADS", None)
    queue.put(auto_update_threads(stepping_processes=3))


def test_auto_update_threads_main_process_takes_all_cpus_a_worker_one_per_stepping_process(monkeypatch):
    monkeypatch.setenv("GAIL_PIPELINE_TORCH_THREADS", "3")
    assert auto_update_threads(stepping_processes=1) == 3  # pinned by the environment
    monkeypatch.delenv("GAIL_PIPELINE_TORCH_THREADS")
    assert auto_update_threads(stepping_processes=1) == available_cpus()  # pytest: the main process
    context = mp.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_auto_threads_in_child, args=(queue,))
    child.start()
    assert queue.get(timeout=60) == 3
    child.join()
