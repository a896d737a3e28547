"""The typed records of the editor: regions, edits, the grid they are checked against,
and what an edit changes.

Pixels are the image's own 16-bit values ``(channels, rows, frames)`` (row 0 the
lowest frequency), the very values an export writes.  Every record here is made by
:mod:`.validate` from untrusted JSON (bounds checked) or by the session, and read by
the appliers of :mod:`.appliers`; :data:`spec2img.edit.ops.OPS` ties each edit's record
to both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .select import Shape

#: Gains the editor accepts, dB (a boost is limited by the image's headroom anyway).
MAX_GAIN_DB = 120.0
#: Points of one brush stroke.
MAX_POINTS = 20_000
#: Cells one edit may touch (about 10 minutes of stereo at n_fft 2048).
MAX_EDIT_CELLS = 2**27
#: Cells one brush stroke may paint, counted dab by dab (dabs x the ellipse's box x
#: channels): the work of a stroke, which overlapping dabs multiply (about 1 s of work).
MAX_BRUSH_CELLS = 2**26
#: Columns of context on each side that :func:`heal_patch` reads at most.
HEAL_CONTEXT = 16
#: How far (dB) one side of a heal may stand above the other: beyond it, the louder side
#: is a neighbouring sound (a word's tail), not the background to fill with.
HEAL_STEP_DB = 6.0


@dataclass(frozen=True)
class Region:
    """Cells ``[t0, t1) x [r0, r1)`` of some channels (frames, rows; row 0 lowest)."""

    channels: tuple[int, ...]
    t0: int
    t1: int
    r0: int
    r1: int

    @property
    def cells(self) -> int:
        return len(self.channels) * (self.t1 - self.t0) * (self.r1 - self.r0)


@dataclass(frozen=True)
class Erase:
    """Silence the selection (fading by its feather)."""

    shape: Shape


@dataclass(frozen=True)
class Gain:
    """Add ``gain_db`` to every non-silent cell of the selection."""

    shape: Shape
    gain_db: float


@dataclass(frozen=True)
class Heal:
    """Replace the selection by a dB interpolation between its neighbours in time."""

    shape: Shape


@dataclass(frozen=True)
class Brush:
    """A stroke through ``points`` ``(frame, row)``, an ellipse of ``radius``
    ``(frames, rows)`` at each, adding up to ``gain_db`` where it paints.

    ``softness`` in [0, 1]: 0 is a hard edge, 1 fades from the centre to the rim.
    """

    channels: tuple[int, ...]
    points: tuple[tuple[float, float], ...]
    radius: tuple[float, float]
    gain_db: float
    softness: float


@dataclass(frozen=True)
class Paint:
    """New sound along a stroke: a tone (the stroke's frequency, and ``harmonics``
    overtones ``falloff_db`` quieter each) or noise over the brush's area, ``level_db``
    below the image's top, added to what is there."""

    channels: tuple[int, ...]
    points: tuple[tuple[float, float], ...]
    radius: tuple[float, float]
    level_db: float
    softness: float
    harmonics: int
    falloff_db: float
    mode: str
    seed: int


@dataclass(frozen=True)
class Cut:
    """Erase the selection after copying it to the clipboard."""

    shape: Shape


@dataclass(frozen=True)
class Paste:
    """The clipboard's cells placed from frame ``frame`` on, frequencies times ``ratio``
    (1: the same frequencies), over ``channels`` (default: the ones copied).

    ``source`` says where the cells come from, so that a replay never depends on a
    clipboard in memory: :class:`Copied` (a selection of an earlier state of the same
    edit list) or :class:`Held` (the cells themselves).  A request from the page has
    none; the session binds it to its clipboard's source when it applies it.
    """

    frame: int
    ratio: float
    channels: tuple[int, ...] | None
    source: Copied | Held | None = None


@dataclass(frozen=True)
class Copied:
    """A paste's cells: the selection ``shape`` of the state after the first ``at``
    edits of the list the paste belongs to (the edits in effect when it was copied)."""

    at: int
    shape: Shape


@dataclass(frozen=True, eq=False)
class Held:
    """A paste's cells carried whole: copied from a state that the list does not pass
    through (an edit in effect then was undone before the paste)."""

    clip: Clip

    def __eq__(self, other) -> bool:
        if not isinstance(other, Held):
            return NotImplemented
        a, b = self.clip, other.clip
        return a is b or (
            (a.channels, a.t0, a.t1, a.r0, a.r1, a.b0, a.b1)
            == (b.channels, b.t0, b.t1, b.r0, b.r1, b.b0, b.b1)
            and all(np.array_equal(x, y) for x, y in
                    ((a.pixels, b.pixels), (a.mask, b.mask), (a.phase, b.phase)))
        )  # fmt: skip

    def __hash__(self) -> int:
        return hash((self.clip.channels, self.clip.t0, self.clip.r0, self.clip.b0))


@dataclass(frozen=True)
class Move:
    """The selection's cells moved ``by`` frames later and ``ratio`` times higher
    (``keep``: copied there, the original left in place)."""

    shape: Shape
    by: int
    ratio: float
    keep: bool = False


@dataclass(frozen=True)
class Picture:
    """A PNG or JPEG painted into a rectangle: brightness as level (white ``level_db``
    below the top, black silent, ``range_db`` between)."""

    region: Region
    data: bytes
    level_db: float
    range_db: float


Edit = Erase | Gain | Heal | Brush | Paint | Cut | Paste | Move | Picture


@dataclass(frozen=True)
class Grid:
    """What validation needs to know about the spectrogram."""

    channels: int
    rows: int
    frames: int
    #: Seconds per frame and the time of frame 0 (0 for centred frames).
    frame_seconds: float
    frame_offset: float
    #: Centre frequency of each row, Hz, increasing.
    row_hz: tuple[float, ...]
    #: Linear STFT bins (``n_fft // 2 + 1``; 0: as many as rows).
    bins: int = 0


@dataclass
class Applied:
    """What an edit changes: the new pixels of ``region``; the new phase of bins
    ``[b0, b1)`` over its frames (radians, one block per channel), when the edit chose
    it; whether hearing it needs phase iterations (True), never does (False: the phase
    was chosen with the magnitude), or only when the session's phase is an estimate
    (None); and the clipboard it fills (cut)."""

    region: Region
    pixels: np.ndarray
    phase: tuple[int, int, np.ndarray] | None = None
    iterate: bool | None = None
    clip: Clip | None = None


@dataclass
class Clip:
    """Copied cells: pixels ``(channels, rows, frames)`` of rectangle ``t0, t1, r0, r1``,
    the selection's ``mask`` over it, and the phase of bins ``[b0, b1)`` there."""

    channels: tuple[int, ...]
    t0: int
    t1: int
    r0: int
    r1: int
    pixels: np.ndarray
    mask: np.ndarray
    b0: int
    b1: int
    phase: np.ndarray
