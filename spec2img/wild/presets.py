"""The conventions of the tools people make spectrogram images with, as presets.

A preset fills in what a tool does by default; the user adds what the tool was told
(``sr``, ``duration``, a changed ``n_fft``/``hop_length``/``cmap``), and every option
given explicitly wins over the preset.  What the image itself shows (sox's palette and
layout, a colour bar and its labels, the size of an audio-diffusion image) is
*detected*.  :func:`resolve` returns the settings for
:func:`spec2img.wild.plain.plain_spec` and where each came from, which ``spec2img info``
prints.

The defaults below were measured against the tools themselves (matplotlib 3.x,
sox 14.4.2, the ``Mel`` class of audio-diffusion): see ``docs/presets.md``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import ParameterError

#: Colormap name meaning "read the colours from the figure's colour bar".
AUTO = "auto"


@dataclass(frozen=True)
class Preset:
    """One tool's defaults, in plain_spec()'s names (``None``: not the tool's to say).

    Attributes
    ----------
    name : str
        What ``--preset`` takes.
    tool : str
        The call that makes such images.
    settings : mapping
        plain_spec() keyword arguments the tool implies.
    needs : tuple of str
        Options the user must give (what the tool was told), as plain_spec() names.
    """

    name: str
    tool: str
    settings: Mapping = field(default_factory=dict)
    needs: tuple[str, ...] = ()


#: ``plt.specgram(x, Fs=sr)``: NFFT 256, noverlap 128, ``window_hanning`` (symmetric;
#: decoded with the periodic Hann of the same length), PSD with one-sided doubling,
#: ``10 log10``, drawn by ``imshow`` over the data's own min..max in viridis, with axes.
SPECGRAM = Preset(
    "specgram", "matplotlib.pyplot.specgram(x, Fs=sr)",
    {"n_fft": 256, "hop_length": 128, "window": "hann", "cmap": "viridis", "y_axis": "linear"},
    needs=("sr", "duration"),
)  # fmt: skip
#: ``sox in.wav -n spectrogram``: Hann, DFT size from the image's rows, hop from the
#: width and the duration, dB range 120 ending at 0 dBFS, palette from the file.
SOX = Preset(
    "sox", "sox in.wav -n spectrogram -o out.png",
    {"window": "hann", "y_axis": "linear", "db_range": (-120.0, 0.0)},
    needs=("sr", "duration"),
)  # fmt: skip
#: audio-diffusion's ``Mel`` (teticio): 256x256 8-bit gray, sr 22050, n_fft 2048, hop
#: 512, 256 mel bands of power, ``power_to_db(ref=max, top_db=80)``, bytes
#: ``(dB + 80) 255 / 80`` rounded, low frequencies in the top row.
AUDIO_DIFFUSION = Preset(
    "audio-diffusion", "audiodiffusion.mel.Mel().audio_slice_to_image(i)",
    {
        "sr": 22050, "n_fft": 2048, "hop_length": 512, "window": "hann", "cmap": "gray",
        "y_axis": "linear", "scale": "mel", "fmin": 0.0, "mel_power": 2, "top_db": 80.0,
    },
)  # fmt: skip
#: ``scipy.signal.spectrogram(x, fs)`` drawn with ``pcolormesh(t, f, 10 log10(Sxx))``:
#: nperseg 256, noverlap nperseg // 8 (hop 224), Tukey(0.25) window (decoded with the
#: Hann window of the same length), PSD density, one-sided; viridis.
SCIPY = Preset(
    "scipy", "pcolormesh(*scipy.signal.spectrogram(x, fs), shading='gouraud')",
    {"n_fft": 256, "hop_length": 224, "window": "hann", "cmap": "viridis", "y_axis": "linear"},
    needs=("sr", "duration"),
)  # fmt: skip
#: The same drawn in linear power, as the scipy documentation's example does.
SCIPY_POWER = Preset("scipy-power", SCIPY.tool.replace("10 log10(Sxx)", "Sxx"),
                     dict(SCIPY.settings), needs=("sr", "duration"))  # fmt: skip
#: Riffusion: parameters from the image's EXIF, else Riffusion's defaults.
RIFFUSION = Preset("riffusion", "riffusion.spectrogram_image_converter")

PRESETS = {p.name: p for p in (SPECGRAM, SOX, AUDIO_DIFFUSION, RIFFUSION, SCIPY, SCIPY_POWER)}
#: Presets of figures drawn with axes, whose axes can be read.
FIGURE_PRESETS = ("specgram", "scipy", "scipy-power")

#: plain_spec() names shown by ``info``, in order.
SHOWN = (
    "sr", "n_fft", "hop_length", "win_length", "window", "duration", "frames", "cmap",
    "db_range", "top_db", "y_axis", "scale", "n_mels", "fmin", "fmax", "mel_power",
    "crop",
)  # fmt: skip


def get_preset(name: str) -> Preset:
    """The preset called ``name``."""
    if name not in PRESETS:
        raise ParameterError(
            f"preset must be one of {sorted(PRESETS)}, not {name!r}", params=("preset",)
        )
    return PRESETS[name]


@dataclass
class Resolved:
    """What a plain image decodes with.

    Attributes
    ----------
    preset : str or None
    options : dict
        plain_spec() keyword arguments (and ``crop``).
    sources : dict
        For each option: ``"option"``, ``"preset <name>"``, ``"detected"`` or
        ``"default"``.
    extra : dict
        :class:`~spec2img.wild.plain.PlainSpec` fields set after validation
        (``lut``, ``db_offset``, ``low_at_top``, ...).
    notes : list of str
        What was detected, for ``info``.
    """

    preset: str | None
    options: dict
    sources: dict
    extra: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def set(self, key, value, source) -> None:
        """Set ``key`` unless the user gave it."""
        if self.sources.get(key) != "option":
            self.options[key] = value
            self.sources[key] = source

    def given(self, key) -> bool:
        return self.sources.get(key) == "option"


_UNSET = object()


def detect(header, path=None) -> str | None:
    """The preset an image identifies without doubt, or ``None``.

    sox's palette (its four fixed entries and its level curves) identifies a sox PNG
    from its header; a sox figure whose palette was lost (converted to RGB, saved as
    JPEG) by its layout, read from ``path`` when given: the grid box, the background
    and the dB scale at sox's places (:func:`spec2img.wild.sox.looks_like_sox`).
    matplotlib's ``Software`` text does not say which function drew the figure.
    """
    from .sox import identify_palette

    if header.format == "PNG" and identify_palette(header.palette) is not None:
        return "sox"
    if path is not None and header.palette is None and not header.text:
        from ..errors import Spec2ImgError
        from .raster import Raster
        from .sox import looks_like_sox

        try:
            with Raster(path) as raster:
                if looks_like_sox(raster) is not None:
                    return "sox"
        except Spec2ImgError:  # its loader reports a broken file
            return None
    return None


def resolve(
    path: str | os.PathLike, options: Mapping, header=None, figure=None, detected=_UNSET
) -> Resolved:
    """Settings for a plain image from the user's options, a preset and the image.

    Parameters
    ----------
    path : path-like
    options : mapping
        plain_spec() keyword arguments given by the user, plus ``crop`` and
        ``preset`` (a name, or ``None`` to detect).
    header : spec2img.io.png.ImageHeader or None
        The image's header, if already read.
    figure : spec2img.wild.figure.FigureReading or None
        What the figure shows, if already read (:attr:`Identity.figure
        <spec2img.wild.identify.Identity>`); read here when needed otherwise.
    detected : str or None
        The preset the image shows without doubt (:attr:`Identity.detected
        <spec2img.wild.identify.Identity>`), if already known; found here otherwise.
    """
    from ..io.png import read_header
    from .raster import no_bomb_limit

    options = options.given() if hasattr(options, "given") else dict(options)
    options = {k: v for k, v in options.items() if v is not None}
    name = options.pop("preset", None)
    asked = name is not None
    if header is None:
        with no_bomb_limit():  # the user chose the file; load_plain's own limit applies
            header = read_header(path, max_pixels=None)
    res = Resolved(None, dict(options), {k: "option" for k in options})
    if detected is _UNSET:
        detected = detect(header, path)
    if name is None and detected is not None and "params_from" not in options:
        name = detected
        how = ("its PNG palette" if header.palette is not None
               else "its layout and dB scale; not its palette")  # fmt: skip
        res.notes.append(f"made by {detected} (from {how})")
    elif header.software:
        res.notes.append(f"made by {header.software[:80]!r}")
    reading = None
    if (name is None or name in FIGURE_PRESETS) and "params_from" not in options:
        from .figure import read_figure

        reading = figure if figure is not None else read_figure(path, crop=options.get("crop"))
        if name is None and reading.tool in FIGURE_PRESETS:
            name = reading.tool
            res.notes.append(f"drawn by {PRESETS[name].tool} (read from the figure)")
        elif reading.tool == "specshow":
            res.notes.append("drawn by librosa.display.specshow (read from the figure)")
    if name is not None:
        preset = get_preset(name)
        res.preset = name
        if "params_from" in options:
            raise ParameterError(
                f"preset {name!r} and params_from both give the parameters; use one",
                params=("preset", "params_from"),
            )
        for k, v in preset.settings.items():
            if k == "db_range" and res.given("top_db"):
                continue
            if k == "top_db" and res.given("db_range"):
                continue
            res.set(k, v, f"preset {name}")
    if reading is not None:
        _apply_figure(res, reading)
    if name is not None:
        {"sox": _sox, "specgram": _specgram, "audio-diffusion": _audio_diffusion,
         "riffusion": lambda r, p, h: None, "scipy": _specgram,
         "scipy-power": _specgram}[name](res, path, header)  # fmt: skip
    read_labels = res.extra.pop("read_labels", False)
    if res.options.get("cmap") == AUTO or read_labels:
        _colour_bar(res, path)
    if read_labels and not any(k in res.options for k in ("db_range", "top_db")):
        res.extra["estimate_range"] = True  # no labels to read: judge it from the picture
        res.sources["top_db"] = "estimated"
        res.notes.append("dB range: no readable colour bar; estimated while decoding")
    if res.preset is not None:
        res.sources["preset"] = (
            "option"
            if asked
            else (
                "read from the figure"
                if reading is not None and reading.tool == name
                else "detected"
            )
        )
    if reading is not None and reading.problem:
        _needs(res, reading.problem, seconds=reading.t_right is not None)
    return res


def _apply_figure(res: Resolved, reading) -> None:
    """What a figure's axes, colours and colour bar say, under the options given."""
    dB = ("db_range", "top_db")
    for k, v in reading.settings.items():
        if k in dB and any(res.given(d) for d in dB):
            continue
        if k == "cmap" and res.given("cmap"):
            continue
        if k in ("duration",) and res.given("frames"):
            continue
        if k == "hop_length" and res.given("n_fft") and "default" in reading.sources[k]:
            continue  # librosa's default hop follows the n_fft given: n_fft / 4
        if k == "hop_length" and res.given("frames"):
            continue  # the frames given and the axis's seconds say the hop
        if k in dB:
            for d in dB:
                res.options.pop(d, None)
                res.sources.pop(d, None)
        res.set(k, v, reading.sources[k])
    if reading.t_right is not None and "sr" in res.options:  # the rate was given
        from .figure import duration_from_axis

        if not (res.given("duration") or res.given("frames")):
            res.set("duration", duration_from_axis(reading.tool, reading.t_right,
                                                   res.options["sr"]), "time axis")  # fmt: skip
    if "top_db" in reading.sources and "top_db" not in reading.settings:
        if not any(res.given(d) for d in dB):
            res.extra["estimate_range"] = True
            res.sources["top_db"] = reading.sources["top_db"]
    if "lut" in reading.extra and not res.given("cmap"):
        res.extra["lut"] = reading.extra["lut"]
    if res.preset == "scipy-power":
        res.extra["power"] = True
    res.notes.extend(reading.notes)
    if reading.problem:
        res.notes.append(f"axes not read: {reading.problem}")


def _needs(res: Resolved, problem: str, *, seconds: bool = False) -> None:
    """A short error naming only what is missing and why the figure did not say it
    (``seconds``: the time axis was read, so the rate alone gives the duration)."""
    missing = [k for k in ("sr", "n_fft") if k not in res.options]
    if "duration" not in res.options and "frames" not in res.options and not seconds:
        missing.append("duration")
    if not missing:
        return
    names = ["{" + k + "}" + (" (or {frames})" if k == "duration" else "") for k in missing]
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    params = (*missing, "frames", "params_from") if "duration" in missing else (
        *missing, "params_from")  # fmt: skip
    hint = " (or {params_from} ORIGINAL.png for an edited copy)" if (
        "no axes" in problem) else ""  # fmt: skip
    raise ParameterError(
        template=f"no spec2img metadata; needs {text}: {problem}{hint}", params=params
    )


def _refuse(res: Resolved, key: str, why: str) -> None:
    if res.given(key):
        raise ParameterError(f"preset {res.preset!r}: {key} {why}", params=("preset", key))


#: sox's step, as a fraction of its DFT, up to which it is decoded at its own step
#: (measured: a step of 0.32 DFT decodes better so, 0.48 better on the finer grid).
ALIGNED_OVERLAP = 0.35


def _sox(res: Resolved, path, header) -> None:
    from .raster import Raster
    from .sox import identify_palette, label_tops, layout, z_from_labels

    if res.options.get("y_axis", "linear") != "linear":
        _refuse(res, "y_axis", "does not apply: sox draws linear STFT bins")
    for k in ("n_mels", "mel_power", "fmin", "fmax", "scale"):
        _refuse(res, k, "does not apply: sox draws linear STFT bins")
    pal = identify_palette(header.palette)
    lossy = pal is None  # converted, re-saved, a JPEG: the colours may be off
    with Raster(path) as raster:
        w, h = raster.size

        def row(y, x0, x1):
            return raster.rgba((x0, y, x1, y + 1))[0]

        lay = layout(w, h, row, n_fft=res.options.get("n_fft"), lossy=lossy) or layout(
            w, h, row, lossy=lossy
        )
        if lay is None:
            raise ParameterError(
                f"{w}x{h} pixels is not the layout of a sox spectrogram; give crop",
                params=("crop",),
            )
        ink = tail = None
        fig_light = pal.light if pal else _light(raster)
        if lay.bar is not None:
            _, t, r, b = lay.bar
            from .sox_axes import ink_of

            region = raster.rgba((r + 1, max(0, t - 12), w, min(h, b + 12)))
            labels = (63, 63, 63) if fig_light else (191, 191, 191)
            ink = ink_of(region, labels, light=fig_light, lossy=lossy)
            bar_rgb = raster.rgba(lay.bar)
        # the last columns of the lowest channel, where the recording's end fades out
        tail = raster.rgba((max(lay.data[0], lay.data[2] - TAIL_READ), lay.data[3] - lay.rows,
                            lay.data[2], lay.data[3]))  # fmt: skip
        axes = None
        if not lay.raw:
            from .sox_axes import read_axes

            axes = read_axes(raster, lay, light=fig_light, lossy=lossy)
    if res.given("n_fft") and res.options["n_fft"] != lay.n_fft:
        raise ParameterError(
            f"preset 'sox': the image has {lay.rows} rows per channel, a DFT of "
            f"{lay.n_fft}, not n_fft {res.options['n_fft']}",
            params=("preset", "n_fft"),
        )
    res.set("n_fft", lay.n_fft, "detected")
    res.set("crop", tuple(float(v) for v in lay.data), "detected")
    res.extra["register"] = False
    res.extra["channels"] = lay.channels
    res.extra["column_lag"] = 0.5  # sox's first window is centred half a step in (refined below)
    res.notes.append(f"sox layout: {'raw (-r)' if lay.raw else 'with axes'}, "
                     f"{lay.columns} columns, {lay.channels} channel(s)")  # fmt: skip
    db_read = _sox_axes(res, lay, axes)
    z = None
    if ink is not None and not db_read:
        z = z_from_labels(label_tops(ink), lay.bar[3] - lay.bar[1])
    if z is not None and not (res.given("db_range") or res.given("top_db")):
        res.set("db_range", (-float(z), 0.0), "detected")
        res.notes.append(f"dB scale: -z {z} (from the positions of its labels)")
    q = None
    if not res.given("cmap") or res.options["cmap"] == AUTO:  # sox's scale is its bar
        res.sources.pop("cmap", None)
        if pal is not None:
            res.set("cmap", f"sox {pal.variant}", "detected")
            res.extra["lut"] = pal.lut
            q = pal.points
        elif lay.bar is not None:
            from .sox import fit_palette

            lut = np.median(bar_rgb[::-1, 2:-2, :3].astype(np.float64), axis=1)
            fitted = fit_palette(lut, light=fig_light)
            if fitted is not None:  # sox's own colours, not the scale's JPEG-shifted ones
                res.set("cmap", f"sox {fitted.variant}", "dB scale colours")
                res.extra["lut"] = fitted.lut
                q = fitted.points
            else:
                res.set("cmap", "sox scale", "detected")
                res.extra["lut"] = lut  # the scale's rows, -z at the bottom, 0 dB on top
        else:
            raise ParameterError(
                "preset 'sox': a raw (-r) sox image converted from its palette needs "
                "cmap; keep the PNG as sox wrote it",
                params=("preset", "cmap"),
            )
    if q is not None:
        # palette levels: c = 0 below the range, else 1 + floor((1 + x / z) (q - 2))
        if "db_range" in res.options:
            lo, hi = res.options["db_range"]
        else:
            lo, hi = -float(res.options["top_db"]), 0.0
        step = (hi - lo) / (q - 2)
        res.extra["db_levels"] = (lo - 0.5 * step, lo + (q - 1.5) * step)
        res.extra["zero_is_silence"] = True
    _sox_end(res, lay, tail, lossy=lossy)
    # sox's window is periodic: Hann's n_fft points symmetric about n_fft / 2 (a click
    # midway between two windows' starts plus n_fft / 2 gets the same level in both)
    if not res.given("win_length"):
        res.set("win_length", res.options["n_fft"], f"preset {res.preset}")
    # sox's dB: power of that window scaled to sum to 2 (a full-scale sine at 0 dBFS)
    from ..windows import get_window

    window_sum = float(np.sum(get_window(res.options["window"], res.options["win_length"])))
    res.extra["db_offset"] = 20 * math.log10(max(window_sum, 1e-30) / 2)
    if "sr" in res.options and "duration" in res.options and not res.given("hop_length"):
        from .sox import block_framing, framing, leading_zeros

        n_fft = res.options["n_fft"]
        if "sox_block" in res.extra:  # as the time axis shows it
            step, steps = block_framing(res.extra.pop("sox_block"), n_fft)
        else:
            step, steps = framing(res.options["sr"], n_fft, lay.columns,
                                  res.options["duration"])  # fmt: skip
        # window k of sox's buffer starts ceil((n_fft - step) / 2) zeros early; its centre,
        # n_fft / 2 in, is ``lag`` samples after the centre of frame k step / fine
        zeros = leading_zeros(n_fft, step)
        lag = n_fft // 2 - zeros
        res.extra["columns"] = lay.columns * steps
        if 16 <= step <= ALIGNED_OVERLAP * n_fft:
            # windows overlapping by 65 % or more: decode at sox's own step, one frame
            # a window, and delay the audio by the lag (interpolated frames between
            # windows smeared every click: mel-LSD 1.85 -> 0.28 on a click track)
            res.set("hop_length", step, "detected")
            res.extra["column_lag"] = 0.0
            res.extra["delay"] = int(math.floor(lag))
            res.notes.append(f"windows {step} samples apart, decoded at their step, "
                             f"delayed {int(math.floor(lag))} samples")  # fmt: skip
        else:
            # too little overlap for phase retrieval: a grid m times finer (a hop
            # dividing sox's step), the frames between windows' centres interpolated
            m = next((k for k in range(1, step + 1)
                      if step % k == 0 and step // k <= n_fft // 8), 1)  # fmt: skip
            if step // m < 16:
                m = 1
            fine = step // m
            res.set("hop_length", fine, "detected")
            res.extra["column_step"] = m
            res.extra["column_lag"] = lag / fine
            res.notes.append(f"windows {step} samples apart, decoded at hop {fine}")
        if steps > 1:
            res.notes.append(f"each column is the mean power of {steps} windows")
    elif res.given("hop_length"):
        res.extra["columns"] = lay.columns


#: Columns read at the end of a sox figure for the recording's end (a 2048-point
#: window over blocks of 8 samples, and as many before); the fit uses the last
#: ``tail_columns`` of them.
TAIL_READ = 400


def _sox_end(res: Resolved, lay, tail: np.ndarray, *, lossy: bool) -> None:
    """Refine a duration read from the time axis by where the recording's end fades
    out in the last columns (:func:`spec2img.wild.sox.end_from_tail`); in a lossy copy
    without the last two, which the grid line beside them bleeds into."""
    from .colormap import ColormapInverse
    from .sox import block_framing, end_from_tail, tail_columns

    found = res.extra.pop("sox_interval", None)
    note = res.extra.pop("sox_duration_note", "")
    if (found is None or tail is None or res.sources.get("duration") != "time axis"
            or "lut" not in res.extra):  # fmt: skip
        if note:
            res.notes.append(f"duration: {note}")
        return
    block, lo, hi = found
    sr, n_fft = res.options["sr"], res.options["n_fft"]
    step, steps = block_framing(block, n_fft)
    res.extra["sox_block"] = block
    take = min(tail_columns(n_fft, block), tail.shape[1], lay.columns)
    levels, _ = ColormapInverse("sox", lut=res.extra["lut"]).pixel_levels(tail[:, -take:])
    if "db_levels" in res.extra:
        d0, d1 = res.extra["db_levels"]
    else:
        d0, d1 = res.options.get("db_range", (-120.0, 0.0))
    silent = levels <= 0.5 / 65535 if res.extra.get("zero_is_silence") else levels < 0
    power = np.where(silent, 0.0, 10 ** ((d0 + levels * (d1 - d0)) / 10)).sum(axis=0)
    if lossy and take > 8:
        power = power[:-2]
    end, how = end_from_tail(power, first=lay.columns - take, step=step, steps=steps,
                             n_fft=n_fft, lo=lo, hi=hi)  # fmt: skip
    res.options["duration"] = end / sr
    res.notes.append(f"duration: {block} samples a column: {lo / sr:.4f} .. {hi / sr:.4f} s, "
                     f"{how} ({end} samples)")  # fmt: skip


def _sox_axes(res: Resolved, lay, axes) -> bool:
    """What a sox figure's labels say (rate, duration, dB scale), under the options
    given; a short error naming what is missing when neither says it.  True when the
    dB scale was read."""
    from .sox_axes import duration, interval

    db_read = False
    if axes is not None:
        res.notes.extend(axes.notes)
        if axes.db_range is not None and not (res.given("db_range") or res.given("top_db")):
            res.options.pop("top_db", None)
            res.set("db_range", axes.db_range, "dB scale labels")
            db_read = True
        if axes.sr is not None:
            res.set("sr", axes.sr, "frequency axis")
        if (
            axes.seconds_per_column is not None
            and "sr" in res.options
            and not (res.given("duration") or res.given("frames"))
        ):
            found = duration(axes.seconds_per_column, res.options["sr"], lay.columns)
            if found is not None:
                res.set("duration", found[0], "time axis")
                res.extra["sox_interval"] = interval(
                    axes.seconds_per_column, res.options["sr"], lay.columns
                )
                res.extra["sox_duration_note"] = found[1]
    if "sr" in res.options and ("duration" in res.options or "frames" in res.options):
        return db_read
    if lay.raw:
        _needs(res, "the figure has no sox axes to read them from (made with -r or -a)")
    elif axes is None or axes.problem:
        _needs(res, f"could not read {axes.problem if axes else 'the axes'}")
    else:
        _needs(res, "could not read the time axis's scale")
    return db_read


def _light(raster) -> bool:
    corner = raster.rgba((0, 0, 1, 1))[0, 0, :3].astype(int)
    return bool(corner.min() > 128)


def _specgram(res: Resolved, path, header) -> None:
    for k in ("n_mels", "mel_power", "scale"):
        _refuse(res, k, "does not apply: plt.specgram draws linear STFT bins")
    if res.options.get("y_axis", "linear") not in ("linear", "plainlog"):
        _refuse(res, "y_axis", "does not apply: plt.specgram draws linear STFT bins")
    n_fft = res.options["n_fft"]
    hop = res.options["hop_length"]
    # specgram's windows overlap by half: too little for phase retrieval, so the
    # columns are decoded on a 4x finer grid of frames (hop n_fft / 8) they cover
    fine = hop
    while fine > n_fft // 8 and fine % 2 == 0:
        fine //= 2
    res.options["hop_length"] = fine
    if fine != hop:
        res.notes.append(f"columns {hop} samples apart, decoded at hop {fine}")
    # the first window starts at sample 0: its centre is frame n_fft/2 / fine of a
    # centred STFT, and each window of NFFT samples that fits is one column
    res.extra["first_frame"] = (n_fft // 2) // fine
    if "sr" in res.options and "duration" in res.options:
        n = int(round(res.options["duration"] * res.options["sr"]))
        res.extra["columns"] = max(1, (n - (n_fft - hop)) // hop) * (hop // fine)
        # PSD = |X|^2 / (sr * sum(w^2)), doubled for one-sided bins
        w2 = float(np.sum(np.hanning(res.options.get("win_length", n_fft)) ** 2))
        res.extra["db_offset"] = 10 * math.log10(res.options["sr"] * w2 / 2)
    if res.preset in ("scipy", "scipy-power"):
        res.extra["drawn_window"] = ("tukey", 0.25)  # its peaks' shape, for the dB range
    if res.preset != "scipy-power" and not any(k in res.sources for k in ("db_range", "top_db")):
        res.extra["read_labels"] = True


def _audio_diffusion(res: Resolved, path, header) -> None:
    if res.options.get("y_axis", "linear") != "linear":
        _refuse(res, "y_axis", "does not apply: audio-diffusion's rows are uniform mel bands")
    res.set("n_mels", header.height, "detected")
    if not (res.given("duration") or res.given("frames")):
        # audio_slice_to_image cuts slices of x_res * hop_length - 1 samples: one
        # centred frame per column, the last ending hop - 1 samples past its centre
        n = header.width * res.options["hop_length"] - 1
        res.set("duration", n / res.options["sr"], "detected (width x hop - 1 samples)")
    res.extra["low_at_top"] = True
    res.extra["zero_is_silence"] = True  # byte 0: clipped at -80 dB, below the range
    res.extra["drawn"] = False


def _colour_bar(res: Resolved, path) -> None:
    from .colorbar import read_colour_bar

    auto = res.options.get("cmap") == AUTO
    found = read_colour_bar(path, crop=res.options.get("crop"), required=auto)
    if found is None:
        return
    if auto:
        res.extra["lut"] = found.lut
        res.options["cmap"] = "colour bar"
        res.sources["cmap"] = "detected"
    res.notes.append(f"colour bar at {found.box} ({len(found.lut)} colours)")
    db_range = found.lut_range if auto else found.db_range
    if db_range is not None and not (res.given("db_range") or res.given("top_db")):
        if res.preset is None and abs(db_range[1]) < 1.0:
            # a plot whose scale ends at 0 dB was drawn with ref=np.max: the range
            # is known, the level is not
            res.options.pop("db_range", None)
            res.set("top_db", db_range[1] - db_range[0], "detected")
        else:
            res.options.pop("top_db", None)
            res.set("db_range", db_range, "detected")
        res.notes.append(
            f"colour bar labels {', '.join(f'{v:g}' for v in found.labels)}: "
            f"{db_range[0]:.1f} .. {db_range[1]:.1f} dB"
        )


def plain_spec_of(path, res: Resolved):
    """The validated :class:`~spec2img.wild.plain.PlainSpec` of resolved settings."""
    from .plain import plain_spec

    kw = {k: v for k, v in res.options.items() if k != "crop"}
    lut = res.extra.get("lut")
    cmap = kw.pop("cmap", None)
    spec = plain_spec(image_name=path, cmap=None if lut is not None else cmap, **kw)
    changes = {k: v for k, v in res.extra.items() if k not in ("db_levels",)}
    if lut is not None:
        changes["cmap"] = cmap
    if "db_levels" in res.extra:
        changes["db_min"], changes["db_max"] = res.extra["db_levels"]
    if changes.get("db_offset") and not spec.absolute:
        changes["db_offset"] = 0.0
    return replace(spec, **changes)


def settle_range(path, res: Resolved, spec, *, max_pixels: int | None = None):
    """``spec`` with the dB range a picture without one decodes with, measured as
    :func:`spec2img.wild.plain.load_plain` measures it (for ``info``, which does not
    decode); ``res.sources`` then says which ruler gave it.  Other specs are
    returned as they are."""
    if not spec.estimate_range:
        return spec
    from .plain import load_plain

    extra = load_plain(path, spec, crop=res.options.get("crop"), max_pixels=max_pixels).meta.extra
    if "estimated_top_db" not in extra:  # not estimated after all (mel, absolute, power)
        return spec
    top_db = float(extra["estimated_top_db"])
    res.sources["top_db"] = f"estimated from the picture: {extra['estimated_by']}"
    res.notes = [n for n in res.notes if not n.startswith("dB range: no readable colour bar")]
    return replace(spec, db_min=spec.db_max - top_db, estimate_range=False)


def describe(res: Resolved, spec) -> list[tuple[str, str, str]]:
    """``(name, value, source)`` rows of what a plain image decodes with."""
    p = spec.params
    values = {
        "sr": p.sample_rate, "n_fft": p.n_fft, "hop_length": p.hop_length,
        "win_length": p.win_length, "window": p.window,
        "duration": f"{spec.n_samples / p.sample_rate:.3f} s ({spec.n_frames} frames)",
        "cmap": spec.cmap, "y_axis": spec.y_axis, "scale": p.scale,
        "db_range": f"{spec.db_min:.1f} .. {spec.db_max:.1f}"
        + (" dB (absolute)" if spec.absolute else " dB below the peak (level unknown)"),
    }  # fmt: skip
    if spec.power:
        values["db_range"] = "none: linear power (level unknown)"
    if p.scale == "mel":
        values.update(n_mels=p.n_mels, fmin=p.fmin, fmax=p.fmax, mel_power=spec.mel_power)
    else:
        for k, v in zip(("fmin", "fmax"), spec.limits, strict=True):
            if v is not None:
                values[k] = f"{v:g} Hz (visible range)"
    if "crop" in res.options:
        values["crop"] = ",".join(f"{v:g}" for v in res.options["crop"])
    rows = []
    for k, v in values.items():
        src = res.sources.get(k)
        if k == "duration":
            src = res.sources.get("duration") or res.sources.get("frames")
        if k == "db_range":
            src = res.sources.get("db_range") or res.sources.get("top_db")
            if spec.power:
                src = f"preset {res.preset}"
        if src is None and "params_from" in res.options and k not in ("cmap", "y_axis", "crop"):
            src = "params_from"
        rows.append((k, str(v), src or "default"))
    if res.preset:
        rows.insert(0, ("preset", res.preset, res.sources.get("preset", "detected")))
    return rows


def override_line(path, res: Resolved, spec) -> str:
    """The one ``spec2img decode`` command line that states every value explicitly
    (edit any of them to override what was read)."""
    import shlex

    p = spec.params
    parts = ["spec2img", "decode", str(path), "out.wav"]
    if res.preset in FIGURE_PRESETS:
        parts += ["--preset", res.preset]
    parts += ["--sr", str(p.sample_rate), "--n-fft", str(p.n_fft)]
    if res.preset not in FIGURE_PRESETS and res.preset != "sox":  # sox: from the duration
        parts += ["--hop-length", str(p.hop_length)]
    parts += ["--duration", f"{spec.n_samples / p.sample_rate:.4g}"]
    if "lut" not in res.extra:
        parts += ["--cmap", spec.cmap]
    else:
        parts += ["--cmap", "auto"]
    if spec.y_axis != "linear":
        parts += ["--y-axis", spec.y_axis]
    if p.scale != "mel":
        for name, v in zip(("--fmin", "--fmax"), spec.limits, strict=True):
            if v is not None:
                parts += [name, f"{v:g}"]
    if p.scale == "mel":
        parts += ["--n-mels", str(p.n_mels)]
        if p.fmax is not None:
            parts += ["--fmax", f"{p.fmax:g}"]
    if not spec.power and not spec.estimate_range:
        if spec.absolute:
            parts += ["--db-range", f"{spec.db_min:.1f}", f"{spec.db_max:.1f}"]
        else:
            parts += ["--top-db", f"{spec.db_max - spec.db_min:.1f}"]
    return " ".join(shlex.quote(x) for x in parts)
