"""The one family of errors spec2img raises for bad input.

The library raises these; only the CLI turns them into a one-line message and an
exit code.  Each message names the file (when there is one) and the problem.
"""

from __future__ import annotations


class Spec2ImgError(Exception):
    """Base class of every error spec2img raises on purpose."""

    exit_code = 1


class ParameterError(Spec2ImgError, ValueError):
    """A parameter is out of range, inconsistent, or missing."""


class InputError(Spec2ImgError):
    """An input file is missing, unreadable, or holds data we cannot use."""


class MetadataError(InputError):
    """An image's spec2img metadata is absent, malformed, or out of bounds."""


class OutputError(Spec2ImgError):
    """An output cannot be written (missing folder, same path as input, disk full)."""


def in_file(path, err: Spec2ImgError) -> Spec2ImgError:
    """Return a copy of ``err`` whose message starts with ``path``.

    Used where a pure function raised without knowing which file its data came from.
    """
    msg = str(err)
    prefix = f"{path}: "
    if msg.startswith(prefix):
        return err
    new = type(err)(prefix + msg)
    new.__cause__ = err.__cause__
    return new
