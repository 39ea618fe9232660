"""Shared fixtures. Tests run on the CPU with a fixed budget and no progress bars."""

import os
from pathlib import Path

import matplotlib
import pytest

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
