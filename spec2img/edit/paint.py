"""New sound for the spectrogram: painted tones and noise, pictures, with chosen phases.

Painting adds complex STFT cells ``A e^{i phi}`` to what is there.  The phase decides
what is heard:

- **tone**: a sinusoid of frequency ``f`` analysed by the STFT gives, in the bins ``k``
  of its window's main lobe, the phase ``omega c_t - pi k`` (``omega = 2 pi f / sr``,
  ``c_t`` the sample at the centre of frame ``t``; the ``- pi k`` is the DFT of a frame
  whose centre is ``n_fft / 2`` samples in).  A tone stroke therefore paints, per
  frame, the window's main lobe around the stroke's frequency, with the phase of a
  sinusoid whose phase advances by ``2 pi f hop / sr`` per frame (integrated along a
  glide): a horizontal line is heard as a steady sine, and harmonics at 2, 3, ...
  times the frequency keep their phase locked to it;
- **noise**: the brush's whole area with random phases;
- **picture**: each row a steady sine at its bin's centre frequency (a random start
  phase per row, so the rows do not add up to a click train), as Coagula does.

Everything is pure NumPy over the bounded box the stroke touches.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

#: Overtones a stroke may carry.
MAX_HARMONICS = 16
#: Cells (bins x frames) one stroke or picture may synthesise: 128 MB of complex cells.
MAX_PAINT_CELLS = 2**23


@dataclass
class Canvas:
    """What an operation reads: the pixels, the phase and the grid's facts."""

    px: np.ndarray  # (channels, rows, frames) uint16, row 0 lowest
    phase_q: np.ndarray | None  # (channels, bins, frames) uint16, 2 pi / 65536 steps
    db_min: float
    db_max: float
    #: The image's top, dB (the session adds headroom above it); paint levels hang from it.
    top_db: float
    row_hz: np.ndarray
    sample_rate: int
    n_fft: int
    hop_length: int
    center: bool
    window: np.ndarray  # the analysis window, n_fft samples
    basis: np.ndarray | None  # mel basis (rows, bins) or None for linear rows
    clip: object = None  # the clipboard (ops.Clip) a paste reads

    @property
    def db_step(self) -> float:
        return (self.db_max - self.db_min) / 65535

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    def frame_centre(self, t: np.ndarray) -> np.ndarray:
        """The sample at the centre of frame ``t`` (float64)."""
        off = 0.0 if self.center else self.n_fft / 2
        return np.asarray(t, np.float64) * self.hop_length + off

    def row_of_hz(self, hz: np.ndarray) -> np.ndarray:
        """Fractional row of each frequency (clamped to the rows)."""
        return np.interp(hz, self.row_hz, np.arange(self.row_hz.size, dtype=np.float64))

    def hz_of_row(self, row: np.ndarray) -> np.ndarray:
        return np.interp(row, np.arange(self.row_hz.size, dtype=np.float64), self.row_hz)

    def amplitude(self, level_db) -> np.ndarray:
        """STFT magnitude of a cell ``level_db`` dB below the image's top."""
        return np.power(10.0, (self.top_db - np.asarray(level_db, np.float64)) / 20.0)


@functools.lru_cache(maxsize=8)
def _lobe_table(window_bytes: bytes, n_fft: int, over: int = 64) -> tuple[np.ndarray, float]:
    """The window's spectrum ``|W(delta)| / W(0)`` on a grid of ``1 / over`` bins up to
    its first null (the main lobe): ``(values, half-width in bins)``."""
    w = np.frombuffer(window_bytes, np.float32).astype(np.float64)
    d = np.arange(0, 8 * over + 1) / over
    m = np.arange(w.size)
    W = np.abs(np.exp(-2j * np.pi * np.outer(d, m) / n_fft) @ w)
    W /= W[0]
    rising = np.flatnonzero(np.diff(W) > 0)
    edge = rising[0] if rising.size else len(W) - 1
    return W[: edge + 1], edge / over


def lobe(canvas: Canvas, delta: np.ndarray) -> np.ndarray:
    """The main-lobe weight of bins ``delta`` bins away from a sinusoid (0 outside)."""
    table, half = _lobe_table(canvas.window.astype(np.float32).tobytes(), canvas.n_fft)
    x = np.abs(delta) * 64
    out = np.interp(x, np.arange(table.size), table)
    out[np.abs(delta) >= half] = 0.0
    return out


def densify(points: np.ndarray, rt: float, rr: float) -> np.ndarray:
    """``points`` (``(n, 2)`` frame, row) joined by steps of at most half a radius."""
    if len(points) < 2:
        return points
    seg = np.diff(points, axis=0)
    n = np.maximum(1, np.ceil(np.hypot(seg[:, 0] / rt, seg[:, 1] / rr) * 2)).astype(int)
    n = np.minimum(n, 1000)
    dense = [points[:1]]
    for p, d, k in zip(points[:-1], seg, n, strict=True):
        dense.append(p + d * (np.arange(1, k + 1)[:, None] / k))
    return np.concatenate(dense)


def _profile(dist: np.ndarray, softness: float) -> np.ndarray:
    """Brush weight at normalised distance ``dist`` (1 = the rim)."""
    hard = 1.0 - softness
    if hard >= 1.0:
        return (dist <= 1.0).astype(np.float64)
    m = np.clip((1.0 - dist) / (1.0 - hard), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * m)


def stroke_path(points: np.ndarray, rt: float, softness: float, frames: int):
    """Per frame of the stroke: ``(t0, t1, row, envelope)`` -- the row of the dab
    nearest in time (its centre line) and the brush's weight there; None if it misses."""
    t0 = max(0, math.floor(points[:, 0].min() - rt))
    t1 = min(frames, math.ceil(points[:, 0].max() + rt) + 1)
    if t0 >= t1:
        return None
    env = np.zeros(t1 - t0)
    row = np.full(t1 - t0, np.nan)
    for t, r in points:
        a, b = max(t0, math.floor(t - rt)), min(t1, math.ceil(t + rt) + 1)
        if a >= b:
            continue
        w = _profile(np.abs(np.arange(a, b) - t) / rt, softness)
        view, rv = env[a - t0 : b - t0], row[a - t0 : b - t0]
        better = w > view
        view[better] = w[better]
        rv[better] = r
    if not (env > 0).any():
        return None
    return t0, t1, row, env


def dab_mask(pts, rt, rr, softness, rows, frames, channels=1, *, limit=2**27):
    """Where elliptic dabs of radius ``(rt, rr)`` at ``pts`` ``(frame, row)`` (already
    densified) paint: ``(t0, t1, r0, r1, mask)`` with ``mask`` in [0, 1] over that box
    (overlapping dabs take the maximum), or None if they miss the spectrogram."""
    t0 = max(0, math.floor(pts[:, 0].min() - rt))
    t1 = min(frames, math.ceil(pts[:, 0].max() + rt) + 1)
    r0 = max(0, math.floor(pts[:, 1].min() - rr))
    r1 = min(rows, math.ceil(pts[:, 1].max() + rr) + 1)
    if t0 >= t1 or r0 >= r1:
        return None
    if (t1 - t0) * (r1 - r0) * channels > limit:
        raise ParameterError("the brush stroke covers too many cells")
    mask = np.zeros((r1 - r0, t1 - t0), np.float32)
    for t, r in pts:  # each dab touches only its own bounding box
        a, b = max(t0, math.floor(t - rt)), min(t1, math.ceil(t + rt) + 1)
        c, d = max(r0, math.floor(r - rr)), min(r1, math.ceil(r + rr) + 1)
        if a >= b or c >= d:
            continue
        dt = (np.arange(a, b) - t) / rt
        dr = (np.arange(c, d) - r) / rr
        m = _profile(np.sqrt(dr[:, None] ** 2 + dt[None, :] ** 2), softness)
        view = mask[c - r0 : d - r0, a - t0 : b - t0]
        np.maximum(view, m.astype(np.float32), out=view)
    if not mask.any():
        return None
    return t0, t1, r0, r1, mask


def tone_patch(canvas: Canvas, points, radius, level_db, softness, harmonics, falloff_db):
    """A tone stroke (with overtones) as complex cells: ``(b0, b1, t0, t1, X)`` with
    ``X`` ``(b1 - b0, t1 - t0)`` complex128 over linear STFT bins, or None."""
    rt, rr = radius
    pts = densify(np.asarray(points, np.float64), rt, rr)
    path = stroke_path(pts, rt, softness, canvas.px.shape[-1])
    if path is None:
        return None
    t0, t1, row, env = path
    live = env > 0
    hz = np.where(live, canvas.hz_of_row(np.nan_to_num(row)), 0.0)
    # The phase at each frame's centre, integrated along the stroke (a glide stays smooth).
    c = canvas.frame_centre(np.arange(t0, t1))
    omega = 2 * np.pi * hz / canvas.sample_rate
    phi = np.empty_like(omega)
    phi[0] = omega[0] * c[0]
    phi[1:] = phi[0] + np.cumsum(0.5 * (omega[1:] + omega[:-1]) * np.diff(c))
    bins_hz = canvas.sample_rate / canvas.n_fft
    _, half = _lobe_table(canvas.window.astype(np.float32).tobytes(), canvas.n_fft)
    nyq = canvas.n_bins - 1
    top = min(nyq, int(np.ceil(hz.max() * (harmonics + 1) / bins_hz + half)) + 1)
    b0 = max(0, int(np.floor(hz[live].min() / bins_hz - half)))
    b1 = max(b0 + 1, top + 1)
    if (b1 - b0) * (t1 - t0) > MAX_PAINT_CELLS:
        raise ParameterError("the stroke covers too many cells; paint a shorter one")
    k = np.arange(b0, b1, dtype=np.float64)[:, None]
    X = np.zeros((b1 - b0, t1 - t0), np.complex128)
    for h in range(1, harmonics + 2):
        kh = h * hz / bins_hz  # the overtone's fractional bin per frame
        ok = live & (kh < nyq - half)
        if not ok.any():
            break
        amp = canvas.amplitude(level_db + falloff_db * (h - 1)) * env * ok
        weight = lobe(canvas, k - kh[None, :]) * amp[None, :]
        X += weight * np.exp(1j * (h * phi[None, :] - np.pi * k))
    return b0, b1, t0, t1, X


def noise_patch(canvas: Canvas, points, radius, level_db, softness, harmonics, falloff_db,
                seed: int):  # fmt: skip
    """A noise stroke: the brush's area (and its overtones' areas, the rows scaled by 2,
    3, ... in frequency) with random phases, as :func:`tone_patch` returns it."""
    rt, rr = radius
    pts = densify(np.asarray(points, np.float64), rt, rr)
    rows = canvas.px.shape[1]
    frames = canvas.px.shape[-1]
    found = []
    hz = canvas.hz_of_row(pts[:, 1])
    for h in range(1, harmonics + 2):
        hp = np.column_stack([pts[:, 0], canvas.row_of_hz(hz * h)])
        if h > 1 and (hz * h >= canvas.row_hz[-1]).all():
            break
        m = dab_mask(hp, rt, rr, softness, rows, frames)
        if m is not None:
            found.append((m, canvas.amplitude(level_db + falloff_db * (h - 1))))
    if not found:
        return None
    t0 = min(m[0] for m, _ in found)
    t1 = max(m[1] for m, _ in found)
    r0 = min(m[2] for m, _ in found)
    r1 = max(m[3] for m, _ in found)
    if (t1 - t0) * (r1 - r0) > MAX_PAINT_CELLS:
        raise ParameterError("the stroke covers too many cells; paint a shorter one")
    amp = np.zeros((r1 - r0, t1 - t0))
    for (a, b, c, d, mask), level in found:
        view = amp[c - r0 : d - r0, a - t0 : b - t0]
        np.maximum(view, mask * level, out=view)
    return rows_to_bins(canvas, amp, r0, r1, t0, t1, np.random.default_rng(seed))


def rows_to_bins(canvas: Canvas, amp: np.ndarray, r0, r1, t0, t1, rng, *, phase=None):
    """Amplitudes over image rows ``[r0, r1)`` as complex linear-bin cells with random
    (or ``phase(k, t)``) phases: ``(b0, b1, t0, t1, X)``."""
    if canvas.basis is None:
        b0, b1, mag = r0, r1, amp
    else:  # spread each mel row over the bins its band covers
        band = canvas.basis[r0:r1]
        cols = np.flatnonzero(band.any(axis=0))
        b0, b1 = int(cols[0]), int(cols[-1]) + 1
        w = band[:, b0:b1]
        norm = np.maximum(w.max(axis=0), 1e-12)
        mag = (w / norm).T @ amp / np.maximum((w / norm).sum(axis=0), 1e-12)[:, None]
    if phase is None:
        ph = rng.uniform(-np.pi, np.pi, mag.shape)
    else:
        ph = phase(np.arange(b0, b1)[:, None], np.arange(t0, t1)[None, :])
    return b0, b1, t0, t1, mag * np.exp(1j * ph)


def picture_patch(canvas: Canvas, gray: np.ndarray, region, level_db, range_db, seed):
    """A picture (``gray`` in [0, 1], ``(rows, frames)`` of ``region``, row 0 lowest) as
    complex cells: white ``level_db`` below the top, black silent, ``range_db`` between;
    each row a steady sine at its bin's frequency."""
    db = canvas.top_db - level_db - range_db * (1.0 - gray)
    amp = np.where(gray > 0, np.power(10.0, db / 20.0), 0.0)
    rng = np.random.default_rng(seed)
    start = rng.uniform(-np.pi, np.pi, canvas.n_bins)
    n_fft = canvas.n_fft

    def phase(k, t):
        return 2 * np.pi * k * canvas.frame_centre(t) / n_fft - np.pi * k + start[k]

    return rows_to_bins(canvas, amp, region.r0, region.r1, region.t0, region.t1, rng,
                        phase=phase)  # fmt: skip


MAX_PICTURE_SIDE = 8192
MAX_PICTURE_PIXELS = 2**24


def decode_picture(data: bytes, rows: int, cols: int) -> np.ndarray:
    """A PNG or JPEG (bytes) as brightness in [0, 1] resized to ``(rows, cols)``, row 0
    the picture's bottom.  Its size is checked from the header before it is decoded."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
    except (UnidentifiedImageError, OSError, ValueError):
        raise ParameterError("the picture is not a PNG or JPEG file") from None
    w, h = img.size
    if not (0 < w <= MAX_PICTURE_SIDE and 0 < h <= MAX_PICTURE_SIDE) or w * h > MAX_PICTURE_PIXELS:
        raise ParameterError(f"the picture is {w} x {h} pixels, beyond {MAX_PICTURE_PIXELS}")
    try:
        if img.format == "JPEG":
            img.draft("L", (cols, rows))
        gray = img.convert("L").resize((cols, rows), Image.BILINEAR)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise ParameterError(f"the picture cannot be decoded ({str(e)[:60]})") from None
    return np.asarray(gray, np.float64)[::-1] / 255.0
