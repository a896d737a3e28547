"""Images without spec2img metadata: matplotlib plots, JPEGs, GAN outputs.

The parameters come from the user (:func:`plain_spec`) or from another spec2img image
or dataset file (``params_from``).  :func:`load_plain` then

1. opens the image in bounded memory (:class:`~spec2img.wild.raster.Raster`), any mode;
2. finds the plot area: ``crop`` by hand, else trims uniform borders and finds an
   axes frame (:func:`~spec2img.wild.raster.find_plot_area`);
3. turns colours back into values with the colormap's lookup table
   (:class:`~spec2img.wild.colormap.ColormapInverse`), never by luminance;
4. averages the pixels inside each STFT cell, placed exactly as specshow draws it
   (:mod:`~spec2img.wild.geometry`, :mod:`~spec2img.dsp.resize`), strip by strip;
5. maps values to dB and to magnitude (mel bands through the NNLS inverse) and
   returns a linear-frequency :class:`~spec2img.io.image.SpectrogramImage` that
   :func:`spec2img.decode` turns into audio.

The absolute level of a plot is unknown unless the dB range is given in absolute
terms; such images carry ``level=relative`` and decode to a peak of -1 dBFS.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..dsp.resize import lanczos_weights, raster_weights
from ..dsp.scale import mel_basis, mel_to_linear
from ..errors import InputError, ParameterError, in_file
from ..io.image import SpectrogramImage, quantise
from ..io.params_from import read_params
from ..options import PLAIN_FIELDS
from ..params import (
    DEFAULT_N_MELS,
    DEFAULT_TOP_DB,
    DEFAULT_WINDOW,
    MAX_ABS_DB,
    Metadata,
    SpecParams,
)
from . import geometry
from .colormap import ColormapInverse
from .raster import PlotArea, Raster, find_plot_area
from .register import register

#: Dynamic range assumed for a plot when none is given: librosa's amplitude_to_db default.
DEFAULT_PLOT_TOP_DB = 80.0


@dataclass(frozen=True)
class PlainSpec:
    """Everything needed to read a plain image: STFT, geometry, colours and dB range.

    Attributes
    ----------
    params : SpecParams
        STFT framing; ``scale`` says whether the rows are STFT bins or mel bands.
    n_samples : int
        Samples of the audio the image shows; the width is ``params.n_frames(n_samples)``
        frames.
    channels : int
        Channel blocks stacked vertically (channel 0 on top), uniform rows only.
    y_axis : {"linear", "log", "mel", "plainlog"}
        How the rows are drawn (see :mod:`spec2img.wild.geometry`).
    limits : (float or None, float or None)
        Visible frequency range in Hz of a ``linear``/``log``/``plainlog`` axis
        (``None``: the whole).
    cmap : str
        The matplotlib colormap the image was drawn with.
    db_min, db_max : float
        dB of the first and last colour of the colormap.
    absolute : bool
        ``db_min``/``db_max`` are absolute (ref = 1.0); otherwise relative to an unknown
        peak, and the decoded audio is normalised.
    zero_is_silence : bool
        The first colour means silence (spec2img's convention), not ``db_min``.
    mel_power : float
        Mel rows hold ``mel_basis @ |X| ** mel_power`` in dB (1: spec2img's magnitude
        mel; 2: librosa's melspectrogram default).
    drawn : bool
        The image was drawn by a plotting library (each pixel shows the cell under its
        centre) rather than resized from the STFT grid (a GAN's output, a training-set
        image): see :mod:`spec2img.dsp.resize`.
    low_at_top : bool
        The lowest frequency is in the top row (audio-diffusion's images).
    first_frame : int >= 0
        STFT frames (of ``n_frames``) before the first column drawn (``plt.specgram``
        starts at a window's centre, not at sample 0); frames beyond the columns repeat
        the nearest column.
    columns : int or None
        Frames drawn across the plot (``None``: ``n_frames - first_frame``).
    column_lag : float
        Column ``k`` is centred ``column_lag`` frames after frame
        ``first_frame + k * column_step`` (sox centres its windows half a step late);
        frames take the levels interpolated at their own times.
    column_step : int >= 1
        Frames from one column's centre to the next (a grid finer than the
        columns, for phase retrieval: sox's windows overlap too little).
    delay : int >= 0
        Samples the decoded audio is delayed by: the frames are centred that much
        before the windows the columns show (sox's windows start part of a step
        early), metadata ``delay`` for :func:`spec2img.decode`.
    db_offset : float
        dB added to the image's values to give ``20 log10 |STFT|`` (a PSD's or sox's
        window scaling), for absolute levels.
    lut : np.ndarray or None
        The colours of the colormap, ``(N, 3)`` in 0..255, when they come from the
        image itself (a colour bar, sox's palette) rather than from ``cmap``.
    register : bool
        Move a drawn plot's area onto the cell grid the pixels show (off when the
        area is known exactly).
    estimate_range : bool
        No dB range is known: estimate it from the picture
        (:func:`spec2img.wild.estimate.range_from_peaks`, else
        :func:`spec2img.wild.estimate.estimate_top_db`) instead of ``db_min``.
    drawn_window : str, tuple or None
        The window the drawing tool used, where it is not the one decoded with
        (scipy's ``("tukey", 0.25)``); the shape of its peaks measures the range.
    power : bool
        The colours show linear power from 0 to the peak (the scipy documentation's
        ``pcolormesh(t, f, Sxx)``), not dB; the level is relative.
    """

    params: SpecParams
    n_samples: int
    channels: int = 1
    y_axis: str = "linear"
    limits: tuple[float | None, float | None] = (None, None)
    cmap: str = "gray"
    db_min: float = -DEFAULT_PLOT_TOP_DB
    db_max: float = 0.0
    absolute: bool = False
    zero_is_silence: bool = False
    mel_power: float = 2.0
    drawn: bool = True
    low_at_top: bool = False
    first_frame: int = 0
    columns: int | None = None
    column_lag: float = 0.0
    column_step: int = 1
    delay: int = 0
    db_offset: float = 0.0
    lut: np.ndarray | None = field(default=None, compare=False, repr=False)
    register: bool = True
    estimate_range: bool = False
    power: bool = False
    drawn_window: str | tuple | None = None

    @property
    def n_frames(self) -> int:
        return self.params.n_frames(self.n_samples)

    @property
    def n_columns(self) -> int:
        """Frames drawn across the plot area."""
        if self.columns is not None:
            return self.columns
        return max(1, self.n_frames - self.first_frame)

    def colormap(self) -> ColormapInverse:
        return ColormapInverse(self.cmap, lut=self.lut)


def plain_spec(
    *,
    sr: int | None = None,
    n_fft: int | None = None,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: str | None = None,
    duration: float | None = None,
    frames: int | None = None,
    cmap: str | None = None,
    db_range: tuple[float, float] | None = None,
    top_db: float | None = None,
    y_axis: str | None = None,
    fmin: float | None = None,
    fmax: float | None = None,
    n_mels: int | None = None,
    mel_power: float | None = None,
    params_from: str | os.PathLike | Metadata | None = None,
    image_name: str | os.PathLike | None = None,
    scale: str | None = None,
) -> PlainSpec:
    """Validate hand-given parameters (on top of ``params_from``) into a :class:`PlainSpec`.

    Parameters
    ----------
    sr : int > 0
        Sampling rate (required unless ``params_from``).
    n_fft : int
        FFT size (required unless ``params_from``).
    hop_length, win_length, window
        As in librosa (defaults ``win_length // 4``, ``n_fft``, ``"hann"``).
    duration : float > 0
        Length of the audio in seconds; or
    frames : int > 0
        number of STFT frames (one of them is required unless ``params_from``).
    cmap : str
        matplotlib colormap of the image (``"gray"``).
    db_range : (float, float)
        Absolute dB of the colormap's first and last colour; the level is kept.
    top_db : float > 0
        Range below an unknown peak (default 80, librosa's ``amplitude_to_db``).
    y_axis : {"linear", "log", "mel", "plainlog"}
        specshow's ``y_axis``; ``"mel"`` means the rows are mel bands; ``"plainlog"``
        is matplotlib's plain log scale (``ax.set_yscale('log')``, labels ``10^k``),
        which needs ``fmin`` > 0, the axis's bottom.
    fmin, fmax : float
        Visible frequency range (linear/log axes) or mel range (mel rows).
    n_mels : int
        Mel bands of a ``"mel"`` image (128).
    mel_power : {1, 2}
        1 if the mel bands are magnitudes, 2 if power (librosa's melspectrogram; the
        default for plots).
    params_from : path-like or Metadata
        A spec2img image, an ``info --json`` file or a dataset JSON whose metadata
        supply every parameter; the arguments above override single values.
    image_name : path-like
        Named in the error that lists missing parameters.
    scale : {"linear", "mel"} or None
        Whether uniform rows (``y_axis="linear"``) are STFT bins or mel bands
        (audio-diffusion's images); default: linear, or ``params_from``'s.
    """
    base = read_params(params_from) if isinstance(params_from, str | os.PathLike) else params_from
    missing = []
    if base is None:
        if sr is None:
            missing.append("{sr}")
        if n_fft is None:
            missing.append("{n_fft}")
        if duration is None and frames is None:
            missing.append("{duration} (or {frames})")
    if missing:
        who = f"{image_name}: ".replace("{", "{{").replace("}", "}}") if image_name else ""
        raise ParameterError(
            template=f"{who}no spec2img metadata in this image; if an editor dropped it "
            "(Pillow does), add {params_from} ORIGINAL.png (the image it was edited from); "
            f"otherwise give {_and(missing)} (and {{hop_length}}, {{win_length}}, "
            "{window}, {cmap}, {db_range} or {top_db}, {y_axis} as they apply), or "
            "{params_from} a dataset JSON",
            params=PLAIN_FIELDS,
        )
    if duration is not None and frames is not None:
        raise ParameterError("give duration or frames, not both", params=("duration", "frames"))
    if db_range is not None and top_db is not None:
        raise ParameterError("give db_range or top_db, not both", params=("db_range", "top_db"))

    p = base.params if base is not None else None
    y_axis = "linear" if y_axis is None else y_axis
    if y_axis not in geometry.Y_AXES:
        raise ParameterError(f"y_axis must be one of {list(geometry.Y_AXES)}, not {y_axis!r}")
    if scale not in (None, "linear", "mel"):
        raise ParameterError(f"scale must be 'linear' or 'mel', not {scale!r}")
    if scale is None:
        scale = p.scale if p is not None else "linear"
    scale = "mel" if y_axis == "mel" else scale
    if y_axis == "mel" and p is not None and p.scale != "mel":
        raise ParameterError(
            "y_axis mel draws mel bands, but the parameters describe linear STFT bins",
            params=("y_axis",),
        )
    sr = p.sample_rate if sr is None else sr
    fields = {
        "sample_rate": sr,
        "n_fft": p.n_fft if n_fft is None else n_fft,
        "window": (p.window if p is not None else DEFAULT_WINDOW) if window is None else window,
        "scale": scale,
    }
    if hop_length is not None or p is not None:
        fields["hop_length"] = p.hop_length if hop_length is None else hop_length
    if win_length is not None or p is not None:
        fields["win_length"] = p.win_length if win_length is None else win_length
    limits: tuple[float | None, float | None] = (None, None)
    if scale == "mel":
        fields["n_mels"] = (
            (p.n_mels if p is not None else DEFAULT_N_MELS) if n_mels is None else n_mels
        )
        fields["fmin"] = (p.fmin if p is not None else 0.0) if fmin is None else fmin
        fields["fmax"] = p.fmax if fmax is None and p is not None else fmax
    else:
        if n_mels is not None:
            raise ParameterError(
                "n_mels applies to mel images (y_axis mel) only", params=("n_mels", "y_axis")
            )
        limits = (fmin, fmax)
        for name, v in (("fmin", fmin), ("fmax", fmax)):
            if v is not None and not (isinstance(v, int | float) and math.isfinite(v)):
                raise ParameterError(f"{name} must be a number, not {v!r}")
        if fmin is not None and fmin < 0:
            raise ParameterError(f"fmin={fmin:g} must be >= 0")
        if y_axis == "plainlog" and not (fmin is not None and fmin > 0):
            raise ParameterError(
                "y_axis plainlog needs fmin > 0: the frequency at the bottom of the plot "
                "(a log axis has no 0 Hz)",
                params=("fmin", "y_axis"),
            )
        if fmin is not None and fmax is not None and not fmin < fmax:
            raise ParameterError(f"fmin={fmin:g} must be below fmax={fmax:g}")
    params = SpecParams(**fields)

    if frames is not None:
        if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
            raise ParameterError(f"frames must be a whole number >= 1, not {frames!r}")
        n_samples = (frames - 1) * params.hop_length
    elif duration is not None:
        if not (isinstance(duration, int | float) and math.isfinite(duration) and duration > 0):
            raise ParameterError(f"duration must be a number of seconds > 0, not {duration!r}")
        n_samples = int(round(duration * params.sample_rate))
    else:
        n_samples = base.n_samples
    if n_samples > 2**34:
        raise ParameterError(f"duration of {n_samples} samples is implausibly long")

    absolute = base is not None
    db_min, db_max = (base.db_min, base.db_max) if base is not None else (-80.0, 0.0)
    if db_range is not None:
        db_min, db_max = (float(v) for v in db_range)
        if not (math.isfinite(db_min) and math.isfinite(db_max)) or not db_min < db_max:
            raise ParameterError(
                f"db_range needs LOW < HIGH, not {db_min:g} {db_max:g}", params=("db_range",)
            )
        if max(abs(db_min), abs(db_max)) > MAX_ABS_DB:
            raise ParameterError(
                f"db_range values must be within +-{MAX_ABS_DB:g} dB", params=("db_range",)
            )
        absolute = True
    elif top_db is not None or base is None:
        top_db = DEFAULT_PLOT_TOP_DB if top_db is None else top_db
        if not (isinstance(top_db, int | float) and math.isfinite(top_db)) or not (
            0 < top_db <= MAX_ABS_DB
        ):
            raise ParameterError(f"top_db must be a number in (0, {MAX_ABS_DB:g}], not {top_db!r}")
        db_min, db_max, absolute = -float(top_db), 0.0, False

    if mel_power is None:
        mel_power = 1.0 if base is not None else 2.0
    if mel_power not in (1, 2):
        raise ParameterError(f"mel_power must be 1 (magnitude) or 2 (power), not {mel_power!r}")
    channels = base.channels if base is not None else 1
    if channels > 1 and y_axis != "linear":
        raise ParameterError(
            f"a {channels}-channel image has uniform rows; use y_axis linear", params=("y_axis",)
        )
    ColormapInverse(cmap or "gray")  # fail early on an unknown colormap
    return PlainSpec(
        params=params, n_samples=n_samples, channels=channels, y_axis=y_axis, limits=limits,
        cmap=cmap or "gray", db_min=db_min, db_max=db_max, absolute=absolute,
        zero_is_silence=base is not None, mel_power=float(mel_power),
        drawn=base is None or y_axis != "linear",
    )  # fmt: skip


def load_plain(
    path: str | os.PathLike,
    spec: PlainSpec,
    *,
    crop: tuple[float, float, float, float] | None = None,
    max_pixels: int | None = None,
) -> SpectrogramImage:
    """Read a plain image as a linear-frequency spectrogram image.

    Parameters
    ----------
    path : path-like
        Any image Pillow reads.
    spec : PlainSpec
        From :func:`plain_spec`.
    crop : (left, top, right, bottom) or None
        Plot area in pixels (Pillow's crop box); ``None`` finds it automatically.
    max_pixels : int or None
        Refuse larger images (``None``: no limit; the file is the user's choice).

    Returns
    -------
    SpectrogramImage
        Linear scale, ``n_fft // 2 + 1`` bins by ``spec.n_frames``; ``meta.extra``
        has ``level=relative`` when the level is unknown.
    """
    cm = spec.colormap()
    with Raster(path, max_pixels=max_pixels) as raster:
        if raster.is_single_channel and not cm.is_gray:
            raise ParameterError(
                f"{path}: the image is grayscale but colormap {spec.cmap!r} has colours; "
                "use --cmap gray (or gray_r, Greys, ...) for grayscale images"
            )
        raster.draft(_draft_scale(raster, spec), gray=cm.is_gray)
        try:
            area = find_plot_area(raster, crop=crop)
        except ParameterError as e:
            raise in_file(path, e) from None
        if spec.drawn and spec.register:
            area = register(
                raster, area, functools.partial(cell_edges, spec),
                lambda px: cm.pixel_levels(px, raster.gray_max(px)),
            )  # fmt: skip
        levels, outside = read_cells(raster, area, spec, cm)
        estimate = (
            spec.estimate_range
            and spec.params.scale == "linear"
            and not spec.absolute
            and not spec.power
        )
        rows = centre_rows(raster, area, spec, cm) if estimate else None
    if estimate:
        from dataclasses import replace

        from .estimate import estimate_range

        rows_of = functools.partial(centre_rows_of, spec=spec)
        top_db, how = estimate_range(levels, rows, spec, area, rows_of)
        spec = replace(spec, db_min=spec.db_max - top_db)
        extra = {"estimated_top_db": f"{top_db:.1f}", "estimated_by": how}
        return levels_to_image(levels, spec, outside=outside, extra=extra)
    return levels_to_image(levels, spec, outside=outside)


#: Pixel columns :func:`centre_rows` reads at most.
CENTRE_COLUMNS = 8192


def centre_rows(raster: Raster, area: PlotArea, spec: PlainSpec, cm) -> np.ndarray:
    """Colormap values of the pixel row through each bin's centre (channel 0).

    Returns ``(n_bins, columns)`` levels, lowest bin first, NaN where a pixel is not
    the colormap's.  Unlike :func:`read_cells`, which averages every pixel of a cell,
    a centre row mixes in little of the neighbouring bins, so the shapes of peaks are
    kept (:func:`spec2img.wild.estimate.range_from_peaks`).
    """
    centres, c0, c1 = _centre_pixels(spec, area, raster.size)
    out = np.full((len(centres), max(c1 - c0, 0)), np.nan)
    if c1 <= c0:
        return out
    for i, r in enumerate(centres):
        px = raster.region((c0, int(r), c1, int(r) + 1))
        level, valid = cm.pixel_levels(px, raster.gray_max(px))
        out[i] = np.where(valid[0], level[0], np.nan)
    return out if spec.low_at_top else out[::-1]


def centre_rows_of(rgba: np.ndarray, cm, *, spec: PlainSpec) -> np.ndarray:
    """:func:`centre_rows` of a picture in memory whose plot fills it (a redrawing)."""
    h, w = rgba.shape[:2]
    centres, c0, c1 = _centre_pixels(spec, PlotArea(0.0, 0.0, float(w), float(h)), (w, h))
    level, valid = cm.pixel_levels(rgba[centres, c0:c1])
    out = np.where(valid, level, np.nan)
    return out if spec.low_at_top else out[::-1]


def _centre_pixels(
    spec: PlainSpec, area: PlotArea, size: tuple[int, int]
) -> tuple[np.ndarray, int, int]:
    """The pixel row through each bin's centre (top row first) and the columns read."""
    w, h = size
    _, y = cell_edges(spec, area)
    y = y[: spec.params.n_bins + 1]
    centres = np.floor((y[:-1] + y[1:]) / 2).astype(np.int64)
    centres = np.clip(centres, max(0, math.ceil(area.top)), min(h, math.floor(area.bottom)) - 1)
    c0 = max(0, math.ceil(area.left) + 2)
    c1 = min(w, math.floor(area.right) - 2, c0 + CENTRE_COLUMNS)
    return centres, c0, c1


def cell_edges(spec: PlainSpec, area: PlotArea) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-coordinate edges of the frame columns and of the rows (top row first).

    With several channels the rows of channel 0 come first (it is on top).
    """
    p = spec.params
    x = geometry.column_edges_px(spec.n_columns, area.left, area.right)
    centres = geometry.row_centres(
        spec.y_axis, p.n_bins, sample_rate=p.sample_rate, n_fft=p.n_fft, scale=p.scale,
        fmin=p.fmin, fmax=p.fmax,
    )  # fmt: skip
    block = (area.bottom - area.top) / spec.channels
    parts = []
    for k in range(spec.channels):
        top = area.top + k * block
        e = geometry.row_edges_px(spec.y_axis, centres, top, top + block, spec.limits)
        parts.append(e if k == 0 else e[1:])
    return x, np.concatenate(parts)


def read_cells(
    raster: Raster, area: PlotArea, spec: PlainSpec, cm: ColormapInverse
) -> tuple[np.ndarray, np.ndarray]:
    """Average colormap values over every STFT cell, streaming the image in strips.

    Returns
    -------
    levels : np.ndarray [shape=(channels, n_bins, n_frames), dtype=float32]
        Values in [0, 1], lowest bin first.
    outside : np.ndarray [shape=levels.shape, dtype=bool]
        Cells outside the visible frequency range (they decode as silence).
    """
    w, h = raster.size
    x_edges, y_edges = cell_edges(spec, area)
    c0, c1 = max(0, math.floor(area.left)), min(w, math.ceil(area.right))
    r0, r1 = max(0, math.floor(area.top)), min(h, math.ceil(area.bottom))
    if c1 <= c0 or r1 <= r0:
        raise InputError(f"{raster.path}: the plot area is empty")
    weights = raster_weights if spec.drawn else lanczos_weights
    wx = weights(x_edges - c0, c1 - c0).T.tocsr().astype(np.float32)
    wy = weights(y_edges - r0, r1 - r0).tocsc().astype(np.float32)
    num = np.zeros((wy.shape[0], wx.shape[1]), np.float64)
    den = np.zeros_like(num)
    for r, px in raster.strips((c0, r0, c1, r1)):
        n = px.shape[0]
        level, valid = cm.pixel_levels(px, raster.gray_max(px))
        for bl, bt, br, bb in area.masked:
            rs = slice(max(bt - r, 0), max(min(bb - r, n), 0))
            cs = slice(max(bl - c0, 0), max(br - c0, 0))
            valid[rs, cs] = False
        v = valid.astype(np.float32)
        part = wy[:, r - r0 : r - r0 + n]
        num += part @ np.asarray((level * v) @ wx)
        den += part @ np.asarray(v @ wx)
    outside_rows = np.diff(wy.tocsr().indptr) == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        levels = np.where(den > 1e-9, num / den, np.nan)
    levels = _fill_gaps(levels, outside_rows)
    outside = np.broadcast_to(outside_rows[:, None], levels.shape)
    c, b, t = spec.channels, spec.params.n_bins, spec.n_columns
    rows = slice(None) if spec.low_at_top else slice(None, None, -1)
    levels = levels.reshape(c, b, t)[:, rows, :]
    outside = outside.reshape(c, b, t)[:, rows, :]
    return np.ascontiguousarray(levels, dtype=np.float32), np.ascontiguousarray(outside)


def levels_to_image(
    levels: np.ndarray, spec: PlainSpec, *, outside: np.ndarray | None = None,
    extra: dict | None = None,
) -> SpectrogramImage:  # fmt: skip
    """Colormap values per cell ``(channels, n_bins, n_frames)`` -> linear spectrogram image.

    Values map linearly to dB between ``spec.db_min`` and ``spec.db_max``; mel bands are
    inverted to linear bins by non-negative least squares.
    """
    levels = np.clip(np.asarray(levels, dtype=np.float64), 0.0, 1.0)
    if spec.delay:
        extra = {**(extra or {}), "delay": str(int(spec.delay))}
    silent = np.zeros(levels.shape, bool) if outside is None else np.asarray(outside).copy()
    levels, silent = _place_columns(levels, silent, spec)
    if spec.power:  # linear power: magnitude is its square root, the level unknown
        S = np.where(silent, 0.0, np.sqrt(levels)).astype(np.float32)
        return magnitude_image(S, spec.params, spec.n_samples, absolute=False, extra=extra)
    db = spec.db_offset + spec.db_min + levels * (spec.db_max - spec.db_min)
    if spec.zero_is_silence:
        silent |= levels <= 0.5 / 65535
    p = spec.params
    if p.scale == "mel":
        power = spec.mel_power
        M = np.where(silent, 0.0, 10.0 ** (db * power / 20.0)).astype(np.float32)
        S = mel_to_linear(M, mel_basis(p)) ** np.float32(1.0 / power)
    else:
        S = np.where(silent, 0.0, 10.0 ** (db / 20.0)).astype(np.float32)
    return magnitude_image(
        S, p.replace(scale="linear"), spec.n_samples, absolute=spec.absolute, extra=extra
    )


def magnitude_image(
    S: np.ndarray, params: SpecParams, n_samples: int, *, absolute: bool,
    top_db: float = DEFAULT_TOP_DB, extra: dict | None = None,
) -> SpectrogramImage:  # fmt: skip
    """A 16-bit spectrogram image of linear magnitudes ``(channels, n_fft//2+1, frames)``.

    Cells at zero stay silent (pixel 0).  With ``absolute=False`` the metadata says
    ``level=relative``: :func:`spec2img.decode` then normalises the peak to -1 dBFS.
    """
    S = np.asarray(S, dtype=np.float32)
    peak = float(S.max()) if S.size else 0.0
    db_max = 20 * math.log10(peak) if peak > 0 else -100.0
    db_max = min(max(db_max, -MAX_ABS_DB + top_db), MAX_ABS_DB)
    db_min = db_max - top_db
    pixels, _ = quantise(S, db_min, db_max, zero_is_silence=True)
    extra = dict(extra or {})
    if not absolute:
        extra["level"] = "relative"
    meta = Metadata(
        params=params, db_min=db_min, db_max=db_max, n_samples=n_samples,
        channels=S.shape[0], extra=extra,
    )  # fmt: skip
    return SpectrogramImage(pixels, meta)


def _place_columns(levels, silent, spec: PlainSpec):
    """Put the drawn columns at their frames; frames outside repeat the nearest column."""
    t = levels.shape[-1]
    before = min(spec.first_frame, spec.n_frames)
    after = spec.n_frames - before - t
    if spec.column_lag or spec.column_step > 1:
        pos = np.arange(spec.n_frames) - before - spec.column_lag
        pos = np.clip(pos / spec.column_step, 0, t - 1)
        i0 = np.minimum(np.floor(pos).astype(np.int64), max(t - 2, 0))
        i1 = np.minimum(i0 + 1, t - 1)
        frac = pos - i0
        out = levels[..., i0] * (1 - frac) + levels[..., i1] * frac
        if not spec.power and spec.db_max > spec.db_min:
            gain = _energy_gain(levels, out, spec.db_max - spec.db_min)
            if gain:  # level 0 stays 0: below the range, silent where zero_is_silence
                out = np.where(out > 0, out + gain, out)
        return out, silent[..., i0] & silent[..., i1]
    if before == 0 and after == 0:
        return levels, silent
    idx = np.clip(np.arange(spec.n_frames) - before, 0, t - 1)
    return levels[..., idx], silent[..., idx]


def _energy_gain(columns, frames, db_span: float, chunk: int = 4096) -> float:
    """The level (in units of ``db_span``) that gives the interpolated ``frames`` the
    mean power of the drawn ``columns``.

    Levels are interpolated in dB between two columns' centres, which keeps an onset
    sharp but passes below the power a recording carries from one to the other (a
    geometric mean under an arithmetic one): a sox decode came out 0.1-0.35 dB quiet.
    One gain over the whole picture restores the energy without smearing any onset.
    """
    k = db_span / 10 * math.log(10)  # level -> natural log of power

    def energy(a):
        total, top = 0.0, float(np.max(a)) if a.size else 0.0
        for j in range(0, a.shape[-1], chunk):
            total += float(np.exp(k * (a[..., j : j + chunk] - top)).sum())
        return total, top

    drawn, t1 = energy(columns)
    made, t2 = energy(frames)
    if drawn <= 0 or made <= 0:
        return 0.0
    ratio = math.log(drawn / columns.shape[-1] * frames.shape[-1] / made) + k * (t1 - t2)
    gain = ratio / k
    return gain if abs(gain) * db_span < 3.0 else 0.0  # a sane correction only


def _draft_scale(raster: Raster, spec: PlainSpec) -> int:
    """Largest JPEG reduction (1, 2, 4, 8) that leaves every cell >= 4 pixels each way
    (reduced pixels straddling a cell boundary blend two cells)."""
    w, h = raster.size
    unit = PlotArea(0.0, 0.0, 1.0, 1.0)
    x, y = cell_edges(spec, unit)
    smallest = min(w * float(np.min(np.diff(x))), h * float(np.min(np.diff(y))))
    s = 1
    while s < 8 and smallest / (2 * s) >= 4:
        s *= 2
    return s


def _fill_gaps(levels: np.ndarray, outside_rows: np.ndarray) -> np.ndarray:
    """Fill cells no valid pixel reached (frame lines, foreign colours): from the nearest
    rows of the same column, else from the nearest column; cells outside the plotted
    frequency range become 0."""
    levels = levels.copy()
    levels[outside_rows] = 0.0
    holes = np.isnan(levels)
    if not holes.any():
        return levels
    rows = np.arange(levels.shape[0])
    inside = ~outside_rows
    empty = []
    for t in np.flatnonzero(holes.any(axis=0)):
        col = levels[:, t]
        ok = ~np.isnan(col) & inside
        if ok.any():
            fill = ~ok & inside
            col[fill] = np.interp(rows[fill], rows[ok], col[ok])
        else:
            empty.append(t)
    full = np.setdiff1d(np.arange(levels.shape[1]), empty)
    if full.size:
        for t in empty:
            levels[:, t] = levels[:, full[np.argmin(np.abs(full - t))]]
    return np.nan_to_num(levels, nan=0.0)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
