import pytest
import torch

from convbook.device import cpu, num_gpus, try_all_gpus, try_gpu


def test_try_gpu_falls_back_to_cpu_when_no_accelerator(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert num_gpus() == 0
    assert try_gpu() == cpu()
    assert try_all_gpus() == [cpu()]


def test_try_gpu_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert try_gpu(1) == torch.device("cuda:1")
    assert try_gpu(2) == cpu()  # asked for a third GPU: falls back like d2l
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert num_gpus() == 1
    assert try_gpu() == torch.device("mps")


def test_try_gpu_rejects_negative_index():
    with pytest.raises(ValueError, match="-1"):
        try_gpu(-1)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_try_gpu_returns_a_usable_cuda_device():
    x = torch.ones(2, device=try_gpu())
    assert x.device.type == "cuda"
