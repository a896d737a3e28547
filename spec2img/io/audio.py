"""Reading and writing audio with soundfile: channels, resampling, level and clipping."""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError, OutputError, ParameterError, Spec2ImgWarning
from ..options import AUDIO_FORMATS
from ..params import MAX_CHANNELS, SpecParams
from .atomic import atomic_path, check_input, is_stream

#: Output container by file extension, and its default subtype.
FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".oga": ("OGG", "VORBIS"),
    ".opus": ("OGG", "OPUS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
    ".aiff": ("AIFF", "PCM_16"),
    ".aif": ("AIFF", "PCM_16"),
}
#: ``--format`` names (for standard output, streams, or to override the extension).
FORMAT_NAMES = AUDIO_FORMATS
#: Format of a stream (``-``, a FIFO) whose name has no known extension.
STREAM_FORMAT = "wav"
#: The only sample rates some codecs take; other rates are resampled (with a warning)
#: to the lowest listed rate above them, or the highest.
CODEC_RATES = {
    "MPEG_LAYER_III": (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
    "OPUS": (8000, 12000, 16000, 24000, 48000),
}
#: Containers whose encoders take ``compression_level``; ``bitrate_mode`` is MP3's only.
COMPRESSED_FORMATS = ("FLAC", "OGG", "MP3")
BITRATE_MODES = ("CONSTANT", "AVERAGE", "VARIABLE")
_FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")
#: Frames read at a time.
_BLOCK = 2**20
#: Peak level of ``normalize=True``: -1 dBFS.
NORMALIZE_PEAK = 10 ** (-1 / 20)


def load_audio(
    path: str | os.PathLike, *, sr: int | None = None, mono: bool = False
) -> tuple[np.ndarray, int]:
    """Read an audio file as float32: ``(n,)`` mono, ``(channels, n)`` otherwise.

    Parameters
    ----------
    path : path-like
        Any file libsndfile reads (WAV, FLAC, OGG/Vorbis, MP3 where supported).
    sr : int > 0 or None
        Resample to this rate (soxr, high quality); ``None`` keeps the file's rate.
    mono : bool
        Average the channels into one.

    Returns
    -------
    y : np.ndarray [shape=(n,) for one channel, (channels, n) otherwise, dtype=float32]
        librosa's shapes, the ones :func:`spec2img.decode` returns.
    sr : int
    """
    import soundfile as sf

    if sr is not None:
        check_rate(sr)
    check_flag("mono", mono)
    path = check_input(path, "an audio file")
    try:
        y, file_sr = _read_blocks(sf, path)
    except MemoryError:
        raise InputError(f"{path}: audio too large to read into memory") from None
    except Exception as e:  # libsndfile parses untrusted bytes: any failure is a bad file
        raise InputError(f"{path}: not a readable audio file ({_first_line(e)})") from None
    if y.shape[-1] == 0:
        raise InputError(f"{path}: audio has no samples")
    bad = int(y.size - np.count_nonzero(np.isfinite(y)))
    if bad:
        raise InputError(f"{path}: audio has {bad} NaN or infinite samples")
    if mono and y.shape[0] > 1:
        y = y.mean(axis=0, keepdims=True)
    if sr is not None and sr != file_sr:
        y = resample(y, file_sr, sr)
        file_sr = sr
    return (y[0] if y.shape[0] == 1 else y), int(file_sr)


def _read_blocks(sf, path: Path) -> tuple[np.ndarray, int]:
    """``(channels, n)`` float32 read block by block: memory follows the data in the file,
    not the frame count its header claims (a 1-kB FLAC may claim 2**36 samples)."""
    blocks = []
    with sf.SoundFile(path) as f:
        while len(block := f.read(_BLOCK, dtype="float32", always_2d=True)):
            blocks.append(block)
            if len(block) < _BLOCK:
                break
        channels, sr = f.channels, f.samplerate
    y = np.empty((channels, sum(len(b) for b in blocks)), np.float32)
    at = 0
    for block in blocks:
        y[:, at : at + len(block)] = block.T
        at += len(block)
    return y, sr


def check_rate(sr, name: str = "sr") -> int:
    """A sample rate: an integer in [1, 1000000] (a Spec2ImgError naming ``name``)."""
    if isinstance(sr, bool) or not isinstance(sr, int | np.integer) or not 1 <= sr <= 1_000_000:
        raise ParameterError(f"{name} must be an integer in [1, 1000000], not {sr!r}",
                             params=(name,))  # fmt: skip
    return int(sr)


def check_flag(name: str, value) -> bool:
    """A True/False argument (a Spec2ImgError naming ``name`` for anything else)."""
    if not isinstance(value, bool | np.bool_):
        raise ParameterError(f"{name} must be True or False, not {value!r}", params=(name,))
    return bool(value)


def resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample ``(channels, n)`` audio with soxr (high quality)."""
    import soxr

    check_rate(sr_out)
    out = soxr.resample(np.ascontiguousarray(y.T), sr_in, sr_out, quality="HQ")
    return np.ascontiguousarray(np.asarray(out, dtype=np.float32).reshape(-1, y.shape[0]).T)


def output_format(
    path: str | os.PathLike,
    subtype: str | None = None,
    *,
    format: str | None = None,
    compression_level: float | None = None,
    bitrate_mode: str | None = None,
) -> tuple[str, str]:
    """``(format, subtype)`` for an output, checking the options are valid there.

    Parameters
    ----------
    path : path-like
        The output; its extension picks the format unless ``format`` is given.  A
        stream (``-``, a FIFO, a device) without a known extension gets WAV.
    subtype : str or None
        soundfile subtype (default: the format's, e.g. ``PCM_16`` for WAV).
    format : str or None
        One of :data:`FORMAT_NAMES`, overriding the extension.
    compression_level : float in [0, 1] or None
        For FLAC, OGG (Vorbis, Opus) and MP3: 0 is the best quality (largest file).
    bitrate_mode : {"CONSTANT", "AVERAGE", "VARIABLE"} or None
        For MP3.
    """
    if format is not None:
        if str(format).lower() not in FORMAT_NAMES:
            raise ParameterError(
                f"format must be one of {list(FORMAT_NAMES)}, not {format!r}", params=("format",)
            )
        ext = "." + str(format).lower()
    else:
        ext = Path(path).suffix.lower()
        if ext not in FORMATS and is_stream(path):
            ext = "." + STREAM_FORMAT
    if ext not in FORMATS:
        raise ParameterError(
            f"{path}: unknown audio extension {ext!r}; use one of {sorted(FORMATS)} "
            f"(or give format: {', '.join(FORMAT_NAMES)})",
            params=("format",),
        )
    fmt, default = FORMATS[ext]
    subtype = default if subtype is None else subtype.upper()
    if (fmt, subtype) != _PLAIN_WAV:  # known good, and asked without loading libsndfile
        import soundfile as sf

        if not sf.check_format(fmt, subtype):
            ok = sorted(sf.available_subtypes(fmt))
            raise ParameterError(f"subtype must be one of {ok!r} for {fmt}, not {subtype!r}")
    if compression_level is not None:
        level = compression_level
        if fmt not in COMPRESSED_FORMATS:
            raise ParameterError(
                f"compression_level applies to {', '.join(COMPRESSED_FORMATS)}, not {fmt}",
                params=("compression_level",),
            )
        if isinstance(level, bool) or not isinstance(level, int | float) or not 0 <= level <= 1:
            raise ParameterError(
                f"compression_level must be in [0, 1], not {level!r}",
                params=("compression_level",),
            )
    if bitrate_mode is not None:
        if fmt != "MP3":
            raise ParameterError(
                f"bitrate_mode applies to MP3 (libsndfile), not {fmt}", params=("bitrate_mode",)
            )
        if str(bitrate_mode).upper() not in BITRATE_MODES:
            raise ParameterError(
                f"bitrate_mode must be one of {list(BITRATE_MODES)}, not {bitrate_mode!r}",
                params=("bitrate_mode",),
            )
    return fmt, subtype


def codec_rate(subtype: str, sr: int) -> int:
    """The sample rate a ``subtype`` is written at: ``sr``, or the codec's nearest."""
    rates = CODEC_RATES.get(subtype)
    if rates is None or sr in rates:
        return sr
    return next((r for r in rates if r >= sr), rates[-1])


def prepare_for_output(y: np.ndarray, subtype: str, *, normalize: bool = False) -> np.ndarray:
    """Scale or clip ``y`` so that it fits the output subtype; never wrap.

    With ``normalize`` the peak is scaled to -1 dBFS.  Otherwise samples beyond full
    scale are clipped (for integer and lossy formats) with a warning that counts them.
    """
    y = np.asarray(y, dtype=np.float32)
    if normalize:
        peak = float(np.max(np.abs(y))) if y.size else 0.0
        if peak > 0:
            y = y * np.float32(NORMALIZE_PEAK / peak)
        return y
    if subtype in _FLOAT_SUBTYPES:
        return y
    over = int(np.count_nonzero(np.abs(y) > 1.0))
    if over:
        warnings.warn(
            Spec2ImgWarning(
                f"clipped {over} samples ({100 * over / y.size:.3g}%) beyond full scale; "
                "use normalize or a FLOAT subtype to keep them",
                params=("normalize",),
            ),
            stacklevel=3,
        )
        y = np.clip(y, -1.0, 1.0)
    return y


def save_audio(
    path: str | os.PathLike,
    y: np.ndarray,
    sr: int,
    *,
    subtype: str | None = None,
    normalize: bool = False,
    inputs=(),
    format: str | None = None,
    compression_level: float | None = None,
    bitrate_mode: str | None = None,
    overwrite: bool = True,
) -> Path:
    """Write ``(channels, n)`` or ``(n,)`` audio atomically; format from the extension.

    Parameters
    ----------
    path : path-like
        ``.wav``, ``.flac``, ``.ogg``, ``.opus``, ``.mp3`` (``.aiff``) output, ``-``
        for standard output, or a FIFO or device (written to directly).  MP3 and Opus
        take only some sample rates: other rates are resampled, with a warning.
    y : np.ndarray [shape=(n,) or (channels, n)]
        Float samples (full scale 1.0) or integer PCM, as :func:`as_audio` takes them.
    sr : int > 0
    subtype : str or None
        soundfile subtype (``PCM_16`` default for WAV, ``PCM_24``, ``FLOAT``).
    normalize : bool
        Scale the peak to -1 dBFS instead of clipping.
    inputs : iterable of path-like
        Files this output must never overwrite.
    format, compression_level, bitrate_mode
        As :func:`output_format` takes them.
    overwrite : bool
        Replace an existing file (``False``: :class:`~spec2img.errors.OutputError`).
    """

    check_rate(sr)
    check_flag("normalize", normalize)
    check_flag("overwrite", overwrite)
    fmt, subtype = output_format(
        path, subtype, format=format, compression_level=compression_level,
        bitrate_mode=bitrate_mode,
    )  # fmt: skip
    y = as_audio(y)
    bad = int(y.size - np.count_nonzero(np.isfinite(y)))
    if bad:
        raise ParameterError(f"{path}: refusing to write {bad} NaN or infinite samples")
    rate = codec_rate(subtype, int(sr))
    if rate != sr:
        warnings.warn(
            Spec2ImgWarning(
                f"{path}: {fmt} {subtype} holds only "
                f"{', '.join(map(str, CODEC_RATES[subtype]))} Hz; resampling {sr} Hz to {rate} Hz"
            ),
            stacklevel=2,
        )
        y, sr = resample(y, int(sr), rate), rate
    y = prepare_for_output(y, subtype, normalize=normalize)
    codec = {}
    if compression_level is not None:
        codec["compression_level"] = float(compression_level)
    if bitrate_mode is not None:
        codec["bitrate_mode"] = str(bitrate_mode).upper()
    with atomic_path(path, inputs, overwrite=overwrite) as tmp:
        # Encode in memory, then write the bytes ourselves: libsndfile reports a full
        # disk as "System error." (or soundfile as a bare AssertionError), Python's
        # own write says "No space left on device".
        try:
            data = encode_audio(y, int(sr), fmt, subtype, **codec)
        except (RuntimeError, AssertionError, ValueError, TypeError) as e:
            raise OutputError(f"{path}: cannot encode {fmt} {subtype}: {_first_line(e)}") from None
        tmp.write_bytes(data)
    return Path(path)


def encode_audio(y: np.ndarray, sr: int, fmt: str, subtype: str, **codec) -> bytes:
    """``(channels, n)`` samples (ready for ``subtype``) as the bytes of a ``fmt`` file.

    The same samples always give the same bytes: the time of writing libsndfile puts
    in the PEAK chunk of float WAV and AIFF is cleared.
    """
    y = np.atleast_2d(y)
    if (fmt, subtype) == _PLAIN_WAV and y.shape[0] <= 2 and y.dtype.kind == "f" and not codec:
        return _plain_wav(y, sr)
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.ascontiguousarray(np.atleast_2d(y).T), int(sr), format=fmt,
             subtype=subtype, **codec)  # fmt: skip
    data = bytearray(buf.getvalue())
    _clear_peak_time(data)
    return bytes(data)


#: The default output, 16-bit WAV, which :func:`_plain_wav` writes without libsndfile.
_PLAIN_WAV = ("WAV", "PCM_16")


def _plain_wav(y: np.ndarray, sr: int) -> bytes:
    """16-bit WAV of ``(channels, n)`` float samples (one or two channels), the same
    bytes as libsndfile writes, with the standard library's ``wave``.

    Loading soundfile and libsndfile (with the codecs it links) cost a 5-s decode
    0.012-0.015 s of its 0.4 s of CPU, for a 44-byte header and a conversion.  The
    conversion is libsndfile's: the sample scaled to 32 bits, rounded to nearest
    (ties to even), clipped, its top 16 bits kept (``tests/test_audio.py`` compares
    the bytes with soundfile's on every 16-bit step and the values around them).
    """
    import wave

    wide = np.rint(y.astype(np.float64) * 2.0**31)
    np.clip(wide, -(2.0**31), 2.0**31 - 1, out=wide)
    pcm = (wide.astype(np.int64) >> 16).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(y.shape[0])
        w.setsampwidth(2)
        w.setframerate(int(sr))
        w.writeframes(np.ascontiguousarray(pcm.T).tobytes())
    return buf.getvalue()


def _clear_peak_time(data: bytearray) -> None:
    # PEAK: id, size, version, time stamp (4 bytes each), then the peaks; it sits in the
    # header, before the samples' chunk.
    head = bytes(data[:8192])
    at = head.find(b"PEAK")
    ends = [i for i in (head.find(b"data"), head.find(b"SSND")) if i >= 0]
    if at >= 0 and (not ends or at < min(ends)) and len(data) >= at + 16:
        data[at + 12 : at + 16] = bytes(4)


def _first_line(e: BaseException) -> str:
    # libsndfile names the in-memory buffer it wrote to: "Error opening <_io.BytesIO ...>: "
    text = re.sub(r"^Error opening <[^>]*>: (Error : )?", "", str(e).strip())
    return (text.splitlines()[0] if text else type(e).__name__)[:200]


#: Integer sample types as soundfile and ``scipy.io.wavfile`` hand them over, with the
#: value of full scale (1.0) and of silence: soundfile's scaling (``int16 / 32768``,
#: ``int32 / 2**31``; 8-bit WAV is unsigned, centred on 128).  Other integer types
#: (int64: ``np.array([...])`` of Python ints) have no agreed full scale and are refused.
PCM_SCALES = {
    np.dtype(np.int8): (2.0**7, 0),
    np.dtype(np.uint8): (2.0**7, 128),
    np.dtype(np.int16): (2.0**15, 0),
    np.dtype(np.int32): (2.0**31, 0),
}


def as_audio(y, *, name: str = "y") -> np.ndarray:
    """Audio samples as float32 ``(channels, n)``, the way the ecosystem hands them over.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), (channels, n) or (n, channels)]
        Floating-point samples (full scale 1.0), or integer PCM (int16, int32, int8,
        uint8), scaled to full scale 1.0 as soundfile scales it.  soundfile's and
        ``scipy.io.wavfile``'s ``(n, channels)`` layout is recognised when it cannot be
        anything else: more rows than :data:`~spec2img.params.MAX_CHANNELS`, no more
        columns; a short array that could be either is refused ("pass y.T").
    name : str
        The argument's name, for the error messages.

    Returns
    -------
    np.ndarray [shape=(channels, n), dtype=float32]
        C-contiguous; not yet checked for finiteness or length.

    Raises
    ------
    ParameterError
        Not real numbers, an integer type without a full scale, or a shape that is not
        audio.
    """
    y = np.asarray(y)
    if y.dtype == np.bool_ or not np.issubdtype(y.dtype, np.number) or np.iscomplexobj(y):
        raise ParameterError(f"{name} must be real audio samples, not {y.dtype}", params=(name,))
    if np.issubdtype(y.dtype, np.integer):
        if y.dtype not in PCM_SCALES:
            raise ParameterError(
                f"{name} has integer samples of type {y.dtype}, whose full scale is unknown; "
                f"give float samples (full scale 1.0) or PCM of type "
                f"{', '.join(str(d) for d in PCM_SCALES)}",
                params=(name,),
            )
        scale, centre = PCM_SCALES[y.dtype]
        y = (y.astype(np.float32) - np.float32(centre)) * np.float32(1 / scale)
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2:
        raise ParameterError(f"{name} must have shape (n,) or (channels, n), not {y.shape}",
                             params=(name,))  # fmt: skip
    rows, cols = y.shape
    if rows > MAX_CHANNELS >= cols:  # soundfile's (n, channels): nothing else it can be
        y = y.T
    elif 0 < cols < rows <= MAX_CHANNELS:
        raise ParameterError(
            f"{name} of shape {y.shape} is ambiguous: {rows} channels of {cols} samples? "
            f"librosa's layout is (channels, n); for soundfile's (n, channels), pass {name}.T",
            params=(name,),
        )
    if not 1 <= y.shape[0] <= MAX_CHANNELS:
        raise ParameterError(
            f"{name} has {y.shape[0]} channels ({name}.shape is {y.shape}); 1 to "
            f"{MAX_CHANNELS} are allowed",
            params=(name,),
        )
    return np.ascontiguousarray(y, dtype=np.float32)


def check_audio(y: np.ndarray, params: SpecParams, *, name: str = "y") -> np.ndarray:
    """Audio as ``(channels, n)`` contiguous float32 (:func:`as_audio`), checked for what
    an encode needs: finite, 1 to ``MAX_CHANNELS`` channels, at least one frame long."""
    shape = np.shape(y)
    if len(shape) == 2 and 0 < shape[1] < shape[0] <= MAX_CHANNELS and shape[0] < params.n_fft:
        # too short whichever way its channels lie: the length is the problem, not the layout
        raise InputError(
            f"{name} of shape {shape} is shorter than one frame (n_fft={params.n_fft}) "
            "in either layout; use a smaller n_fft",
            params=(name, "n_fft"),
        )
    y = as_audio(y, name=name)
    n = y.shape[-1]
    if n == 0:
        raise InputError(f"{name} has no samples", params=(name,))
    bad = int(y.size - np.count_nonzero(np.isfinite(y)))
    if bad:
        raise InputError(f"{name} has {bad} NaN or infinite samples", params=(name,))
    if n < params.n_fft:
        raise InputError(
            f"{name} of {n} samples is shorter than one frame (n_fft={params.n_fft}); "
            "use a smaller n_fft",
            params=(name, "n_fft"),
        )
    return y
