"""The editing state of one recording: pixels, phase, audio, and the undo history.

A :class:`Session` holds

- the image's 16-bit pixels ``(channels, rows, frames)`` (row 0 lowest), the values an
  export writes, with some dB of headroom added on top so that boosts do not clip;
- the phase of every STFT cell ``(channels, n_fft // 2 + 1, frames)`` as 16-bit steps
  (the kept phase of an audio input or a ``--keep-phase`` image, else the estimate of
  the first decode), refreshed wherever an edit is re-synthesised;
- the original audio (A) and the edited audio (B), the samples the page plays.

After an edit only its frames plus :func:`margin_frames` on each side are
re-synthesised (:func:`resynthesize`: a few fast Griffin-Lim iterations that start from
the current phase) and spliced into the edited audio with sine-squared crossfades in
the margins, where the magnitude is unchanged and the new audio agrees with the old
(:func:`splice`).  The export runs the full decode of the whole edited image.

Every method that changes the state takes the session's lock, so requests served on
several threads see one state at a time; :meth:`Session.state`, :meth:`Session.tile` and
:meth:`Session.audio` never wait for it (the arrays are only ever written in place, so
a read during an edit is memory-safe and may see part of it; the change it then gets
names what to fetch again).  Every change is also handed to ``on_change`` (the journal)
while the lock is held, so the journal's order is the session's.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import phase as _phase
from ..dsp import scale as _scale
from ..dsp.stft import Stft
from ..errors import InputError, OutputError, ParameterError, Spec2ImgError
from ..io import phase_image as _keep
from ..io.image import GRID_KEY, SpectrogramImage
from ..io.png import png_bytes
from ..params import MAX_DB, Metadata
from ..phase import blocks
from . import ops, select
from .paint import Canvas

#: dB added above the top of the image's range, so that boosts have room.
HEADROOM_DB = 24.0
#: Fast Griffin-Lim iterations when hearing an edit.
HEAR_N_ITER = 16
#: Undo history kept, bytes of saved pixels, phase and audio.
UNDO_BYTES = 1 << 30
#: Columns of the overview image the page gets at load.
OVERVIEW_COLUMNS = 2048
#: Rows of any picture the page gets (more rows are pooled; n_fft 4096 fits).
MAX_ROWS = 2049
#: Cells of one picture request.
MAX_TILE_CELLS = 1 << 23
#: Samples per channel of one audio request.
MAX_AUDIO_SAMPLES = 1 << 22
_Q = 65536 / (2 * np.pi)


def row_frequencies(p) -> np.ndarray:
    """Centre frequency of each row of an image with parameters ``p``, Hz."""
    if p.scale == "mel":
        import librosa

        return librosa.mel_frequencies(p.n_mels + 2, fmin=p.fmin, fmax=p.fmax)[1:-1]
    return np.arange(p.n_bins) * (p.sample_rate / p.n_fft)


def margin_frames(n_fft: int, hop_length: int) -> int:
    """Frames re-synthesised on each side of an edit: two windows plus four hops.

    The first window's worth of the margin is where the re-synthesised piece is
    incomplete (fewer frames overlap there); the rest, at least four hops, is the
    crossfade, over cells the edit did not change.
    """
    return 2 * -(-n_fft // hop_length) + 4


def resynthesize(
    S: np.ndarray, phase: np.ndarray, engine: Stft, *, n_iter: int = HEAR_N_ITER
) -> np.ndarray:
    """Audio of a block of frames from its magnitude, starting at ``phase``.

    Parameters
    ----------
    S : np.ndarray [shape=(channels, n_fft // 2 + 1, t), non-negative]
    phase : np.ndarray [shape=S.shape]
        Radians.
    engine : Stft
        Uncentred framing (the block is a piece of a longer signal).
    n_iter : int >= 0
        Fast Griffin-Lim iterations (0: the inverse STFT with ``phase`` as it is).

    Returns
    -------
    np.ndarray [shape=(channels, engine.signal_length(t)), dtype=float32]
    """
    if n_iter == 0:
        return engine.inverse(S * np.exp(1j * phase).astype(np.complex64))
    # linked: the channels of a stereo edit keep their shared phase (phase.stereo)
    return _phase.reconstruct(S, engine, method="fgla", n_iter=n_iter, init=phase, link=True)


def splice(
    y: np.ndarray, piece: np.ndarray, start: int, *, fade_in: int, fade_out: int, skip: int
) -> tuple[int, int]:
    """Write ``piece`` (global samples ``[start, start + len)``) into ``y`` in place.

    ``skip`` samples at each end of the piece are dropped (its incomplete edges), except
    where the piece reaches past an end of ``y``; then ``fade_in`` samples fade from the
    old audio to the piece and ``fade_out`` samples back, sine-squared (the gains sum to
    one: both sides are the same sound there, so the level holds and nothing clicks).
    ``fade_in=0`` / ``fade_out=0`` means the piece starts / ends the signal.

    Returns
    -------
    (lo, hi) : the samples of ``y`` that changed.
    """
    n = y.shape[-1]
    lo = 0 if fade_in == 0 else start + skip
    hi = n if fade_out == 0 else start + piece.shape[-1] - skip
    lo, hi = max(0, lo), min(n, hi)
    if hi <= lo:
        return lo, lo
    new = piece[:, lo - start : hi - start].astype(np.float32, copy=True)
    if fade_in:
        k = min(fade_in, hi - lo)
        r = blocks._ramp(fade_in)[:k]
        new[:, :k] = (1 - r) * y[:, lo : lo + k] + r * new[:, :k]
    if fade_out:
        k = min(fade_out, hi - lo)
        r = blocks._ramp(fade_out)[::-1][-k:]
        new[:, -k:] = (1 - r) * y[:, hi - k : hi] + r * new[:, -k:]
    y[:, lo:hi] = new
    return lo, hi


def pool(block: np.ndarray, t_step: int, r_step: int) -> np.ndarray:
    """Max-pool ``(rows, frames)`` by ``r_step`` rows and ``t_step`` frames (loud wins,
    so a click stays visible in the overview)."""
    out = block
    if t_step > 1:
        out = np.maximum.reduceat(out, np.arange(0, out.shape[-1], t_step), axis=-1)
    if r_step > 1:
        out = np.maximum.reduceat(out, np.arange(0, out.shape[-2], r_step), axis=-2)
    return np.ascontiguousarray(out)


@dataclass
class _Step:
    """One entry of the undo history: every array it changed, before and after."""

    label: str
    edit: ops.Edit
    region: ops.Region
    px: tuple[np.ndarray, np.ndarray]
    channels: tuple[int, ...]
    frames: tuple[int, int]
    phase: tuple[np.ndarray, np.ndarray]
    samples: tuple[int, int]
    audio: tuple[np.ndarray, np.ndarray]
    n_iter: int = 0

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes + b.nbytes for a, b in (self.px, self.phase, self.audio))


@dataclass
class Change:
    """What an edit, undo or redo changed: the page refetches these frames and samples."""

    version: int
    label: str
    frames: tuple[int, int]
    samples: tuple[int, int]
    seconds: float
    can_undo: bool
    can_redo: bool

    def to_json(self) -> dict:
        return {
            "version": self.version, "label": self.label, "frames": list(self.frames),
            "samples": list(self.samples), "seconds": round(self.seconds, 4),
            "can_undo": self.can_undo, "can_redo": self.can_redo,
        }  # fmt: skip


@dataclass
class Session:
    """The editing state of one recording (see the module docstring).

    Build it with :func:`open_input`; call :meth:`prepare` (the first decode of an image
    without kept phase, and compiling the kernels) before editing.
    """

    image: SpectrogramImage
    source: Path
    original: np.ndarray | None = None
    subtype: str | None = None
    headroom_db: float = HEADROOM_DB
    n_iter: int = HEAR_N_ITER
    #: A blank canvas (``--new``): ``source`` is only its name, not a file to protect.
    new: bool = False
    meta: Metadata = field(init=False)
    error: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        image = self.image.on_grid()
        meta = image.meta
        db_max = min(MAX_DB, meta.db_max + self.headroom_db)
        extra = {k: v for k, v in meta.extra.items()
                 if k not in (GRID_KEY, _keep.LINK_KEY, _keep.PAIR_KEY)}  # fmt: skip
        self.meta = Metadata(
            params=meta.params, db_min=meta.db_min, db_max=db_max, n_samples=meta.n_samples,
            channels=meta.channels, extra=extra,
        )  # fmt: skip
        blocks_ = image.blocks()  # requantise onto the wider range; 0 stays silence
        scale = (meta.db_max - meta.db_min) / (db_max - meta.db_min)
        px = np.rint(blocks_.astype(np.float32) * np.float32(scale)).astype(np.uint16)
        px[(blocks_ > 0) & (px == 0)] = 1
        self.px = np.ascontiguousarray(px)
        del blocks_
        p = self.meta.params
        self.db_step = (self.meta.db_max - self.meta.db_min) / _scale.PIXEL_MAX
        self.engine = Stft.from_params(p)
        self.piece_engine = Stft(p.n_fft, p.hop_length, p.win_length, p.window, center=False)
        self.basis = _scale.mel_basis(p) if p.scale == "mel" else None
        self.margin = margin_frames(p.n_fft, p.hop_length)
        self.kept_phase = image.phase is not None or self.original is not None
        self.phase_q = None
        if image.phase is not None:
            c = meta.channels
            q = image.phase.reshape(c, image.phase.shape[0] // c, -1)[:, ::-1]
            self.phase_q = np.ascontiguousarray(q)
        self.image = None  # the pixels live in self.px now
        self._source_image = image if self.original is None else None
        self.edited = None if self.original is None else self.original.copy()
        self.out_gain = 1.0
        self.clipboard: ops.Clip | None = None
        #: Where the clipboard was taken: the edits in effect then, and the selection.
        self.clip_from: tuple[tuple, object] | None = None
        self.version = 0
        self.undo_stack: list[_Step] = []
        self.redo_stack: list[_Step] = []
        #: The edits in effect, in order (the undo history may be trimmed; this never
        #: is): replaying them on the input gives this state, bit for bit.
        self.applied: list[ops.Edit] = []
        self.undone: list[ops.Edit] = []
        # beside them: whether each was heard through phase iterations
        self._iterated: list[bool] = []
        self._undone_iterated: list[bool] = []
        #: Called with a journal record ({"do": edit JSON}, {"undo": 1}, {"redo": 1},
        #: {"copy": selection JSON}) under the lock with every change, before it is
        #: final: if it raises, the change is rolled back and the error passed on.
        self.on_change = None
        self.lock = threading.RLock()
        self.ready = threading.Event()

    # ------------------------------------------------------------ facts

    @property
    def channels(self) -> int:
        return self.meta.channels

    @property
    def n_frames(self) -> int:
        return self.px.shape[-1]

    @property
    def rows(self) -> int:
        return self.px.shape[1]

    @property
    def sample_rate(self) -> int:
        return self.meta.params.sample_rate

    def grid(self) -> ops.Grid:
        p = self.meta.params
        offset = 0.0 if p.center else p.n_fft / 2 / p.sample_rate
        return ops.Grid(
            channels=self.channels, rows=self.rows, frames=self.n_frames,
            frame_seconds=p.hop_length / p.sample_rate, frame_offset=offset,
            row_hz=tuple(float(f) for f in self.row_hz()), bins=p.n_fft // 2 + 1,
        )  # fmt: skip

    def row_hz(self) -> np.ndarray:
        """Centre frequency of each row, Hz."""
        return row_frequencies(self.meta.params)

    def overview_step(self) -> int:
        return max(1, -(-self.n_frames // OVERVIEW_COLUMNS))

    def row_step(self) -> int:
        return max(1, -(-self.rows // MAX_ROWS))

    def info(self) -> dict:
        """Everything the page needs to draw axes and ask for pictures and audio."""
        p = self.meta.params
        return {
            "name": self.source.name, "sample_rate": p.sample_rate,
            "channels": self.channels, "n_samples": self.meta.n_samples,
            "frames": self.n_frames, "rows": self.rows, "n_fft": p.n_fft,
            "hop_length": p.hop_length, "win_length": p.win_length, "window": str(p.window),
            "center": p.center, "scale": p.scale, "headroom_db": self.headroom_db,
            "row_hz": [round(float(f), 3) for f in self.row_hz()],
            "db_min": self.meta.db_min, "db_max": self.meta.db_max,
            "db_step": self.db_step, "overview_step": self.overview_step(),
            "row_step": self.row_step(), "kept_phase": self.kept_phase,
            "max_tile_cells": MAX_TILE_CELLS, "max_audio_samples": MAX_AUDIO_SAMPLES,
            **self.state(),
        }  # fmt: skip

    def state(self) -> dict:
        """Version, readiness and history; never waits for a running edit (each field is
        one read of a value an edit replaces whole)."""
        undo, redo = list(self.undo_stack), list(self.redo_stack)
        return {
            "version": self.version, "ready": self.ready.is_set(), "error": self.error,
            "can_undo": bool(undo), "can_redo": bool(redo),
            "history": [s.label for s in undo], "edits": len(self.applied),
        }  # fmt: skip

    # ------------------------------------------------------------ start

    def prepare(self) -> None:
        """Decode an image without kept phase (its audio and a first phase estimate),
        and compile the kernels on a small block so that the first edit is fast."""
        try:
            if self.edited is None:
                from ..pipeline import decode

                image = self._source_image
                y, _ = decode(image)
                y = np.atleast_2d(y).astype(np.float32)
                if self.phase_q is None:
                    self.phase_q = self._phase_of(y)
                self.original = y
                self.edited = y.copy()
                if self.meta.extra.get("level") == "relative":  # decode normalised it
                    from ..pipeline import image_energy, match_energy

                    want = image_energy(image)
                    probe = match_energy(y.copy(), want, self.meta.params, self.engine)
                    ref = float(np.sqrt(np.sum(probe.astype(np.float64) ** 2)))
                    got = float(np.sqrt(np.sum(y.astype(np.float64) ** 2)))
                    self.out_gain = got / ref if ref > 0 else 1.0
            self._source_image = None
            if self.phase_q is None:
                self.phase_q = self._phase_of(self.edited)
            self._warm_up()
        except Spec2ImgError as e:
            self.error = str(e)
            raise
        except MemoryError:
            self.error = "out of memory while decoding"
            raise
        finally:
            self.ready.set()

    def _warm_up(self) -> None:
        """Run the path of an edit once (and undo it) so the kernels are compiled
        before the first real edit."""
        ch = tuple(range(self.channels))
        t0 = min(self.n_frames - 1, 2 * self.margin)
        t1 = min(self.n_frames, t0 + 4)
        a, b = max(0, t0 - self.margin), min(self.n_frames, t1 + self.margin)
        phase, audio = self.phase_q[:, :, a:b].copy(), self.edited.copy()
        self._rehear(ch, t0, t1, 2)
        self._rehear(ch, t0, t1, 0)
        self.phase_q[:, :, a:b] = phase
        self.edited = audio

    def _phase_of(self, y: np.ndarray) -> np.ndarray:
        out = np.empty((self.channels, self.engine.n_bins, self.n_frames), np.uint16)
        for a, b, spec in self.engine.forward_blocks(y):
            out[:, :, a:b] = _to_q(np.angle(spec)).transpose(0, 2, 1)
        return out

    def _check_ready(self) -> None:
        if not self.ready.is_set():
            raise BusyError("the recording is still being decoded; try again in a moment")
        if self.error is not None:
            raise InputError(self.error)

    # ------------------------------------------------------------ reading

    def _linear(self, channels, a: int, b: int) -> np.ndarray:
        amp = _scale.pixels_to_amplitude(self.px[list(channels), :, a:b], self.meta.db_min,
                                         self.meta.db_max)  # fmt: skip
        if self.basis is not None:
            amp = _scale.mel_to_linear(amp, self.basis)
        return np.ascontiguousarray(amp, dtype=np.float32)

    def _phase(self, channels, a: int, b: int) -> np.ndarray:
        q = self.phase_q[list(channels), :, a:b]
        return q.astype(np.float32) * np.float32(1 / _Q)

    def tile(self, channel: int, t0: int, t1: int, step: int) -> np.ndarray:
        """Pixels of frames ``[t0, t1)`` of ``channel``, max-pooled by ``step`` frames and
        :meth:`row_step` rows: ``(rows, columns)`` uint16, row 0 lowest."""
        if not 0 <= channel < self.channels:
            raise ParameterError(f"channel must be 0 to {self.channels - 1}, not {channel}")
        if not 0 <= t0 < t1 <= self.n_frames:
            raise ParameterError(f"frames must satisfy 0 <= t0 < t1 <= {self.n_frames}")
        if not 1 <= step <= self.n_frames:
            raise ParameterError(f"step must be 1 to {self.n_frames}, not {step}")
        cols = -(-(t1 - t0) // step)
        rows = -(-self.rows // self.row_step())
        if cols * rows > MAX_TILE_CELLS:
            raise ParameterError(
                f"a picture of {cols} x {rows} cells is beyond {MAX_TILE_CELLS}; ask for a "
                "larger step or fewer frames"
            )
        return pool(self.px[channel, :, t0:t1], step, self.row_step())  # no lock: see top

    def audio(self, which: str, start: int, end: int) -> np.ndarray:
        """Samples ``[start, end)`` of the ``"original"`` or ``"edited"`` audio,
        ``(channels, end - start)`` float32."""
        self._check_ready()
        if which not in ("original", "edited"):
            raise ParameterError(f"which must be 'original' or 'edited', not {which!r}")
        n = self.meta.n_samples
        if not 0 <= start < end <= n or end - start > MAX_AUDIO_SAMPLES:
            raise ParameterError(
                f"samples must satisfy 0 <= start < end <= {n}, at most "
                f"{MAX_AUDIO_SAMPLES} at a time"
            )
        y = self.original if which == "original" else self.edited  # no lock: see top
        return np.array(y[:, start:end], order="C", copy=True)

    # ------------------------------------------------------------ editing

    def canvas(self) -> Canvas:
        """The arrays and facts an operation reads (references, not copies)."""
        p = self.meta.params
        return Canvas(
            px=self.px, phase_q=self.phase_q, db_min=self.meta.db_min,
            db_max=self.meta.db_max, top_db=self.meta.db_max - self.headroom_db,
            row_hz=self.row_hz(), sample_rate=p.sample_rate, n_fft=p.n_fft,
            hop_length=p.hop_length, center=p.center, window=self.engine.window,
            basis=self.basis, clip=self.clipboard,
        )  # fmt: skip

    def edit(self, edit: ops.Edit, *, clip: ops.Clip | None = None) -> Change:
        """Apply ``edit``, re-synthesise its span, push it on the undo history.

        A paste without a source is bound to the clipboard's (:meth:`_bind`); ``clip``
        gives the cells of a paste whose source an edit list's replay took
        (:meth:`replay`).  If the journal cannot record the edit, it is rolled back
        and the journal's error raised.
        """
        self._check_ready()
        start = time.perf_counter()
        with self.lock:
            request = edit
            edit, clip = self._bind(edit, clip)
            canvas = self.canvas()
            canvas.clip = clip
            applied = ops.apply(edit, canvas)
            if applied is None:
                raise ParameterError("the edit paints no cell of the spectrogram")
            region, new = applied.region, applied.pixels
            old = ops.take(self.px, region)
            ch = region.channels
            a = max(0, region.t0 - self.margin)
            b = min(self.n_frames, region.t1 + self.margin)
            ph_old = self.phase_q[list(ch), :, a:b].copy()
            ops.put(self.px, region, new)
            if applied.phase is not None:  # the edit chose the phase of its cells
                b0, b1, ph = applied.phase
                for i, c in enumerate(ch):
                    self.phase_q[c, b0:b1, region.t0 : region.t1] = _to_q(ph[i])
            # A mask on an STFT whose phase is exact needs no iterations: its inverse is
            # already the least-squares signal; nor does new sound whose phase was chosen
            # with it.  Estimated phase and healed cells (new content under an old
            # phase) are refined by fast Griffin-Lim.
            iterate = applied.iterate if applied.iterate is not None else not self.kept_phase
            n_iter = self.n_iter if iterate else 0
            lo_hi, y_old = self._rehear(ch, region.t0, region.t1, n_iter)
            ph_new = self.phase_q[list(ch), :, a:b].copy()
            lo, hi = lo_hi
            y_new = self.edited[list(ch), lo:hi].copy()
            step = _Step(ops.describe(edit), edit, region, (old, new), ch, (a, b), (ph_old, ph_new),
                         (lo, hi), (y_old, y_new), n_iter)  # fmt: skip
            try:
                self._record({"do": ops.to_json(request)})
            except BaseException:
                self._put(step, 0)  # as if it never happened
                self.version += 1  # what the page read meanwhile is stale
                raise
            if applied.clip is not None:  # a cut: it copied the state before it
                self.clip_from = (tuple(self.applied), edit.shape)
                self.clipboard = applied.clip
            self.undo_stack.append(step)
            self.redo_stack.clear()
            self.applied.append(edit)
            self.undone.clear()
            self._iterated.append(n_iter > 0)
            self._undone_iterated.clear()
            self._trim_history()
            self.version += 1
            return self._change(step.label, (a, b), (lo, hi), start)

    def _bind(self, edit: ops.Edit, clip: ops.Clip | None):
        """``(edit, the cells it pastes)``: a paste is bound to where its cells come
        from, so that the edits in effect say everything a replay needs.

        A paste without a source takes the clipboard's: :class:`~.records.Copied` (the
        edits in effect when it was copied, still the first ones in effect now, and
        the selection), else :class:`~.records.Held` (the cells themselves).
        """
        if not isinstance(edit, ops.Paste):
            return edit, None
        src = edit.source
        if src is None:
            if self.clipboard is None:
                raise ParameterError("the clipboard is empty: copy (Ctrl+C) or cut (Ctrl+X) first")
            prefix, shape = self.clip_from
            n = len(prefix)
            if n <= len(self.applied) and tuple(self.applied[:n]) == prefix:
                src = ops.Copied(n, shape)
            else:
                src = ops.Held(self.clipboard)
            return dataclasses.replace(edit, source=src), self.clipboard
        if isinstance(src, ops.Held):
            return edit, src.clip
        if clip is not None:
            return edit, clip
        if src.at == len(self.applied):
            return edit, ops.copy_clip(src.shape, self.canvas())
        raise ParameterError(
            f"this paste copies from the state after {src.at} edit(s): it can be replayed "
            f"within its edit list only (this session has {len(self.applied)} in effect)"
        )

    def copy(self, shape) -> dict:
        """Put the cells of the selection ``shape`` (:class:`~.select.Shape`) on the
        clipboard (not an edit: nothing changes, nothing to undo; but journaled, since
        a later paste reads it)."""
        self._check_ready()
        with self.lock:
            clip = ops.copy_clip(shape, self.canvas())
            self._record({"copy": ops.shape_json(shape)})
            self.clipboard = clip
            self.clip_from = (tuple(self.applied), shape)
            return {"frames": [clip.t0, clip.t1], "rows": [clip.r0, clip.r1],
                    "channels": list(clip.channels)}  # fmt: skip

    def select(self, shape) -> tuple[ops.Region, np.ndarray]:
        """The cells of the selection ``shape``: its box and a uint8 mask over it (1 where
        a cell is selected at all), for the page to outline."""
        self._check_ready()
        with self.lock:
            region, mask = select.shape_mask(shape, self.px, self.meta.db_min, self.db_step)
        shape_ = (region.r1 - region.r0, region.t1 - region.t0)
        if shape_[0] * shape_[1] > select.MAX_MASK_CELLS:
            raise ParameterError(f"the selection has more than {select.MAX_MASK_CELLS} cells")
        return region, (np.ones(shape_, np.uint8) if mask is None else (mask > 0).astype(np.uint8))

    def solo(self, shape) -> tuple[int, np.ndarray]:
        """The sound of only the selected cells: the inverse STFT of the selection's
        frames with every other cell silent.  Returns ``(first sample, (channels, n)
        float32)``, clipped to the recording."""
        self._check_ready()
        p = self.meta.params
        with self.lock:
            region, mask = select.shape_mask(shape, self.px, self.meta.db_min, self.db_step)
            ch, t0, t1 = region.channels, region.t0, region.t1
            if (t1 - t0) * p.hop_length > MAX_AUDIO_SAMPLES:
                seconds = MAX_AUDIO_SAMPLES / p.sample_rate
                raise ParameterError(f"solo plays at most {seconds:.0f} s; select a shorter span")
            px = np.zeros((len(ch), self.rows, t1 - t0), np.uint16)
            cells = ops.take(self.px, region)
            px[:, region.r0 : region.r1] = cells if mask is None else np.where(mask > 0, cells, 0)
            amp = _scale.pixels_to_amplitude(px, self.meta.db_min, self.meta.db_max)
            if mask is not None:
                amp[:, region.r0 : region.r1] *= mask
            if self.basis is not None:
                amp = _scale.mel_to_linear(amp, self.basis)
            S = np.ascontiguousarray(amp, dtype=np.float32)
            phase = self._phase(ch, t0, t1)
        y = resynthesize(S, phase, self.piece_engine, n_iter=0)
        if self.out_gain != 1.0:
            y *= np.float32(self.out_gain)
        start = t0 * p.hop_length - (p.n_fft // 2 if p.center else 0)
        lo, hi = max(0, start), min(self.meta.n_samples, start + y.shape[-1])
        return lo, np.ascontiguousarray(y[:, lo - start : hi - start])

    def replay(self, edits, *, progress=None) -> None:
        """Apply ``edits`` (typed edits of one edit list, in order, on an unedited
        session), as the page would have: a paste copied from the state after the
        list's first ``at`` edits has its cells taken when the replay passes there."""
        wanted: dict[int, list] = {}
        for e in edits:
            if isinstance(e, ops.Paste) and isinstance(e.source, ops.Copied):
                wanted.setdefault(e.source.at, []).append(e.source)
        taken = {}
        for i, e in enumerate(edits):
            for src in wanted.pop(i, ()):
                if src not in taken:
                    with self.lock:
                        taken[src] = ops.copy_clip(src.shape, self.canvas())
            source = e.source if isinstance(e, ops.Paste) else None
            self.edit(e, clip=taken.get(source) if isinstance(source, ops.Copied) else None)
            if progress is not None:
                progress(i + 1, len(edits))

    def _record(self, record: dict) -> None:
        if self.on_change is not None:
            self.on_change(record)

    def undo(self) -> Change:
        """Put back the state before the last edit (pixels, phase and audio exactly)."""
        return self._swap(self.undo_stack, self.redo_stack, 0, "undo")

    def redo(self) -> Change:
        """Apply again the last undone edit."""
        return self._swap(self.redo_stack, self.undo_stack, 1, "redo")

    def _swap(self, src: list, dst: list, which: int, verb: str) -> Change:
        self._check_ready()
        start = time.perf_counter()
        with self.lock:
            if not src:
                raise NothingToDo(f"nothing to {verb}")
            s = src[-1]
            self._put(s, which)
            try:
                self._record({verb: 1})
            except BaseException:
                self._put(s, 1 - which)
                self.version += 1
                raise
            src.pop()
            done, todo = (self.applied, self.undone) if which == 0 else (self.undone, self.applied)
            todo.append(done.pop())
            done, todo = ((self._iterated, self._undone_iterated) if which == 0
                          else (self._undone_iterated, self._iterated))  # fmt: skip
            todo.append(done.pop())
            dst.append(s)
            self.version += 1
            return self._change(f"{verb} {s.label}", s.frames, s.samples, start)

    def _put(self, s: _Step, which: int) -> None:
        """Write the state before (``which=0``) or after (1) step ``s``."""
        ops.put(self.px, s.region, s.px[which])
        a, b = s.frames
        lo, hi = s.samples
        for i, c in enumerate(s.channels):
            self.phase_q[c, :, a:b] = s.phase[which][i]
            self.edited[c, lo:hi] = s.audio[which][i]

    def _change(self, label, frames, samples, start) -> Change:
        return Change(self.version, label, tuple(frames), tuple(samples),
                      time.perf_counter() - start, bool(self.undo_stack),
                      bool(self.redo_stack))  # fmt: skip

    def _trim_history(self) -> None:
        total = sum(s.nbytes for s in self.undo_stack)
        while len(self.undo_stack) > 1 and total > UNDO_BYTES:
            total -= self.undo_stack.pop(0).nbytes

    def _rehear(self, channels, t0: int, t1: int, n_iter: int):
        """Re-synthesise frames ``[t0, t1)`` plus the margins of ``channels`` and splice
        them into the edited audio; refresh the phase there.

        Returns ``((lo, hi), old samples [lo, hi))``.
        """
        p = self.meta.params
        hop, n_fft, F = p.hop_length, p.n_fft, self.n_frames
        a, b = max(0, t0 - self.margin), min(F, t1 + self.margin)
        S = self._linear(channels, a, b)
        piece = resynthesize(S, self._phase(channels, a, b), self.piece_engine, n_iter=n_iter)
        if self.out_gain != 1.0:
            piece *= np.float32(self.out_gain)
        start = a * hop - (n_fft // 2 if p.center else 0)
        fade_in = 0 if a == 0 else max(1, (t0 - a) * hop - n_fft)
        fade_out = 0 if b == F else max(1, (b - t1) * hop - n_fft)
        y = self.edited[list(channels)]
        old = y.copy()
        lo, hi = splice(y, piece, start, fade_in=fade_in, fade_out=fade_out, skip=n_fft)
        for i, c in enumerate(channels):
            self.edited[c, lo:hi] = y[i, lo:hi]
        if n_iter == 0:  # the phase was used as it is: it stays the (kept) phase
            return (lo, hi), old[:, lo:hi]
        # The phase of what is heard now, where there is something to hear.
        X = blocks.frames(y, self.engine, a, b)
        q = _to_q(np.angle(X))
        for i, c in enumerate(channels):
            keep = S[i] > 0
            self.phase_q[c, :, a:b][keep] = q[i][keep]
        return (lo, hi), old[:, lo:hi]

    # ------------------------------------------------------------ keeping

    def edited_image(self) -> SpectrogramImage:
        """The edited spectrogram as a spec2img image with its phase."""
        with self.lock:
            image = SpectrogramImage.from_blocks(self.px, self.meta)
            c, bins, t = self.phase_q.shape
            image.phase = np.ascontiguousarray(self.phase_q[:, ::-1].reshape(c * bins, t))
            return image

    def render(self, *, progress=None) -> tuple[np.ndarray, int]:
        """The full-quality decode of the edited image, from the current phase:
        ``(channels, n_samples)`` float32 and the rate."""
        from ..pipeline import decode

        self._check_ready()
        image = self.edited_image()
        with self.lock:
            # All edits in effect, not the undo history (that may have been trimmed): any
            # heard through phase iterations means the full decode.
            exact = self.kept_phase and not any(self._iterated)
        if exact:
            # Kept phase everywhere and masks only: the full decode is the inverse STFT
            # of the edited spectrogram with that phase (iterating would only drift from
            # the original where nothing was edited), and the edited audio already is
            # exactly that, spliced piece by piece (tests/test_edit_session.py checks).
            with self.lock:
                return self.edited.copy(), self.sample_rate
        y, sr = decode(image, progress=progress)
        return np.atleast_2d(y), sr

    def save(self, path: str | os.PathLike, *, progress=None) -> Path:
        """Write the edited recording to ``path`` atomically: an image (``.png``, with
        ``NAME.phase.png``) or audio (any other extension); never over the input."""
        from ..io.audio import save_audio

        path = Path(path)
        if path.suffix.lower() == ".png":
            self.edited_image().save(path, inputs=self._inputs())
            return path
        y, sr = self.render(progress=progress)
        save_audio(path, y, sr, subtype=self._subtype_for(path), inputs=self._inputs())
        return path

    def _inputs(self) -> list[Path]:
        return [] if self.new else [self.source]

    def audio_bytes(self, fmt: str) -> tuple[bytes, str]:
        """The full-quality decode encoded as ``"wav"`` or ``"flac"`` in memory (no
        temporary file): ``(bytes, file name)``."""
        from ..io.audio import encode_audio, output_format, prepare_for_output

        if fmt not in ("wav", "flac"):
            raise ParameterError(f"format must be 'wav' or 'flac', not {fmt!r}")
        name = f"{self.source.stem}-edited.{fmt}"
        container, subtype = output_format(name, self._subtype_for(name))
        y, sr = self.render()
        y = prepare_for_output(y, subtype)
        return encode_audio(y, sr, container, subtype), name

    def image_bytes(self, part: str) -> tuple[bytes, str]:
        """The edited spectrogram (``part="spectrogram"``) or its phase image
        (``"phase"``) as 16-bit PNG bytes with metadata: ``(bytes, file name)``.

        The spectrogram names ``STEM-edited.phase.png``, the name the phase image is
        given, so the pair works when both are saved in one folder.
        """
        if part not in ("spectrogram", "phase"):
            raise ParameterError(f"part must be 'spectrogram' or 'phase', not {part!r}")
        image = self.edited_image()
        name = f"{self.source.stem}-edited.png"
        sidecar = _keep.sidecar_path(name)
        pair = _keep.pair_id(image.phase)  # the two downloads of one state: one pair
        if part == "spectrogram":
            text = _keep.linked_text(image.meta, sidecar)
            text[_keep.PAIR_KEY] = pair
            return png_bytes(image.pixels, text), name
        text = _keep.phase_text(image.meta)
        text[_keep.PAIR_KEY] = pair
        return png_bytes(image.phase, text), sidecar.name

    def _subtype_for(self, path) -> str | None:
        """The input's subtype when the output format can hold it."""
        import soundfile as sf

        from ..io.audio import FORMATS

        fmt = FORMATS.get(Path(path).suffix.lower(), (None,))[0]
        if self.subtype and fmt and sf.check_format(fmt, self.subtype):
            return self.subtype
        return None


#: Columns of the coarse first view of a recording being opened.
PREVIEW_COLUMNS = OVERVIEW_COLUMNS
#: Edits a recording being opened keeps until it can apply them.
MAX_QUEUED = 64


class Opening:
    """An audio recording being opened: its coarse spectrogram at once, the
    :class:`Session` when the full encode (in :meth:`prepare`, on a background thread)
    is done.

    The coarse view is, per column of the overview (at most :data:`PREVIEW_COLUMNS`),
    the maximum magnitude of each bin over the column's frames -- the STFT's magnitudes
    alone, block by block, without the phase, the 16-bit image or the session's
    copies, a few percent of the encode -- quantised on a range from its own peak: the
    page draws the whole recording while the rest is prepared, and a click between two
    frames stays visible.  Meanwhile the input's samples are served as both the
    original and the edited audio (they are the same until an edit), so the page
    plays at once, and edits are **queued** (:meth:`queue`, up to
    :data:`MAX_QUEUED`; undo and redo take them back and forth): they are applied, in
    order and through the journal, as soon as the session exists, before it is
    announced ready.  ``info()["preview"]`` is true until then; the page fetches the
    pictures again when ``ready`` turns true.  Once ready, every attribute is the
    session's.
    """

    def __init__(self, found, source: Path, encode) -> None:
        from ..params import frame_count

        self._found, self._encode, self._session = found, encode, None
        self.source = Path(source)
        self.error: str | None = None
        self.ready = threading.Event()
        self.lock = threading.RLock()
        p = found.params
        y = found.audio
        self._params = p
        self.channels = y.shape[0]
        self.n_frames = frame_count(y.shape[-1], p.n_fft, p.hop_length, p.center)
        self.n_samples = y.shape[-1]
        self.rows = p.n_mels if p.scale == "mel" else p.n_bins
        self.step = max(1, -(-self.n_frames // OVERVIEW_COLUMNS))
        self.row_step = max(1, -(-self.rows // MAX_ROWS))
        self._audio = y  # the input's samples: served while the session is prepared
        self._queue: list = []  # edits made meanwhile, applied when the session exists
        self._requeue: list = []  # and those taken back by undo (redo puts them back)
        self._taken = 0  # queued edits being applied now
        self.dropped: list[str] = []  # queued edits the session refused, and why
        self._qlock = threading.Lock()
        #: Set once every channel's whole coarse view has been asked for (the page drew it).
        self.shown = threading.Event()
        self.visited = threading.Event()  # and a page asked for the facts (info)
        self._shown: set[int] = set()
        self._preview()

    def _preview(self) -> None:
        p, y = self._params, self._found.audio
        # Every k-th frame, k such that they are at most half a window apart: every
        # sample still lies where some analysed window weighs at least a half (Hann),
        # so a click reads at most 6 dB low, for half the work.  Every core: nothing
        # else runs yet (the encode starts after the server).
        k = max(1, min(self.step, (p.n_fft // 2) // p.hop_length))
        engine = Stft(p.n_fft, p.hop_length * k, p.win_length, p.window, p.center,
                      workers=max(1, min(4, os.cpu_count() or 1)))  # fmt: skip
        cols = -(-self.n_frames // self.step)
        peak = np.zeros((self.channels, cols, p.n_fft // 2 + 1), np.float32)
        for a, b, spec in engine.forward_blocks(y):
            # the loudest of each column's frames, bin by bin (columns may straddle blocks)
            col = np.minimum(np.arange(a, b) * k // self.step, cols - 1)
            first = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
            red = np.maximum.reduceat(np.abs(spec), first, axis=1)
            np.maximum(peak[:, col[first]], red, out=red)
            peak[:, col[first]] = red
        S = peak.transpose(0, 2, 1)
        if p.scale == "mel":
            S = _scale.linear_to_mel(np.ascontiguousarray(S), _scale.mel_basis(p))
        db = _scale.amplitude_to_db(S)
        top_db = self._encode.top_db
        lo, hi = self._encode.db_range or _scale.db_range(db, top_db)
        self.db_min, self.db_max = lo, min(MAX_DB, hi + HEADROOM_DB)
        px = _scale.db_to_pixels(db, self.db_min, self.db_max)
        self._coarse = [pool(px[c], 1, self.row_step) for c in range(self.channels)]

    # ------------------------------------------------------------ while opening

    def __getattr__(self, name):  # only for what this class does not define itself
        session = self.__dict__.get("_session")
        if session is None:
            raise BusyError("the recording is still being opened; try again in a moment")
        return getattr(session, name)

    @property
    def meta(self):
        if self._session is not None:
            return self._session.meta
        return _Meta(self.n_samples, self._params)

    @property
    def applied(self) -> list:
        """The edits in effect: while opening, the queued ones (the page asks before
        the tab closes, and a stopping editor counts them)."""
        if self._session is not None:
            return self._session.applied
        return list(self._queue)  # one read of a list that is replaced or appended to

    @property
    def on_change(self):
        return self.__dict__.get("_on_change")

    @on_change.setter
    def on_change(self, fn) -> None:  # the journal: handed on to the session when it exists
        self.__dict__["_on_change"] = fn
        if self._session is not None:
            self._session.on_change = fn

    @property
    def version(self) -> int:
        return self._session.version if self._session is not None else 0

    def info(self) -> dict:
        if self._session is not None:
            return {**self._session.info(), "preview": False}
        self.visited.set()
        p = self._params
        hz = row_frequencies(p)
        return {
            "name": self.source.name, "sample_rate": p.sample_rate, "channels": self.channels,
            "n_samples": self.n_samples, "frames": self.n_frames, "rows": self.rows,
            "n_fft": p.n_fft, "hop_length": p.hop_length, "win_length": p.win_length,
            "window": str(p.window), "center": p.center, "scale": p.scale,
            "headroom_db": HEADROOM_DB, "row_hz": [round(float(f), 3) for f in hz],
            "db_min": self.db_min, "db_max": self.db_max,
            "db_step": (self.db_max - self.db_min) / _scale.PIXEL_MAX,
            "overview_step": self.step, "row_step": self.row_step, "kept_phase": True,
            "max_tile_cells": MAX_TILE_CELLS, "max_audio_samples": MAX_AUDIO_SAMPLES,
            "preview": True, **self.state(),
        }  # fmt: skip

    def state(self) -> dict:
        if self._session is not None:
            st = self._session.state()
            return {**st, "dropped": list(self.dropped)} if self.dropped else st
        queued, requeue = list(self._queue), bool(self._requeue)  # no lock: never waits
        return {"version": 0, "ready": False, "error": self.error, "can_undo": bool(queued),
                "can_redo": requeue, "history": [ops.describe(e) for e in queued],
                "queued": len(queued), "edits": len(queued)}  # fmt: skip

    def grid(self):
        """As :meth:`Session.grid` (known from the parameters before the encode)."""
        if self._session is not None:
            return self._session.grid()
        p = self._params
        return ops.Grid(
            channels=self.channels, rows=self.rows, frames=self.n_frames,
            frame_seconds=p.hop_length / p.sample_rate,
            frame_offset=0.0 if p.center else p.n_fft / 2 / p.sample_rate,
            row_hz=tuple(float(f) for f in row_frequencies(p)), bins=p.n_fft // 2 + 1,
        )  # fmt: skip

    def tile(self, channel: int, t0: int, t1: int, step: int) -> np.ndarray:
        """As :meth:`Session.tile`; while opening, from the coarse view (each column
        the nearest coarse frame)."""
        if self._session is not None:
            return self._session.tile(channel, t0, t1, step)
        if not 0 <= channel < self.channels:
            raise ParameterError(f"channel must be 0 to {self.channels - 1}, not {channel}")
        if not 0 <= t0 < t1 <= self.n_frames or not 1 <= step <= self.n_frames:
            raise ParameterError(f"frames must satisfy 0 <= t0 < t1 <= {self.n_frames}")
        views = self._coarse
        if views is None:  # the session took over meanwhile
            return self._session.tile(channel, t0, t1, step)
        coarse = views[channel]
        if t0 == 0 and t1 == self.n_frames and step >= self.step:
            self._shown.add(channel)
            if len(self._shown) == self.channels:
                self.shown.set()
        starts = np.arange(t0, t1, step)
        if starts.size * coarse.shape[0] > MAX_TILE_CELLS:
            raise ParameterError("ask for a larger step or fewer frames")
        # each column the loudest of the coarse columns its frames fall in
        first = np.minimum(starts // self.step, coarse.shape[1] - 1)
        last = np.minimum((np.minimum(starts + step, t1) - 1) // self.step, coarse.shape[1] - 1)
        if np.all(first == last):
            return np.ascontiguousarray(coarse[:, first])
        out = np.empty((coarse.shape[0], starts.size), coarse.dtype)
        for i, (a, b) in enumerate(zip(first.tolist(), last.tolist(), strict=True)):
            out[:, i] = coarse[:, a : b + 1].max(axis=1)
        return out

    def audio(self, which: str, start: int, end: int) -> np.ndarray:
        """As :meth:`Session.audio`; while opening, the input's samples for both (no
        edit has been applied yet)."""
        if self._session is not None:
            return self._session.audio(which, start, end)
        if which not in ("original", "edited"):
            raise ParameterError(f"which must be 'original' or 'edited', not {which!r}")
        n = self.n_samples
        if not 0 <= start < end <= n or end - start > MAX_AUDIO_SAMPLES:
            raise ParameterError(
                f"samples must satisfy 0 <= start < end <= {n}, at most "
                f"{MAX_AUDIO_SAMPLES} at a time"
            )
        y = self._audio
        if y is None:  # the session took over meanwhile
            return self._session.audio(which, start, end)
        return np.array(y[:, start:end], order="C", copy=True)

    def queue(self, edit: ops.Edit) -> dict | None:
        """Keep ``edit`` to apply when the session exists: the answer for the page, or
        None once the session is there (then edit it as usual)."""
        with self._qlock:
            if self._session is not None or self.error is not None:
                return None
            if len(self._queue) >= MAX_QUEUED:
                raise BusyError(
                    f"{MAX_QUEUED} edits are waiting for the full spectrogram; wait for it"
                )
            self._queue.append(edit)
            self._requeue.clear()
            return self._queued(ops.describe(edit))

    def unqueue(self, verb: str) -> dict | None:
        """Undo (``"undo"``) or redo (``"redo"``) a queued edit: the answer, or None once
        the session exists."""
        with self._qlock:
            if self._session is not None or self.error is not None:
                return None
            src, dst = (self._queue, self._requeue) if verb == "undo" else (
                self._requeue, self._queue)  # fmt: skip
            if not src:
                if self._taken:  # being applied: undo it on the session in a moment
                    raise BusyError("the queued edits are being applied; try again")
                raise NothingToDo(f"nothing to {verb}")
            e = src.pop()
            dst.append(e)
            return self._queued(f"{verb} {ops.describe(e)}")

    def _queued(self, label: str) -> dict:
        return {"version": 0, "label": label, "frames": [0, 0], "samples": [0, 0],
                "seconds": 0.0, "can_undo": bool(self._queue),
                "can_redo": bool(self._requeue), "queued": len(self._queue)}  # fmt: skip

    def _apply_queue(self, session) -> None:
        """Apply the queued edits on ``session``, then hand it over (under the queue's
        lock, so that no edit is queued after the last look)."""
        while True:
            with self._qlock:
                todo, self._queue = self._queue, []
                self._requeue.clear()
                self._taken = len(todo)
                if not todo:
                    self._session = session
                    return
            for e in todo:  # journaled as they are applied, as any edit
                try:
                    session.edit(e)
                except Spec2ImgError as err:
                    self.dropped.append(f"{ops.describe(e)}: {err}")
                with self._qlock:
                    self._taken -= 1

    def prepare(self) -> None:
        """The full encode and the session's own preparation (background thread)."""
        from ..convert import encode_editable

        try:
            image = encode_editable(self.source, self._found, self._encode)
            session = Session(image, self.source, original=self._found.audio,
                              subtype=self._found.subtype)  # fmt: skip
            del image
            self._found = None
            session.on_change = self.__dict__.get("_on_change")
            session.prepare()
            self._apply_queue(session)
            self._coarse = self._audio = None
        except Spec2ImgError as e:
            self.error = str(e)
            raise
        except MemoryError:
            self.error = "out of memory while opening"
            raise
        finally:
            self.ready.set()


@dataclass
class _Meta:
    n_samples: int
    params: object


class BusyError(Spec2ImgError):
    """The session cannot do this yet (it is still decoding)."""


class NothingToDo(Spec2ImgError):
    """Undo with an empty history, redo with nothing undone."""


def _to_q(angle: np.ndarray) -> np.ndarray:
    return (np.rint(angle * _Q).astype(np.int64) % 65536).astype(np.uint16)


def check_output_path(
    path: str | os.PathLike, source: str | os.PathLike | None, *, overwrite: bool = False
) -> Path:
    """Check ``-o OUTPUT`` before the server starts: a known extension, an existing
    folder we may write in, not the input (``source``; None for a new canvas), and
    (without ``overwrite``) no file there yet (nor its phase image, for a ``.png``)."""
    import tempfile

    from ..io.atomic import _target, check_output
    from ..io.audio import output_format

    path = Path(path)
    inputs = [] if source is None else [source]
    if path.suffix.lower() != ".png":
        output_format(path)
    else:
        check_output(_keep.sidecar_path(path), inputs, overwrite=overwrite)
    path = check_output(path, inputs, overwrite=overwrite)
    folder = _target(path).parent
    try:  # the Save writes a temporary file there: find out now, not after the edits
        with tempfile.TemporaryFile(dir=folder or "."):
            pass
    except OSError as e:
        raise OutputError(f"{path}: cannot write in {folder}: {e.strerror or e}") from None
    return path


def open_audio(path: str | os.PathLike, *, encode=None, max_pixels: int | None = None) -> Opening:
    """Read an audio file for editing and show it at once: an :class:`Opening` with a
    coarse view, whose :meth:`~Opening.prepare` makes the full session.  Errors of
    reading (and ``max_pixels``) are raised here, before any server starts."""
    from ..convert import load_editable_audio
    from ..options import DEFAULT_ENCODE

    encode = encode or DEFAULT_ENCODE
    found = load_editable_audio(path, encode=encode, max_pixels=max_pixels)
    return Opening(found, Path(path), encode)


def open_input(
    path: str | os.PathLike, *, plain=None, encode=None, max_pixels: int | None = None
) -> Session:
    """Read INPUT for editing through :func:`spec2img.convert.read_editable`: an audio
    file (its STFT phase is kept), a spec2img image (with its kept phase when present), or
    a plain image with ``plain`` (:class:`~spec2img.options.PlainOptions`) parameters.

    Raises
    ------
    Spec2ImgError
        The usual one-line errors of the loaders, naming the file.
    """
    from ..convert import read_editable
    from ..options import NO_PLAIN, PlainOptions

    if isinstance(plain, dict):
        plain = PlainOptions(**plain)
    from ..options import DEFAULT_ENCODE

    found = read_editable(path, plain=plain or NO_PLAIN, encode=encode or DEFAULT_ENCODE,
                          max_pixels=max_pixels)  # fmt: skip
    return Session(found.image, Path(path), original=found.audio, subtype=found.subtype)


#: Longest blank canvas, seconds.
MAX_NEW_SECONDS = 3600.0


def open_new(
    seconds: float, *, sr: int = 44100, channels: int = 1, encode=None, name: str = "new.wav"
) -> Session:
    """A silent canvas of ``seconds`` at ``sr`` Hz with ``channels`` channels, framed by
    ``encode`` (:class:`~spec2img.options.EncodeOptions`; its defaults when None).

    Its levels hang from a full-scale sine: the image's top is the STFT magnitude of a
    sine of amplitude 1, its floor 120 dB below (or ``encode.db_range``).
    """
    from ..options import DEFAULT_ENCODE
    from ..params import MAX_CHANNELS
    from ..pipeline import encode_with
    from ..windows import get_window

    if not (isinstance(seconds, int | float) and 0 < seconds <= MAX_NEW_SECONDS):
        raise ParameterError(f"--new takes 0 < SECONDS <= {MAX_NEW_SECONDS:g}, not {seconds!r}")
    if not 1 <= channels <= MAX_CHANNELS:
        raise ParameterError(f"--channels must be 1 to {MAX_CHANNELS}, not {channels}")
    if not 1000 <= sr <= 384000:
        raise ParameterError(f"--sr must be 1000 to 384000 Hz for a new canvas, not {sr}")
    opts = encode or DEFAULT_ENCODE
    n = max(int(round(seconds * sr)), opts.n_fft)
    y = np.zeros((channels, n), np.float32)
    db_range = opts.db_range
    if db_range is None:
        win = get_window(opts.window, opts.win_length or opts.n_fft, opts.n_fft)
        top = 20 * float(np.log10(float(np.sum(win)) / 2))
        db_range = (top - 120.0, top)
    opts = dataclasses.replace(opts, db_range=tuple(db_range), keep_phase=True, size=None,
                               segment=None)  # fmt: skip
    image = encode_with(y, sr, opts)
    return Session(image, Path(name), original=y, new=True)
