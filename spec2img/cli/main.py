"""The ``spec2img`` command line: ``main(argv) -> int`` over the parser
(:mod:`spec2img.cli.parser`) and the command handlers (:mod:`spec2img.cli.commands`).

Only this module turns :class:`~spec2img.errors.Spec2ImgError` into a one-line message
and an exit code (1 for bad input, 2 for usage).
"""

from __future__ import annotations

import os
import signal
import sys
import warnings

from ..errors import Spec2ImgError, one_line
from .commands import HANDLERS
from .parser import COMMANDS, PROG, create_parser, error_line

__all__ = ["main", "run", "create_parser"]


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {error_line(message)}", file=sys.stderr)


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
            return HANDLERS[args.command](args)
        except Spec2ImgError as e:
            print(f"{PROG}: error: {error_line(e)}", file=sys.stderr)
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


#: Thread pools of the BLAS libraries NumPy may be built on, by the variable each reads
#: when it is loaded.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def one_blas_thread(environ=os.environ) -> None:
    """Give NumPy's BLAS one thread in this process, unless the user chose a number.

    spec2img runs its own threads where they pay (the channels of a decode, the FFT
    pieces of a short one: :mod:`spec2img.dsp.stft`); a BLAS pool on top only competes
    with them for the cores.  It is started when NumPy is imported, and its idle worker
    spins before it sleeps: measured on 2 cores, ``import numpy`` took 0.08-0.11 s of
    CPU with one BLAS thread and 0.09-0.15 s with the default pool, and a 5-s decode
    about 6% less CPU time; a Riffusion decode (whose mel inverse multiplies matrices)
    took no longer.  It must run before NumPy is imported (it does nothing after).
    """
    if "numpy" in sys.modules:
        return
    for name in BLAS_THREAD_VARIABLES:
        environ.setdefault(name, "1")


def run() -> None:
    """Console-script entry point (``spec2img`` and ``python -m spec2img``): a whole
    process of ours, whose thread pools it may set."""
    one_blas_thread()
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(main())
