"""The valid inputs the fuzzer mutates: tiny spec2img PNGs, plain images and audio files.

Every seed is made here, deterministically, so that a case number names the same
input on every run of the same machine (PNG and JPEG bytes depend on the zlib and
libjpeg versions, the decoded content does not).  Seeds are small (a few kB) so that
a decode takes milliseconds and 20,000 cases fit in minutes.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pngbytes

#: Seed kinds, and the file extension an input of that kind is written with.
SUFFIX = {"spec2img": ".png", "png": ".png", "jpeg": ".jpg", "wav": ".wav", "flac": ".flac"}


@dataclass(frozen=True)
class Seed:
    name: str
    kind: str  # a key of SUFFIX
    data: bytes

    @property
    def suffix(self) -> str:
        return SUFFIX[self.kind]


def _signal(n: int, channels: int, sr: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    y = [0.5 * np.sin(2 * np.pi * (300 + 500 * c) * t) + 0.05 * rng.standard_normal(n)
         for c in range(channels)]  # fmt: skip
    return np.asarray(y, dtype=np.float32)


def _spec2img_png(y: np.ndarray, sr: int, **params) -> bytes:
    import spec2img

    image = spec2img.encode(y, sr, **params)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "seed.png"
        image.save(path)
        return path.read_bytes()


def _eight_bit_resave(data: bytes) -> bytes:
    """A spec2img PNG as an image editor saving 8-bit grayscale would leave it."""
    from PIL import Image, PngImagePlugin

    with Image.open(io.BytesIO(data)) as img:
        pixels = np.asarray(img, dtype=np.uint16)
        info = PngImagePlugin.PngInfo()
        for key, value in img.text.items():
            info.add_text(key, value)
    out = io.BytesIO()
    Image.fromarray((pixels >> 8).astype(np.uint8)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _interlaced_resave(data: bytes) -> bytes:
    """A spec2img PNG re-saved with Adam7 interlacing, as some tools do."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return pngbytes.interlaced_gray(np.asarray(img, dtype=np.uint16), dict(img.text))


def _pil_bytes(array: np.ndarray, fmt: str, **save) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(array).save(out, format=fmt, **save)
    return out.getvalue()


def _audio_bytes(y: np.ndarray, sr: int, fmt: str, subtype: str) -> bytes:
    import soundfile as sf

    out = io.BytesIO()
    sf.write(out, y.T, sr, format=fmt, subtype=subtype)
    return out.getvalue()


def make_seeds() -> list[Seed]:
    """All seeds, in a fixed order."""
    sr = 8000
    mono = _signal(1600, 1, sr, 1)
    stereo = _signal(1200, 2, sr, 2)
    linear = _spec2img_png(mono, sr, n_fft=64)
    rng = np.random.default_rng(3)
    gradient = np.tile(np.linspace(0, 255, 40).astype(np.uint8), (30, 1))
    seeds = [
        Seed("spec2img-linear", "spec2img", linear),
        Seed("spec2img-stereo-mel", "spec2img",
             _spec2img_png(stereo, sr, n_fft=128, scale="mel", n_mels=12, fmin=50.0)),
        Seed("spec2img-nocenter-kaiser", "spec2img",
             _spec2img_png(mono, sr, n_fft=64, hop_length=24, win_length=48,
                           window="kaiser:8", center=False)),
        Seed("spec2img-silence", "spec2img",
             _spec2img_png(np.zeros((1, 400), np.float32), sr, n_fft=32)),
        Seed("spec2img-8bit", "spec2img", _eight_bit_resave(linear)),
        Seed("spec2img-interlaced", "spec2img", _interlaced_resave(linear)),
        Seed("png-gray8", "png", _pil_bytes(gradient, "PNG")),
        Seed("png-gray16", "png", _pil_bytes((gradient.astype(np.uint16) * 257), "PNG")),
        Seed("png-rgb", "png", _pil_bytes(rng.integers(0, 256, (24, 32, 3), np.uint8), "PNG")),
        Seed("png-interlaced", "png", pngbytes.interlaced_gray(gradient)),
        Seed("jpeg-gray", "jpeg", _pil_bytes(gradient, "JPEG", quality=80)),
        Seed("jpeg-rgb-progressive", "jpeg",
             _pil_bytes(rng.integers(0, 256, (24, 32, 3), np.uint8), "JPEG", progressive=True)),
        Seed("wav-pcm16", "wav", _audio_bytes(mono[:, :800], sr, "WAV", "PCM_16")),
        Seed("wav-float-stereo", "wav", _audio_bytes(stereo[:, :600], sr, "WAV", "FLOAT")),
        Seed("flac-mono", "flac", _audio_bytes(mono[:, :800], sr, "FLAC", "PCM_16")),
    ]  # fmt: skip
    return seeds
