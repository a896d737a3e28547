"""Input and output paths, written the way Unix tools write them.

- A regular output file is written atomically: to a temporary file beside it, renamed
  over it on success.  A failed run (an exception, Ctrl-C, SIGTERM turned into
  KeyboardInterrupt by the CLI, a full disk) leaves no partial file.
- An output that is a symbolic link is written *through* the link: the temporary file
  goes beside the link's target, which is replaced; the link stays.
- An output that is not a regular file (a FIFO, ``/dev/null``, a terminal,
  ``/dev/stdout``) and ``-`` (standard output) are *streams*: never replaced, written
  to directly once the whole output is ready, so a failed run writes nothing to them.
- ``-`` as an input is standard input, spooled to a temporary file first (audio and
  image readers need to seek).
- An existing output is replaced only when asked (``overwrite=True``, the library's
  default; the command line asks for ``--overwrite``), and an input is never
  overwritten, also not through a symbolic or hard link.

Every problem with a path is one :class:`~spec2img.errors.InputError` or
:class:`~spec2img.errors.OutputError` naming it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import InputError, OutputError, Spec2ImgError

#: Characters of the target's name kept in its temporary file's name, so that a target
#: name near the file system's limit (255 bytes) still leaves room for the rest.
_TEMP_NAME_CHARS = 100
#: The name that means standard input or standard output.
STDIO = "-"
#: How standard input and output are named in messages.
STDIN_NAME, STDOUT_NAME = "<stdin>", "<stdout>"
_COPY_BLOCK = 1 << 20


def is_stdio(path) -> bool:
    """True if ``path`` is ``-``: standard input for an input, standard output for an output."""
    return isinstance(path, str | os.PathLike) and os.fspath(path) == STDIO


def is_stream(dst) -> bool:
    """True if the output ``dst`` is written to directly rather than replaced.

    That is ``-``, anything that exists and is neither a regular file nor a folder
    (FIFO, character device, socket), and the ``/dev/stdout``-style names of an open
    file descriptor even when it points at a regular file (the shell opened it).
    """
    if is_stdio(dst):
        return True
    try:
        st = os.stat(dst)  # follows symbolic links
    except (OSError, ValueError):
        return False
    if not stat.S_ISREG(st.st_mode):
        return not stat.S_ISDIR(st.st_mode)
    return _names_descriptor(dst)


def _names_descriptor(path) -> bool:
    """``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``, ``/proc/self/fd/N`` and the like."""
    p = os.path.abspath(os.fspath(path))
    if p in ("/dev/stdout", "/dev/stderr") or p.startswith("/dev/fd/"):
        return True
    parts = p.split("/")
    return len(parts) == 5 and parts[1] == "proc" and parts[3] == "fd"


def display_name(path, *, output: bool) -> str:
    """``path`` as messages name it: ``<stdout>``/``<stdin>`` for ``-``."""
    if is_stdio(path):
        return STDOUT_NAME if output else STDIN_NAME
    return os.fspath(path)


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


@contextlib.contextmanager
def spool_input(path: str | os.PathLike, what: str = "a file") -> Iterator[Path]:
    """Yield a readable path for ``path``: itself, or for ``-`` a temporary copy of
    standard input (removed afterwards; errors name it ``<stdin>``)."""
    if not is_stdio(path):
        yield Path(path)
        return
    stdin = sys.stdin
    if stdin is None or stdin.isatty():
        raise InputError(f"{STDIN_NAME}: standard input is a terminal; pipe {what} into it")
    with tempfile.TemporaryDirectory(prefix="spec2img-stdin-") as folder:
        tmp = Path(folder) / "stdin"
        try:
            with open(tmp, "wb") as f:
                shutil.copyfileobj(getattr(stdin, "buffer", stdin), f, _COPY_BLOCK)
        except OSError as e:
            raise InputError(f"{STDIN_NAME}: cannot read: {e.strerror or e}") from None
        try:
            yield tmp
        except Spec2ImgError as e:
            renamed = type(e)(str(e).replace(str(tmp), STDIN_NAME))
            raise renamed from None


def check_extension(dst: str | os.PathLike, extensions: Iterable[str], what: str) -> None:
    """Refuse a regular output file whose name does not end in one of ``extensions``
    (streams such as ``-`` and ``/dev/null`` have no name to judge)."""
    if is_stream(dst):
        return
    extensions = tuple(extensions)
    suffix = Path(dst).suffix
    if suffix.lower() not in extensions:
        shown = repr(suffix) if suffix else "no extension"
        raise OutputError(
            f"{dst}: the output is {what} and must be named *{extensions[0]}, not {shown}"
        )


def check_output(
    dst: str | os.PathLike, inputs: Iterable[str | os.PathLike] = (), *, overwrite: bool = True
) -> Path:
    """Raise :class:`OutputError` if ``dst`` cannot be written, would overwrite an input,
    or (``overwrite=False``) already exists as a file."""
    dst = Path(dst)
    try:
        return _check_output(dst, inputs, overwrite)
    except OSError as e:
        raise OutputError(f"{dst}: cannot write: {e.strerror or e}") from None
    except ValueError:
        raise OutputError(f"{dst!r}: not a valid file name") from None


def _check_output(dst: Path, inputs: Iterable[str | os.PathLike], overwrite: bool) -> Path:
    if is_stdio(dst):
        if sys.stdout is None:
            raise OutputError(f"{STDOUT_NAME}: there is no standard output")
        if sys.stdout.isatty():
            raise OutputError(
                f"{STDOUT_NAME}: refusing to write binary data to a terminal; redirect "
                "standard output or name a file"
            )
        return dst
    stream = is_stream(dst)
    if not stream:
        target = _target(dst)
        parent = target.parent if str(target.parent) else Path(".")
        if not parent.is_dir():
            raise OutputError(f"{dst}: output folder {parent} does not exist")
        if target.is_dir():
            raise OutputError(f"{dst}: is a folder, not a file name")
    for src in inputs:
        if is_stdio(src):
            continue
        src = Path(src)
        same = dst.resolve() == src.resolve()
        if not same and dst.exists() and src.exists():
            same = os.path.samefile(dst, src)
        if same:
            raise OutputError(f"{dst}: output is the same file as the input {src}")
    if not stream and not overwrite and _target(dst).exists():
        raise OutputError(
            f"{dst}: already exists; give overwrite to replace it", params=("overwrite",)
        )
    return dst


def _target(dst: Path) -> Path:
    """The file a write to ``dst`` replaces: ``dst`` itself, or the end of its links."""
    return Path(os.path.realpath(dst)) if dst.is_symlink() else dst


def _default_mode() -> int:
    """Permissions a plain ``open(path, "w")`` would give under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(
    dst: str | os.PathLike, inputs: Iterable[str | os.PathLike] = (), *, overwrite: bool = True
) -> Iterator[Path]:
    """Yield a temporary path to write the output to; put it in place on success.

    A regular file (or a symbolic link's target) is replaced by renaming the temporary
    file, made in its folder, over it; a stream (:func:`is_stream`) is written to from
    the temporary file, which is then removed.

    Parameters
    ----------
    dst : path-like
        The output, or ``-`` for standard output.
    inputs : iterable of path-like
        Files this output must never overwrite.
    overwrite : bool
        Replace an existing file; ``False`` raises :class:`OutputError` instead.

    Examples
    --------
    >>> with atomic_path("out.png") as tmp:  # doctest: +SKIP
    ...     image.save(tmp, format="PNG")
    """
    dst = check_output(dst, inputs, overwrite=overwrite)
    stream = is_stream(dst)
    target = dst if stream else _target(dst)
    name = display_name(dst, output=True)
    tmp = None
    try:
        prefix = f".{(target.name or 'stdout')[:_TEMP_NAME_CHARS]}."
        folder = None if stream else target.parent  # None: the system's temporary folder
        fd, tmpname = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=folder)
        os.close(fd)
        tmp = Path(tmpname)
        yield tmp
        if stream:
            _copy_to_stream(tmp, dst)
        else:
            try:
                mode = stat.S_IMODE(os.stat(target).st_mode)  # keep a replaced file's mode
            except FileNotFoundError:
                mode = _default_mode()  # mkstemp made it 0600
            os.chmod(tmp, mode)
            _fsync(tmp)  # the bytes on disk before the name points at them
            os.replace(tmp, target)
            _fsync_folder(target.parent)
    except BrokenPipeError:
        raise OutputError(f"{name}: the reader closed the pipe before the end") from None
    except OSError as e:  # no space, no permission, a read-only file system...
        raise OutputError(f"{name}: cannot write: {e.strerror or e}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Put a rename on disk (best effort: some systems cannot open a folder)."""
    try:
        fd = os.open(folder if str(folder) else ".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _copy_to_stream(src: Path, dst: Path) -> None:
    with open(src, "rb") as f:
        if is_stdio(dst):
            out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else sys.stdout
            sys.stdout.flush()
            shutil.copyfileobj(f, out, _COPY_BLOCK)
            out.flush()
            return
        # Append mode: never truncate or replace a stream; for /dev/stdout redirected
        # to a file the shell already opened (and truncated, or not for >>), it writes
        # after what is there.
        with open(dst, "ab") as out:
            shutil.copyfileobj(f, out, _COPY_BLOCK)
