"""The ``spec2img`` command line: argument parsing, progress, previews."""

from .main import create_parser, main, run

__all__ = ["create_parser", "main", "run"]
