"""The figure's ink: which way round its text and frame are drawn.

Matplotlib's default style draws black text and a black frame on a white page;
``plt.style.use('dark_background')`` draws them white on black.  The readers of the
frame, the tick labels and the colour bar's ticks look for dark ink on a light page,
so the polarity is decided once, from the page's margins, and handed on as an
:class:`Ink` record: readers of text and lines see :meth:`Ink.view` of the pixels,
while the plot's own colours (for the colormap) are always read as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: a page whose margins are darker than this (luma, 0..255) carries light ink
DARK_PAGE = 96.0


@dataclass(frozen=True)
class Ink:
    """How a figure's text and lines are drawn.

    Attributes
    ----------
    light : bool
        True when the ink is light on a dark page (``dark_background``): the
        readers see the picture inverted.
    page : (int, int, int)
        The page's colour, as found in its margins.
    """

    light: bool = False
    page: tuple[int, int, int] = (255, 255, 255)

    def view(self, rgba: np.ndarray) -> np.ndarray:
        """``rgba`` as the text and line readers expect it: dark ink on a light page."""
        if not self.light:
            return rgba
        out = rgba.copy()
        out[..., :3] = 255 - out[..., :3]
        return out

    def colours(self, rgb: np.ndarray) -> np.ndarray:
        """Undo :meth:`view` on colours read from a viewed picture (a colour bar's)."""
        return 255.0 - rgb if self.light else rgb


def page_ink(rgba: np.ndarray) -> Ink:
    """Decide the :class:`Ink` of a figure from the pixels of its outermost ring."""
    if rgba.ndim != 3 or min(rgba.shape[:2]) < 2:
        return Ink()
    return ring_ink(np.concatenate([rgba[0], rgba[-1], rgba[:, 0], rgba[:, -1]]))


def ring_ink(ring: np.ndarray) -> Ink:
    """Decide the :class:`Ink` from the page's margin pixels, ``(n, 4)`` RGBA uint8."""
    ring = ring.reshape(-1, ring.shape[-1])
    ring = ring[ring[:, 3] >= 128][:, :3] if ring.shape[1] == 4 else ring[:, :3]
    if not len(ring):
        return Ink()
    page = np.median(ring.astype(np.float64), axis=0)
    luma = float(page @ np.array([0.299, 0.587, 0.114]))
    colour = tuple(int(round(v)) for v in page)
    return Ink(light=luma < DARK_PAGE, page=colour)  # type: ignore[arg-type]
