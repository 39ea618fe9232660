"""Devices: use a GPU when there is one, else the CPU (section 6.7 of d2l)."""

import torch

__all__ = ["cpu", "gpu", "num_gpus", "try_gpu", "try_all_gpus"]


def cpu() -> torch.device:
    """The CPU device."""
    return torch.device("cpu")


def _has_mps() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def num_gpus() -> int:
    """Number of usable accelerators: CUDA devices, else 1 for Apple's MPS, else 0."""
    if torch.cuda.is_available():
        return torch.cuda.device_count()
    return 1 if _has_mps() else 0


def gpu(i: int = 0) -> torch.device:
    """The ``i``-th accelerator (CUDA first, then MPS), without checking that it exists."""
    if torch.cuda.is_available() or not _has_mps():
        return torch.device(f"cuda:{i}")
    return torch.device("mps")


def try_gpu(i: int = 0) -> torch.device:
    """The ``i``-th accelerator if it exists, else the CPU.

    Unlike d2l, which knows only CUDA, Apple-silicon Macs get their MPS device.

    Raises:
        ValueError: if ``i`` is negative.
    """
    if i < 0:
        raise ValueError(f"GPU index must be >= 0, got {i}")
    if i < num_gpus():
        return gpu(i)
    return cpu()


def try_all_gpus() -> list[torch.device]:
    """Every accelerator, or ``[cpu()]`` when there is none."""
    return [gpu(i) for i in range(num_gpus())] or [cpu()]
