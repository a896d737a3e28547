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
from ..errors import InputError, ParameterError, Spec2ImgError
from .argtypes import finite_float, nonneg_int, positive_int

PROG = "spec2img"

# Phase retrieval methods and defaults, spelled out here so that --help need not import
# numpy (tests/test_cli_phase.py checks them against spec2img.phase).
METHODS = ("pghi+fgla", "fgla", "pghi", "gla")
DEFAULT_METHOD = "pghi+fgla"
DEFAULT_N_ITER = 100


def _size(text: str) -> tuple[int, int]:
    from ..batch.dataset import parse_size

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


def _max_pixels(args) -> dict:
    return {} if args.max_pixels is None else {"max_pixels": args.max_pixels}


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
    g.add_argument("--seed", type=int, default=0, help="seed of the random phases (0)")
    return g


def _phase_options(args) -> dict:
    """Keyword arguments of :func:`spec2img.decode` from :func:`_add_phase_retrieval`'s options."""
    options = {"n_iter": args.n_iter, "seed": args.seed, "workers": args.workers}
    if args.method is not None:
        options["method"] = args.method
    if args.momentum is not None:
        options["momentum"] = args.momentum
    return options


def _add_encode(sub) -> None:
    p = sub.add_parser(
        "encode", help="audio file -> 16-bit spectrogram PNG",
        usage="%(prog)s AUDIO IMAGE.png [options]\n       %(prog)s INPUT... -o OUTDIR [options]",
        description="Encode an audio file as a 16-bit grayscale spectrogram PNG with "
        "every parameter needed to invert it stored in its text chunks.",
    )  # fmt: skip
    p.add_argument(
        "inputs", nargs="+", metavar="PATH",
        help="input audio (WAV, FLAC, OGG, MP3 where supported) and output PNG; or audio "
        "files, folders and globs with -o OUTDIR",
    )  # fmt: skip
    g = p.add_argument_group("spectrogram (librosa's names)")
    g.add_argument("--n-fft", type=positive_int, default=2048, help="FFT size (2048)")
    g.add_argument("--hop-length", type=positive_int, help="hop (default win_length / 4)")
    g.add_argument("--win-length", type=positive_int, help="window length (default n_fft)")
    g.add_argument("--window", default="hann", help="any scipy window name (hann)")
    g.add_argument("--sr", type=positive_int, help="resample to this rate first")
    g.add_argument("--mono", action="store_true", help="downmix to one channel")
    g.add_argument("--scale", choices=["linear", "mel"], default="linear")
    g.add_argument("--n-mels", type=positive_int, default=128, help="mel bands (128)")
    g.add_argument("--fmin", type=finite_float, default=0.0, help="lowest mel frequency, Hz (0)")
    g.add_argument("--fmax", type=finite_float, help="highest mel frequency, Hz (sr / 2)")
    g.add_argument(
        "--top-db", type=finite_float, default=120.0,
        help="dynamic range kept below the peak, dB (120)",
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
        "the parameters below) and output audio (.wav, .flac or .ogg); or images, folders "
        "and globs with -o OUTDIR",
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
    _add_max_pixels(o)
    _add_plain_options(p)
    _add_common(p)
    _add_batch(p, "decode")
    p.set_defaults(func=_cmd_decode)


#: decode options of the plain-image group, as names of plain_spec() arguments.
PLAIN_OPTIONS = (
    "sr", "n_fft", "hop_length", "win_length", "window", "duration", "frames", "cmap",
    "db_range", "top_db", "y_axis", "fmin", "fmax", "n_mels", "mel_power", "params_from",
    "crop", "preset",
)  # fmt: skip
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
    p.add_argument("--cmap", default="magma", help="matplotlib colormap (magma)")
    p.add_argument("-q", "--quiet", action="store_true", help="no status line")
    _add_plain_options(p, cmap=False)
    p.set_defaults(func=_cmd_show)


def _add_batch(p: argparse.ArgumentParser, kind: str) -> None:
    from ..batch.folders import add_arguments, check_arguments

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
    _add_common(p)

    def check(args) -> None:
        if len(args.paths) < 2:
            p.error("give the segment images (or their folder), then the output audio")

    p.set_defaults(func=_cmd_join, check=check)


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="print an image's parameters")
    p.add_argument("image")
    p.add_argument("--json", action="store_true", help="one JSON object of the metadata")
    _add_max_pixels(p)
    _add_plain_options(p)
    p.set_defaults(func=_cmd_info)


def create_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``spec2img`` command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Audio to editable spectrogram images, and images back to audio.",
        epilog="Run 'spec2img COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _add_encode, _add_decode, _add_join, _add_info, _add_show,
        _add_decompose, _add_recompose, _add_mosaic,
    ):  # fmt: skip
        add(sub)
    return parser


def _cmd_encode(args) -> int:
    if args.output_dir is not None:
        from ..batch.folders import run

        return run(args, encode_file, "encode")
    result = encode_file(args, *args.inputs)
    if not args.quiet:
        _say(result["message"])
    return 0


def encode_file(args, src: str, dst: str) -> dict:
    """Encode one file as ``spec2img encode`` does; the batch runs this for every file.

    Returns
    -------
    dict
        ``outputs`` (paths written), ``images`` (each output's path and metadata dict)
        and ``message`` (the line the command prints).
    """
    params = dict(
        n_fft=args.n_fft, hop_length=args.hop_length, win_length=args.win_length,
        window=args.window, scale=args.scale, n_mels=args.n_mels, fmin=args.fmin,
        fmax=args.fmax, top_db=args.top_db, workers=args.workers,
    )  # fmt: skip
    if args.db_range is not None:
        params["db_range"] = tuple(args.db_range)
    if args.segment is not None:
        from ..batch.segments import audio_to_segments

        if args.keep_phase:
            raise ParameterError("--keep-phase does not combine with --segment")
        written = audio_to_segments(
            src, dst, segment=args.segment, overlap=args.overlap or 0.0, sr=args.sr,
            mono=args.mono, size=args.size, **params,
        )  # fmt: skip
        images = [{"image": str(p), "metadata": im.meta.to_dict()} for p, im in written]
        first, last = written[0][0], written[-1][0]
        shape = _size_text(written[0][1], args.size)
        span = f"{first}" if len(written) == 1 else f"{first} ... {last.name}"
        message = f"wrote {len(written)} segment(s) {span} ({shape} each)"
    else:
        from ..pipeline import audio_to_image

        image = audio_to_image(
            src, dst, sr=args.sr, mono=args.mono, size=args.size,
            keep_phase=args.keep_phase, **params,
        )  # fmt: skip
        images = [{"image": str(dst), "metadata": image.meta.to_dict()}]
        h, w = image.pixels.shape
        message = f"wrote {dst} ({w}x{h}, {image.meta.channels} channel(s))"
        if image.phase is not None:
            from ..phase.keep import sidecar_path

            message += f"; wrote {sidecar_path(dst)} (its phase)"
    return {"outputs": [i["image"] for i in images], "images": images, "message": message}


def _size_text(image, size) -> str:
    if size is not None:
        return f"{size[0]}x{size[1]}"
    h, w = image.pixels.shape
    return f"{w}x{h}"


def _cmd_decode(args) -> int:
    if args.output_dir is not None:
        from ..batch.folders import run

        return run(args, decode_file, "decode")
    from .progress import ProgressBar

    src = args.inputs[0]
    with ProgressBar(f"decoding {os.path.basename(src)}",
                     enabled=None if not args.quiet else False) as bar:  # fmt: skip
        result = decode_file(args, *args.inputs, progress=bar)
    if not args.quiet:
        _say(result["message"])
    return 0


def decode_file(args, src: str, dst: str, *, progress=None) -> dict:
    """Decode one file as ``spec2img decode`` does; the batch runs this for every file.

    Returns
    -------
    dict
        ``outputs``, ``metadata`` (the input image's, when it has spec2img metadata)
        and ``message``.
    """
    from ..pipeline import image_to_audio

    options = _phase_options(args)
    options["phase"] = False if args.no_phase else (args.phase or True)
    y, sr = image_to_audio(
        src, dst, subtype=args.subtype, normalize=args.normalize,
        max_pixels=args.max_pixels, plain=_plain_options(args), progress=progress, **options,
    )  # fmt: skip
    return {
        "outputs": [str(dst)], "metadata": _metadata_of(src),
        "message": f"wrote {dst} ({y.shape[-1] / sr:.2f} s at {sr} Hz)",
    }  # fmt: skip


def _metadata_of(path) -> dict:
    from ..batch.segments import read_meta

    try:
        return read_meta(path)[0].to_dict()
    except Spec2ImgError:
        return {}


def _cmd_join(args) -> int:
    from ..batch.folders import SEGMENT_EXTS, expand
    from ..batch.segments import join
    from .progress import ProgressBar

    *inputs, dst = args.paths
    srcs, problems = expand(inputs, SEGMENT_EXTS)
    if problems:
        raise InputError(problems[0][1])
    options = _phase_options(args)
    with ProgressBar(f"joining {len(srcs)} segment(s)",
                     enabled=None if not args.quiet else False) as bar:  # fmt: skip
        y, sr = join(
            srcs, dst, subtype=args.subtype, normalize=args.normalize,
            max_pixels=args.max_pixels, progress=bar, **options,
        )  # fmt: skip
    if not args.quiet:
        _say(f"wrote {dst} ({y.shape[-1] / sr:.2f} s at {sr} Hz from {len(srcs)} segment(s))")
    return 0


def _plain_options(args, skip=()) -> dict:
    """The plain-image options given on the command line, as plain_spec() arguments."""
    from ..errors import ParameterError

    names = [k for k in PLAIN_OPTIONS if k not in skip]
    given = {k: getattr(args, k) for k in names if getattr(args, k) is not None}
    for k in ("sr", "n_fft", "hop_length", "win_length", "frames", "n_mels"):
        if k in given:
            v = given[k]
            if not float(v).is_integer():
                raise ParameterError(f"--{k.replace('_', '-')} must be a whole number, not {v:g}")
            given[k] = int(v)
    if "db_range" in given:
        given["db_range"] = tuple(given["db_range"])
    if "crop" in given:
        given["crop"] = _crop(given["crop"])
    return given


def _crop(text: str) -> tuple[float, float, float, float]:
    from ..errors import ParameterError

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
    out = show(args.input, args.output, dpi=args.dpi, cmap=args.cmap, plain=plain)
    if out is not None and not args.quiet:
        _say(f"wrote {out}")
    return 0


def _cmd_info(args) -> int:
    from ..io.image import load
    from ..pipeline import image_kind

    plain = _plain_options(args)
    if plain or image_kind(args.image) == "plain":
        return _info_plain(args, plain)
    meta = load(args.image, **_max_pixels(args)).meta
    d = meta.to_dict()
    if args.json:
        print(json.dumps(d))
        return 0
    width = max(len(k) for k in d)
    for k, v in d.items():
        print(f"{_printable(k):<{width}}  {_printable(str(v))}")
    h, w = meta.shape
    print(f"{'image':<{width}}  {w}x{h} pixels")
    print(f"{'duration':<{width}}  {meta.n_samples / meta.params.sample_rate:.3f} s")
    return 0


def _info_plain(args, plain: dict) -> int:
    """info on an image without spec2img metadata: the settings it decodes with."""
    from ..errors import in_file
    from ..wild import presets

    try:
        res = presets.resolve(args.image, plain)
        spec = presets.plain_spec_of(args.image, res)
    except ParameterError as e:
        raise in_file(args.image, e) from None
    rows = presets.describe(res, spec)
    if args.json:
        print(json.dumps({k: {"value": v, "from": src} for k, v, src in rows}))
        return 0
    width = max(len(k) for k, _, _ in rows)
    vwidth = max(len(v) for _, v, _ in rows)
    for k, v, src in rows:
        print(f"{k:<{width}}  {_printable(v):<{vwidth}}  ({src})")
    for note in res.notes:
        print(f"{'':<{width}}  {_printable(note)}")
    return 0


def _say(msg: str) -> None:
    # Status lines go to stderr so that stdout stays clean for data (info --json).
    print(msg, file=sys.stderr)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return _printable(text or type(e).__name__)


def _printable(text: str) -> str:
    """``text`` with non-printable characters escaped (``\\x1b``): values read from a
    file, or a file's own name, must not drive the terminal."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {_one_line(message)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = create_parser()
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
            print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr)
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
                f"{PROG}: internal error ({type(e).__name__}: {_one_line(e)}); "
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
    from ..arrays.nmf import decompose
    from ..errors import in_file
    from ..io.image import load

    image = load(args.image)
    try:
        factors = decompose(
            image, args.components, seed=args.seed, beta_loss=args.beta_loss,
            max_iter=args.max_iter, workers=args.workers,
        )  # fmt: skip
    except Spec2ImgError as e:
        raise in_file(args.image, e) from None
    factors.source = os.path.basename(args.image)
    w, h = factors.save(args.outdir, inputs=[args.image])
    if not args.quiet:
        _say(f"wrote {w} and {h} ({args.components} components)")
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
    _add_common(p)
    p.set_defaults(func=_cmd_recompose)


def _cmd_recompose(args) -> int:
    from ..arrays.nmf import recompose

    options = _phase_options(args)
    result = recompose(
        args.components, args.activations, args.output, top_db=args.top_db,
        subtype=args.subtype, normalize=args.normalize, **options,
    )  # fmt: skip
    if not args.quiet:
        if isinstance(result, tuple):
            y, sr = result
            _say(f"wrote {args.output} ({y.shape[-1] / sr:.2f} s at {sr} Hz)")
        else:
            h, w = result.pixels.shape
            _say(f"wrote {args.output} ({w}x{h})")
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
    p.add_argument("--n-fft", type=positive_int, default=2048, help="FFT size (2048)")
    p.add_argument("--hop-length", type=positive_int, help="hop (default n_fft / 4)")
    o = p.add_argument_group("output")
    _add_audio_output(o)
    _add_common(p)
    p.set_defaults(func=_cmd_mosaic)


def _cmd_mosaic(args) -> int:
    from ..arrays.mosaicing import mosaic_files
    from .progress import ProgressBar

    with ProgressBar(f"mosaicing {os.path.basename(args.target)}",
                     enabled=None if not args.quiet else False) as bar:  # fmt: skip
        y, sr = mosaic_files(
            args.source, args.target, args.output, subtype=args.subtype,
            normalize=args.normalize, n_fft=args.n_fft, hop_length=args.hop_length,
            n_iter=args.n_iter, sparse=args.sparse, phase=args.phase, seed=args.seed,
            workers=args.workers, progress=bar,
        )  # fmt: skip
    if not args.quiet:
        _say(f"wrote {args.output} ({y.shape[-1] / sr:.2f} s at {sr} Hz)")
    return 0
