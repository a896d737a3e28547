"""Riffusion spectrogram images: detected from their EXIF tags, decoded without help.

Riffusion stores its parameters as numeric EXIF tags (11000 = sample rate, 11005 =
stereo, 11010/11020/11030 = step, window and padded duration in ms, 11040 = mel bands,
11050/11060 = frequency range in Hz, 11070 = the power curve, 11080 = the largest mel
amplitude).  Its images hold mel *amplitudes* (torchaudio ``Spectrogram`` magnitude, a
Hann window of the window duration zero-padded to the padded duration, HTK mel scale
without normalisation) as 8 bits::

    pixel = floor(255 * (1 - (mel / max) ** power))      # loud is dark

flipped so that low frequencies are at the bottom; mono images repeat the gray value
in R, G and B, stereo images keep the channels in G and B.

Here the mel amplitudes are recovered from the middle of each quantisation step,
inverted to linear frequency by non-negative least squares (not torchaudio's
gradient-descent ``InverseMelScale``) and handed to spec2img's phase retrieval.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np

from ..dsp.resize import resize
from ..errors import InputError, MetadataError
from ..io.image import SpectrogramImage
from ..params import MAX_N_FFT, MAX_N_MELS, MAX_SAMPLE_RATE, SpecParams

#: Riffusion's EXIF tag numbers.
TAGS = {
    "sample_rate": 11000, "stereo": 11005, "step_size_ms": 11010,
    "window_duration_ms": 11020, "padded_duration_ms": 11030, "num_frequencies": 11040,
    "min_frequency": 11050, "max_frequency": 11060, "power_for_image": 11070,
    "max_value": 11080,
}  # fmt: skip
#: Riffusion's defaults, used for a tag that is missing.
DEFAULTS = {
    "sample_rate": 44100, "stereo": False, "step_size_ms": 10, "window_duration_ms": 100,
    "padded_duration_ms": 400, "num_frequencies": 512, "min_frequency": 0,
    "max_frequency": 10000, "power_for_image": 0.25, "max_value": None,
}  # fmt: skip


def is_riffusion(exif) -> bool:
    """Whether an image's EXIF has Riffusion's tags (sample rate and mel bands)."""
    return exif is not None and TAGS["sample_rate"] in exif and TAGS["num_frequencies"] in exif


def riffusion_params(exif, path=None) -> dict:
    """Riffusion's parameters from EXIF tags, validated; missing tags take its defaults."""
    who = f"{path}: " if path is not None else ""
    out, missing = {}, []
    for name, tag in TAGS.items():
        if tag in exif:
            out[name] = exif[tag]
        else:
            out[name] = DEFAULTS[name]
            if name != "max_value":
                missing.append(name)
    if missing:
        warnings.warn(
            f"{who}Riffusion image lacks the EXIF tags for {', '.join(missing)}; "
            "using Riffusion's defaults",
            stacklevel=3,
        )

    def number(name, lo, hi, *, integer=False):
        v = out[name]
        if isinstance(v, tuple) and len(v) == 2 and v[1]:  # an EXIF rational
            v = v[0] / v[1]
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise MetadataError(f"{who}Riffusion tag {name}={v!r} is not a number") from None
        if not (math.isfinite(v) and lo <= v <= hi):
            raise MetadataError(f"{who}Riffusion tag {name}={v:g} is out of range [{lo}, {hi}]")
        if integer and not v.is_integer():
            raise MetadataError(f"{who}Riffusion tag {name}={v:g} must be a whole number")
        return int(v) if integer else v

    sr = number("sample_rate", 1, MAX_SAMPLE_RATE, integer=True)
    p = {
        "sample_rate": sr,
        "stereo": bool(out["stereo"]),
        "n_fft": int(number("padded_duration_ms", 0, 1e5) / 1000.0 * sr),
        "win_length": int(number("window_duration_ms", 0, 1e5) / 1000.0 * sr),
        "hop_length": int(number("step_size_ms", 0, 1e5) / 1000.0 * sr),
        "n_mels": number("num_frequencies", 1, MAX_N_MELS, integer=True),
        "fmin": number("min_frequency", 0, sr / 2),
        "fmax": number("max_frequency", 0, sr / 2),
        "power": number("power_for_image", 1e-3, 100),
        "max_value": None if out["max_value"] is None else number("max_value", 0, 1e30),
    }
    if not 16 <= p["n_fft"] <= MAX_N_FFT or not 1 <= p["win_length"] <= p["n_fft"]:
        raise MetadataError(
            f"{who}Riffusion window of {p['win_length']} samples padded to {p['n_fft']} "
            "is not a usable STFT framing"
        )
    if not 1 <= p["hop_length"] <= p["win_length"]:
        raise MetadataError(f"{who}Riffusion step of {p['hop_length']} samples is not usable")
    if not p["fmin"] < p["fmax"]:
        raise MetadataError(f"{who}Riffusion frequency range {p['fmin']:g}-{p['fmax']:g} Hz")
    return p


def _override(p: dict, options) -> dict:
    from ..errors import ParameterError

    p = dict(p)
    for k, v in options.items():
        if k == "preset":
            continue
        if k not in OVERRIDES:
            raise ParameterError(
                f"preset 'riffusion': {k} does not apply to Riffusion images (their "
                "colours, dB and axes are fixed)",
                params=("preset", k),
            )
        p[OVERRIDES[k]] = v
    SpecParams(
        sample_rate=p["sample_rate"],
        n_fft=p["n_fft"],
        hop_length=p["hop_length"],
        win_length=p["win_length"],
    )  # validate the framing
    if not 0 <= p["fmin"] < p["fmax"] <= p["sample_rate"] / 2:
        raise ParameterError(
            f"fmin={p['fmin']:g} and fmax={p['fmax']:g} must satisfy 0 <= fmin < fmax <= sr / 2",
            params=("fmin", "fmax", "sr"),
        )
    return p


def riffusion_basis(p: dict) -> np.ndarray:
    """Riffusion's mel filterbank: HTK scale, triangles without area normalisation."""
    from ..dsp.melbank import mel_filters

    with np.errstate(all="ignore"):
        basis = mel_filters(
            sr=p["sample_rate"], n_fft=p["n_fft"], n_mels=p["n_mels"], fmin=p["fmin"],
            fmax=p["fmax"], htk=True, slaney_norm=False,
        )  # fmt: skip
    return np.nan_to_num(basis, nan=0.0, posinf=0.0, neginf=0.0)


def mel_from_pixels(pixels: np.ndarray, power: float) -> np.ndarray:
    """Relative mel amplitudes from Riffusion's 8-bit values (the middle of each step).

    ``pixel = floor(255 (1 - x ** power))``, so ``x ** power`` lies in
    ``(1 - (pixel + 1) / 255, 1 - pixel / 255]``; 255 is exactly zero.
    """
    v = np.asarray(pixels, dtype=np.float32)
    xp = np.clip(1.0 - (v + 0.5) / 255.0, 0.0, 1.0)
    xp[v >= 255] = 0.0
    return xp ** np.float32(1.0 / power)


#: plain-image options a Riffusion image takes, as Riffusion's parameter names.
OVERRIDES = {
    "sr": "sample_rate", "n_fft": "n_fft", "hop_length": "hop_length",
    "win_length": "win_length", "n_mels": "n_mels", "fmin": "fmin", "fmax": "fmax",
}  # fmt: skip


def load_riffusion(
    path: str | os.PathLike, *, max_pixels: int | None = None, overrides=None,
    require_exif: bool = True,
) -> SpectrogramImage:  # fmt: skip
    """Read a Riffusion image as a linear-frequency spectrogram image.

    Parameters
    ----------
    path : path-like
    max_pixels : int or None
    overrides : mapping or None
        plain-image options (``sr``, ``n_fft``, ``hop_length``, ``win_length``,
        ``n_mels``, ``fmin``, ``fmax``; ``preset``) that replace the EXIF's values.
    require_exif : bool
        Refuse an image without Riffusion's EXIF tags; else use Riffusion's defaults
        (``--preset riffusion``).

    Returns
    -------
    SpectrogramImage
        Linear scale at Riffusion's STFT framing; ``meta.extra`` says
        ``level=relative`` (Riffusion normalises its audio), so decoding normalises
        the peak to -1 dBFS.
    """
    from .plain import magnitude_image
    from .raster import Raster

    with Raster(path, max_pixels=max_pixels) as raster:
        exif = raster.exif
        if not is_riffusion(exif):
            if require_exif:
                raise InputError(f"{path}: no Riffusion EXIF tags in this image")
            exif = {TAGS["sample_rate"]: DEFAULTS["sample_rate"],
                    TAGS["num_frequencies"]: DEFAULTS["num_frequencies"]}  # fmt: skip
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the defaults are what was asked for
                p = riffusion_params(exif, path)
        else:
            p = riffusion_params(exif, path)
        p = _override(p, overrides or {})
        w, h = raster.size
        rgba = raster.rgba((0, 0, w, h))
    data = rgba[::-1, :, [1, 2]] if p["stereo"] else rgba[::-1, :, [0]]
    data = np.moveaxis(data, -1, 0)  # (channels, rows, frames), lowest row first
    if data.shape[1] != p["n_mels"]:
        data = resize(data.astype(np.float32), (p["n_mels"], data.shape[2]))
    mel = mel_from_pixels(data, p["power"])
    if p["max_value"]:
        mel *= np.float32(p["max_value"])

    from ..dsp.scale import mel_to_linear

    S = mel_to_linear(mel, riffusion_basis(p))
    params = SpecParams(
        sample_rate=p["sample_rate"], n_fft=p["n_fft"], hop_length=p["hop_length"],
        win_length=p["win_length"], window="hann", center=True,
    )  # fmt: skip
    n_samples = (S.shape[-1] - 1) * p["hop_length"]
    return magnitude_image(S, params, n_samples, absolute=False, extra={"source": "riffusion"})
