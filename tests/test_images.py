"""convbook.images: the photographs of sections 7.2-7.5, as float tensors in [0, 1]."""

import sys

import pytest
import torch

from convbook.extras import MissingExtraError
from convbook.images import astronaut, camera


def test_camera_is_a_512_square_grayscale_image_in_unit_range():
    image = camera()
    assert image.shape == (512, 512) and image.dtype == torch.float32
    assert 0 <= image.min() < 0.1 and 0.9 < image.max() <= 1


def test_astronaut_puts_the_three_colour_channels_first():
    from skimage import data

    image = astronaut()
    assert image.shape == (3, 512, 512)
    expected = torch.from_numpy(data.astronaut()).float() / 255  # (H, W, 3)
    torch.testing.assert_close(image, expected.permute(2, 0, 1))


def test_without_scikit_image_the_error_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage", None)
    monkeypatch.setitem(sys.modules, "skimage.data", None)
    with pytest.raises(MissingExtraError, match=r'pip install "convbook\[book\]"'):
        camera()
