"""Figures drawn from the code they explain, so they cannot disagree with it.

* window diagrams (sections 7.2-7.5): input, kernel and output grids whose numbers the
  book's own ``corr2d``, ``pool2d`` and ``F.conv2d`` computed (:mod:`.windows`);
* architecture diagrams (sections 7.6-8.6): a network's stages or a block's branches, each
  with the output shape a forward hook saw on a sample input (:mod:`.networks`).

Each function returns a :class:`Diagram`, which a notebook shows as a picture when it is a
cell's last expression; its ``data`` holds what was drawn, for tests to read back.
"""

from convbook.diagrams.base import Diagram
from convbook.diagrams.networks import (
    BlockTrace,
    NetworkTrace,
    Stage,
    describe,
    draw,
    trace_block,
    trace_network,
)
from convbook.diagrams.windows import WorkedSum, correlation_diagram, pooling_diagram

__all__ = [
    "BlockTrace",
    "Diagram",
    "NetworkTrace",
    "Stage",
    "WorkedSum",
    "correlation_diagram",
    "describe",
    "draw",
    "pooling_diagram",
    "trace_block",
    "trace_network",
]
