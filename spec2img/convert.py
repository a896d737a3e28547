"""The conversion layer: per-file operations on typed options, the one layer every face calls.

The CLI, the batch runners and the editor's server all come here: each function takes
paths and option objects (:mod:`spec2img.options`), does one file's work through the
stages (:mod:`spec2img.pipeline`, :mod:`spec2img.batch.segments`, ...), and returns a
:class:`Converted` saying what it wrote.  Nothing here knows about argparse or HTTP.

For folders of files, :class:`EncodeTask` and :class:`DecodeTask` are picklable
callables that the runners (:mod:`spec2img.batch.runners`) hand to worker processes;
they also decide when an output is fresh enough to skip.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any

from .errors import Spec2ImgError
from .io.atomic import display_name
from .options import (
    DEFAULT_ENCODE,
    DEFAULT_OUTPUT,
    DEFAULT_PHASE,
    NO_PLAIN,
    AudioOutput,
    EncodeOptions,
    PhaseOptions,
    PlainOptions,
)

__all__ = [
    "Converted", "encode_file", "decode_file", "join_files", "decompose_file",
    "recompose_files", "mosaic_files", "read_metadata", "EncodeTask", "DecodeTask",
    "fresh_outputs", "Editable", "read_editable",
]  # fmt: skip


@dataclass
class Converted:
    """What one conversion wrote.

    Attributes
    ----------
    outputs : list of str
        Paths written.
    message : str
        One line for the user (``wrote out.png (44x1025, 1 channel(s))``).
    images : list of dict
        For image outputs: each one's ``image`` path and ``metadata`` dict.
    metadata : dict
        The input image's metadata (decode), when it has spec2img metadata.
    """

    outputs: list[str]
    message: str
    images: list[dict] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """As a plain dict (what the batch records per file)."""
        return dataclasses.asdict(self)


def encode_file(
    src, dst, options: EncodeOptions = DEFAULT_ENCODE, *, overwrite: bool = True
) -> Converted:
    """Encode one audio file as a spec2img PNG (or, with ``options.segment``, a series).

    Parameters
    ----------
    src, dst : path-like
        Input audio and output PNG (never the same file); ``dst`` may be ``-``
        (standard output), a FIFO or a device (see :mod:`spec2img.io.atomic`).
    options : EncodeOptions
    overwrite : bool
        Replace an existing ``dst`` (``False``: :class:`~spec2img.errors.OutputError`).
    """
    if options.segment is not None:
        from .batch.segments import audio_to_segments

        written = audio_to_segments(src, dst, options)
        images = [{"image": str(p), "metadata": im.meta.to_dict()} for p, im in written]
        first, last = written[0][0], written[-1][0]
        span = f"{first}" if len(written) == 1 else f"{first} ... {last.name}"
        message = (
            f"wrote {len(written)} segment(s) {span} "
            f"({_size_text(written[0][1], options.size)} each)"
        )
        return Converted([i["image"] for i in images], message, images)
    from .pipeline import encode_to_file

    image = encode_to_file(src, dst, options, overwrite=overwrite)
    images = [{"image": str(dst), "metadata": image.meta.to_dict()}]
    h, w = image.pixels.shape
    message = f"wrote {display_name(dst, output=True)} ({w}x{h}, {image.meta.channels} channel(s))"
    if image.phase is not None:
        from .io.phase_image import sidecar_path

        message += f"; wrote {sidecar_path(dst)} (its phase)"
    return Converted([str(dst)], message, images)


def _size_text(image, size) -> str:
    if size is not None:
        return f"{size[0]}x{size[1]}"
    h, w = image.pixels.shape
    return f"{w}x{h}"


def decode_file(
    src,
    dst,
    *,
    phase: PhaseOptions = DEFAULT_PHASE,
    output: AudioOutput = DEFAULT_OUTPUT,
    plain: PlainOptions = NO_PLAIN,
    kept_phase: bool | str | os.PathLike = True,
    max_pixels: int | None = None,
    workers: int | None = None,
    progress=None,
    overwrite: bool = True,
) -> Converted:
    """Decode one image (spec2img, Riffusion or plain) to an audio file.

    Parameters
    ----------
    src, dst : path-like
        Input image and output audio (never the same file); ``dst`` may be ``-``
        (standard output), a FIFO or a device (see :mod:`spec2img.io.atomic`).
    phase : PhaseOptions
        Phase retrieval.
    output : AudioOutput
        Subtype and normalisation of the audio written.
    plain : PlainOptions
        Parameters of an image spec2img did not write.
    kept_phase : bool or path-like
        Start from the kept phase image the spectrogram names (``True``), ignore it
        (``False``), or start from this phase image.
    max_pixels : int or None
        Pixel and cell limit (see :func:`spec2img.load`).
    workers : int or None
        FFT threads.
    progress : callable(done, total) or None
    overwrite : bool
        Replace an existing ``dst`` (``False``: :class:`~spec2img.errors.OutputError`).
    """
    from .pipeline import decode_to_file

    y, sr, identity = decode_to_file(
        src, dst, phase=phase, output=output, plain=plain, kept_phase=kept_phase,
        max_pixels=max_pixels, workers=workers, progress=progress, overwrite=overwrite,
    )  # fmt: skip
    return Converted(
        [str(dst)], f"wrote {display_name(dst, output=True)} ({y.shape[-1] / sr:.2f} s at {sr} Hz)",
        metadata=identity.own_metadata(),
    )  # fmt: skip


def read_metadata(path):
    """An image's spec2img metadata and ``(width, height)``, read from its header alone
    (:func:`spec2img.io.image.metadata_and_size`); path or binary file object."""
    from .io.image import metadata_and_size

    return metadata_and_size(path)


def join_files(
    srcs,
    dst,
    *,
    phase: PhaseOptions = DEFAULT_PHASE,
    output: AudioOutput = DEFAULT_OUTPUT,
    max_pixels: int | None = None,
    workers: int | None = None,
    progress=None,
    overwrite: bool = True,
) -> Converted:
    """Decode the segment images of one recording and join them into one audio file
    (``overwrite=False`` refuses an existing ``dst``)."""
    from .batch.segments import join_to_file

    srcs = list(srcs)
    y, sr = join_to_file(
        srcs, dst, phase=phase, output=output, max_pixels=max_pixels, workers=workers,
        progress=progress, overwrite=overwrite,
    )  # fmt: skip
    return Converted(
        [str(dst)],
        f"wrote {display_name(dst, output=True)} ({y.shape[-1] / sr:.2f} s at {sr} Hz from "
        f"{len(srcs)} segment(s))",
    )


def decompose_file(
    src,
    outdir,
    *,
    components: int,
    seed: int = 0,
    beta_loss: str = "kullback-leibler",
    max_iter: int = 200,
    workers: int | None = None,
    overwrite: bool = True,
) -> Converted:
    """Factor a spectrogram image with NMF into ``outdir``'s components and activations
    (``overwrite=False``: refuse existing ones, before any work)."""
    from .arrays.nmf import FILE_NAMES, decompose
    from .errors import in_file
    from .io.atomic import check_output
    from .io.image import load

    if os.path.isdir(outdir):  # refuse existing factors before the work, not after
        for name in FILE_NAMES.values():
            check_output(os.path.join(outdir, name), [src], overwrite=overwrite)
    image = load(src)
    try:
        factors = decompose(
            image, components, seed=seed, beta_loss=beta_loss, max_iter=max_iter,
            workers=workers,
        )  # fmt: skip
    except Spec2ImgError as e:
        raise in_file(src, e) from None
    factors.source = os.path.basename(src)
    w, h = factors.save(outdir, inputs=[src], overwrite=overwrite)
    return Converted([str(w), str(h)], f"wrote {w} and {h} ({components} components)")


def recompose_files(
    components,
    activations,
    dst,
    *,
    top_db: float | None = None,
    phase: PhaseOptions = DEFAULT_PHASE,
    output: AudioOutput = DEFAULT_OUTPUT,
    workers: int | None = None,
    overwrite: bool = True,
) -> Converted:
    """Multiply NMF factor images back into a spectrogram PNG or, with phase, audio
    (``overwrite=False`` refuses an existing ``dst``)."""
    from .arrays.nmf import recompose_to_file

    result = recompose_to_file(
        components, activations, dst, top_db=top_db, phase=phase, output=output,
        workers=workers, overwrite=overwrite,
    )  # fmt: skip
    if isinstance(result, tuple):
        y, sr = result
        return Converted([str(dst)], f"wrote {dst} ({y.shape[-1] / sr:.2f} s at {sr} Hz)")
    h, w = result.pixels.shape
    return Converted([str(dst)], f"wrote {dst} ({w}x{h})")


def mosaic_files(
    source,
    target,
    dst,
    *,
    output: AudioOutput = DEFAULT_OUTPUT,
    n_fft: int | None = None,
    hop_length: int | None = None,
    n_iter: int = 100,
    sparse: int | None = None,
    phase: str = "target",
    seed: int | None = 0,
    workers: int | None = None,
    progress=None,
    overwrite: bool = True,
) -> Converted:
    """Rebuild ``target`` audio out of ``source`` audio's spectral frames (mosaicing;
    ``overwrite=False`` refuses an existing ``dst``)."""
    from .arrays import mosaicing
    from .params import DEFAULT_N_FFT

    y, sr = mosaicing.mosaic_files(
        source, target, dst, output=output,
        n_fft=DEFAULT_N_FFT if n_fft is None else n_fft, hop_length=hop_length,
        n_iter=n_iter, sparse=sparse, phase=phase, seed=seed, workers=workers,
        progress=progress, overwrite=overwrite,
    )  # fmt: skip
    return Converted([str(dst)], f"wrote {dst} ({y.shape[-1] / sr:.2f} s at {sr} Hz)")


# ---------------------------------------------------------------- batch tasks

#: Files from which a batch decode uses compiled kernels for all of them: a worker
#: loads numba once (0.8 s) and saves 0.1-0.3 s on each short file after that.
BATCH_COMPILED = 8


@dataclass(frozen=True)
class EncodeTask:
    """One file of ``encode INPUT... -o OUTDIR``: a picklable ``task(src, dst) -> dict``."""

    options: EncodeOptions = DEFAULT_ENCODE

    def __call__(self, src: str, dst: str) -> dict:
        return encode_file(src, dst, self.options).to_dict()

    def fresh(self, src: str, dst: str) -> dict | None:
        """The outputs of ``src -> dst`` if they exist and are at least as new."""
        return fresh_outputs(src, dst, segmented=self.options.segment is not None)

    def with_workers(self, workers: int) -> EncodeTask:
        if self.options.workers is not None:
            return self
        return EncodeTask(dataclasses.replace(self.options, workers=workers))

    def for_batch(self, n_files: int) -> EncodeTask:
        """The task for a batch of ``n_files`` (encoding has no compiled kernels)."""
        return self

    def record(self) -> dict:
        """Per-run options recorded beside each file (manifests)."""
        return self.options.record()


@dataclass(frozen=True)
class DecodeTask:
    """One file of ``decode INPUT... -o OUTDIR``: a picklable ``task(src, dst) -> dict``."""

    phase: PhaseOptions = DEFAULT_PHASE
    output: AudioOutput = DEFAULT_OUTPUT
    plain: PlainOptions = NO_PLAIN
    kept_phase: bool | str = True
    max_pixels: int | None = None
    workers: int | None = None
    #: Compiled kernels for every file, however short (see :meth:`for_batch`).
    compiled: bool = False

    def __call__(self, src: str, dst: str) -> dict:
        from .dsp.jit import deciding

        with deciding(math.inf) if self.compiled else contextlib.nullcontext():
            return decode_file(
                src, dst, phase=self.phase, output=self.output, plain=self.plain,
                kept_phase=self.kept_phase, max_pixels=self.max_pixels, workers=self.workers,
            ).to_dict()  # fmt: skip

    def for_batch(self, n_files: int) -> DecodeTask:
        """The task for a batch of ``n_files``: from :data:`BATCH_COMPILED` files on, every
        file decodes with compiled kernels, whose loading a worker pays once for many
        files, instead of choosing NumPy mode for each short file on its own.  The
        choice depends on the number of files alone, so that a batch gives the same
        outputs in this process, a pool or on Dask."""
        return dataclasses.replace(self, compiled=n_files >= BATCH_COMPILED)

    def fresh(self, src: str, dst: str) -> dict | None:
        return fresh_outputs(src, dst, segmented=False)

    def with_workers(self, workers: int) -> DecodeTask:
        return self if self.workers is not None else dataclasses.replace(self, workers=workers)

    def record(self) -> dict:
        out: dict[str, Any] = {"n_iter": self.phase.n_iter, "seed": self.phase.seed,
                               "method": self.phase.method}  # fmt: skip
        if self.phase.momentum is not None:
            out["momentum"] = self.phase.momentum
        if self.output.subtype is not None:
            out["subtype"] = self.output.subtype
        if self.output.normalize:
            out["normalize"] = True
        return out


def fresh_outputs(src: str, dst: str, *, segmented: bool) -> dict | None:
    """The outputs of ``src -> dst`` if they all exist and are at least as new as ``src``.

    Returns ``None`` when the file must be converted, else what a conversion would
    have returned (``outputs`` and, for images, ``images`` with their metadata read
    from the headers).  ``segmented``: the output is a series of segment images.
    """
    from .batch import remote

    src_time = remote.mtime(src)
    if src_time is None:
        return None  # the conversion reports the missing input
    if segmented:
        return _fresh_segments(dst, src_time)
    t = remote.mtime(dst)
    if t is None or t < src_time:
        return None
    out: dict[str, Any] = {"outputs": [dst]}
    if dst.lower().endswith(".png"):
        meta = _read_meta(dst)
        out["images"] = [{"image": dst, "metadata": meta.to_dict()}] if meta else []
    return out


def _fresh_segments(dst: str, src_time: float) -> dict | None:
    from .batch import remote
    from .batch.segments import segment_info, segment_path

    for width in range(3, 8):
        first = remote.sibling(dst, segment_path(dst, 0, 10 ** (width - 1) + 1).name)
        if remote.mtime(first) is not None:
            break
    else:
        return None
    meta = _read_meta(first)
    info = segment_info(meta) if meta is not None else None
    if info is None:
        return None
    images = []
    for k in range(info.count):
        path = remote.sibling(dst, segment_path(dst, k, info.count).name)
        t = remote.mtime(path)
        if t is None or t < src_time:
            return None
        m = meta if k == 0 else _read_meta(path)
        if m is None or m.extra.get("segment_count") != str(info.count):
            return None
        images.append({"image": path, "metadata": m.to_dict()})
    return {"outputs": [i["image"] for i in images], "images": images}


def _read_meta(path: str):
    from .batch import remote

    try:
        with remote.open_binary(path) as f:
            return read_metadata(f)[0]
    except (Spec2ImgError, OSError):
        return None


@dataclass
class Editable:
    """A recording read for the editor (:func:`read_editable`).

    Attributes
    ----------
    image : SpectrogramImage
        On its STFT grid, with its kept phase when there is one.
    audio : np.ndarray [shape=(channels, n)] or None
        The samples of an audio input (its phase is kept in ``image``); None for images.
    subtype : str or None
        The audio input's sample format (``PCM_16``, ``FLOAT``...), to write it back alike.
    sample_rate, params
        An audio input's rate and :class:`~spec2img.params.SpecParams`.
    """

    image: Any
    audio: Any = None
    subtype: str | None = None
    #: The audio's rate and the parameters it is to be encoded with (audio input).
    sample_rate: int | None = None
    params: Any = None


def read_editable(
    src,
    *,
    encode: EncodeOptions = DEFAULT_ENCODE,
    plain: PlainOptions = NO_PLAIN,
    max_pixels: int | None = None,
    image_exts: tuple[str, ...] = (
        ".png",
        ".jpg",
        ".jpeg",
        ".webp",
        ".tif",
        ".tiff",
        ".bmp",
        ".gif",
    ),  # fmt: skip
) -> Editable:
    """Read one file for editing: an image (spec2img, Riffusion or plain, by ``plain``)
    as :func:`spec2img.pipeline.load_image` reads it, or audio encoded with ``encode``,
    its STFT phase kept.  The usual one-line errors name the file."""
    from pathlib import Path

    from .errors import ParameterError

    if Path(src).suffix.lower() in image_exts:
        from .pipeline import load_image

        return Editable(load_image(src, plain=plain, max_pixels=max_pixels).on_grid())
    if plain:
        raise ParameterError(f"{src}: options for plain images do not apply to audio input")
    found = load_editable_audio(src, encode=encode, max_pixels=max_pixels)
    found.image = encode_editable(src, found, encode)
    return found


def load_editable_audio(
    src, *, encode: EncodeOptions = DEFAULT_ENCODE, max_pixels: int | None = None
) -> Editable:
    """The samples of an audio file for the editor, checked against ``max_pixels``
    before anything is encoded: an :class:`Editable` without its image yet (the editor
    shows a coarse view while :func:`encode_editable` makes it)."""
    import soundfile as sf

    from .errors import InputError, in_file
    from .io.audio import check_audio, load_audio
    from .params import frame_count

    y, sr = load_audio(src, sr=encode.sr, mono=encode.mono)
    try:
        params = encode.params(sr)
        y = check_audio(y, params)
    except Spec2ImgError as e:
        raise in_file(src, e) from None
    frames = frame_count(y.shape[-1], params.n_fft, params.hop_length, params.center)
    cells = y.shape[0] * params.n_bins * frames
    if max_pixels is not None and cells > max_pixels:
        raise InputError(f"{src}: its spectrogram has {cells} cells, beyond {max_pixels}")
    try:
        subtype = sf.info(str(src)).subtype
    except Exception:  # readable a moment ago; the subtype is a nicety
        subtype = None
    return Editable(None, y, subtype, sr, params)


def encode_editable(src, found: Editable, encode: EncodeOptions = DEFAULT_ENCODE):
    """The editor's image of ``found`` (from :func:`load_editable_audio`): the whole
    recording on its STFT grid, its phase kept."""
    from .errors import in_file
    from .pipeline import encode_with

    try:
        options = dataclasses.replace(encode, keep_phase=True, size=None, segment=None)
        return encode_with(found.audio, found.sample_rate, options)
    except Spec2ImgError as e:
        raise in_file(src, e) from None
