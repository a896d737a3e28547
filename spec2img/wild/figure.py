"""A spectrogram figure read the way a person reads it: axes, colours, colour bar.

:func:`read_figure` finds the axes frame, reads both axes' tick labels
(:mod:`spec2img.wild.axes`), names the colormap from the plot's own pixels
(:func:`spec2img.wild.colormap.identify_colormap`), reads a colour bar if there is
one (:mod:`spec2img.wild.colorbar`) and turns what it read into decoding settings,
each with where it came from:

- **time axis** (linear, else refused): its values at the frame's left and right
  edges give the duration, by the drawing tool's framing (specshow's cells are
  centred on frame times; ``plt.specgram``'s first column is centred at
  ``NFFT / 2``; scipy's ``pcolormesh(..., shading='gouraud')`` spans the segment
  centres);
- **frequency axis**: linear, librosa's ``log`` (symlog base 2, linear below C2),
  ``mel`` (symlog base 2, linear below 1 kHz) or a plain log axis (matplotlib's
  ``set_yscale('log')``, labels ``10^k``; decoded as ``y_axis='plainlog'`` with the
  axis's bottom as ``fmin``), whichever puts the labels on a straight line; the top of a linear or log Hz axis is the Nyquist
  frequency, so the sample rate follows (snapped to the usual rates within a bin);
  a mel axis gives ``fmax`` and leaves the rate to librosa's default;
- **the tool** from what the figure shows: a log or mel axis, magma or coolwarm means
  ``librosa.display.specshow`` (n_fft 2048, hop 512); viridis with a time axis
  starting after 0 means ``plt.specgram`` (NFFT 256, noverlap 128); colours bunched
  at the bottom of the colormap mean linear power, as the scipy documentation
  plots ``scipy.signal.spectrogram``;
- **dB**: a colour bar's labels; else the tool's convention (specshow of
  ``amplitude_to_db(ref=np.max)``: 80 dB) or an estimate from the picture.

Reading is bounded: images above :data:`AXES_PIXELS` are not searched for axes, and
every loop runs over at most a few dozen ticks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import InputError, Spec2ImgError

#: Figures with more pixels than this are not read for axes (decoding still works).
AXES_PIXELS = 16_000_000
#: Sample rates a Nyquist frequency read from an axis snaps to.
USUAL_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)
#: librosa's defaults (``librosa.display.specshow``, ``librosa.stft``).
LIBROSA = {"sr": 22050, "n_fft": 2048, "hop_length": 512, "n_mels": 128}
#: Round frequencies an fmax given to a mel spectrogram snaps to.
ROUND_FMAX = (4000, 5000, 6000, 7000, 7600, 8000, 10000, 11025, 12000, 16000, 20000, 22050, 24000)


@dataclass
class FigureReading:
    """What a figure says.

    Attributes
    ----------
    settings : dict
        plain_spec() keyword arguments read or implied.
    sources : dict
        Where each setting came from ("time axis", "colour bar", "librosa default", ...).
    tool : str or None
        ``"specshow"``, ``"specgram"``, ``"scipy"`` or ``"scipy-power"``.
    extra : dict
        PlainSpec fields (``lut`` of a colour bar, ``estimate_range``).
    notes : list of str
        What was read, for ``info``.
    problem : str or None
        Why the axes could not be read (``None``: they were).
    """

    settings: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    tool: str | None = None
    extra: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    problem: str | None = None
    bottom_fraction: float = 0.5  # median colormap value of the plot's pixels
    lit_median: float = 0.5  # median value of the pixels above the colormap's bottom
    t_span: float = 0.0  # seconds across the plot
    t_right: float | None = None  # the time axis's end, when the rate is not known
    frames: int | None = None  # columns counted on the frame grid
    mesh: str | None = None  # "cells" (imshow's blocks) or "vertices" (gouraud), by the rows
    bends: tuple | None = None  # (first pixel row, colour bends down the rows), see bends()
    columns: tuple | None = None  # (first pixel row, some columns of the plot's inside)

    def set(self, key, value, source) -> None:
        self.settings[key] = value
        self.sources[key] = source


# -- fitting ticks ---------------------------------------------------------------------
def _symlog(v, axis):
    from .geometry import SYMLOG, _symlog

    return _symlog(np.asarray(v, np.float64), axis) if axis in SYMLOG else None


def _forward(kind: str, v: np.ndarray) -> np.ndarray | None:
    v = np.asarray(v, np.float64)
    if kind == "linear":
        return v
    if kind in ("log", "mel"):
        return _symlog(v, kind)
    if kind == "plainlog":
        return np.log10(v) if np.all(v > 0) else None
    raise ValueError(kind)


def _inverse(kind: str, u: float) -> float:
    if kind == "linear":
        return float(u)
    if kind == "plainlog":
        return float(10.0**u)
    from matplotlib.scale import SymmetricalLogTransform

    from .geometry import SYMLOG

    base, linthresh, linscale = SYMLOG[kind]
    tr = SymmetricalLogTransform(base, linthresh, linscale).inverted()
    return float(tr.transform_non_affine(np.array([u]))[0])


@dataclass(frozen=True)
class Fit:
    """A robust line through (pixel, transformed value) pairs."""

    kind: str
    slope: float  # transformed value per pixel
    intercept: float
    inliers: int
    total: int
    residual: float  # RMS, pixels

    def value_at(self, px: float) -> float:
        return _inverse(self.kind, self.intercept + self.slope * px)


def fit_axis(pairs, kinds, *, tol: float = 1.0) -> Fit | None:
    """The kind of axis (of ``kinds``) on which most labels lie on one line.

    ``pairs`` are ``(pixel, value)``; a line is believed if at least three labels
    (two when only two ticks were read) and 60 % of those read lie within ``tol``
    pixels of it.
    """
    if len(pairs) < 2:
        return None
    px = np.array([p for p, _ in pairs], np.float64)
    vals = np.array([v for _, v in pairs], np.float64)
    need = max(2 if len(pairs) <= 3 else 3, int(math.ceil(0.6 * len(pairs))))
    best = None
    for kind in kinds:
        u = _forward(kind, vals)
        if u is None or not np.all(np.isfinite(u)):
            continue
        for i in range(len(px)):
            for j in range(i + 1, len(px)):
                if u[j] == u[i] or px[j] == px[i]:
                    continue
                slope = (px[j] - px[i]) / (u[j] - u[i])  # pixels per unit
                resid = np.abs(px[i] + slope * (u - u[i]) - px)
                ok = resid <= tol
                if ok.sum() < need:
                    continue
                a, b = np.polyfit(u[ok], px[ok], 1)
                r = float(np.sqrt(np.mean((a * u[ok] + b - px[ok]) ** 2)))
                key = (int(ok.sum()), -r)
                if best is None or key > best[0]:
                    best = (key, Fit(kind, 1.0 / a, -b / a, int(ok.sum()), len(px), r))
    return None if best is None else best[1]


# -- reading ---------------------------------------------------------------------------
def read_figure(path, *, crop=None, max_pixels: int | None = None) -> FigureReading:
    """Read a figure's axes, colours and colour bar (see the module's docstring).

    Never raises for what the picture does not show: ``problem`` says what could not
    be read, and the settings hold what could.  Images above :data:`AXES_PIXELS` (or
    ``max_pixels``) are not decoded here; their loader applies its own limit.
    """
    from .axes import read_axes
    from .colorbar import find_bar
    from .colormap import identify_colormap
    from .ink import page_ink
    from .raster import Raster, find_plot_area

    out = FigureReading()
    with Raster(path) as raster:
        w, h = raster.size
        if w * h > min(AXES_PIXELS, max_pixels or AXES_PIXELS):
            out.problem = f"too large ({w}x{h}) to search for axes"
            return out
        colours = raster.rgba((0, 0, w, h))
        # decided once: readers of the frame, ticks and labels see dark ink on light
        ink = page_ink(colours)
        try:
            area = find_plot_area(raster, crop=crop, ink=ink)
        except InputError:  # a broken or truncated file: no option would help
            raise
        except Spec2ImgError:
            out.problem = "no plot area found"
            return out
        rgba = ink.view(colours)
        dpi = raster.img.info.get("dpi")
    if ink.light:
        out.notes.append("light ink on a dark page (read inverted)")
    page = ((w, h), float(dpi[0]) if isinstance(dpi, tuple) and dpi else None)
    if area.how not in ("axes frame", "--crop"):
        out.problem = "the image has no axes to read them from"
    l0, t0 = int(math.ceil(area.left)) + 3, int(math.ceil(area.top)) + 3
    r0, b0 = int(area.right) - 3, int(area.bottom) - 3
    inner = colours[t0:b0, l0:r0]  # the plot's own colours, never inverted
    bar = None
    if area.how == "axes frame":
        x0 = max(0, min(w - 1, int(area.right) - 2))
        bar = find_bar(rgba[:, x0:], replace(area, left=area.left - x0, right=area.right - x0))
        if bar is not None:
            bar = replace(bar, lut=ink.colours(bar.lut))
    found, sample = None, np.zeros((0, 3), np.uint8)
    if inner.size:
        step = max(1, int(math.sqrt(inner.shape[0] * inner.shape[1] / 40000)))
        sample = inner[::step, ::step]
        sample = sample[sample[..., 3] >= 128][:, :3]
        if bar is None and len(sample):  # a colour bar names the map better
            found = identify_colormap(sample)
    _colours(out, found, bar, sample)
    if out.problem is not None and out.settings.get("cmap") in ("magma", "coolwarm"):
        out.tool = "specshow"  # librosa's colormaps: its STFT too
        for k in ("n_fft", "hop_length"):
            out.set(k, LIBROSA[k], f"librosa default ({out.settings['cmap']})")
    changes = None
    if "cmap" in out.settings and inner.size:
        from .colormap import ColormapInverse

        cm = ColormapInverse(out.settings["cmap"], lut=out.extra.get("lut"))
        level, valid = cm.rgb_levels(inner[..., :3])
        valid &= inner[..., 3] >= 128
        if valid.any():
            out.bottom_fraction = float(np.median(level[valid]))
            lit = level[valid & (level > 0.02)]
            out.lit_median = float(np.median(lit)) if lit.size else 0.0
        changes = _changes(level, valid)
    if inner.size:
        out.mesh = rows_drawn(inner, area.bottom - area.top, row0=t0)
        out.bends = (t0 + 1, bends(inner))
        # a few hundred columns of the plot's inside, for the mesh test of a log axis
        out.columns = (t0, inner[:, :: max(1, inner.shape[1] // 160), :3].astype(np.float32))
    if out.problem is not None:
        return out
    x_axis, y_axis = read_axes(rgba, area)
    _interpret(out, area, x_axis, y_axis, bar, page=page)
    if "sr" in out.settings and out.tool == "specshow" and changes is not None:
        _frame_grid(out, area, changes, (l0, t0))
    return out


def _colours(out: FigureReading, found, bar, sample) -> None:
    from .colormap import identify_colormap, is_reversed

    if bar is not None and len(bar.lut) >= 16:
        named = identify_colormap(np.clip(np.rint(bar.lut), 0, 255).astype(np.uint8))
        if named is not None:
            name = named[0] + ("_r" if is_reversed(named[0], bar.lut) else "")
            out.set("cmap", name, "colour bar (a matplotlib colormap)")
        else:
            out.set("cmap", "colour bar", "colour bar (its colours)")
            out.extra["lut"] = bar.lut
        out.notes.append(f"colour bar at {bar.box} ({len(bar.lut)} colours)")
    elif found is not None:
        out.set("cmap", found[0], f"pixels (on {found[0]}'s curve, {found[1]:.1f} off)")


def _interpret(out: FigureReading, area, x_axis, y_axis, bar, *, page=None) -> None:
    """Settings from the fitted axes; each axis gives what it can, and ``problem``
    names the axis that could not be read.  ``page`` is the image's ``(size, dpi)``."""
    problems = []
    xfit = yfit = None
    if x_axis is None:
        problems.append("no tick marks on the time axis")
    else:
        xfit = fit_axis(x_axis.readable, ("linear",), tol=max(1.0, 0.12 * x_axis.digit_height))
        if xfit is None:
            problems.append(_why(x_axis, "time"))
    if y_axis is None:
        problems.append("no tick marks on the frequency axis")
    else:
        # labels written as powers (10^k) are matplotlib's log scale: librosa's axes
        # write plain numbers, and above C2 its symlog is as straight a line
        powers = sum("^" in t for t in y_axis.labels) >= 2
        kinds = ("plainlog",) if powers else ("linear", "log", "mel", "plainlog")
        yfit = fit_axis(y_axis.readable, kinds, tol=max(1.0, 0.12 * y_axis.digit_height))
        if yfit is None:
            problems.append(_why(y_axis, "frequency"))
    t_left = t_right = f_top = f_bottom = None
    if xfit is not None:
        t_left, t_right = xfit.value_at(area.left), xfit.value_at(area.right)
        if not (t_right > t_left and t_right > 0):
            problems.append("the time axis runs backwards")
            xfit = None
        else:
            out.t_span = t_right - t_left
            out.notes.append(
                f"time axis: {t_left:.3f} .. {t_right:.3f} s "
                f"(labels {', '.join(_short(v) for v in x_axis.values)})"
            )
    if yfit is not None:
        f_top, f_bottom = yfit.value_at(area.top), yfit.value_at(area.bottom)
        if not (f_top > f_bottom and f_top > 0):
            problems.append("the frequency axis runs backwards")
            yfit = None
    out.problem = "; ".join(problems) or None
    if xfit is None and yfit is None:
        return
    cmap = out.settings.get("cmap")
    kind = yfit.kind if yfit is not None else "linear"
    before_zero = xfit is not None and t_left < -out.t_span / max(1.0, area.right - area.left)
    if kind in ("log", "mel") or cmap in ("magma", "coolwarm") or before_zero:
        tool = "specshow"
    elif _linear_power(out):
        tool = "scipy-power"
    elif out.mesh == "vertices":
        tool = "scipy"  # pcolormesh(..., shading='gouraud') of scipy's spectrogram in dB
    elif (
        kind == "plainlog"
        and yfit is not None
        and (_log_vertices(out, yfit, area.top) or _log_ramps(out, yfit, area.top))
    ):
        tool = "scipy"  # the same mesh on a log axis: its rows are stretched
        out.mesh = "vertices"
    else:
        tool = "specgram"
    out.tool = tool
    y_kind = kind
    if yfit is not None:
        kind_name = {"plainlog": "log (base 10)"}.get(kind, kind)
        out.notes.append(
            f"frequency axis: {kind_name}, {f_bottom:.0f} .. {f_top:.0f} Hz "
            f"(labels {', '.join(_label(t, v) for t, v in zip(y_axis.labels, y_axis.values, strict=True))})"
        )
        if tool != "specshow" and y_kind not in ("linear", "plainlog"):
            out.problem = f"a {kind_name} frequency axis is not what {tool} draws"
            out.tool = None
            return
        if y_kind == "plainlog":
            out.set("y_axis", "plainlog", "frequency axis")
    if tool == "specshow":
        if yfit is not None:
            out.set("y_axis", y_kind, "frequency axis")
        for k in ("n_fft", "hop_length"):
            out.set(k, LIBROSA[k], "librosa default")
        if "cmap" not in out.settings:
            out.set("cmap", "magma", "librosa default")
        if bar is None or bar.db_range is None:
            if out.settings["cmap"].startswith("coolwarm"):
                out.sources["top_db"] = "estimated from the picture"
            else:
                out.set("top_db", 80.0, "librosa default (amplitude_to_db top_db=80)")
    elif "cmap" not in out.settings:
        out.set("cmap", "viridis", "matplotlib default")
    if yfit is not None:
        # the resolution of the axis at its top, where the rate is read
        hz_per_px = abs(f_top - yfit.value_at(area.top + 1.0))
        if y_kind == "mel":
            fmax = _snap(f_top, ROUND_FMAX, 2 * hz_per_px + 0.01 * f_top)
            sr = LIBROSA["sr"] if fmax <= LIBROSA["sr"] / 2 + 1 else 2 * fmax
            out.set("sr", int(sr), "librosa default" if sr == LIBROSA["sr"] else "mel axis (fmax)")
            out.set("n_mels", LIBROSA["n_mels"], "librosa default (bands not measured)")
            if abs(fmax - sr / 2) > 1:
                out.set("fmax", float(fmax), "mel axis")
        elif tool == "specshow":
            # specshow's top row is centred on Nyquist: the axis ends half a bin above
            _rate(out, f_top / (1 + 1 / LIBROSA["n_fft"]), hz_per_px)
        else:
            _rate(out, f_top, hz_per_px)
        if y_kind == "plainlog" and "sr" in out.settings:
            # 0 Hz has no place on a log axis: the bottom of what is shown is needed.
            # The axis's top is known once the rate is (Nyquist, plus half a bin for
            # specshow's centred cells); the labels give the decades below it
            if tool == "specshow":  # refined by the cells' edges (_refine_fmin)
                top = out.settings["sr"] / 2 * (1 + 1 / LIBROSA["n_fft"])
                out.set("fmin", round(top * f_bottom / f_top, 3), "frequency axis (bottom)")
            else:
                # no cell edges to go by (a gouraud mesh, a resampled image): the
                # axis's own ends, which put each row where the labels say it is
                out.set("fmin", round(f_bottom, 3), "frequency axis (bottom)")
                out.set("fmax", round(f_top, 3), "frequency axis (top)")
    if xfit is not None and tool == "specshow" and _in_milliseconds(out, t_left, area, x_axis):
        t_left, t_right = t_left / 1000, t_right / 1000
        out.t_span /= 1000
        out.notes.append("time axis in milliseconds (its first cell is half a hop wide)")
    if xfit is not None and "sr" in out.settings and tool in _FIRST_COLUMN:
        t_right = _time_end(out, area, x_axis, xfit, t_right, bar, page)
    if xfit is not None and "sr" in out.settings:
        # specshow: the last frame's cell ends half a hop after its centre; specgram's
        # columns start NFFT / 2 in; scipy's gouraud mesh ends at the last segment's
        # centre (nperseg / 2 + half a hop before the end)
        dur = duration_from_axis(tool, t_right, out.settings["sr"])
        if 0 < dur < 86400:
            out.set("duration", dur, "time axis")
        else:
            out.problem = f"implausible time axis ({dur:g} s)"
    elif xfit is not None:  # seconds are known, the rate is not: the frames follow later
        out.t_right = t_right
    if bar is not None and bar.db_range is not None and tool != "scipy-power":
        lo, hi = bar.lut_range if "lut" in out.extra else bar.db_range
        _, top, _, bottom = bar.box
        if (
            "lut" not in out.extra
            and bar.line is not None
            and (abs(top - 2 - area.top) <= 3 and abs(bottom + 2 - area.bottom) <= 3)
        ):
            # fig.colorbar(ax=ax) spans the axes' height: the colormap's ends are at
            # the plot's edges, known to a fraction of a pixel (the bar's outline
            # hides its own)
            icpt, slope = bar.line
            lo, hi = icpt + slope * area.bottom, icpt + slope * area.top
        if abs(hi) < 1.0 and tool == "specshow":
            out.set("top_db", round(hi - lo, 2), "colour bar (ends at 0 dB: level unknown)")
        else:
            out.set("db_range", (round(lo, 2), round(hi, 2)), "colour bar")
            out.settings.pop("top_db", None)
        out.notes.append(
            f"colour bar labels {', '.join(f'{v:g}' for v in bar.labels)}: {lo:.1f} .. {hi:.1f} dB"
        )


# -- the frame grid -------------------------------------------------------------------
#: FFT sizes tried against the rows a figure shows.
N_FFTS = (128, 256, 512, 1024, 2048, 4096, 8192)
_MIN_CELL = 1.6  # pixels: narrower cells cannot be told from pixel noise


def _changes(level: np.ndarray, valid: np.ndarray):
    """Where neighbouring pixels differ inside the plot: ``(rows, cols)``, the fraction
    of changes between pixel row ``i`` and ``i + 1`` (column ``j`` and ``j + 1``).

    Pairs of pixels both on the clipped floor (``amplitude_to_db``'s ``top_db``, one
    flat colour) say nothing about where the cells are and are left out.
    """
    floor = level <= 0.01

    def frac(axis):
        d = np.abs(np.diff(level, axis=axis)) > 2e-3
        a = [slice(None)] * 2
        b = [slice(None)] * 2
        a[axis], b[axis] = slice(1, None), slice(None, -1)
        a, b = tuple(a), tuple(b)
        ok = valid[a] & valid[b] & ~(floor[a] & floor[b])
        n = ok.sum(axis=1 - axis)
        return np.where(n > 0, (d & ok).sum(axis=1 - axis) / np.maximum(n, 1), 0.0)

    return frac(0), frac(1)


def _score(
    profile: np.ndarray, edges_px: np.ndarray, origin: int, shifts=(0.0, -0.3, 0.3, -0.15, 0.15)
) -> float | None:
    """How much more often the pixels change at predicted cell edges than inside cells.

    Only cells at least :data:`_MIN_CELL` pixels wide count.  matplotlib's rasteriser
    gives a pixel to the cell that covers its far corner, so an edge at ``x`` shows as
    a change between pixels ``floor(x) - 1`` and ``floor(x)``: profile index
    ``floor(x) - 1 - origin`` (measured on specshow's pcolormesh).  The best of shifts
    within a third of a pixel is kept (JPEG, resampled figures).
    """
    edges_px = np.asarray(edges_px, np.float64)
    wide = np.flatnonzero(np.diff(edges_px) >= _MIN_CELL)
    if len(wide) < 4:
        return None
    best = None
    for shift in shifts:
        idx = np.floor(edges_px + shift).astype(np.int64) - 1 - origin
        on = np.zeros(len(profile), bool)
        off = np.zeros(len(profile), bool)
        for k in wide:
            a, b = idx[k], idx[k + 1]
            if 0 <= a and b < len(profile):
                on[a] = on[b] = True
                off[a + 1 : b] = True
        off &= ~on
        if on.sum() < 8 or off.sum() < 8:
            continue
        sc = float(profile[on].mean() - profile[off].mean())
        if best is None or sc > best:
            best = sc
    return best


def _frame_grid(out: FigureReading, area, changes, origin) -> None:
    """n_fft and hop from the cells, where the figure shows them wider than a pixel."""
    from . import geometry

    rows, cols = changes
    sr = out.settings["sr"]
    width = area.right - area.left
    # columns: the number of frames whose edges the picture's changes follow
    best = None
    if cols.size and np.mean(cols) < 0.6:
        for t in range(8, int(width / _MIN_CELL) + 1):
            sc = _score(cols, area.left + np.arange(t + 1) * width / t, origin[0])
            if sc is not None and (best is None or sc > best[1]):
                best = (t, sc)
    frames = None
    if best is not None and best[1] > 0.5:
        # a multiple of the true count scores about half; a divisor as well: the
        # largest count close to the best is the grid
        frames = best[0]
        for t in range(best[0] * 2, int(width / _MIN_CELL) + 1, best[0]):
            sc = _score(cols, area.left + np.arange(t + 1) * width / t, origin[0])
            if sc is not None and sc >= 0.9 * best[1]:
                frames = t
    # rows: which FFT size's bin edges the changes follow
    scores = {}
    y_axis = out.settings.get("y_axis", "linear")
    if y_axis in ("linear", "log") and rows.size and np.mean(rows) < 0.6:
        for n_fft in N_FFTS:
            centres = geometry.row_centres(y_axis, n_fft // 2 + 1, sample_rate=sr, n_fft=n_fft)
            edges = geometry.row_edges_px(y_axis, centres, area.top, area.bottom)
            sc = _score(rows, edges, origin[1])
            if sc is not None:
                scores[n_fft] = sc
    elif y_axis == "mel" and rows.size and np.mean(rows) < 0.6:
        _mel_bands(out, area, rows, origin[1])
    elif y_axis == "plainlog" and "fmin" in out.settings and rows.size and np.mean(rows) < 0.6:
        _refine_fmin(out, area, rows, origin[1])
    if scores:
        n_fft, sc = max(scores.items(), key=lambda kv: kv[1])
        others = [v for k, v in scores.items() if k != n_fft]
        if sc > 0.5 and (not others or sc > max(others) + 0.2):
            out.set("n_fft", n_fft, "frame grid (rows)")
            if n_fft != LIBROSA["n_fft"]:
                out.set("hop_length", n_fft // 4, "librosa default (n_fft / 4)")
    if frames is not None:
        if abs(out.t_span - frames) <= 1.5:
            # labels 0 .. T: specshow without x_axis='time' counts frames, not seconds
            out.problem = f"the x axis counts the {frames} frames, not seconds"
            out.settings.pop("duration", None)
            out.sources.pop("duration", None)
            return
        out.frames = frames
        hop = hop_from_frames(frames, out.t_span * sr)
        ms = hop_from_frames(frames, out.t_span * sr / 1000)
        if (hop is None or hop > 8 * LIBROSA["n_fft"]) and ms is not None and ms <= 8192:
            # x_axis='ms': as many frames in thousands of "seconds" is no STFT
            out.t_span /= 1000
            out.set("duration", round(out.settings["duration"] / 1000, 4), "time axis")
            out.notes.append(f"time axis in milliseconds ({frames} columns)")
            hop = ms
        if hop is not None and hop <= out.settings.get("n_fft", LIBROSA["n_fft"]):
            out.set("hop_length", hop, f"frame grid ({frames} columns)")


#: Rows of the tools' 256-point spectra: ``plt.specgram``'s imshow draws 129 cells from 0
#: to Nyquist; scipy's gouraud mesh puts 129 vertices there, 128 intervals apart.
SPECTRUM_ROWS = 129


def rows_drawn(rgba: np.ndarray, height: float, *, row0: int = 0) -> str | None:
    """Whether a plot's rows are cells (``imshow``) or vertices (``pcolormesh`` with
    gouraud shading), from where the colour bends.

    ``rgba`` is the plot's inside (less a margin of a few pixels) from pixel row
    ``row0`` of the image, ``height`` the plot's height in pixels.  Either way the picture
    blends neighbouring values, so it is the second difference down the columns that
    shows the grid: it peaks where two cells meet (``plt.specgram``: 129 cells, edges
    ``H / 129`` apart) or at each vertex (gouraud: 129 vertices, ``H / 128`` apart).
    Over the whole height the two grids drift half a cell apart, so only one of them
    stays in phase with the peaks; it must pick up 1.6 times what any other of the
    spacings 127..130 does.  ``None`` when none stands out (rows under about a pixel
    and a half, JPEG's blocks louder than the rows, a picture without texture).
    """
    px = np.asarray(rgba[..., :3], np.float64)
    if px.shape[0] < 3 * SPECTRUM_ROWS // 2 or px.shape[1] < 8:
        return None
    ok = rgba[..., 3] >= 128
    d2 = np.abs(np.diff(px, 2, axis=0)).sum(axis=-1)
    m = ok[2:] & ok[1:-1] & ok[:-2]
    prof = np.where(m, d2, 0.0).sum(axis=1) / np.maximum(m.sum(axis=1), 1)
    # JPEG's 8-row blocks bend the colours too: their pattern (every harmonic of 8
    # rows, one near 129 cells on some heights) is taken out first
    phase = (row0 + 1 + np.arange(len(prof))) % 8
    prof = prof - (np.bincount(phase, prof, 8) / np.maximum(np.bincount(phase, None, 8), 1))[phase]
    norm = np.sum(np.abs(prof))
    if norm <= 0:
        return None
    y = np.arange(len(prof))  # only the spacing matters, not where the grid starts
    coh = {}
    for cells in (SPECTRUM_ROWS - 2, SPECTRUM_ROWS - 1, SPECTRUM_ROWS, SPECTRUM_ROWS + 1):
        coh[cells] = abs(np.sum(prof * np.exp(2j * np.pi * y * cells / height))) / norm
    # the grids either side say how much a wrong spacing picks up (JPEG's blocks, texture)
    best = max(coh, key=coh.get)
    if best not in (SPECTRUM_ROWS - 1, SPECTRUM_ROWS) or coh[best] < 0.1:
        return None
    if coh[best] < 1.6 * max(v for k, v in coh.items() if k != best):
        return None
    return "cells" if best == SPECTRUM_ROWS else "vertices"


def bends(rgba: np.ndarray) -> np.ndarray:
    """How sharply the colours bend down the rows of a plot's inside: the mean over
    columns of the second difference, entry ``i`` centred on pixel row ``i + 1``."""
    px = np.asarray(rgba[..., :3], np.float64)
    if px.shape[0] < 3:
        return np.zeros(0)
    ok = rgba[..., 3] >= 128
    m = ok[2:] & ok[1:-1] & ok[:-2]
    d2 = np.abs(np.diff(px, 2, axis=0)).sum(axis=-1)
    return np.where(m, d2, 0.0).sum(axis=1) / np.maximum(m.sum(axis=1), 1)


def _bend_ratio(out: FigureReading, rows_px: np.ndarray) -> float | None:
    """How much more the colours bend on the pixel rows ``rows_px`` (where a mesh
    puts its vertices or cell edges) than between them, over the rows at least
    3 pixels apart; ``None`` when fewer than 4 such rows are inside the plot."""
    first, prof = out.bends
    pos = np.sort(np.asarray(rows_px, np.float64))
    idx = np.floor(pos).astype(np.int64) - first
    gaps = np.diff(pos)
    on, off = [], []
    for k in range(1, len(pos) - 1):
        if gaps[k - 1] >= 3 and gaps[k] >= 3 and 0 <= idx[k] < len(prof):
            on.append(prof[idx[k]])
            off.extend(prof[idx[k] + 2 : min(len(prof), idx[k + 1] - 1)])
    if len(on) < 4 or not off:
        return None
    return float(np.mean(on) / max(float(np.mean(off)), 1e-9))


def _log_vertices(out: FigureReading, yfit: Fit, top: float) -> bool:
    """Whether a plain log axis shows scipy's gouraud mesh (the colour bends at its
    129 vertices, ``k sr / 256``) rather than ``plt.specgram``'s cells.  A log axis
    stretches the lowest rows to tens of pixels, where the vertices stand out (5-8
    times the bend between them, against at most 3 at ``plt.specgram``'s cell edges
    or scipy's bins centred in cells, ``shading='nearest'``); higher up they crowd
    together, and the phase test of :func:`rows_drawn` sees no grid."""
    if out.bends is None or len(out.bends[1]) < 16:
        return False
    f_top = yfit.value_at(top)
    sr = _snap(2 * f_top, USUAL_RATES, 0.02 * f_top)  # two labels: the top is 1 % out
    if sr == 2 * f_top:
        return False

    def px(f):
        return (np.log10(f) - yfit.intercept) / yfit.slope

    k = np.arange(1, SPECTRUM_ROWS)
    vertices = _bend_ratio(out, px(k * sr / 256))
    others = [
        _bend_ratio(out, px(np.arange(1, SPECTRUM_ROWS + 1) * (sr / 2) / SPECTRUM_ROWS)),
        _bend_ratio(out, px((k + 0.5) * sr / 256)),
    ]
    others = [v for v in others if v is not None]
    return vertices is not None and vertices > 4.0 and vertices > 1.3 * max(others, default=0.0)


def _ramps_residual(cols: np.ndarray, first: int, knots: np.ndarray, lo: int, hi: int) -> float:
    """RMS misfit of pixel rows ``lo:hi`` (``cols`` starts at pixel row ``first``)
    to colours that ramp linearly between ``knots`` (pixel rows), fitted per column
    and channel by least squares on hat functions."""
    y = np.arange(lo, hi) + 0.5
    k = np.sort(np.asarray(knots, np.float64))
    i0, i1 = max(0, int(np.searchsorted(k, lo)) - 1), int(np.searchsorted(k, hi)) + 1
    k = k[i0 : i1 + 1]
    if len(k) < 3:
        return 0.0
    phi = np.zeros((len(y), len(k)))
    for j in range(len(k)):
        left = k[j - 1] if j > 0 else k[j] - 1e9
        right = k[j + 1] if j + 1 < len(k) else k[j] + 1e9
        phi[:, j] = np.clip(
            np.minimum((y - left) / (k[j] - left), (right - y) / (right - k[j])), 0, 1
        )
    data = cols[lo - first : hi - first].reshape(len(y), -1).astype(np.float64)
    coef, *_ = np.linalg.lstsq(phi, data, rcond=None)
    return float(np.sqrt(np.mean((phi @ coef - data) ** 2)))


def _log_ramps(out: FigureReading, yfit: Fit, top: float) -> bool:
    """Whether a plain log axis shows scipy's bins at its 129 vertices (``k sr / 256``:
    gouraud's mesh, or cells centred on them) rather than ``plt.specgram``'s image,
    where JPEG has smeared the bends :func:`_log_vertices` looks for.

    On the stretched rows (vertices 6 pixels apart or more), ``plt.specgram``'s
    image, resampled onto the log axis, ramps linearly between its 129 cells'
    centres (``(j + 1/2) sr / 258``): colours that ramp between those fit it 1.3-3
    times better than between scipy's vertices; scipy's figures fit either about
    as well (0.96-1.6) or the vertices better.  A picture that ramps between the
    cells' centres to within 0.9 RGB units is ``plt.specgram``'s whatever the
    vertices say (clicks: a column one colour from top to bottom fits both to
    JPEG's noise).
    """
    if out.columns is None or yfit.slope >= 0:
        return False
    first, cols = out.columns
    f_top = yfit.value_at(top)
    sr = _snap(2 * f_top, USUAL_RATES, 0.02 * f_top)
    if sr == 2 * f_top:
        return False

    def px(f):
        return (np.log10(f) - yfit.intercept) / yfit.slope

    vertices = px(np.arange(1, SPECTRUM_ROWS) * sr / 256)
    gaps = -np.diff(vertices)  # pixel rows fall as the frequency rises
    wide = np.flatnonzero(gaps >= 6)
    if len(wide) < 4:
        return False
    hi = min(first + cols.shape[0], int(vertices[0]))
    lo = max(first, int(vertices[wide[-1] + 1]))
    if hi - lo < 24:
        return False
    at_vertices = _ramps_residual(cols, first, vertices, lo, hi)
    centres = px((np.arange(SPECTRUM_ROWS) + 0.5) * (sr / 2) / SPECTRUM_ROWS)
    at_centres = _ramps_residual(cols, first, centres, lo, hi)
    return at_centres >= 0.9 and at_centres >= 0.9 * at_vertices


def _refine_fmin(out: FigureReading, area, rows: np.ndarray, origin: int) -> None:
    """The bottom of a plain log axis, to a tenth of a pixel: matplotlib snaps tick
    marks to whole pixels, so the labels alone leave it half a pixel out, and on a
    log axis the lowest bins are tens of pixels tall.  Their edges (specshow's cells
    are centred on the bins) are where the picture's colours change."""
    from . import geometry

    sr, n_fft = out.settings["sr"], out.settings.get("n_fft", LIBROSA["n_fft"])
    fmin = out.settings["fmin"]
    top = sr / 2 * (1 + 1 / n_fft)
    per_px = math.log10(top / fmin) / (area.bottom - area.top)  # decades per pixel
    centres = geometry.row_centres("plainlog", n_fft // 2 + 1, sample_rate=sr, n_fft=n_fft)
    best = None
    for shift in np.arange(-1.5, 1.501, 0.05):  # pixels the bottom may move
        f = fmin * 10.0 ** (-shift * per_px)
        edges = geometry.row_edges_px("plainlog", centres, area.top, area.bottom, (f, None))
        sc = _score(rows, edges, origin, shifts=(0.0,))
        if sc is not None and (best is None or sc > best[1] + 1e-9):
            best = (f, sc)
    if best is not None and best[1] > 0.3:
        out.set("fmin", round(float(best[0]), 3), "frequency axis (bottom, by the cells' edges)")


#: Mel band counts tried against the rows of a mel figure.
N_MELS = (16, 20, 24, 32, 40, 48, 60, 64, 80, 96, 100, 120, 128, 160, 192, 200, 256, 320, 384, 512)


def _mel_bands(out: FigureReading, area, rows: np.ndarray, origin: int) -> None:
    """n_mels from the rows of a mel figure, where its bands are taller than
    :data:`_MIN_CELL` pixels: the count whose band edges (on specshow's mel axis)
    the picture's changes follow clearly better than any other's."""
    from . import geometry

    sr = out.settings["sr"]
    fmax = out.settings.get("fmax", sr / 2)
    height = area.bottom - area.top
    scores = {}
    for n in N_MELS:
        if height / n < _MIN_CELL:
            break
        centres = geometry.row_centres("mel", n, sample_rate=sr, n_fft=LIBROSA["n_fft"],
                                       fmax=fmax)  # fmt: skip
        edges = geometry.row_edges_px("mel", centres, area.top, area.bottom)
        sc = _score(rows, edges, origin)
        if sc is not None:
            scores[n] = sc
    if not scores:
        out.sources["n_mels"] = "librosa default (bands thinner than a pixel: not measured)"
        return
    n, sc = max(scores.items(), key=lambda kv: kv[1])
    # a count dividing the true one finds every other edge and scores nearly as well
    # (but less: its cells hold the true edges between); other counts must trail
    others = [v for k, v in scores.items() if n % k]
    if sc > 0.5 and (not others or sc > max(others) + 0.2):
        out.set("n_mels", n, f"frame grid ({n} mel bands)")
    else:
        out.sources["n_mels"] = "librosa default (the bands' edges are not clear)"


#: A label in librosa's millisecond form past a second: ``1e+03``, ``1.5e+04``.
_MS_LABEL = re.compile(r"e\+0[3-9]$")


def _in_milliseconds(out: FigureReading, t_left: float, area, x_axis=None) -> bool:
    """Whether a specshow figure's time axis counts milliseconds (``x_axis='ms'``):
    its first cell is centred on 0, so the axis starts half a hop before it; half a
    hop of more than 4096 samples in seconds, but of 8 to 4096 in milliseconds, at
    least two pixels wide, is a millisecond axis.  Past a second or so that half
    hop is under two pixels, but librosa writes milliseconds with three significant
    digits (``'{:.3g}'``), so a thousand and more in exponent form (``1.5e+03``),
    which its seconds (``'{:.2g}'`` under a minute, ``m:ss`` beyond) never are."""
    if x_axis is not None and out.t_span < 1e6:
        read = zip(x_axis.labels, x_axis.values, strict=True)
        if sum(v is not None and bool(_MS_LABEL.search(t)) for t, v in read) >= 2:
            return True
    sr = out.settings.get("sr")
    if sr is None or t_left >= 0:
        return False
    per_px = out.t_span / max(1.0, area.right - area.left)
    half = -t_left * sr
    return -t_left >= 2 * per_px and half > 4096 and 8 <= half / 1000 <= 4096


def hop_from_frames(frames: int, n_samples: float) -> int | None:
    """The hop of a specshow figure of ``frames`` columns spanning ``n_samples``
    (``frames x hop``), snapped to a power of two within 2 %; ``None`` if implausible."""
    if frames < 2 or n_samples <= 0:
        return None
    hop = n_samples / frames
    if not 16 <= hop <= 65536:
        return None
    p2 = 2 ** round(math.log2(hop))
    return int(p2 if abs(hop - p2) <= 0.02 * p2 else round(hop))


def duration_from_axis(tool: str, t_right: float, sr: int) -> float:
    """Seconds of audio whose figure's time axis ends at ``t_right``.

    specshow: the last frame's cell ends half a hop after its centre, which is about
    the end of the audio; specgram: its columns start ``NFFT / 2`` in; scipy's
    gouraud mesh ends at the last segment's centre, ``nperseg / 2`` plus half a hop
    before the end.  scipy's segments are counted (the axis's end snapped to the
    nearest segment centre, ``128 + 224 k`` samples), and the duration put in the
    middle of the lengths that give that many: a pixel's error in the axis then
    does not drop the last segment.
    """
    if tool in ("scipy", "scipy-power"):
        segments = max(1, round((t_right * sr - 128) / 224) + 1)
        return round((256 + 224 * (segments - 1) + 112) / sr, 5)
    if tool == "specgram":
        # the axis ends half a hop (64) past the last segment's centre (128 + 128 k):
        # the middle of the lengths that give as many segments
        segments = max(1, round((t_right * sr - 64) / 128))
        return round((128 * segments + 192) / sr, 5)
    return round(t_right, 4)


#: Where each tool's picture starts on its time axis, in samples: ``plt.specgram``'s
#: first column is ``(NFFT - noverlap) / 2`` left of its first segment's centre
#: (``NFFT / 2``); scipy's gouraud mesh starts at the first segment's centre.
_FIRST_COLUMN = {"specgram": 64, "scipy": 128, "scipy-power": 128}


def _time_end(out: FigureReading, area, x_axis, xfit: Fit, t_right: float, bar, page) -> float:
    """The time at the frame's right edge, from every tick at once (each says where
    it is only to within the pixel matplotlib snapped it to), the tool's known start
    and, where the figure keeps matplotlib's default layout, the frame's exact
    sides (:mod:`spec2img.wild.layout`).  The least-squares value when no end fits
    every tick, or the ticks allow more than it is off by."""
    from .layout import axis_end, default_frame

    sr = out.settings["sr"]
    tol = max(1.0, 0.12 * x_axis.digit_height)
    pairs = [
        (p, v)
        for p, v in x_axis.readable
        if abs((xfit.intercept + xfit.slope * p) - v) <= tol * abs(xfit.slope)
    ]
    frame = None
    if page is not None:
        frame = default_frame(page[0], page[1], area.left, area.right, bar=bar is not None)
    end = axis_end(pairs, area.left, area.right, t_left=_FIRST_COLUMN[out.tool] / sr, frame=frame)
    per_px = out.t_span / max(1.0, area.right - area.left)
    if end is None or not (end[0] - per_px <= t_right <= end[1] + per_px):
        return t_right
    mid = (end[0] + end[1]) / 2
    how = "the default layout's frame" if frame is not None else "the frame's pixels"
    out.notes.append(
        f"time axis end {mid:.4f} s (every tick and {how}: {end[0]:.4f} .. {end[1]:.4f})"
    )
    out.t_span += mid - t_right
    return mid


def _rate(out: FigureReading, nyquist: float, hz_per_px: float) -> None:
    """The sample rate from the Nyquist frequency read off the axis."""
    est = 2 * nyquist
    tol = max(4 * hz_per_px, 0.004 * est)
    snapped = _snap(est, USUAL_RATES, tol)
    if snapped == est:  # bin numbers, or an odd rate: never guess
        out.problem = (
            f"the frequency axis ends at {nyquist:.0f}, not the Nyquist frequency of a "
            "usual sample rate"
        )
    else:
        out.set("sr", int(snapped), "frequency axis (top = Nyquist)")


def _snap(v: float, choices, tol: float) -> float:
    near = min(choices, key=lambda c: abs(c - v))
    return float(near) if abs(near - v) <= tol else v


def _linear_power(out: FigureReading) -> bool:
    """Colours bunched at the colormap's bottom: linear power (scipy's docs), not dB."""
    # dB spreads a spectrogram over the colormap; linear power leaves all but the
    # loudest cells near the bottom (noise: median ~ peak / (2 ln cells)).  A sound
    # mostly at a dB floor (clicks in silence, 10 log10(max(Sxx, 1e-20))) sits at the
    # bottom too, but what rises above it spreads over the map (median 0.8 against
    # below 0.11 for linear power)
    return out.bottom_fraction < 0.08 and out.lit_median < 0.3


def _why(axis, name: str) -> str:
    read = [v for v in axis.values if v is not None]
    if len(read) < 2:
        return f"the {name} axis labels cannot be read"
    shown = ", ".join(_label(t, v) for t, v in zip(axis.labels, axis.values, strict=True))
    scale = "straight line" if name == "time" else "linear, log or mel scale"
    return f"the {name} axis labels ({shown}) do not lie on a {scale}"


def _label(text: str, v) -> str:
    """A label as read: its value, or its text when that is a power (``10^3``)."""
    return text if "^" in text else _short(v)


def _short(v) -> str:
    return "?" if v is None else f"{v:g}"
