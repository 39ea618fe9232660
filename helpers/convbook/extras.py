"""Optional dependencies: which extra of ``convbook`` brings which package.

The core install (``pip install convbook``) holds what the helpers need to train and test
models. A chapter that needs more names it through :func:`require`, so a reader without
the package gets one line saying what to install instead of a traceback deep in a cell.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRAS", "MissingExtraError", "require"]

# import name -> (distribution on PyPI, the convbook extra that installs it)
EXTRAS: dict[str, tuple[str, str]] = {
    "skimage": ("scikit-image", "book"),
    "nbgrader": ("nbgrader", "grading"),
    "nbclient": ("nbclient", "grading"),
    "nbformat": ("nbformat", "grading"),
    "distributed": ("distributed", "cluster"),
}


class MissingExtraError(ModuleNotFoundError):
    """An optional package is not installed; the message says which extra provides it."""


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` (for example ``"skimage.data"``), or say how to install it.

    Args:
        module: dotted module name; its top-level package must be listed in ``EXTRAS``.
        purpose: what it is needed for, shown in the error ("the photographs of 7.2-7.5").

    Returns:
        The imported module.

    Raises:
        MissingExtraError: the package is not installed. The message names the
            package and the ``pip install "convbook[extra]"`` command that provides it.
        KeyError: ``module`` does not belong to a known extra (a bug in convbook).
    """
    top = module.split(".")[0]
    package, extra = EXTRAS[top]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != top:
            raise  # the package is there but one of *its* dependencies is missing
        raise MissingExtraError(
            f"{purpose} needs the package {package!r}, which is not installed. "
            f'Install it with: pip install "convbook[{extra}]"',
            name=top,
        ) from exc
