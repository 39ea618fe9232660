"""Shared fixtures. Tests run on the CPU with a fixed budget and no progress bars."""

import os
from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _quiet_and_small(monkeypatch):
    monkeypatch.setenv("CONVBOOK_PROGRESS", "0")
    monkeypatch.setenv("CONVBOOK_BUDGET", os.environ.get("CONVBOOK_BUDGET", "smoke"))


@pytest.fixture
def sample_dir() -> Path:
    """The genuine offline Fashion-MNIST sample, named by CONVBOOK_DATA_DIR in CI."""
    folder = Path(os.environ.get("CONVBOOK_DATA_DIR", "/nonexistent"))
    if not (folder / "test-0000-1999.npz").is_file():
        reason = "set CONVBOOK_DATA_DIR to the offline Fashion-MNIST sample (make test does)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI must test the real data path, never skip it
        pytest.skip(reason)
    return folder


def _sgd_losses(model, x, y, steps: int) -> list[float]:
    """Training-mode loss at each of ``steps`` SGD steps on one fixed batch."""
    with torch.no_grad():
        model(x)  # materialise lazy layers before the optimizer sees them
    optimizer = model.configure_optimizers()
    losses = []
    for _ in range(steps):
        loss = model.loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _loss_before_after_sgd(model, size: int, steps: int = 3) -> tuple[float, float]:
    """Eval-mode loss on one fixed batch before and after ``steps`` SGD steps on it
    (eval mode, so dropout does not blur the comparison)."""
    x = torch.rand(8, 1, size, size, generator=torch.Generator().manual_seed(1))
    y = torch.arange(8)
    model.eval()
    with torch.no_grad():
        before = model.loss(model(x), y).item()
    model.train()
    _sgd_losses(model, x, y, steps)
    model.eval()
    with torch.no_grad():
        after = model.loss(model(x), y).item()
    return before, after


@pytest.fixture
def sgd_losses():
    """``sgd_losses(model, x, y, steps)``: the training loss at each SGD step."""
    return _sgd_losses


@pytest.fixture
def loss_before_after_sgd():
    """``f(model, size, steps=3)``: eval-mode loss on a fixed batch before and after SGD."""
    return _loss_before_after_sgd
