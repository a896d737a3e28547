"""The ``spec2img`` command line: a thin layer over :mod:`spec2img.pipeline`.

Only this module turns :class:`~spec2img.errors.Spec2ImgError` into a one-line message
and an exit code (1 for bad input, 2 for usage).  Heavy modules are imported inside
the command functions so that ``spec2img --help`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import warnings

from .. import __version__
from ..errors import InputError, ParameterError, Spec2ImgError, one_line, printable
from ..options import (
    DEFAULT_METHOD,
    DEFAULT_N_ITER,
    METHODS,
    PLAIN_FIELDS,
    AudioOutput,
    EncodeOptions,
    PhaseOptions,
    PlainOptions,
)
from ..params import DEFAULT_N_FFT, DEFAULT_N_MELS, DEFAULT_TOP_DB, DEFAULT_WINDOW
from .argtypes import finite_float, nonneg_float, nonneg_int, positive_int

PROG = "spec2img"

#: How a parameter is spelled on this command line where it differs from ``--name``,
#: in the lists of what to give (``--sr RATE``).
FLAG_METAVARS = {
    "sr": "--sr RATE", "n_fft": "--n-fft N", "duration": "--duration SECONDS",
    "frames": "--frames N", "db_range": "--db-range LOW HIGH",
}  # fmt: skip


def _size(text: str) -> tuple[int, int]:
    from ..io.dataset import parse_size

    try:
        return parse_size(text)
    except ParameterError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument(
        "--workers", type=positive_int, default=None, metavar="N",
        help="FFT threads (default: 1, measured fastest on a loaded 2-core machine)",
    )  # fmt: skip


def _add_max_pixels(p) -> None:
    p.add_argument(
        "--max-pixels", type=positive_int, default=None, metavar="N",
        help="refuse images of more pixels (or decodes of more spectrogram cells) than N "
        "(default 2**27 = 134217728, 10 minutes of stereo 44.1 kHz); raise it for trusted huge images",
    )  # fmt: skip


def _add_audio_output(g) -> None:
    """--subtype and --normalize, for every command that writes audio."""
    g.add_argument("--subtype", help="PCM_16 (default for WAV), PCM_24, FLOAT, ...")
    g.add_argument(
        "--normalize", action="store_true",
        help="scale the peak to -1 dBFS instead of clipping beyond full scale",
    )  # fmt: skip


def _add_overwrite(g) -> None:
    """-y/--overwrite for commands that write one output (encode and decode have it in
    their batch options)."""
    g.add_argument("-y", "--overwrite", action="store_true",
                   help="replace an existing output file")  # fmt: skip


def _add_codec_options(g) -> None:
    """Encoder settings libsndfile offers for compressed audio."""
    g.add_argument(
        "--compression-level", type=finite_float, metavar="0..1",
        help="FLAC, Vorbis, Opus, MP3 encoder: 0 = best quality and largest file, 1 = "
        "smallest (default: libsndfile's)",
    )  # fmt: skip
    g.add_argument(
        "--bitrate-mode", type=str.upper, choices=["CONSTANT", "AVERAGE", "VARIABLE"],
        help="MP3: constant, average or variable bitrate",
    )  # fmt: skip


def _add_phase_retrieval(p: argparse.ArgumentParser, title: str = "phase retrieval"):
    """The phase-retrieval options of every command that writes audio; returns the group."""
    g = p.add_argument_group(title)
    g.add_argument(
        "--method", default=None, metavar="|".join(METHODS),
        help=f"phase retrieval method (default {DEFAULT_METHOD}: PGHI, then fast "
        "Griffin-Lim)",
    )  # fmt: skip
    g.add_argument(
        "--n-iter", type=nonneg_int, default=None,
        help=f"Griffin-Lim iterations ({DEFAULT_N_ITER})",
    )  # fmt: skip
    g.add_argument("--momentum", type=finite_float, default=None, help="FGLA momentum (0.99)")
    g.add_argument(
        "--stop-db", type=nonneg_float, default=None, metavar="DB",
        help="stop iterating once the spectral convergence (the distance between the "
        "image's magnitude and that of the audio so far) has not improved by DB dB in 20 "
        "iterations; default 0.1 for images that hold no more detail than mel bands or "
        "8 bits (mel, Riffusion, plain and 8-bit images), off for 16-bit linear images; 0 "
        "runs every iteration",
    )  # fmt: skip
    g.add_argument("--seed", type=int, default=0, help="seed of the random phases (0)")
    return g


def _phase_options(args) -> PhaseOptions:
    """The :class:`PhaseOptions` of :func:`_add_phase_retrieval`'s options."""
    return PhaseOptions.of(args.method, args.n_iter, args.seed, args.momentum,
                           stop_db=getattr(args, "stop_db", None))  # fmt: skip


def _audio_output(args) -> AudioOutput:
    return AudioOutput(
        subtype=args.subtype, normalize=args.normalize, format=getattr(args, "format", None),
        compression_level=getattr(args, "compression_level", None),
        bitrate_mode=getattr(args, "bitrate_mode", None),
    )  # fmt: skip


def _add_encode(sub) -> None:
    p = sub.add_parser(
        "encode", help="audio file -> 16-bit spectrogram PNG",
        usage="%(prog)s AUDIO IMAGE.png [options]\n       %(prog)s INPUT... -o OUTDIR [options]",
        description="Encode an audio file as a 16-bit grayscale spectrogram PNG with "
        "every parameter needed to invert it stored in its text chunks.",
    )  # fmt: skip
    p.add_argument(
        "inputs", nargs="+", metavar="PATH",
        help="input audio (WAV, FLAC, OGG, MP3 where supported; '-': standard input) and "
        "output .png ('-': standard output); or audio files, folders and globs with -o OUTDIR",
    )  # fmt: skip
    g = p.add_argument_group("spectrogram (librosa's names)")
    g.add_argument("--n-fft", type=positive_int, default=DEFAULT_N_FFT,
                   help=f"FFT size ({DEFAULT_N_FFT})")  # fmt: skip
    g.add_argument("--hop-length", type=positive_int, help="hop (default win_length / 4)")
    g.add_argument("--win-length", type=positive_int, help="window length (default n_fft)")
    g.add_argument("--window", default=DEFAULT_WINDOW,
                   help=f"any scipy window name ({DEFAULT_WINDOW})")  # fmt: skip
    g.add_argument("--sr", type=positive_int, help="resample to this rate first")
    g.add_argument("--mono", action="store_true", help="downmix to one channel")
    g.add_argument("--scale", choices=["linear", "mel"], default="linear")
    g.add_argument("--n-mels", type=positive_int, default=DEFAULT_N_MELS,
                   help=f"mel bands ({DEFAULT_N_MELS})")  # fmt: skip
    g.add_argument("--fmin", type=finite_float, default=0.0, help="lowest mel frequency, Hz (0)")
    g.add_argument("--fmax", type=finite_float, help="highest mel frequency, Hz (sr / 2)")
    g.add_argument(
        "--top-db", type=finite_float, default=DEFAULT_TOP_DB,
        help=f"dynamic range kept below the peak, dB ({DEFAULT_TOP_DB:g})",
    )  # fmt: skip
    g.add_argument(
        "--size", type=_size, metavar="WxH",
        help="write the image at W x H pixels (fixed-size training sets); the STFT grid "
        "is kept in the metadata and restored on decode",
    )  # fmt: skip
    g.add_argument(
        "--keep-phase", action="store_true",
        help="also write the STFT phase to IMAGE.phase.png; decoding starts from it "
        "(near-lossless round trips, edits converge from the original phase)",
    )  # fmt: skip
    _add_common(p)
    _add_batch(p, "encode")
    p.set_defaults(func=_cmd_encode)


def _add_decode(sub) -> None:
    p = sub.add_parser(
        "decode", help="spectrogram PNG -> audio file",
        usage="%(prog)s IMAGE AUDIO [options]\n       %(prog)s INPUT... -o OUTDIR [options]",
        description="Decode a spectrogram image to audio: undo the dB mapping, recover "
        "the phase, restore the original length and level.",
    )  # fmt: skip
    p.add_argument(
        "inputs", nargs="+", metavar="PATH",
        help="input spectrogram image (a spec2img PNG, a Riffusion image, or any image with "
        "the parameters below; '-': standard input) and output audio (.wav, .flac, .ogg, "
        ".opus or .mp3; '-': WAV on standard output); or images, folders and globs with "
        "-o OUTDIR",
    )  # fmt: skip
    g = _add_phase_retrieval(p)
    ph = g.add_mutually_exclusive_group()
    ph.add_argument(
        "--phase", metavar="FILE",
        help="start from this kept-phase image (default: the one the image names)",
    )  # fmt: skip
    ph.add_argument(
        "--no-phase", action="store_true", help="ignore a kept-phase image (--keep-phase)"
    )
    o = p.add_argument_group("output")
    _add_audio_output(o)
    _add_codec_options(o)
    _add_max_pixels(o)
    _add_plain_options(p)
    _add_common(p)
    _add_batch(p, "decode")
    p.set_defaults(func=_cmd_decode)


#: --preset choices, spelled out so that --help need not import the presets module.
PRESET_NAMES = ("specgram", "sox", "audio-diffusion", "riffusion")


def _add_plain_options(p: argparse.ArgumentParser, *, cmap: bool = True) -> None:
    """The plain-image options; ``cmap=False`` where --cmap means something else."""
    g = p.add_argument_group(
        "images without spec2img metadata (plots, JPEGs, GAN outputs)",
        "Give the parameters the image was made with (librosa's names); --sr, --n-fft "
        "and --duration (or --frames) are needed unless --params-from or --preset "
        "supplies them.  Riffusion images need none; sox PNGs are recognised.",
    )
    g.add_argument(
        "--preset", metavar="|".join(PRESET_NAMES),
        help="the conventions of the tool that drew the image (plt.specgram, sox "
        "spectrogram, audio-diffusion's Mel, Riffusion); add what the tool was told "
        "(--sr, --duration, ...); options given override it",
    )  # fmt: skip
    g.add_argument("--sr", type=finite_float, help="sample rate, Hz")
    g.add_argument("--n-fft", type=finite_float, help="FFT size")
    g.add_argument("--hop-length", type=finite_float, help="hop (default win_length / 4)")
    g.add_argument("--win-length", type=finite_float, help="window length (default n_fft)")
    g.add_argument("--window", help="window name (hann)")
    t = g.add_mutually_exclusive_group()
    t.add_argument("--duration", type=finite_float, metavar="SECONDS", help="length of the audio")
    t.add_argument("--frames", type=finite_float, metavar="N", help="number of STFT frames")
    if cmap:
        g.add_argument(
            "--cmap", metavar="NAME",
            help="matplotlib colormap the image was drawn with: gray (default), gray_r, "
            "magma, viridis, inferno, ...; auto: read the figure's colour bar",
        )  # fmt: skip
    d = g.add_mutually_exclusive_group()
    d.add_argument(
        "--db-range", type=finite_float, nargs=2, metavar=("LOW", "HIGH"),
        help="absolute dB of the colormap's ends; keeps the level",
    )  # fmt: skip
    d.add_argument(
        "--top-db", type=finite_float, metavar="DB",
        help="dB range below an unknown peak (80, as librosa's amplitude_to_db); "
        "the output is normalised to -1 dBFS",
    )  # fmt: skip
    g.add_argument(
        "--y-axis", metavar="AXIS", help="specshow's y_axis: linear (default), log, or "
        "mel (rows are mel bands)",
    )  # fmt: skip
    g.add_argument(
        "--fmin", type=finite_float, help="lowest frequency shown (mel: of the bands), Hz"
    )
    g.add_argument(
        "--fmax", type=finite_float, help="highest frequency shown (mel: of the bands), Hz"
    )
    g.add_argument("--n-mels", type=finite_float, help="mel bands of a --y-axis mel image (128)")
    g.add_argument(
        "--mel-power", type=finite_float, metavar="P",
        help="2 if the mel bands are power (librosa.feature.melspectrogram, default for "
        "plots), 1 if magnitude",
    )  # fmt: skip
    g.add_argument(
        "--params-from", metavar="PATH",
        help="take every parameter from a spec2img image, an 'info --json' file or a "
        "dataset JSON (e.g. the GAN's training set)",
    )  # fmt: skip
    g.add_argument(
        "--crop", metavar="L,T,R,B",
        help="the plot area as a pixel box (left,top,right,bottom; right and bottom "
        "exclusive); default: trim uniform borders and find the axes frame",
    )  # fmt: skip


def _add_show(sub) -> None:
    p = sub.add_parser(
        "show", help="draw a labelled preview of an image or audio file",
        description="Draw a spectrogram image (or the spectrogram of an audio file) with "
        "time in seconds, frequency in Hz and a dB colour bar.",
    )  # fmt: skip
    p.add_argument("input", help="spec2img image, Riffusion image, or audio file")
    p.add_argument(
        "-o", "--output", metavar="PREVIEW",
        help="write the figure (.png, .pdf, .svg, .jpg); default: open a window, or "
        "write INPUT_preview.png in the current folder when there is no display",
    )  # fmt: skip
    p.add_argument("--dpi", type=positive_int, default=100, help="resolution (100)")
    _add_overwrite(p)
    p.add_argument("--cmap", default="magma", help="matplotlib colormap (magma)")
    p.add_argument("-q", "--quiet", action="store_true", help="no status line")
    _add_plain_options(p, cmap=False)
    p.set_defaults(func=_cmd_show)


def _add_batch(p: argparse.ArgumentParser, kind: str) -> None:
    from .batch_args import add_arguments, check_arguments

    add_arguments(p, kind)
    p.set_defaults(check=lambda args: check_arguments(args, p.error))


def _add_join(sub) -> None:
    p = sub.add_parser(
        "join", help="segment images -> one audio file",
        usage="%(prog)s SEGMENTS... AUDIO [options]",
        description="Decode the segment images of one recording (from encode --segment) "
        "and join them with phase-coherent, crossfaded seams into audio of the original "
        "length.",
    )  # fmt: skip
    p.add_argument(
        "paths", nargs="+", metavar="PATH",
        help="a folder of segment images, or the images (globs too), then the output audio",
    )  # fmt: skip
    _add_phase_retrieval(p)
    o = p.add_argument_group("output")
    _add_audio_output(o)
    _add_max_pixels(o)
    _add_overwrite(o)
    _add_common(p)

    def check(args) -> None:
        if len(args.paths) < 2:
            p.error("give the segment images (or their folder), then the output audio")

    p.set_defaults(func=_cmd_join, check=check)


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="print an image's parameters")
    p.add_argument("image", help="a spec2img image ('-': standard input)")
    p.add_argument("--json", action="store_true", help="one JSON object of the metadata")
    _add_max_pixels(p)
    _add_plain_options(p)  # --params-from: also the original of an image an editor stripped
    p.set_defaults(func=_cmd_info)


def create_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``spec2img`` command.

    With ``command`` (a key of :data:`COMMANDS`) only that command's parser is built:
    building all of them costs more than a short decode's reading of its input.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Audio to editable spectrogram images, and images back to audio.",
        epilog="Run 'spec2img COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, add in COMMANDS.items():
        if command is None or name == command:
            add(sub)
    return parser


def _cmd_encode(args) -> int:
    from .. import convert
    from ..io.atomic import spool_input

    options = EncodeOptions(
        n_fft=args.n_fft, hop_length=args.hop_length, win_length=args.win_length,
        window=args.window, scale=args.scale, n_mels=args.n_mels, fmin=args.fmin,
        fmax=args.fmax, top_db=args.top_db,
        db_range=None if args.db_range is None else tuple(args.db_range),
        sr=args.sr, mono=args.mono, size=args.size, keep_phase=args.keep_phase,
        segment=args.segment, overlap=args.overlap or 0.0, workers=args.workers,
    )  # fmt: skip
    if args.output_dir is not None:
        return _run_batch(args, convert.EncodeTask(options), ".png",
                          segmented=args.segment is not None)  # fmt: skip
    src, dst = args.inputs
    with spool_input(src, "audio") as path:
        result = convert.encode_file(path, dst, options, overwrite=args.overwrite)
    _say(result.message, args)
    return 0


def _cmd_decode(args) -> int:
    from .. import convert
    from ..io.atomic import display_name, spool_input
    from .progress import ProgressBar

    kept = False if args.no_phase else (args.phase or True)
    task = convert.DecodeTask(
        phase=_phase_options(args), output=_audio_output(args), plain=_plain_options(args),
        kept_phase=kept, max_pixels=args.max_pixels, workers=args.workers,
    )  # fmt: skip
    if args.output_dir is not None:
        return _run_batch(args, task, f".{args.format or 'wav'}")
    src, dst = args.inputs
    name = os.path.basename(display_name(src, output=False))
    with ProgressBar(f"decoding {name}", enabled=None if not args.quiet else False) as bar:
        with spool_input(src, "an image") as path:
            result = convert.decode_file(
                path, dst, phase=task.phase, output=task.output, plain=task.plain,
                kept_phase=kept, max_pixels=args.max_pixels, workers=args.workers,
                progress=bar, overwrite=args.overwrite,
            )  # fmt: skip
    _say(result.message, args)
    return 0


def _run_batch(args, task, suffix: str, *, segmented: bool = False) -> int:
    from ..batch.folders import BatchSettings, run
    from .progress import ProgressBar

    settings = BatchSettings(
        output_dir=args.output_dir, kind=args.command, suffix=suffix, jobs=args.jobs,
        scheduler=args.scheduler, overwrite=args.overwrite, fail_fast=args.fail_fast,
        manifest=args.manifest, dataset_size=getattr(args, "size", None), quiet=args.quiet,
    )  # fmt: skip
    bar = ProgressBar(args.command, enabled=None if not args.quiet else False, unit="files")
    return run(task, args.inputs, settings, bar=bar, spell=_respell, segmented=segmented)


def _cmd_join(args) -> int:
    from .. import convert
    from ..batch.folders import SEGMENT_EXTS, expand
    from .progress import ProgressBar

    *inputs, dst = args.paths
    srcs, problems = expand(inputs, SEGMENT_EXTS)
    if problems:
        raise InputError(problems[0][1])
    with ProgressBar(f"joining {len(srcs)} segment(s)",
                     enabled=None if not args.quiet else False) as bar:  # fmt: skip
        result = convert.join_files(
            srcs, dst, phase=_phase_options(args), output=_audio_output(args),
            max_pixels=args.max_pixels, workers=args.workers, progress=bar,
            overwrite=args.overwrite,
        )  # fmt: skip
    _say(result.message, args)
    return 0


def _plain_options(args, skip=()) -> PlainOptions:
    """The plain-image options given on the command line (less those in ``skip``)."""
    names = [k for k in PLAIN_FIELDS if k not in skip]
    given = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    if "crop" in given:
        given["crop"] = _crop(given["crop"])
    return PlainOptions(**given)


def _crop(text: str) -> tuple[float, float, float, float]:
    parts = text.replace(" ", "").split(",")
    try:
        box = tuple(float(v) for v in parts)
    except ValueError:
        box = ()
    if len(box) != 4 or not all(v == v and abs(v) != float("inf") for v in box):
        raise ParameterError(f"--crop must be four numbers L,T,R,B, not {text!r}")
    return box


def _cmd_show(args) -> int:
    from .preview import show

    plain = _plain_options(args, skip=("cmap",))  # show's --cmap is the preview's
    out = show(args.input, args.output, dpi=args.dpi, cmap=args.cmap, plain=plain,
               overwrite=args.overwrite)  # fmt: skip
    if out is not None:
        _say(f"wrote {out}", args)
    return 0


def _cmd_info(args) -> int:
    from ..io.atomic import spool_input
    from ..io.image import load, metadata_source
    from ..wild.origin import image_kind

    plain = _plain_options(args)
    kw = {} if args.max_pixels is None else {"max_pixels": args.max_pixels}
    with spool_input(args.image, "an image") as path:
        kind = image_kind(path)
        others = set(plain.given()) - {"params_from"}
        if plain.preset == "riffusion" or (kind == "riffusion" and not others):
            from ..pipeline import load_image  # Riffusion's parameters, as decode reads them

            meta = load_image(path, plain=plain, **kw).meta
            source = "Riffusion EXIF" if kind == "riffusion" else "Riffusion's defaults"
        elif others or (kind == "plain" and plain.params_from is None):
            return _info_plain(args, plain, path)
        else:
            meta = load(path, phase=False, params_from=args.params_from, **kw).meta
            source = metadata_source(path, params_from=args.params_from, **kw)
    d = meta.to_dict()
    if args.json:
        print(json.dumps(d))
        return 0
    width = max(len(k) for k in d)
    for k, v in d.items():
        print(f"{printable(k):<{width}}  {printable(str(v))}")
    found = {
        "text chunks": "spec2img text chunks",
        "params-from": f"--params-from {args.params_from}",
    }
    print(f"{'found in':<{width}}  {printable(found.get(source, source))}")
    h, w = meta.shape
    print(f"{'image':<{width}}  {w}x{h} pixels")
    print(f"{'duration':<{width}}  {meta.n_samples / meta.params.sample_rate:.3f} s")
    return 0


def _info_plain(args, plain: PlainOptions, path) -> int:
    """info on a plain image (or one read as plain): the settings it decodes with."""
    from dataclasses import replace

    from ..errors import in_file
    from ..wild import presets
    from ..wild.origin import image_kind

    if image_kind(path) == "spec2img" and not (plain.params_from or plain.preset):
        plain = replace(plain, params_from=str(path))  # as decode reads it
    try:
        res = presets.resolve(path, plain)
        spec = presets.plain_spec_of(path, res)
    except ParameterError as e:
        raise in_file(args.image, e) from None
    rows = presets.describe(res, spec)
    if args.json:
        print(json.dumps({k: {"value": v, "from": src} for k, v, src in rows}))
        return 0
    width = max(len(k) for k, _, _ in rows)
    vwidth = max(len(v) for _, v, _ in rows)
    for k, v, src in rows:
        print(f"{k:<{width}}  {printable(v):<{vwidth}}  ({src})")
    for note in res.notes:
        print(f"{'':<{width}}  {printable(note)}")
    return 0


def _say(msg: str, args=None) -> None:
    # Status lines go to stderr so that stdout stays clean for data (info --json).
    if args is None or not getattr(args, "quiet", False):
        print(msg, file=sys.stderr)


def _flag(name: str, full: bool = False) -> str:
    """A parameter's command-line spelling: ``n_fft`` -> ``--n-fft`` (``--n-fft N`` if full)."""
    if full and name in FLAG_METAVARS:
        return FLAG_METAVARS[name]
    if name == "overwrite":
        return "--overwrite (-y)"
    return "--" + name.replace("_", "-")


def _respell(text: str, params: tuple[str, ...]) -> str:
    """A library message's parameter names as this command line's flags."""
    from ..errors import respell

    return respell(text, params, _flag)


def _message(e: BaseException) -> str:
    """One printable line, with the parameters the library names shown as flags."""
    if isinstance(e, Spec2ImgError | Warning) and getattr(e, "params", ()):
        return one_line(e.respelled(_flag))
    return one_line(e)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {_message(message)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = create_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    try:
        args = parser.parse_args(argv)
        if getattr(args, "check", None) is not None:
            args.check(args)  # usage rules argparse cannot express
    except SystemExit as e:  # --help, --version (0) and usage errors (2)
        return int(e.code or 0)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        try:
            return args.func(args)
        except Spec2ImgError as e:
            print(f"{PROG}: error: {_message(e)}", file=sys.stderr)
            return e.exit_code
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
        except MemoryError:
            print(f"{PROG}: error: out of memory", file=sys.stderr)
            return 1
        except Exception as e:  # a bug: still one line, unless debugging
            if os.environ.get("SPEC2IMG_DEBUG"):
                raise
            print(
                f"{PROG}: internal error ({type(e).__name__}: {one_line(e)}); "
                "please report it (SPEC2IMG_DEBUG=1 shows the traceback)",
                file=sys.stderr,
            )
            return 1


def _terminate(signum, frame):
    # Unwind like Ctrl-C so that atomic writes remove their temporary files.
    raise KeyboardInterrupt


def run() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(main())


def _add_decompose(sub) -> None:
    p = sub.add_parser(
        "decompose", help="spectrogram PNG -> NMF components.png + activations.png",
        description="Factor a spectrogram image with NMF into OUTDIR/components.png "
        "(spectra: frequency x K) and OUTDIR/activations.png (K x frames), 16-bit PNGs "
        "you can edit; paint a row of activations.png black to silence that component.",
    )  # fmt: skip
    p.add_argument("image", help="input spectrogram PNG")
    p.add_argument("outdir", help="output folder (created if missing)")
    _add_overwrite(p)
    p.add_argument("--components", "-k", type=positive_int, required=True, metavar="K",
                   help="number of components")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of the initialisation (0)")
    p.add_argument(
        "--beta-loss", default="kullback-leibler",
        choices=["kullback-leibler", "frobenius"],
        help="divergence NMF minimises (kullback-leibler)",
    )  # fmt: skip
    p.add_argument("--max-iter", type=positive_int, default=200, help="iterations (200)")
    _add_common(p)
    p.set_defaults(func=_cmd_decompose)


def _cmd_decompose(args) -> int:
    from .. import convert

    result = convert.decompose_file(
        args.image, args.outdir, components=args.components, seed=args.seed,
        beta_loss=args.beta_loss, max_iter=args.max_iter, workers=args.workers,
        overwrite=args.overwrite,
    )  # fmt: skip
    _say(result.message, args)
    return 0


def _add_recompose(sub) -> None:
    p = sub.add_parser(
        "recompose", help="components.png x activations.png -> spectrogram PNG or audio",
        description="Multiply NMF components by activations (W x H), possibly edited, "
        "into a spectrogram PNG, or into audio with the phase recovered.",
    )  # fmt: skip
    p.add_argument("components", help="components.png from spec2img decompose")
    p.add_argument("activations", help="activations.png from spec2img decompose")
    p.add_argument("output", help="output .png (spectrogram) or .wav/.flac/.ogg (audio)")
    p.add_argument("--top-db", type=finite_float, default=None,
                   help="dynamic range of an output PNG (default: the source's)")  # fmt: skip
    _add_phase_retrieval(p, "audio output: phase retrieval")
    g = p.add_argument_group("audio output")
    _add_audio_output(g)
    _add_overwrite(p)
    _add_common(p)
    p.set_defaults(func=_cmd_recompose)


def _cmd_recompose(args) -> int:
    from .. import convert

    result = convert.recompose_files(
        args.components, args.activations, args.output, top_db=args.top_db,
        phase=_phase_options(args), output=_audio_output(args), workers=args.workers,
        overwrite=args.overwrite,
    )  # fmt: skip
    _say(result.message, args)
    return 0


def _add_mosaic(sub) -> None:
    p = sub.add_parser(
        "mosaic", help="rebuild TARGET audio out of SOURCE audio's spectral frames",
        description="Audio mosaicing (Driedger, Pratzlich & Mueller 2015): learn how "
        "to mix SOURCE's spectral frames so that they imitate TARGET, and write the "
        "mosaic, as long as TARGET.",
    )  # fmt: skip
    p.add_argument("source", help="audio whose sounds are used")
    p.add_argument("target", help="audio to imitate")
    p.add_argument("output", help="output audio: .wav, .flac or .ogg")
    p.add_argument("--n-iter", type=positive_int, default=100,
                   help="updates of the activations (100)")  # fmt: skip
    p.add_argument("--sparse", type=positive_int, default=None, metavar="K",
                   help="keep the K strongest source frames per target frame")  # fmt: skip
    p.add_argument(
        "--phase", choices=["target", "retrieve", "source"], default="target",
        help="target's phase (default), phase retrieval, or the source frames' own",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of the random start (0)")
    p.add_argument("--n-fft", type=positive_int, default=DEFAULT_N_FFT,
                   help=f"FFT size ({DEFAULT_N_FFT})")  # fmt: skip
    p.add_argument("--hop-length", type=positive_int, help="hop (default n_fft / 4)")
    o = p.add_argument_group("output")
    _add_audio_output(o)
    _add_overwrite(o)
    _add_common(p)
    p.set_defaults(func=_cmd_mosaic)


def _cmd_mosaic(args) -> int:
    from .. import convert
    from .progress import ProgressBar

    with ProgressBar(f"mosaicing {os.path.basename(args.target)}",
                     enabled=None if not args.quiet else False) as bar:  # fmt: skip
        result = convert.mosaic_files(
            args.source, args.target, args.output, output=_audio_output(args),
            n_fft=args.n_fft, hop_length=args.hop_length, n_iter=args.n_iter,
            sparse=args.sparse, phase=args.phase, seed=args.seed, workers=args.workers,
            progress=bar, overwrite=args.overwrite,
        )  # fmt: skip
    _say(result.message, args)
    return 0


def _add_edit(sub) -> None:
    p = sub.add_parser(
        "edit", help="edit a spectrogram in the browser and hear every change at once",
        description="Serve a local page that shows INPUT's spectrogram and lets you erase, "
        "attenuate, boost, brush and heal it, hearing each edit at once; export or save "
        "the result.  Runs until Ctrl-C.",
    )  # fmt: skip
    p.add_argument("input", metavar="INPUT", nargs="?", help="audio file, spec2img image, or "
                   "any spectrogram image with the plain-image options below")  # fmt: skip
    p.add_argument(
        "--new", type=finite_float, metavar="SECONDS",
        help="start from a silent canvas this long instead of INPUT (with -o OUTPUT; "
        "--sr, default 44100, and --channels)",
    )  # fmt: skip
    p.add_argument("--channels", type=positive_int, default=1,
                   help="channels of a --new canvas (1)")  # fmt: skip
    p.add_argument(
        "--scale", choices=["linear", "mel"],
        help="audio and --new: rows are STFT bins (linear, default) or mel bands; with "
        "--n-fft, --hop-length, --win-length, --window, --n-mels, --fmin, --fmax, --top-db, "
        "--db-range and --sr below, audio opens at the resolution you choose",
    )  # fmt: skip
    p.add_argument(
        "-o", "--output", metavar="OUTPUT",
        help="file the page's Save button writes atomically: audio (.wav, .flac, ...) or a "
        "spec2img image (.png, with OUTPUT.phase.png); never INPUT",
    )  # fmt: skip
    p.add_argument("--port", type=nonneg_int, default=0, help="port (default: a free one)")
    p.add_argument(
        "--host", default="127.0.0.1", metavar="ADDR",
        help="address to listen on (default 127.0.0.1: this computer only)",
    )  # fmt: skip
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("-q", "--quiet", action="store_true", help="no status line while opening")
    _add_max_pixels(p)
    _add_plain_options(p)

    def check(args):
        if (args.input is None) == (args.new is None):
            p.error("give INPUT or --new SECONDS, not both")
        if args.new is not None and args.output is None:
            p.error("--new needs -o OUTPUT: the file the Save button writes")

    p.set_defaults(func=_cmd_edit, check=check)


def _cmd_edit(args) -> int:
    from pathlib import Path

    from ..batch.folders import IMAGE_EXTS
    from ..edit.server import is_loopback, serve
    from ..edit.session import check_output_path, open_audio, open_input

    if args.port > 65535:
        raise ParameterError(f"--port must be 0 to 65535, not {args.port}")
    if not is_loopback(args.host):
        warnings.warn(
            f"--host {args.host} is not a loopback address: anyone who can reach it and "
            "has the token can read and edit this recording",
            stacklevel=1,
        )
    out = None if args.output is None else check_output_path(args.output, args.input)
    image_input = args.new is None and Path(args.input).suffix.lower() in IMAGE_EXTS
    if image_input:
        if args.scale is not None or args.channels != 1:
            raise ParameterError("--scale and --channels apply to audio input and --new only")
        plain, encode = _plain_options(args), None
    else:
        plain, encode = None, _edit_encode_options(args)
    if args.new is not None:
        from ..edit.session import open_new

        session = open_new(args.new, sr=encode.sr or 44100, channels=args.channels,
                           encode=encode, name=Path(args.output).name)  # fmt: skip
    else:
        if not args.quiet and sys.stderr.isatty():
            _say(f"opening {printable(args.input)} ...")
        if image_input:
            session = open_input(args.input, plain=plain, max_pixels=args.max_pixels)
        else:  # shown at once in a coarse view; the full encode runs in the background
            session = open_audio(args.input, encode=encode, max_pixels=args.max_pixels)
    return serve(
        session, host=args.host, port=args.port, output=out,
        open_browser=not args.no_browser, announce=lambda url: print(url, flush=True),
    )  # fmt: skip


#: Plain-image options that mean something for audio too: the encoder's resolution.
_EDIT_ENCODE_FIELDS = ("sr", "n_fft", "hop_length", "win_length", "window", "n_mels", "fmin",
                       "fmax", "top_db", "db_range")  # fmt: skip


def _edit_encode_options(args) -> EncodeOptions:
    """``edit``'s options for audio (and --new) as encoder options; image-only ones are
    refused, naming them."""
    plain = _plain_options(args)
    extra = [k for k in PLAIN_FIELDS if k not in _EDIT_ENCODE_FIELDS + ("y_axis",)
             and getattr(plain, k) is not None]  # fmt: skip
    if extra:
        names = ", ".join("--" + k.replace("_", "-") for k in extra)
        raise ParameterError(f"{names} apply to image input only")
    given = {k: getattr(plain, k) for k in _EDIT_ENCODE_FIELDS if getattr(plain, k) is not None}
    scale = args.scale or ("mel" if plain.y_axis == "mel" else "linear")
    return EncodeOptions(scale=scale, **given)


#: Each command's name and the function adding its parser (in ``--help``'s order).
COMMANDS = {
    "encode": _add_encode, "decode": _add_decode, "join": _add_join, "info": _add_info,
    "show": _add_show, "decompose": _add_decompose, "recompose": _add_recompose,
    "mosaic": _add_mosaic, "edit": _add_edit,
}  # fmt: skip
