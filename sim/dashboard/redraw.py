"""Figures redrawn in place: the still parts (axes, ticks, legends, titles) drawn once into
a background, pasted before each redraw, and the artists that move with the data drawn
over it.

Text and layout are most of the cost of drawing a figure; a redraw that pastes the
background draws only lines, markers and images. A figure whose range or key changes is
marked stale and drawn in full once more.

    class Plots(InPlace):
        ...
        line = self.move("shares", ax.plot([], [])[0])   # drawn over the background
        self.set_ylim("shares", ax, 0, 2)                 # the background drawn again
        png = self.png("shares")
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from sim.plots.style import PNG_COMPRESSION

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PLOT_DPI = 72  # screen resolution: a smaller PNG each redraw keeps the page responsive


class InPlace:
    """Named figures, each with a background and the artists that move.

    Args:
        names: the figures' names; the subclass fills ``figures`` with them.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.figures: dict[str, Figure] = {}
        self.backgrounds_drawn = 0  # full drawings (the first, and after a range changed)
        self.moving: dict[str, list] = {name: [] for name in names}
        self.stale: set[str] = set(self.moving)  # backgrounds to be drawn again
        self.backgrounds: dict[str, Any] = {}

    def png(self, name: str) -> bytes:
        """The figure ``name`` as PNG bytes: its background drawn again if stale, else
        pasted, and its moving artists drawn over it."""
        figure = self.figures[name]
        canvas = figure.canvas
        if name in self.stale:
            first = name not in self.backgrounds
            canvas.draw()  # everything but the moving artists (they are animated)
            if first:
                # The axes and legends are made: the first layout holds from now on,
                # which the subclass ensures by fixing its x ranges from the start.
                figure.set_layout_engine("none")
            self.backgrounds[name] = canvas.copy_from_bbox(figure.bbox)
            self.stale.discard(name)
            self.backgrounds_drawn += 1
        else:
            canvas.restore_region(self.backgrounds[name])
        for artist in sorted(self.moving[name], key=lambda artist: artist.get_zorder()):
            figure.draw_artist(artist)
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(canvas.buffer_rgba())).save(
            buffer, format="png", compress_level=PNG_COMPRESSION
        )
        return buffer.getvalue()

    def move(self, name: str, artist):
        """Register an artist that moves with the data (drawn over the background)."""
        artist.set_animated(True)
        self.moving[name].append(artist)
        return artist

    def set_ylim(self, name: str, ax, low: float, high: float) -> None:
        """A new y range for ``ax``: the figure's background is drawn again."""
        if (low, high) != tuple(ax.get_ylim()):
            ax.set_ylim(low, high)
            self.stale.add(name)
