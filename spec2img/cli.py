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
from .errors import Spec2ImgError

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


def _add_max_pixels(p) -> None:
    p.add_argument(
        "--max-pixels", type=_positive_int, default=None, metavar="N",
        help="refuse images of more pixels (or decodes of more spectrogram cells) than N "
        "(default 2**26 = 67108864, about 4 GB of decoding); raise it for trusted huge images",
    )  # fmt: skip


def _max_pixels(args) -> dict:
    return {} if args.max_pixels is None else {"max_pixels": args.max_pixels}


def _add_encode(sub) -> None:
    p = sub.add_parser(
        "encode", help="audio file -> 16-bit spectrogram PNG",
        description="Encode an audio file as a 16-bit grayscale spectrogram PNG with "
        "every parameter needed to invert it stored in its text chunks.",
    )  # fmt: skip
    p.add_argument("audio", help="input audio (WAV, FLAC, OGG, MP3 where supported)")
    p.add_argument("image", help="output PNG")
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
    p.set_defaults(func=_cmd_encode)


def _add_decode(sub) -> None:
    p = sub.add_parser(
        "decode", help="spectrogram PNG -> audio file",
        description="Decode a spectrogram image to audio: undo the dB mapping, recover "
        "the phase, restore the original length and level.",
    )  # fmt: skip
    p.add_argument("image", help="input spectrogram PNG")
    p.add_argument("audio", help="output audio: .wav, .flac or .ogg")
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
    _add_max_pixels(o)
    _add_common(p)
    p.set_defaults(func=_cmd_decode)


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="print an image's parameters")
    p.add_argument("image")
    p.add_argument("--json", action="store_true", help="one JSON object of the metadata")
    _add_max_pixels(p)
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
    for add in (_add_encode, _add_decode, _add_info):
        add(sub)
    return parser


def _cmd_encode(args) -> int:
    from .pipeline import audio_to_image

    image = audio_to_image(
        args.audio, args.image, sr=args.sr, mono=args.mono, n_fft=args.n_fft,
        hop_length=args.hop_length, win_length=args.win_length, window=args.window,
        scale=args.scale, n_mels=args.n_mels, fmin=args.fmin, fmax=args.fmax,
        top_db=args.top_db, workers=args.workers,
    )  # fmt: skip
    if not args.quiet:
        h, w = image.pixels.shape
        _say(f"wrote {args.image} ({w}x{h}, {image.meta.channels} channel(s))")
    return 0


def _cmd_decode(args) -> int:
    from .pipeline import image_to_audio
    from .progress import ProgressBar

    options = {"n_iter": args.n_iter, "seed": args.seed, "workers": args.workers}
    if args.method is not None:
        options["method"] = args.method
    if args.momentum is not None:
        options["momentum"] = args.momentum
    with ProgressBar(f"decoding {os.path.basename(args.image)}",
                     enabled=None if not args.quiet else False) as bar:  # fmt: skip
        y, sr = image_to_audio(
            args.image, args.audio, subtype=args.subtype, normalize=args.normalize,
            max_pixels=args.max_pixels, progress=bar, **options,
        )  # fmt: skip
    if not args.quiet:
        _say(f"wrote {args.audio} ({y.shape[-1] / sr:.2f} s at {sr} Hz)")
    return 0


def _cmd_info(args) -> int:
    from .image import load

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
