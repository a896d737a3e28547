"""The appliers: what each edit record changes on a :class:`~.paint.Canvas`.

Each applier is pure: it reads the canvas (pixels, phase, clipboard) and returns an
:class:`~.records.Applied` (the new pixels of a region, and the phase it chose), never
writing the canvas; the session writes it and keeps the undo.  Pixels are linear in
dB, so a gain is an offset and healing interpolates in dB; pixel 0 is silence.
"""

from __future__ import annotations

import numpy as np

from ..dsp.scale import PIXEL_MAX
from ..errors import ParameterError
from . import paint as _paint
from .paint import Canvas
from .records import (
    HEAL_CONTEXT,
    HEAL_STEP_DB,
    MAX_EDIT_CELLS,
    Applied,
    Brush,
    Clip,
    Cut,
    Erase,
    Gain,
    Move,
    Paint,
    Paste,
    Picture,
    Region,
)
from .select import MAX_MASK_CELLS, Shape, shape_mask
from .validate import _steps


def gain_pixels(patch: np.ndarray, gain, db_step: float) -> np.ndarray:
    """``patch`` (uint16) with ``gain`` dB added (a number or an array broadcasting to it).

    Silent cells stay silent; cells pushed below the floor become silent; boosts stop
    at the top of the range (pixel 65535).
    """
    px = patch.astype(np.float32)
    out = px + np.asarray(gain, np.float32) / np.float32(db_step)
    out = np.where((patch == 0) | (out < 0.5), 0.0, np.minimum(out, PIXEL_MAX))
    return np.rint(out).astype(np.uint16)


def heal_patch(
    block: np.ndarray, t0: int, t1: int, r0: int, r1: int, *, mask=None, step_db: float = 0.0
) -> np.ndarray:
    """Cells ``[r0:r1, t0:t1]`` of ``block`` (``(k, rows, frames)`` uint16) rebuilt from
    their neighbours in time.

    Each row is a straight line in dB between the median of up to
    :data:`HEAL_CONTEXT` columns just before and just after the selection *on that row*
    (``mask``, ``(r1 - r0, t1 - t0)``, > 0 where selected: a lasso's row starts and
    ends where the lasso does, so its context is what lies outside the lasso, not the
    rest of its bounding box); the median ignores a stray click in the context.  At an
    end of the recording the other side is held.  With ``step_db`` (dB per pixel) the
    louder side is held to at most :data:`HEAL_STEP_DB` above the quieter one: a word
    that ends just before a cough is a neighbouring sound, not the background the gap
    should be filled with (drawn across, it would leave a ghost of itself).  What was
    inside (a click, a cough) is not looked at.
    """
    frames = block.shape[-1]
    n = r1 - r0
    if mask is None:
        starts = np.full(n, t0)
        ends = np.full(n, t1)
    else:
        sel = np.asarray(mask) > 0
        any_ = sel.any(axis=1)
        starts = np.where(any_, t0 + np.argmax(sel, axis=1), t0)
        ends = np.where(any_, t1 - np.argmax(sel[:, ::-1], axis=1), t1)
    out = np.zeros(block.shape[:-2] + (n, t1 - t0), np.float32)
    cap = np.inf if step_db <= 0 else HEAL_STEP_DB / step_db
    for key in sorted(set(zip(starts.tolist(), ends.tolist(), strict=True))):
        a, b = key
        rows = np.flatnonzero((starts == a) & (ends == b))
        k = max(2, min(HEAL_CONTEXT, (b - a + 1) // 2 + 1))
        left = block[:, r0 + rows][..., max(0, a - k) : a]
        right = block[:, r0 + rows][..., b : min(frames, b + k)]
        if left.shape[-1] == 0 and right.shape[-1] == 0:
            raise ParameterError("heal needs frames outside the selection to fill it from")
        lv = np.median(left, axis=-1) if left.shape[-1] else None
        rv = np.median(right, axis=-1) if right.shape[-1] else None
        lv = rv if lv is None else lv
        rv = lv if rv is None else rv
        lv, rv = np.minimum(lv, rv + cap), np.minimum(rv, lv + cap)
        x = (np.arange(a, b, dtype=np.float32) - (a - 0.5)) / np.float32(b - a)
        out[:, rows, a - t0 : b - t0] = lv[..., None] * (1 - x) + rv[..., None] * x
    return np.rint(np.clip(out, 0, PIXEL_MAX)).astype(np.uint16)


def dabs(brush: Brush) -> np.ndarray:
    """The stroke's dab centres ``(n, 2)``: its points joined by steps of at most half a
    radius, so a fast stroke is a line and not a row of dots."""
    pts = np.asarray(brush.points, np.float64)
    if len(pts) < 2:
        return pts
    seg = np.diff(pts, axis=0)
    dense = [pts[:1]]
    for p, d, k in zip(pts[:-1], seg, _steps(brush), strict=True):
        dense.append(p + d * (np.arange(1, k + 1)[:, None] / k))
    return np.concatenate(dense)


def brush_mask(brush: Brush, rows: int, frames: int):
    """Where the stroke paints: ``(t0, t1, r0, r1, mask)`` with ``mask`` in [0, 1] of
    shape ``(r1 - r0, t1 - t0)``, or None if it misses the spectrogram.

    Points are joined by steps of at most half a radius, so a fast stroke is a line and
    not a row of dots; overlapping dabs take the maximum, so painting over the same
    place does not add up within one stroke.
    """
    rt, rr = brush.radius
    pts = _paint.densify(np.asarray(brush.points, np.float64), rt, rr)
    return _paint.dab_mask(pts, rt, rr, brush.softness, rows, frames, len(brush.channels),
                           limit=MAX_EDIT_CELLS)  # fmt: skip


def _amp(canvas: Canvas, px: np.ndarray) -> np.ndarray:
    amp = np.power(10.0, (px.astype(np.float64) * canvas.db_step + canvas.db_min) / 20.0)
    amp[px == 0] = 0.0
    return amp


def _pixels(canvas: Canvas, amp: np.ndarray) -> np.ndarray:
    db = 20.0 * np.log10(np.maximum(amp, 1e-300))
    x = (db - canvas.db_min) / canvas.db_step
    return np.rint(np.clip(x, 0, PIXEL_MAX)).astype(np.uint16)


def _bins(canvas: Canvas, r0: int, r1: int) -> tuple[int, int]:
    """The linear STFT bins rows ``[r0, r1)`` stand for."""
    if canvas.basis is None:
        return r0, r1
    cols = np.flatnonzero(canvas.basis[r0:r1].any(axis=0))
    return (int(cols[0]), int(cols[-1]) + 1) if cols.size else (0, 0)


def _phase_of(canvas: Canvas, channels, b0, b1, t0, t1) -> np.ndarray:
    q = canvas.phase_q[list(channels), b0:b1, t0:t1]
    return q.astype(np.float64) * (2 * np.pi / 65536)


def _add(canvas: Canvas, channels, b0, b1, t0, t1, X) -> Applied | None:
    """Complex cells ``X`` (bins ``[b0, b1)`` x frames ``[t0, t1)``) added to the sound
    there: new pixels, and the phase of the sum where ``X`` is not zero."""
    live = np.abs(X) > 0
    if not live.any():
        return None
    old_phase = _phase_of(canvas, channels, b0, b1, t0, t1)
    if canvas.basis is None:
        region = Region(tuple(channels), t0, t1, b0, b1)
        S = _amp(canvas, take(canvas.px, region)) * np.exp(1j * old_phase) + X[None]
        new = _pixels(canvas, np.abs(S))
        phase = np.where(live[None], np.angle(S), old_phase)
    else:  # mel rows: add the bands' power, take the painted phase where painted
        rows = np.flatnonzero(canvas.basis[:, b0:b1].any(axis=1))
        r0, r1 = int(rows[0]), int(rows[-1]) + 1
        region = Region(tuple(channels), t0, t1, r0, r1)
        M = canvas.basis[r0:r1, b0:b1] @ np.abs(X)
        old = _amp(canvas, take(canvas.px, region))
        new = _pixels(canvas, np.sqrt(old**2 + M[None] ** 2))
        phase = np.where(live[None], np.angle(X)[None], old_phase)
    return Applied(region, new, (b0, b1, phase.astype(np.float32)), iterate=False)


def _apply_paint(edit: Paint, canvas: Canvas) -> Applied | None:
    args = (canvas, edit.points, edit.radius, edit.level_db, edit.softness, edit.harmonics,
            edit.falloff_db)  # fmt: skip
    if edit.mode == "tone":
        found = _paint.tone_patch(*args)
    else:
        found = _paint.noise_patch(*args, seed=edit.seed)
    if found is None:
        return None
    b0, b1, t0, t1, X = found
    if (b1 - b0) * (t1 - t0) * len(edit.channels) > MAX_EDIT_CELLS:
        raise ParameterError("the stroke covers too many cells")
    return _add(canvas, edit.channels, b0, b1, t0, t1, X)


def _apply_picture(edit: Picture, canvas: Canvas) -> Applied | None:
    r = edit.region
    gray = _paint.decode_picture(edit.data, r.r1 - r.r0, r.t1 - r.t0)
    b0, b1, t0, t1, X = _paint.picture_patch(canvas, gray, r, edit.level_db, edit.range_db, 0)
    return _add(canvas, r.channels, b0, b1, t0, t1, X)


def _masked(edit, canvas: Canvas) -> Applied:
    """Erase, gain or heal over a selection (rectangle, lasso or wand, feathered)."""
    region, mask = shape_mask(edit.shape, canvas.px, canvas.db_min, canvas.db_step)
    old = take(canvas.px, region)
    if isinstance(edit, Erase | Cut):
        if mask is None:
            return Applied(region, np.zeros_like(old))
        cut = 20 * np.log10(np.maximum(1.0 - mask, 1e-15))  # 1 -> -300 dB: silence
        return Applied(region, gain_pixels(old, cut.astype(np.float32), canvas.db_step))
    if isinstance(edit, Gain):
        g = edit.gain_db if mask is None else edit.gain_db * mask
        return Applied(region, gain_pixels(old, g, canvas.db_step))
    block = canvas.px[list(region.channels)]
    healed = heal_patch(block, region.t0, region.t1, region.r0, region.r1, mask=mask,
                        step_db=canvas.db_step)  # fmt: skip
    if mask is not None:
        healed = np.rint(old * (1 - mask) + healed * mask).astype(np.uint16)
    return Applied(region, healed, iterate=True)


def copy_clip(shape: Shape, canvas: Canvas) -> Clip:
    """The cells of the selection ``shape``, their mask and phase."""
    region, mask = shape_mask(shape, canvas.px, canvas.db_min, canvas.db_step)
    per = (region.t1 - region.t0) * (region.r1 - region.r0)
    if per > MAX_MASK_CELLS:
        raise ParameterError(f"the selection has {per} cells, beyond {MAX_MASK_CELLS} to copy")
    if mask is None:
        mask = np.ones((region.r1 - region.r0, region.t1 - region.t0), np.float32)
    b0, b1 = _bins(canvas, region.r0, region.r1)
    phase = _phase_of(canvas, region.channels, b0, b1, region.t0, region.t1)
    return Clip(region.channels, region.t0, region.t1, region.r0, region.r1,
                take(canvas.px, region), mask, b0, b1, phase.astype(np.float32))  # fmt: skip


def _paste(clip: Clip, frame: int, ratio: float, channels, canvas: Canvas) -> Applied | None:
    """The clip placed at ``frame``, frequencies times ``ratio``, blended in by its mask:
    inside it, the clip's cells replace what was there."""
    channels = tuple(channels or clip.channels)
    if len(channels) != len(clip.channels) and len(clip.channels) != 1:
        raise ParameterError(
            f"the clipboard holds {len(clip.channels)} channel(s); paste into as many"
        )
    rows, frames = canvas.px.shape[1:]
    dt = frame - clip.t0
    t0, t1 = max(0, clip.t0 + dt), min(frames, clip.t1 + dt)
    if t0 >= t1:
        return None
    idx = np.arange(rows, dtype=np.float64)
    lo_hz, hi_hz = canvas.hz_of_row(clip.r0), canvas.hz_of_row(clip.r1 - 1)
    if ratio == 1.0:
        r0, r1 = clip.r0, clip.r1
        src = np.arange(r0, r1, dtype=np.float64) - clip.r0
    else:
        r0 = int(np.ceil(canvas.row_of_hz(lo_hz * ratio) - 1e-9))
        top = hi_hz * ratio
        r1 = rows if top > canvas.row_hz[-1] else int(np.floor(canvas.row_of_hz(top) + 1e-9)) + 1
        r0, r1 = max(0, r0), min(rows, r1)
        if r0 >= r1:
            raise ParameterError("the pasted cells would lie beyond the frequency range")
        src = canvas.row_of_hz(canvas.hz_of_row(idx[r0:r1]) / ratio) - clip.r0
    if ratio != 1.0 and canvas.basis is None:
        return _paste_shifted(clip, dt, ratio, channels, canvas, t0, t1)
    region = Region(channels, t0, t1, r0, r1)
    cols = slice(t0 - dt - clip.t0, t1 - dt - clip.t0)
    n = clip.r1 - clip.r0
    lo = np.clip(np.floor(src).astype(int), 0, n - 1)
    hi = np.clip(lo + 1, 0, n - 1)
    f = (src - lo)[:, None]
    inside = ((src >= -0.5) & (src <= n - 0.5))[:, None]
    cpx = clip.pixels[:, :, cols].astype(np.float64)
    if len(clip.channels) == 1 and len(channels) > 1:
        cpx = np.repeat(cpx, len(channels), axis=0)
    pix = cpx[:, lo] * (1 - f) + cpx[:, hi] * f
    pix = np.where(cpx[:, lo] == 0, cpx[:, hi], np.where(cpx[:, hi] == 0, cpx[:, lo], pix))
    m = (clip.mask[lo, cols] * (1 - f) + clip.mask[hi, cols] * f) * inside
    new_amp = _amp(canvas, np.rint(pix).astype(np.uint16))
    old = take(canvas.px, region)
    # the phase in linear bins: bin k takes source bin k / ratio, its phase scaled so
    # that a tone's advance per frame scales with its frequency
    b0, b1 = _bins(canvas, r0, r1)
    kb = np.arange(b0, b1)
    ks = np.clip(np.rint(kb / ratio).astype(int), clip.b0, clip.b1 - 1)
    cph = clip.phase[:, ks - clip.b0][:, :, cols].astype(np.float64)
    if len(clip.channels) == 1 and len(channels) > 1:
        cph = np.repeat(cph, len(channels), axis=0)
    ph_clip = ratio * (cph + np.pi * ks[None, :, None]) - np.pi * kb[None, :, None]
    old_phase = _phase_of(canvas, channels, b0, b1, t0, t1)
    if canvas.basis is None:
        S = (
            _amp(canvas, old) * np.exp(1j * old_phase) * (1 - m)
            + new_amp * np.exp(1j * ph_clip) * m
        )
        new = _pixels(canvas, np.abs(S))
        phase = np.where(m[None] > 0, np.angle(S), old_phase)
    else:
        new = _pixels(canvas, _amp(canvas, old) * (1 - m) + new_amp * m)
        mb = (canvas.basis[r0:r1, b0:b1].T @ m) > 0
        phase = np.where(mb[None], ph_clip, old_phase)
    return Applied(region, new, (b0, b1, phase.astype(np.float32)), iterate=ratio != 1.0)


def _paste_shifted(clip: Clip, dt, ratio, channels, canvas: Canvas, t0, t1) -> Applied | None:
    """A paste ``ratio`` times higher (linear rows): the peak-locked vocoder of
    :mod:`.shift` keeps each partial's lobe and phase a sinusoid's."""
    from .shift import shift_pitch

    n_bins = canvas.n_bins
    lo = max(0, int(np.floor(clip.r0 * min(1.0, ratio))) - 4)
    hi = min(n_bins, int(np.ceil(clip.r1 * max(1.0, ratio))) + 4)
    cols = slice(t0 - dt - clip.t0, t1 - dt - clip.t0)
    T = t1 - t0
    if (hi - lo) * T * len(clip.channels) > MAX_EDIT_CELLS // 8:
        raise ParameterError("the selection is too large to move in frequency; select less")
    amp = np.zeros((len(clip.channels), hi - lo, T))
    ph = np.zeros_like(amp)
    mask = np.zeros((hi - lo, T))
    amp[:, clip.r0 - lo : clip.r1 - lo] = _amp(canvas, clip.pixels[:, :, cols]) * (
        clip.mask[:, cols] > 0
    )
    ph[:, clip.b0 - lo : clip.b1 - lo] = clip.phase[:, :, cols]
    mask[clip.r0 - lo : clip.r1 - lo] = clip.mask[:, cols]
    amp, ph, mask = shift_pitch(amp, ph, mask, ratio, n_fft=canvas.n_fft,
                                hop=canvas.hop_length, first_bin=lo)  # fmt: skip
    rows = np.flatnonzero(mask.any(axis=1))
    if not rows.size:
        raise ParameterError("the moved cells would lie beyond the frequency range")
    r0, r1 = lo + int(rows[0]), lo + int(rows[-1]) + 1
    m = mask[r0 - lo : r1 - lo]
    amp, ph = amp[:, r0 - lo : r1 - lo], ph[:, r0 - lo : r1 - lo]
    if len(clip.channels) == 1 and len(channels) > 1:
        amp, ph = np.repeat(amp, len(channels), axis=0), np.repeat(ph, len(channels), axis=0)
    region = Region(channels, t0, t1, r0, r1)
    old = take(canvas.px, region)
    old_phase = _phase_of(canvas, channels, r0, r1, t0, t1)
    S = _amp(canvas, old) * np.exp(1j * old_phase) * (1 - m) + amp * np.exp(1j * ph) * m
    new = _pixels(canvas, np.abs(S))
    phase = np.where(m[None] > 0, np.angle(S), old_phase)
    return Applied(region, new, (r0, r1, phase.astype(np.float32)), iterate=False)


def _apply_paste(edit: Paste, canvas: Canvas) -> Applied | None:
    if canvas.clip is None:
        raise ParameterError("the clipboard is empty: copy (Ctrl+C) or cut (Ctrl+X) first")
    return _paste(canvas.clip, edit.frame, edit.ratio, edit.channels, canvas)


def _apply_cut(edit: Cut, canvas: Canvas) -> Applied:
    clip = copy_clip(edit.shape, canvas)
    out = _masked(edit, canvas)
    out.clip = clip
    return out


def _apply_move(edit: Move, canvas: Canvas) -> Applied | None:
    """Cut and paste in one step, over the box holding both places."""
    clip = copy_clip(edit.shape, canvas)
    if edit.keep:  # a duplicate: the original stays where it is
        region = Region(clip.channels, clip.t0, clip.t1, clip.r0, clip.r1)
        erased = Applied(region, take(canvas.px, region))
    else:
        erased = _masked(Erase(edit.shape), canvas)
    # the union of source and destination, on a copy of the frames it spans
    rows, frames = canvas.px.shape[1:]
    a = max(0, min(clip.t0, clip.t0 + edit.by))
    b = min(frames, max(clip.t1, clip.t1 + edit.by))
    if (b - a) * rows * len(clip.channels) > MAX_EDIT_CELLS:
        raise ParameterError("the move spans too many cells; move a shorter distance")
    ch = list(clip.channels)
    sub = Canvas(**{**canvas.__dict__, "px": canvas.px[ch, :, a:b].copy(),
                    "phase_q": canvas.phase_q[ch, :, a:b].copy(), "clip": None})  # fmt: skip
    local = Region(tuple(range(len(ch))), erased.region.t0 - a, erased.region.t1 - a,
                   erased.region.r0, erased.region.r1)  # fmt: skip
    put(sub.px, local, erased.pixels)
    shifted = Clip(**{**clip.__dict__, "channels": local.channels, "t0": clip.t0 - a,
                      "t1": clip.t1 - a})  # fmt: skip
    pasted = _paste(shifted, clip.t0 - a + edit.by, edit.ratio, None, sub)
    if pasted is not None:
        put(sub.px, pasted.region, pasted.pixels)
        pb0, pb1, ph = pasted.phase
        q = np.rint(ph * (65536 / (2 * np.pi))).astype(np.int64) % 65536
        sub.phase_q[:, pb0:pb1, pasted.region.t0 : pasted.region.t1] = q
        r0 = min(erased.region.r0, pasted.region.r0)
        r1 = max(erased.region.r1, pasted.region.r1)
        t0 = min(erased.region.t0, pasted.region.t0 + a)
        t1 = max(erased.region.t1, pasted.region.t1 + a)
        b0, b1 = _bins(canvas, r0, r1)
        phase = sub.phase_q[:, b0:b1, t0 - a : t1 - a].astype(np.float32) * np.float32(
            2 * np.pi / 65536
        )
        region = Region(clip.channels, t0, t1, r0, r1)
        pixels = sub.px[:, r0:r1, t0 - a : t1 - a].copy()
        return Applied(region, pixels, (b0, b1, phase), iterate=pasted.iterate)
    return erased


def _apply_brush(edit: Brush, canvas: Canvas) -> Applied | None:
    found = brush_mask(edit, canvas.px.shape[1], canvas.px.shape[2])
    if found is None:
        return None
    t0, t1, r0, r1, mask = found
    region = Region(edit.channels, t0, t1, r0, r1)
    return Applied(region, gain_pixels(take(canvas.px, region), edit.gain_db * mask,
                                       canvas.db_step))  # fmt: skip


def take(px: np.ndarray, region: Region) -> np.ndarray:
    """A copy of ``region``'s cells of ``px``."""
    return px[list(region.channels), region.r0 : region.r1, region.t0 : region.t1].copy()


def put(px: np.ndarray, region: Region, patch: np.ndarray) -> None:
    """Write ``patch`` into ``region`` of ``px`` in place."""
    for i, c in enumerate(region.channels):
        px[c, region.r0 : region.r1, region.t0 : region.t1] = patch[i]
