"""Every parameter of a spectrogram image, with its defaults and its bounds.

:class:`SpecParams` holds how the spectrogram is computed (the STFT and the frequency
scale).  :class:`Metadata` adds what the encoder measured (dB range, length, channels):
together they are exactly what is written into the PNG's text chunks, and exactly what
the decoder needs.  Both validate on construction, so an instance is always in bounds;
:meth:`Metadata.from_text` parses untrusted text chunks as plain values (never ``eval``)
and reports the first bad key.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import MetadataError, ParameterError

FORMAT_VERSION = 1

#: Bounds shared by the encoder, the decoder and the metadata parser.
MAX_SAMPLE_RATE = 1_000_000
MIN_N_FFT, MAX_N_FFT = 16, 65536
MAX_CHANNELS = 64
MAX_N_MELS = 4096
#: Most weights in a mel filterbank (n_mels x bins): librosa builds it dense, in float64.
MAX_MEL_WEIGHTS = 2**25
MAX_ABS_DB = 1000.0  # lowest dB value: -MAX_ABS_DB (amplitude 1e-50, silence in float32)
#: Highest dB value: amplitude 1e15.  Decoding multiplies amplitudes by up to ~1e12 on
#: the way (a 65536-point FFT, the window envelope at the edges of center=False frames),
#: which must stay below float32's 3.4e38; a float WAV 1000 times over full scale
#: reaches about 150 dB.
MAX_DB = 300.0
MAX_N_SAMPLES = 2**40
#: Largest side of an image written at a fixed size (``encode --size``); PNG allows more.
MAX_IMAGE_SIDE = 65535
MAX_TEXT_VALUE = 256  # characters in one metadata value
#: Largest magnitude of a window parameter ("kaiser:8.6"): a width in samples at most.
MAX_WINDOW_PARAMETER = MAX_N_FFT
SCALES = ("linear", "mel")
#: Cells (channels x rows x frames) per block of blockwise work (transforms, quantising,
#: phase retrieval): ~16 MB of float32 magnitude, ~0.3 GB of working memory in the
#: iterative methods.
BLOCK_CELLS = 2**22

#: Defaults, written once: the encoder, the CLI, the array and plain-image functions
#: take theirs from here (tests/test_defaults.py checks that they agree).
DEFAULT_N_FFT = 2048
DEFAULT_WINDOW = "hann"
DEFAULT_N_MELS = 128
#: Dynamic range an encoded image keeps below its peak, dB.
DEFAULT_TOP_DB = 120.0

# Plain ASCII numbers only: int() and float() also read "２０４８", "٢٠٤٨" and "2_048".
_INT_RE = re.compile(r"[+-]?[0-9]{1,20}")
_FLOAT_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")


def _check_int(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(f"{name} must be an integer, not {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ParameterError(f"{name} must be an integer, not {value!r}")
        value = int(value)
    if not lo <= value <= hi:
        raise ParameterError(f"{name}={value} is out of range [{lo}, {hi}]")
    return int(value)


def _check_float(name: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(f"{name} must be a number, not {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ParameterError(f"{name} must be finite, not {value!r}")
    if not lo <= value <= hi:
        raise ParameterError(f"{name}={value:g} is out of range [{lo:g}, {hi:g}]")
    return value


def _check_window(window: Any, win_length: int, n_fft: int) -> None:
    """A window name (``"hann"``, ``"kaiser:8.6"``) that gives a finite, non-zero window."""
    if not isinstance(window, str) or not 0 < len(window) <= 64:
        raise ParameterError(f"window must be a window name, not {window!r}")
    for arg in window.split(":")[1:]:
        # scipy sizes arrays by some parameters ('taylor:3e8' allocated 2.3 GB).
        if _FLOAT_RE.fullmatch(arg.strip()) and abs(float(arg)) > MAX_WINDOW_PARAMETER:
            raise ParameterError(
                f"window {window!r}: parameter {arg} is beyond +-{MAX_WINDOW_PARAMETER}"
            )
    from .windows import get_window  # computing it is the only sure check of its parameters

    get_window(window, win_length, n_fft)


def frame_count(n_samples: int, n_fft: int, hop_length: int, center: bool) -> int:
    """STFT frames of an ``n_samples`` signal, librosa's count (at least one).

    With ``center``, the signal is padded by ``n_fft // 2`` on both sides first.
    """
    padded = n_samples + 2 * (n_fft // 2) if center else n_samples
    return 1 + max(0, padded - n_fft) // hop_length


@dataclass(frozen=True)
class SpecParams:
    """How a spectrogram is computed: STFT framing and frequency scale.

    Parameters
    ----------
    sample_rate : int > 0
        Sampling rate of the audio in Hz (1 Hz to 1 MHz).
    n_fft : int in [16, 65536]
        FFT size; the linear image has ``n_fft // 2 + 1`` rows per channel.
    hop_length : int > 0 or None
        Samples between frames; ``None`` means ``win_length // 4``.
    win_length : int <= n_fft or None
        Window length; ``None`` means ``n_fft``.  The window is zero-padded to
        ``n_fft`` and centred, as in librosa.
    window : str
        Any window name :func:`scipy.signal.get_window` knows (periodic form).
    center : bool
        Pad the signal by ``n_fft // 2`` on both sides so that frame ``t`` is centred
        on sample ``t * hop_length`` (librosa's default).
    scale : {"linear", "mel"}
        Frequency scale of the image rows.
    n_mels : int > 0
        Number of mel bands when ``scale == "mel"``.
    fmin, fmax : float >= 0 or None
        Frequency range of the mel filterbank; ``fmax=None`` means ``sample_rate / 2``.
    """

    sample_rate: int
    n_fft: int = DEFAULT_N_FFT
    hop_length: int | None = None
    win_length: int | None = None
    window: str = DEFAULT_WINDOW
    center: bool = True
    scale: str = "linear"
    n_mels: int = DEFAULT_N_MELS
    fmin: float = 0.0
    fmax: float | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__.__get__(self)
        sr = _check_int("sample_rate", self.sample_rate, 1, MAX_SAMPLE_RATE)
        n_fft = _check_int("n_fft", self.n_fft, MIN_N_FFT, MAX_N_FFT)
        win = n_fft if self.win_length is None else self.win_length
        win = _check_int("win_length", win, 1, n_fft)
        hop = max(1, win // 4) if self.hop_length is None else self.hop_length
        hop = _check_int("hop_length", hop, 1, win)
        _check_window(self.window, win, n_fft)
        if not isinstance(self.center, bool):
            raise ParameterError(f"center must be true or false, not {self.center!r}")
        if self.scale not in SCALES:
            raise ParameterError(f"scale must be one of {list(SCALES)}, not {self.scale!r}")
        n_mels = _check_int("n_mels", self.n_mels, 1, MAX_N_MELS)
        if self.scale == "mel" and n_mels * (n_fft // 2 + 1) > MAX_MEL_WEIGHTS:
            raise ParameterError(
                f"n_mels={n_mels} with n_fft={n_fft} makes a mel filterbank of "
                f"{n_mels * (n_fft // 2 + 1)} weights, more than {MAX_MEL_WEIGHTS}; "
                "use fewer mel bands or a smaller n_fft"
            )
        nyquist = sr / 2
        fmin = _check_float("fmin", self.fmin, 0.0, nyquist)
        fmax = nyquist if self.fmax is None else _check_float("fmax", self.fmax, 0.0, nyquist)
        if fmin >= fmax:
            raise ParameterError(f"fmin={fmin:g} must be below fmax={fmax:g}")
        for name, value in [
            ("sample_rate", sr), ("n_fft", n_fft), ("win_length", win),
            ("hop_length", hop), ("n_mels", n_mels), ("fmin", fmin), ("fmax", fmax),
        ]:  # fmt: skip
            set_(name, value)

    @property
    def n_bins(self) -> int:
        """Rows per channel in the image: frequency bins or mel bands."""
        return self.n_mels if self.scale == "mel" else self.n_fft // 2 + 1

    @property
    def min_samples(self) -> int:
        """Fewest samples that hold one STFT frame (after centring's padding, if any)."""
        return self.n_fft - 2 * (self.n_fft // 2) if self.center else self.n_fft

    def n_frames(self, n_samples: int) -> int:
        """Number of STFT frames for a signal of ``n_samples`` samples (librosa's count)."""
        return frame_count(n_samples, self.n_fft, self.hop_length, self.center)

    def replace(self, **changes: Any) -> SpecParams:
        """Return a copy with some fields changed (and validated)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Metadata:
    """Everything a spec2img PNG carries: :class:`SpecParams` plus what the encoder measured.

    Parameters
    ----------
    params : SpecParams
        How the spectrogram was computed.
    db_min, db_max : float, db_min < db_max
        dB values (ref = 1.0) of pixel 0 and pixel 65535.  Pixel 0 decodes to silence.
    n_samples : int >= 0
        Samples per channel of the original audio.
    channels : int in [1, 64]
        Channels, stacked vertically in the image, channel 0 on top.
    version : int
        Format version; only :data:`FORMAT_VERSION` is understood.
    extra : mapping of str to str
        Further keys written by later format features, kept verbatim.
    """

    params: SpecParams
    db_min: float
    db_max: float
    n_samples: int
    channels: int = 1
    version: int = FORMAT_VERSION
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__.__get__(self)
        if not isinstance(self.params, SpecParams):
            raise ParameterError("params must be a SpecParams")
        if self.version != FORMAT_VERSION:
            raise ParameterError(
                f"version={self.version!r} is not a known format version "
                f"(this spec2img reads version {FORMAT_VERSION})"
            )
        db_min = _check_float("db_min", self.db_min, -MAX_ABS_DB, MAX_DB)
        db_max = _check_float("db_max", self.db_max, -MAX_ABS_DB, MAX_DB)
        if not db_min < db_max:
            raise ParameterError(f"db_min={db_min:g} must be below db_max={db_max:g}")
        set_("db_min", db_min)
        set_("db_max", db_max)
        n = _check_int("n_samples", self.n_samples, 0, MAX_N_SAMPLES)
        if n < self.params.min_samples:
            p = self.params
            raise ParameterError(
                f"n_samples={n} is shorter than one frame (n_fft={p.n_fft}, "
                f"center={_format_value(p.center)})"
            )
        set_("n_samples", n)
        set_("channels", _check_int("channels", self.channels, 1, MAX_CHANNELS))
        set_("extra", dict(self.extra))

    @property
    def n_frames(self) -> int:
        """Image width: number of STFT frames."""
        return self.params.n_frames(self.n_samples)

    @property
    def shape(self) -> tuple[int, int]:
        """Image shape ``(height, width)`` the metadata implies."""
        return self.channels * self.params.n_bins, self.n_frames

    def to_dict(self) -> dict[str, Any]:
        """Flat dict with exactly the metadata keys (plus any extra keys)."""
        d: dict[str, Any] = {"version": self.version}
        d.update(dataclasses.asdict(self.params))
        d.update(
            db_min=self.db_min, db_max=self.db_max,
            n_samples=self.n_samples, channels=self.channels,
        )  # fmt: skip
        d.update(self.extra)
        return d

    def to_text(self) -> dict[str, str]:
        """The metadata as plain strings, one per PNG text chunk."""
        return {k: _format_value(v) for k, v in self.to_dict().items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Metadata:
        """Build from a flat dict such as :meth:`to_dict` returns (validated)."""
        d = dict(d)
        missing = [k for k in KEYS if k not in d]
        if missing:
            raise MetadataError(f"metadata lacks {', '.join(missing)}")
        p = {f.name: d.pop(f.name) for f in fields(SpecParams)}
        version = d.pop("version")
        try:
            return cls(
                params=SpecParams(**p),
                db_min=d.pop("db_min"), db_max=d.pop("db_max"),
                n_samples=d.pop("n_samples"), channels=d.pop("channels"),
                version=version, extra={k: _format_value(v) for k, v in d.items()},
            )  # fmt: skip
        except ParameterError as e:
            raise MetadataError(f"bad metadata: {e}") from None

    @classmethod
    def from_text(cls, text: Mapping[str, str]) -> Metadata:
        """Parse untrusted text chunks (values are data: never evaluated)."""
        d: dict[str, Any] = {}
        for key, raw in text.items():
            if not isinstance(raw, str) or len(raw) > MAX_TEXT_VALUE:
                raise MetadataError(f"metadata value of {key!r} is too long or not text")
            kind = _TYPES.get(key, str)
            try:
                d[key] = _parse_value(raw, kind)
            except ValueError:
                raise MetadataError(
                    f"bad metadata: {key}={raw[:40]!r} is not {_KIND_NAMES[kind]}"
                ) from None
        if "version" in d and d["version"] != FORMAT_VERSION:
            raise MetadataError(
                f"bad metadata: version={d['version']!r} is not a known format version "
                f"(this spec2img reads version {FORMAT_VERSION})"
            )
        return cls.from_dict(d)


#: The metadata keys, in the order they are written.
KEYS = (
    "version", "sample_rate", "n_fft", "hop_length", "win_length", "window", "center",
    "scale", "n_mels", "fmin", "fmax", "db_min", "db_max", "n_samples", "channels",
)  # fmt: skip

_TYPES: dict[str, type] = {
    "version": int, "sample_rate": int, "n_fft": int, "hop_length": int,
    "win_length": int, "window": str, "center": bool, "scale": str, "n_mels": int,
    "fmin": float, "fmax": float, "db_min": float, "db_max": float,
    "n_samples": int, "channels": int,
}  # fmt: skip
_KIND_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "text"}


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _parse_value(raw: str, kind: type) -> Any:
    raw = raw.strip()
    if kind is int:
        if not _INT_RE.fullmatch(raw):
            raise ValueError(raw)
        return int(raw)
    if kind is float:
        if not _FLOAT_RE.fullmatch(raw):
            raise ValueError(raw)
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError(raw)
        return value
    if kind is bool:
        if raw.lower() not in ("true", "false", "1", "0"):
            raise ValueError(raw)
        return raw.lower() in ("true", "1")
    return raw
