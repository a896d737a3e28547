"""Atomic output files: write to a temporary file beside the target, then rename.

A failed run (an exception, Ctrl-C, SIGTERM turned into SystemExit by the CLI, a full
disk) leaves no partial file, and an input is never overwritten.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import InputError, OutputError


def check_input(path: str | os.PathLike, what: str = "a file") -> Path:
    """The path of an existing input that is not a folder, or an :class:`InputError`."""
    path = Path(path)
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{path}: no such file") from None
    except OSError as e:  # too long a name, a symlink loop, no permission...
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from None
    except ValueError:
        raise InputError(f"{path!r}: not a valid file name") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a folder, not {what}")
    return path


def check_output(dst: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """Raise :class:`OutputError` if ``dst`` cannot be written or would overwrite an input."""
    dst = Path(dst)
    parent = dst.parent if str(dst.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{dst}: output folder {parent} does not exist")
    if dst.is_dir():
        raise OutputError(f"{dst}: is a folder, not a file name")
    for src in inputs:
        src = Path(src)
        same = dst.resolve() == src.resolve()
        if not same and dst.exists() and src.exists():
            same = os.path.samefile(dst, src)
        if same:
            raise OutputError(f"{dst}: output is the same file as the input {src}")
    return dst


def _default_mode() -> int:
    """Permissions a plain ``open(path, "w")`` would give under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(dst: str | os.PathLike, inputs: Iterable[str | os.PathLike] = ()) -> Iterator[Path]:
    """Yield a temporary path in ``dst``'s folder; rename it to ``dst`` on success.

    Examples
    --------
    >>> with atomic_path("out.png") as tmp:  # doctest: +SKIP
    ...     image.save(tmp, format="PNG")
    """
    dst = check_output(dst, inputs)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".part", dir=dst.parent or ".")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, _default_mode())  # mkstemp made it 0600
        os.replace(tmp, dst)
    except OSError as e:
        raise OutputError(f"{dst}: cannot write: {e.strerror or e}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
