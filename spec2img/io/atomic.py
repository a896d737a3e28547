"""Input and output paths; atomic output files (a temporary file beside the target, renamed).

A failed run (an exception, Ctrl-C, SIGTERM turned into KeyboardInterrupt by the CLI,
a full disk) leaves no partial file, and an input is never overwritten, also not
through a symbolic or hard link.  Every problem with a path is one
:class:`~spec2img.errors.InputError` or :class:`~spec2img.errors.OutputError` naming it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import InputError, OutputError

#: Characters of the target's name kept in its temporary file's name, so that a target
#: name near the file system's limit (255 bytes) still leaves room for the rest.
_TEMP_NAME_CHARS = 100


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
    try:
        return _check_output(dst, inputs)
    except OSError as e:
        raise OutputError(f"{dst}: cannot write: {e.strerror or e}") from None
    except ValueError:
        raise OutputError(f"{dst!r}: not a valid file name") from None


def _check_output(dst: Path, inputs: Iterable[str | os.PathLike]) -> Path:
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
    tmp = None
    try:
        prefix = f".{dst.name[:_TEMP_NAME_CHARS]}."
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=dst.parent)
        os.close(fd)
        tmp = Path(name)
        yield tmp
        os.chmod(tmp, _default_mode())  # mkstemp made it 0600
        os.replace(tmp, dst)
    except OSError as e:  # no space, no permission, a read-only file system...
        raise OutputError(f"{dst}: cannot write: {e.strerror or e}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
