"""matplotlib as it ships, for what spec2img draws to compare a figure against.

The glyph templates and the drawn noise of the range rulers must look as matplotlib
draws by default, whatever style the caller's session has set: under
``plt.style.use('dark_background')`` a new figure's face is black, and every template
drawn in black on it would be blank.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def shipped_style() -> Iterator[None]:
    """Draw inside this block with matplotlib's own defaults (``style 'default'``)."""
    import matplotlib.style

    with matplotlib.style.context("default"):
        yield
