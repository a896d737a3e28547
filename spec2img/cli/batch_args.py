"""The batch options of ``encode`` and ``decode`` (``INPUT... -o OUTDIR``), and their usage rules."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from ..options import AUDIO_FORMATS
from .argtypes import finite_float, nonneg_float, positive_float, positive_int


def add_arguments(p: argparse.ArgumentParser, kind: str) -> None:
    """Add the batch options (and, for encode, segments and training sets) to ``p``."""
    b = p.add_argument_group("several files (with -o OUTDIR)")
    b.add_argument("-o", "--output-dir", metavar="OUTDIR",
                   help="convert every input into this folder, mirroring folders")  # fmt: skip
    b.add_argument("-j", "--jobs", type=positive_int, default=None, metavar="N",
                   help="files converted at once (default: all cores)")  # fmt: skip
    b.add_argument("-y", "--overwrite", action="store_true",
                   help="replace an existing output file (with -o: redo outputs that are "
                   "already newer than their input)")  # fmt: skip
    b.add_argument("--fail-fast", action="store_true", help="stop at the first failure")
    b.add_argument("--manifest", metavar="FILE.csv|.jsonl",
                   help="record each file's parameters and result")  # fmt: skip
    b.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run the files as tasks on this Dask cluster (dask://HOST:PORT too)")  # fmt: skip
    if kind == "decode":
        b.add_argument("--format", choices=AUDIO_FORMATS, default=None,
                       help="audio format: of the files in OUTDIR (wav), of standard "
                       "output '-' or a FIFO (wav), or instead of the extension")  # fmt: skip
    if kind == "encode":
        s = p.add_argument_group("long recordings and training sets")
        s.add_argument("--segment", type=positive_float, metavar="SECONDS",
                       help="cut into images of this length: OUT_000.png, OUT_001.png, ...")  # fmt: skip
        s.add_argument("--overlap", type=nonneg_float, default=None, metavar="SECONDS",
                       help="seconds shared by consecutive segments (0)")  # fmt: skip
        s.add_argument("--db-range", type=finite_float, nargs=2, metavar=("LOW", "HIGH"),
                       help="fixed dB of pixel 0 and 65535, so levels compare across images "
                       "(with --segment, default: --top-db below full scale)")  # fmt: skip


def check_arguments(args: argparse.Namespace, error: Callable[[str], None]) -> None:
    """Usage checks that argparse cannot express; ``error`` exits with status 2."""
    from ..batch import remote

    n = len(args.inputs)
    if args.output_dir is None:
        if n != 2:
            error(f"give INPUT OUTPUT, or INPUT... -o OUTDIR ({n} path(s) and no -o)")
        src = args.inputs[0]
        if not remote.is_remote(src) and (os.path.isdir(src) or remote.is_glob(src)):
            error(f"{src}: a folder or a glob needs -o OUTDIR")
        for flag in ("manifest", "scheduler"):
            if getattr(args, flag, None):
                error(f"--{flag} needs -o OUTDIR")
    manifest = getattr(args, "manifest", None)
    if manifest and Path(manifest).suffix.lower() not in (".csv", ".jsonl"):
        error(f"--manifest {manifest}: use a .csv or .jsonl file name")
    overlap = getattr(args, "overlap", None)
    if overlap is not None and getattr(args, "segment", None) is None:
        error("--overlap needs --segment")
