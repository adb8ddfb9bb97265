import multiprocessing as mp
import subprocess
import sys

import pytest
import torch

from gail_pipeline.experts import ExpertSettings
from gail_pipeline.imitation import ImitationSettings
from gail_pipeline.rl import device
from gail_pipeline.rl.device import (
    auto_update_threads,
    available_cpus,
    other_runnable_tasks,
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
    with pytest.raises(
        ConfigError, match="imitation.device: 'cuda' asked for, but torch sees no CUDA device"
    ):
        ImitationSettings.parse({"device": "cuda"}).torch_device("imitation")


@pytest.mark.parametrize("bad", ["tpu", "gpu", 3, "cuda:x"])
def test_unknown_devices_are_refused(bad):
    with pytest.raises(ConfigError, match="expert.device: expected auto, cpu, cuda or cuda:N"):
        ExpertSettings.parse({"device": bad}).torch_device("expert")


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


def test_auto_update_threads_warns_once_when_other_tasks_are_runnable(monkeypatch, caplog):
    monkeypatch.delenv("GAIL_PIPELINE_TORCH_THREADS")
    monkeypatch.setattr(device, "available_cpus", lambda: 2)
    monkeypatch.setattr(device, "_warned_busy", False)
    monkeypatch.setattr(device, "other_runnable_tasks", lambda: 0)
    with caplog.at_level("WARNING", logger=device.__name__):
        assert auto_update_threads(stepping_processes=1) == 2
    assert not caplog.records  # a machine of its own: two threads, no word
    monkeypatch.setattr(device, "other_runnable_tasks", lambda: 2)
    with caplog.at_level("WARNING", logger=device.__name__):
        assert auto_update_threads(stepping_processes=1) == 2  # the rule itself is unchanged
        assert auto_update_threads(stepping_processes=1) == 2
    assert len(caplog.records) == 1
    assert "2 other runnable tasks on 2 CPUs" in caplog.text
    assert "GAIL_PIPELINE_TORCH_THREADS=1" in caplog.text


def test_other_runnable_tasks_reads_the_kernels_count_less_the_reader(tmp_path):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("2.31 1.90 1.20 3/412 98765\n")
    assert other_runnable_tasks(str(loadavg), samples=2) == 2
    loadavg.write_text("0.02 0.10 0.30 1/380 98765\n")
    assert other_runnable_tasks(str(loadavg), samples=1) == 0
    assert other_runnable_tasks(str(tmp_path / "missing"), samples=1) is None
    loadavg.write_text("not the kernel's format\n")
    assert other_runnable_tasks(str(loadavg), samples=1) is None


_FAULTS_SCRIPT = """
import resource, sys, torch
torch.set_num_threads(1)
from gail_pipeline.rl.device import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else None
def faults_of_an_update():  # 16 blocks of 10 MB alive at once, then freed, like an update's
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    blocks = [torch.ones(2_500_000) for _ in range(16)]
    del blocks
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
faults_of_an_update()
print(kept, keep_freed_memory() if kept else None, faults_of_an_update() + faults_of_an_update())
"""


def _page_faults_of_two_updates(mode: str) -> tuple[str, str, int]:
    out = subprocess.run(
        [sys.executable, "-c", _FAULTS_SCRIPT, mode], capture_output=True, text=True, check=True
    )
    kept, again, faults = out.stdout.split()
    return kept, again, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_freed_memory_lets_the_next_update_reuse_the_pages(monkeypatch):
    # Each run in a fresh process. The allocator's own adaptation returns some of the freed
    # 160 MB to the kernel, so the next "update" takes fresh pages (a page fault per 4 KiB);
    # with keep_freed_memory it reuses them.
    monkeypatch.delenv("GAIL_PIPELINE_KEEP_FREED_MEMORY", raising=False)
    kept, again, faults_kept = _page_faults_of_two_updates("keep")
    assert kept == again == "True"
    _, _, faults_default = _page_faults_of_two_updates("default")
    assert faults_default > 20_000  # 160 MB is 39,000 pages
    assert faults_kept < faults_default / 2


def test_keep_freed_memory_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("GAIL_PIPELINE_KEEP_FREED_MEMORY", "0")
    monkeypatch.setattr(device, "_kept", None)
    assert device.keep_freed_memory() is False
