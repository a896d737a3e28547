"""Paths with a scheme (``s3://bucket/x.wav``, ``gcs://...``) through fsspec.

A batch that runs on a cluster reads and writes files the workers can see: a shared
folder, or an object store reached through fsspec (with the store's package, such as
s3fs, installed on the client and on every worker).  Plain paths and ``file://`` URLs
stay on the local filesystem and never import fsspec.

Remote inputs are copied to a local temporary file before they are read; remote
outputs are written locally (atomically, as always) and then uploaded in one call.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from ..errors import InputError, OutputError

_MAGIC = "*?["


def is_remote(path) -> bool:
    """True for a URL with a scheme other than ``file``."""
    text = str(path)
    return "://" in text and not text.startswith("file://")


def local(path) -> str:
    """A plain path for ``path`` (``file://`` stripped)."""
    text = os.fspath(path)
    return text[len("file://") :] if text.startswith("file://") else text


def is_glob(path: str) -> bool:
    """A local pattern with wildcards that names no file of its own."""
    return has_magic(path) and not os.path.exists(path)


def has_magic(path) -> bool:
    return any(c in str(path) for c in _MAGIC)


def filesystem(url: str):
    """``(fs, path)`` of a URL."""
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise InputError(
            f"{url}: URLs need fsspec (pip install fsspec and the package of the store)"
        ) from None
    try:
        return url_to_fs(url)
    except (ImportError, ValueError) as e:
        raise InputError(f"{url}: cannot open this kind of URL ({e})") from None


def _url(fs, path: str) -> str:
    return fs.unstrip_protocol(path)


def list_files(url: str, exts: tuple[str, ...]) -> list[tuple[str, str]] | None:
    """Files under a remote folder or matching a remote glob, each with its path
    relative to the folder (or to the glob's last folder without wildcards).

    Returns ``None`` when ``url`` is a single file (or does not exist).
    """
    fs, path = filesystem(url)
    if has_magic(path):
        base = _static_prefix(path)
        found = sorted(p for p in fs.glob(path) if fs.isfile(p))
    elif fs.isdir(path):
        base = path
        found = sorted(
            p for p in fs.find(path)
            if PurePosixPath(p).suffix.lower() in exts
            and not any(part.startswith(".") for part in PurePosixPath(p).parts)
        )  # fmt: skip
    else:
        return None
    base = fs._strip_protocol(base).rstrip("/")
    return [(_url(fs, p), _relative(fs._strip_protocol(p), base)) for p in found]


def _relative(path: str, base: str) -> str:
    if base and path.startswith(base + "/"):
        return path[len(base) + 1 :]
    return PurePosixPath(path).name


def _static_prefix(pattern: str) -> str:
    parts = PurePosixPath(pattern).parts
    keep = []
    for part in parts[:-1]:
        if has_magic(part):
            break
        keep.append(part)
    return str(PurePosixPath(*keep)) if keep else ""


def mtime(path) -> float | None:
    """Modification time in seconds, or ``None`` if the file does not exist."""
    if not is_remote(path):
        try:
            return os.stat(local(path)).st_mtime
        except OSError:
            return None
    fs, p = filesystem(str(path))
    if not fs.exists(p):
        return None
    try:
        return fs.modified(p).timestamp()
    except (NotImplementedError, AttributeError, KeyError):
        return float("inf")  # exists; age unknown: count it as new


@contextlib.contextmanager
def fetched(url: str) -> Iterator[str]:
    """A local copy of a remote input, removed afterwards (a plain path passes through)."""
    if not is_remote(url):
        yield local(url)
        return
    fs, path = filesystem(url)
    with tempfile.TemporaryDirectory(prefix="spec2img-") as tmp:
        dst = os.path.join(tmp, PurePosixPath(path).name)
        try:
            fs.get(path, dst)
        except FileNotFoundError:
            raise InputError(f"{url}: no such file") from None
        except OSError as e:
            raise InputError(f"{url}: cannot read ({e})") from None
        yield dst


@contextlib.contextmanager
def staged(url: str) -> Iterator[tuple[str, Callable[[list], list[str]]]]:
    """A local output path for ``url``, and ``publish(paths) -> urls`` to upload results.

    For a plain path the output is written in place, its folder made if missing.
    """
    if not is_remote(url):
        path = Path(local(url))
        path.parent.mkdir(parents=True, exist_ok=True)
        yield str(path), lambda paths: [str(p) for p in paths]
        return
    fs, remote_path = filesystem(url)
    parent = str(PurePosixPath(remote_path).parent)
    with tempfile.TemporaryDirectory(prefix="spec2img-") as tmp:
        dst = os.path.join(tmp, PurePosixPath(remote_path).name)

        def publish(paths) -> list[str]:
            urls = []
            for p in paths:
                target = f"{parent}/{Path(p).name}"
                try:
                    fs.makedirs(parent, exist_ok=True)
                    fs.put(str(p), target)
                except OSError as e:
                    raise OutputError(f"{_url(fs, target)}: cannot write ({e})") from None
                urls.append(_url(fs, target))
            return urls

        yield dst, publish


def open_binary(path):
    """Open a local or remote file for reading bytes."""
    if not is_remote(path):
        return open(local(path), "rb")
    fs, p = filesystem(str(path))
    return fs.open(p, "rb")


def sibling(path, name: str) -> str:
    """The path of ``name`` in ``path``'s folder, local or remote."""
    if not is_remote(path):
        return str(Path(local(path)).with_name(name))
    fs, p = filesystem(str(path))
    return _url(fs, f"{PurePosixPath(p).parent}/{name}")
