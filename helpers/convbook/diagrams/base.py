"""What every diagram of the book is: a figure and the data it was drawn from."""

import io
from dataclasses import dataclass

from matplotlib.figure import Figure

__all__ = ["Diagram"]


@dataclass
class Diagram:
    """A figure and the data it was drawn from.

    Attributes:
        figure: the matplotlib figure (not registered with pyplot, so it is shown once).
        data: what the figure shows, for tests: grids, worked sums or traced shapes.
        description: one line, shown as the diagram's text form.
    """

    figure: Figure
    data: dict
    description: str

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return buffer.getvalue()

    def __repr__(self) -> str:
        return f"<{self.description}>"

    def texts(self) -> list[str]:
        """Every string drawn in the figure (titles, numbers, labels)."""
        return [t.get_text() for ax in self.figure.axes for t in ax.texts + [ax.title]]
