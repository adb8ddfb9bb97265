import pytest
import torch

from gail_pipeline.pipelines.common import device_setting
from gail_pipeline.rl.device import resolve_device
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
