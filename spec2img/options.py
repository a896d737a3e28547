"""Typed option objects: what the faces (CLI, editor, notebooks) hand the conversions.

Each is a frozen dataclass that validates on construction and holds its defaults, so a
value is checked once, where it enters, and travels as one object instead of
``**kwargs``.  Like :mod:`spec2img.params`, this module imports nothing heavy, so that
``spec2img --help`` can show the defaults without loading numpy.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from .errors import ParameterError
from .params import DEFAULT_N_FFT, DEFAULT_N_MELS, DEFAULT_TOP_DB, DEFAULT_WINDOW, SpecParams

#: Phase retrieval methods by name (``spec2img.phase.METHODS`` implements exactly these).
METHODS = ("pghi+fgla+agla", "pghi+fgla", "pghi+agla", "fgla", "pghi", "gla")
#: Best spectral convergence for the time (``docs/speed.md``): PGHI, then FGLA, then
#: AGLA for the last third of the iterations (:mod:`spec2img.phase.schedule`).
DEFAULT_METHOD = "pghi+fgla+agla"
#: Iterations of the default decode, all of them counted (65 FGLA + 25 AGLA): as good
#: as 100 of FGLA alone or better, with 10% fewer FFTs.
DEFAULT_N_ITER = 90
#: Audio output formats by name (``--format``: for streams, or to override the
#: extension); :data:`spec2img.io.audio.FORMATS` maps extensions onto them.
AUDIO_FORMATS = ("wav", "flac", "ogg", "opus", "mp3", "aiff")


def _is_int(value: Any) -> bool:
    return (
        not isinstance(value, bool) and isinstance(value, int | float) and float(value).is_integer()
    )


@dataclass(frozen=True)
class PhaseOptions:
    """How phase is recovered: method, iterations, method options, seed.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    n_iter : int >= 0
        Iterations of the iterative methods, all of them counted (ignored by ``"pghi"``).
    momentum : float >= 0 or None
        FGLA momentum (``fgla``, ``pghi+fgla``, ``pghi+fgla+agla``); ``None``: the
        method's default.
    tol : float in (0, 1) or None
        PGHI's relative magnitude tolerance (``pghi``, ``pghi+fgla``, ``pghi+agla``).
    stop_db : float >= 0 or None
        Stop iterating once the spectral convergence stops improving by this many dB
        (:func:`spec2img.phase.loop.run`); 0: run every iteration; ``None``:
        the image's default (on for mel, Riffusion, plain and 8-bit images, off for
        16-bit linear ones).
    seed : int or None
        Seed of the random phases; the same seed gives the same output, bit for bit.
    """

    method: str = DEFAULT_METHOD
    n_iter: int = DEFAULT_N_ITER
    momentum: float | None = None
    tol: float | None = None
    seed: int | None = 0
    stop_db: float | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ParameterError(
                f"method must be one of {sorted(METHODS)!r}, not {self.method!r}",
                params=("method",),
            )
        if not _is_int(self.n_iter) or self.n_iter < 0:
            raise ParameterError(
                f"n_iter={self.n_iter!r} must be an integer >= 0", params=("n_iter",)
            )
        object.__setattr__(self, "n_iter", int(self.n_iter))
        if self.momentum is not None and not (_finite(self.momentum) and self.momentum >= 0):
            raise ParameterError(
                f"momentum={self.momentum!r} must be a finite number >= 0",
                params=("momentum",),
            )
        if self.tol is not None and not (_finite(self.tol) and 0 < self.tol < 1):
            raise ParameterError(f"tol={self.tol!r} must be in (0, 1)", params=("tol",))
        if self.stop_db is not None and not (_finite(self.stop_db) and self.stop_db >= 0):
            raise ParameterError(
                f"stop_db={self.stop_db!r} must be a finite number >= 0", params=("stop_db",)
            )
        if self.seed is not None and not _is_int(self.seed):
            raise ParameterError(f"seed must be an integer, not {self.seed!r}", params=("seed",))

    def method_options(self) -> dict[str, float]:
        """The method's own options that were given (keyword arguments of
        :func:`spec2img.phase.reconstruct` besides method, n_iter and seed)."""
        given = (("momentum", self.momentum), ("tol", self.tol), ("stop_db", self.stop_db))
        return {k: v for k, v in given if v is not None}

    def engine_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`spec2img.phase.reconstruct`."""
        return {"method": self.method, "n_iter": self.n_iter, "seed": self.seed,
                **self.method_options()}  # fmt: skip

    @classmethod
    def of(
        cls, method=None, n_iter=None, seed=0, momentum=None, tol=None, *, options=None,
        stop_db=None,
    ) -> PhaseOptions:  # fmt: skip
        """Options from the loose keyword values of a public function, or its ``options``.

        ``None`` method or n_iter means the default.  Giving ``options`` and a loose
        value too is an error: one source of truth.
        """
        if options is not None:
            if (method, n_iter, seed, momentum, tol, stop_db) != (None, None, 0, None, None, None):
                raise ParameterError(
                    "give either options or method/n_iter/seed/momentum/tol, not both",
                    params=("options",),
                )
            if not isinstance(options, PhaseOptions):
                raise ParameterError(
                    f"options must be a PhaseOptions, not {type(options).__name__}",
                    params=("options",),
                )
            return options
        return cls(
            method=DEFAULT_METHOD if method is None else method,
            n_iter=DEFAULT_N_ITER if n_iter is None else n_iter,
            momentum=momentum, tol=tol, seed=seed, stop_db=stop_db,
        )  # fmt: skip


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


@dataclass(frozen=True)
class AudioOutput:
    """How decoded audio is written.

    Parameters
    ----------
    subtype : str or None
        soundfile subtype (``PCM_16``, ``PCM_24``, ``FLOAT``, ...); ``None``: the
        format's default.
    normalize : bool
        Scale the peak to -1 dBFS instead of clipping samples beyond full scale.
    format : str or None
        Container (``wav``, ``flac``, ``ogg``, ``opus``, ``mp3``, ``aiff``) instead of
        the output's extension; a stream (``-``, a FIFO) without one gets WAV.
    compression_level : float in [0, 1] or None
        FLAC, Vorbis, Opus and MP3 encoders: 0 is the best quality (libsndfile's scale).
    bitrate_mode : {"CONSTANT", "AVERAGE", "VARIABLE"} or None
        MP3's bitrate mode.

    See :func:`spec2img.io.audio.output_format`, which checks them against the format.
    """

    subtype: str | None = None
    normalize: bool = False
    format: str | None = None
    compression_level: float | None = None
    bitrate_mode: str | None = None

    def codec(self) -> dict[str, Any]:
        """The keyword arguments of :func:`spec2img.io.audio.save_audio` beyond subtype."""
        return {"format": self.format, "compression_level": self.compression_level,
                "bitrate_mode": self.bitrate_mode}  # fmt: skip


@dataclass(frozen=True)
class EncodeOptions:
    """How audio becomes an image (librosa's names; see :func:`spec2img.encode`).

    ``sr`` resamples first; ``mono`` downmixes; ``size`` writes the image at
    ``(width, height)`` pixels; ``segment``/``overlap`` (seconds) cut a long recording
    into segment images; ``db_range`` fixes the dB of pixel 0 and 65535.
    """

    n_fft: int = DEFAULT_N_FFT
    hop_length: int | None = None
    win_length: int | None = None
    window: str = DEFAULT_WINDOW
    center: bool = True
    scale: str = "linear"
    n_mels: int = DEFAULT_N_MELS
    fmin: float = 0.0
    fmax: float | None = None
    top_db: float = DEFAULT_TOP_DB
    db_range: tuple[float, float] | None = None
    sr: int | None = None
    mono: bool = False
    size: tuple[int, int] | None = None
    keep_phase: bool = False
    segment: float | None = None
    overlap: float = 0.0
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.segment is not None and self.keep_phase:
            raise ParameterError(
                "keep_phase does not combine with segment", params=("keep_phase", "segment")
            )
        for k in ("db_range", "size"):  # pairs; what is no pair is refused where it is used
            v = getattr(self, k)
            if v is not None and not isinstance(v, str):
                try:
                    object.__setattr__(self, k, tuple(v))
                except TypeError:
                    pass

    def params(self, sample_rate: int):
        """The :class:`~spec2img.params.SpecParams` of audio at ``sample_rate`` (validated)."""
        return SpecParams(
            sample_rate=sample_rate, n_fft=self.n_fft, hop_length=self.hop_length,
            win_length=self.win_length, window=self.window, center=self.center,
            scale=self.scale, n_mels=self.n_mels, fmin=self.fmin, fmax=self.fmax,
        )  # fmt: skip

    def spectrogram(self) -> dict[str, Any]:
        """Keyword arguments of :func:`spec2img.encode` (framing, scale, levels)."""
        keys = ("n_fft", "hop_length", "win_length", "window", "scale", "n_mels", "fmin",
                "fmax", "top_db", "workers")  # fmt: skip
        out = {k: getattr(self, k) for k in keys}
        if self.db_range is not None:
            out["db_range"] = self.db_range
        return out

    def record(self) -> dict[str, Any]:
        """Per-run options worth recording beside each file's metadata (manifests)."""
        keys = ("segment", "overlap", "db_range", "size", "sr", "mono")
        return _given(self, keys, skip_default=("overlap",))


@dataclass(frozen=True)
class PlainOptions:
    """What is known of an image spec2img did not write (plots, JPEGs, GAN outputs).

    Every field is ``None`` when not given; see :func:`spec2img.wild.plain.plain_spec`
    for their meaning.  ``crop`` is the plot area ``(left, top, right, bottom)``;
    ``preset`` names the conventions of the tool that drew the image
    (:data:`spec2img.wild.presets.PRESETS`: ``specgram``, ``sox``,
    ``audio-diffusion``, ``riffusion``), which fill in the fields not given.
    Given whole numbers (``sr``, ``n_fft``, ...) must be whole.
    """

    sr: int | None = None
    n_fft: int | None = None
    hop_length: int | None = None
    win_length: int | None = None
    window: str | None = None
    duration: float | None = None
    frames: int | None = None
    cmap: str | None = None
    db_range: tuple[float, float] | None = None
    top_db: float | None = None
    y_axis: str | None = None
    fmin: float | None = None
    fmax: float | None = None
    n_mels: int | None = None
    mel_power: float | None = None
    params_from: str | None = None
    crop: tuple[float, float, float, float] | None = None
    preset: str | None = None

    def __post_init__(self) -> None:
        for k in ("sr", "n_fft", "hop_length", "win_length", "frames", "n_mels"):
            v = getattr(self, k)
            if v is not None:
                if not _is_int(v):
                    raise ParameterError(f"{k} must be a whole number, not {v!r}", params=(k,))
                object.__setattr__(self, k, int(v))
        if self.db_range is not None:
            object.__setattr__(self, "db_range", tuple(self.db_range))
        if self.crop is not None:
            box = tuple(self.crop)
            if len(box) != 4 or not all(_finite(v) for v in box):
                raise ParameterError(
                    f"crop must be four finite numbers (left, top, right, bottom), not {self.crop!r}",
                    params=("crop",),
                )
            object.__setattr__(self, "crop", tuple(float(v) for v in box))

    def given(self) -> dict[str, Any]:
        """The fields that were given, as a dict."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def __bool__(self) -> bool:
        return bool(self.given())


#: Parameters of an image spec2img did not write (keyword arguments of
#: :func:`spec2img.wild.plain.plain_spec`, plus ``crop`` and ``preset``): the one list
#: of their names, the fields of :class:`PlainOptions`.
PLAIN_FIELDS = tuple(f.name for f in fields(PlainOptions))


def _given(obj, keys, *, skip_default=()) -> dict[str, Any]:
    defaults = {f.name: f.default for f in fields(obj)}
    out = {}
    for k in keys:
        v = getattr(obj, k)
        if v is None or v is False or (k in skip_default and v == defaults[k]):
            continue
        out[k] = list(v) if isinstance(v, tuple | list) else v
    return out


#: The defaults, as shared (immutable) objects.
DEFAULT_PHASE = PhaseOptions()
DEFAULT_OUTPUT = AudioOutput()
DEFAULT_ENCODE = EncodeOptions()
NO_PLAIN = PlainOptions()
