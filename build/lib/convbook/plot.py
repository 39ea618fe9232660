"""Figures: image grids and training curves, shown inline in notebooks."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from torch import Tensor

__all__ = ["show_figure", "show_images"]


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def show_figure(fig: Figure) -> None:
    """Display ``fig`` once in a notebook, then close it.

    Closing keeps the inline backend from showing it a second time; outside a notebook it
    means no window and no "non-interactive backend" warning on stderr. Nothing is
    returned, so a cell ending in a plotting call does not display the figure again.
    """
    if _in_notebook():
        from IPython.display import display

        display(fig)
    plt.close(fig)


def show_images(
    images: Tensor | np.ndarray,
    num_rows: int,
    num_cols: int,
    titles: list[str] | None = None,
    scale: float = 1.5,
) -> None:
    """Plot a grid of grayscale images (d2l's ``show_images``, section 4.2).

    Args:
        images: shape (N, H, W), N <= num_rows * num_cols.
        titles: one per image, or None.

    Raises:
        ValueError: if the grid cannot hold the images or titles don't match them.
    """
    if len(images) > num_rows * num_cols:
        raise ValueError(f"{len(images)} images do not fit a {num_rows}x{num_cols} grid")
    if titles is not None and len(titles) < len(images):
        raise ValueError(f"{len(titles)} titles for {len(images)} images")
    fig, axes = plt.subplots(num_rows, num_cols, figsize=(num_cols * scale, num_rows * scale))
    axes = np.atleast_1d(axes).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= len(images):
            continue
        img = images[i]
        img = img.detach().cpu().numpy() if isinstance(img, Tensor) else np.asarray(img)
        ax.imshow(img, cmap="gray")
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    show_figure(fig)
