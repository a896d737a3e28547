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

from . import __version__
from .errors import InputError, Spec2ImgError

PROG = "spec2img"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value}")
    return value


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument(
        "--workers", type=_positive_int, default=None, metavar="N",
        help="FFT threads (default: 1, measured fastest on a loaded 2-core machine)",
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
        help="input audio (WAV, FLAC, OGG, MP3 where supported) and output PNG; or audio "
        "files, folders and globs with -o OUTDIR",
    )  # fmt: skip
    g = p.add_argument_group("spectrogram (librosa's names)")
    g.add_argument("--n-fft", type=_positive_int, default=2048, help="FFT size (2048)")
    g.add_argument("--hop-length", type=_positive_int, help="hop (default win_length / 4)")
    g.add_argument("--win-length", type=_positive_int, help="window length (default n_fft)")
    g.add_argument("--window", default="hann", help="any scipy window name (hann)")
    g.add_argument("--sr", type=_positive_int, help="resample to this rate first")
    g.add_argument("--mono", action="store_true", help="downmix to one channel")
    g.add_argument("--scale", choices=["linear", "mel"], default="linear")
    g.add_argument("--n-mels", type=_positive_int, default=128, help="mel bands (128)")
    g.add_argument("--fmin", type=_float, default=0.0, help="lowest mel frequency, Hz (0)")
    g.add_argument("--fmax", type=_float, help="highest mel frequency, Hz (sr / 2)")
    g.add_argument(
        "--top-db", type=_float, default=120.0,
        help="dynamic range kept below the peak, dB (120)",
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
        help="input spectrogram PNG and output audio (.wav, .flac or .ogg); or PNG files, "
        "folders and globs with -o OUTDIR",
    )  # fmt: skip
    g = p.add_argument_group("phase retrieval")
    g.add_argument("--method", default=None, help="phase retrieval method (default: best)")
    g.add_argument("--n-iter", type=_nonneg_int, default=None, help="iterations")
    g.add_argument("--momentum", type=_float, default=None, help="FGLA momentum (0.99)")
    g.add_argument("--seed", type=int, default=0, help="seed of the initial phase (0)")
    o = p.add_argument_group("output")
    o.add_argument("--subtype", help="PCM_16 (default for WAV), PCM_24, FLOAT, ...")
    o.add_argument(
        "--normalize", action="store_true",
        help="scale the peak to -1 dBFS instead of clipping beyond full scale",
    )  # fmt: skip
    o.add_argument(
        "--max-pixels", type=_positive_int, default=None,
        help="accept images with more pixels than the default limit (2**28)",
    )  # fmt: skip
    _add_common(p)
    _add_batch(p, "decode")
    p.set_defaults(func=_cmd_decode)


def _add_batch(p: argparse.ArgumentParser, kind: str) -> None:
    from .batch import add_arguments, check_arguments

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
    g = p.add_argument_group("phase retrieval")
    g.add_argument("--method", default=None, help="phase retrieval method (default: best)")
    g.add_argument("--n-iter", type=_nonneg_int, default=None, help="iterations")
    g.add_argument("--momentum", type=_float, default=None, help="FGLA momentum (0.99)")
    g.add_argument("--seed", type=int, default=0, help="seed of the initial phase (0)")
    o = p.add_argument_group("output")
    o.add_argument("--subtype", help="PCM_16 (default for WAV), PCM_24, FLOAT, ...")
    o.add_argument("--normalize", action="store_true",
                   help="scale the peak to -1 dBFS instead of clipping beyond full scale")  # fmt: skip
    o.add_argument("--max-pixels", type=_positive_int, default=None,
                   help="accept segment images with more pixels than the default limit")  # fmt: skip
    _add_common(p)

    def check(args) -> None:
        if len(args.paths) < 2:
            p.error("give the segment images (or their folder), then the output audio")

    p.set_defaults(func=_cmd_join, check=check)


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="print an image's parameters")
    p.add_argument("image")
    p.add_argument("--json", action="store_true", help="one JSON object of the metadata")
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
    for add in (_add_encode, _add_decode, _add_join, _add_info):
        add(sub)
    return parser


def _cmd_encode(args) -> int:
    if args.output_dir is not None:
        from .batch import run

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
        from .segments import audio_to_segments

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
        if args.size is not None:
            from .dataset import audio_to_resized_image as convert

            params["size"] = args.size
        else:
            from .pipeline import audio_to_image as convert
        image = convert(src, dst, sr=args.sr, mono=args.mono, **params)
        images = [{"image": str(dst), "metadata": image.meta.to_dict()}]
        shape = _size_text(image, args.size)
        message = f"wrote {dst} ({shape}, {image.meta.channels} channel(s))"
    return {"outputs": [i["image"] for i in images], "images": images, "message": message}


def _size_text(image, size) -> str:
    if size is not None:
        return f"{size[0]}x{size[1]}"
    h, w = image.pixels.shape
    return f"{w}x{h}"


def _cmd_decode(args) -> int:
    if args.output_dir is not None:
        from .batch import run

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
    from .pipeline import image_to_audio

    options = {"n_iter": args.n_iter, "seed": args.seed, "workers": args.workers}
    if args.method is not None:
        options["method"] = args.method
    if args.momentum is not None:
        options["momentum"] = args.momentum
    y, sr = image_to_audio(
        src, dst, subtype=args.subtype, normalize=args.normalize,
        max_pixels=args.max_pixels, progress=progress, **options,
    )  # fmt: skip
    return {
        "outputs": [str(dst)], "metadata": _metadata_of(src),
        "message": f"wrote {dst} ({y.shape[-1] / sr:.2f} s at {sr} Hz)",
    }  # fmt: skip


def _metadata_of(path) -> dict:
    from .segments import read_meta

    try:
        return read_meta(path)[0].to_dict()
    except Spec2ImgError:
        return {}


def _cmd_join(args) -> int:
    from .batch import SEGMENT_EXTS, expand
    from .progress import ProgressBar
    from .segments import join

    *inputs, dst = args.paths
    srcs, problems = expand(inputs, SEGMENT_EXTS)
    if problems:
        raise InputError(problems[0][1])
    options = {"n_iter": args.n_iter, "seed": args.seed, "workers": args.workers}
    if args.method is not None:
        options["method"] = args.method
    if args.momentum is not None:
        options["momentum"] = args.momentum
    with ProgressBar(f"joining {len(srcs)} segment(s)",
                     enabled=None if not args.quiet else False) as bar:  # fmt: skip
        y, sr = join(
            srcs, dst, subtype=args.subtype, normalize=args.normalize,
            max_pixels=args.max_pixels, progress=bar, **options,
        )  # fmt: skip
    if not args.quiet:
        _say(f"wrote {dst} ({y.shape[-1] / sr:.2f} s at {sr} Hz from {len(srcs)} segment(s))")
    return 0


def _cmd_info(args) -> int:
    from .image import load

    meta = load(args.image).meta
    d = meta.to_dict()
    if args.json:
        print(json.dumps(d))
        return 0
    width = max(len(k) for k in d)
    for k, v in d.items():
        print(f"{k:<{width}}  {v}")
    h, w = meta.shape
    print(f"{'image':<{width}}  {w}x{h} pixels")
    print(f"{'duration':<{width}}  {meta.n_samples / meta.params.sample_rate:.3f} s")
    return 0


def _say(msg: str) -> None:
    # Status lines go to stderr so that stdout stays clean for data (info --json).
    print(msg, file=sys.stderr)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text or type(e).__name__


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
