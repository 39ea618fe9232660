"""Photographs for the convolution chapters (sections 7.2-7.5).

They come from scikit-image's bundled test images, so they work offline. scikit-image is
in the ``book`` extra: ``pip install "convbook[book]"``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from convbook.extras import require

__all__ = ["astronaut", "camera"]


def _skimage_data():
    return require("skimage.data", "the photographs of sections 7.2-7.5")


def camera() -> Tensor:
    """The grayscale "cameraman" photograph, shape (512, 512), values in [0, 1]."""
    return torch.from_numpy(_skimage_data().camera()).float() / 255


def astronaut() -> Tensor:
    """The colour "astronaut" photograph, shape (3, 512, 512) (RGB first), values in [0, 1]."""
    pixels = torch.from_numpy(_skimage_data().astronaut())  # (512, 512, 3), uint8
    return pixels.permute(2, 0, 1).float() / 255
