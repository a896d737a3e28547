"""Training sets: one ``dataset.json`` that describes a folder of uniform images.

A GAN trained on spec2img images produces pixels without metadata.  The dataset file
records the parameters every image of the training set shares, so that
``decode --params-from dataset.json`` can hear what the network generates::

    {"format": "spec2img-dataset", "version": 1,
     "metadata": {... the flat metadata, as ``spec2img info --json`` prints it ...},
     "size": [width, height],
     "files": [{"image": "a/x_000.png", "source": "a/x.wav", "offset": 0}, ...]}

``metadata`` holds the keys common to every image (the per-segment keys are in
``files``); ``size`` is the pixel size of every image.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import InputError, MetadataError, ParameterError
from ..params import MAX_IMAGE_SIDE, Metadata

FORMAT = "spec2img-dataset"
VERSION = 1
FILENAME = "dataset.json"
#: Metadata keys that differ from image to image, kept out of the shared metadata.
PER_FILE_KEYS = ("segment_index", "segment_count", "segment_offset", "total_samples", "segment_of")


def parse_size(text: str) -> tuple[int, int]:
    """``"256x128"`` -> ``(256, 128)`` (width, height)."""
    parts = str(text).lower().replace("*", "x").split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise ParameterError(f"size must be WIDTHxHEIGHT such as 256x256, not {text!r}") from None
    if not (1 <= w <= MAX_IMAGE_SIDE and 1 <= h <= MAX_IMAGE_SIDE):
        raise ParameterError(f"size {w}x{h} must be 1 to {MAX_IMAGE_SIDE} pixels a side")
    return w, h


def shared_metadata(metas: list[dict]) -> dict:
    """The metadata every dict in ``metas`` shares, without the per-file keys.

    Raises
    ------
    ParameterError
        The images differ in a parameter (e.g. sample rates without ``--sr``).
    """
    if not metas:
        raise ParameterError("no images to describe")
    first = {k: v for k, v in metas[0].items() if k not in PER_FILE_KEYS}
    for other in metas[1:]:
        for key, value in first.items():
            if other.get(key) != value:
                hint = {"sample_rate": " (use sr)", "channels": " (use mono)"}.get(key, "")
                raise ParameterError(
                    f"images differ in {key} ({value!r} and {other.get(key)!r}){hint}; "
                    "a training set needs one set of parameters",
                    params=("sr", "mono"),
                )
    return first


def write_dataset(folder: str | os.PathLike, entries: list[dict], *, size=None, dst=None) -> Path:
    """Write ``folder/dataset.json`` for a uniform set of images, atomically.

    Parameters
    ----------
    folder : path-like or URL
        The set's root; image paths are stored relative to it.
    entries : list of dict
        One per image: ``image`` (path), ``source`` (path or ''), ``metadata`` (flat
        dict as ``Metadata.to_dict`` gives).
    size : (width, height) or None
        Pixel size of every image; ``None``: the STFT grid's (frames, rows).
    dst : path-like or None
        Where to write instead of ``folder/dataset.json`` (a local staging file).

    Returns
    -------
    Path of the dataset file.
    """
    from ..io.atomic import atomic_path

    entries = sorted(entries, key=lambda e: str(e["image"]))
    metadata = shared_metadata([e["metadata"] for e in entries])
    meta = Metadata.from_dict(metadata)  # validates, and gives the grid
    if size is None:
        height, width = meta.shape
        size = (width, height)
    files = []
    for e in entries:
        item = {"image": _relative(e["image"], folder), "source": str(e.get("source", ""))}
        offset = e["metadata"].get("segment_offset")
        if offset is not None:
            item["offset"] = int(offset)
        files.append(item)
    doc = {
        "format": FORMAT, "version": VERSION, "metadata": metadata,
        "size": [int(size[0]), int(size[1])], "files": files,
    }  # fmt: skip
    dst = Path(folder) / FILENAME if dst is None else Path(dst)
    with atomic_path(dst) as tmp:
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
    return dst


def read_dataset(path: str | os.PathLike) -> tuple[Metadata, tuple[int, int], list[dict]]:
    """Read a ``dataset.json``: the shared metadata (validated), the size and the files.

    For ``decode --params-from dataset.json``: ``Metadata`` gives every parameter of
    the training set's images, ``size`` the pixel size they were stored at.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{path}: not a readable dataset file ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise MetadataError(f"{path}: not a spec2img dataset file (format is not {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise MetadataError(f"{path}: dataset version {doc.get('version')!r} is not {VERSION}")
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict):
        raise MetadataError(f"{path}: dataset metadata is missing")
    try:
        meta = Metadata.from_dict(metadata)
        size = doc.get("size")
        if size is None:  # written by hand: the images are on their STFT grid
            height, width = meta.shape
            size = [width, height]
        if not (isinstance(size, list) and len(size) == 2):
            raise ParameterError(f"size must be [width, height], not {size!r}")
        size = parse_size(f"{size[0]}x{size[1]}")
    except (MetadataError, ParameterError) as e:
        raise MetadataError(f"{path}: {e}") from None
    files = doc.get("files", [])
    if not isinstance(files, list):
        raise MetadataError(f"{path}: files must be a list")
    return meta, size, files


def _relative(path, folder) -> str:
    path, folder = str(path), str(folder).rstrip("/")
    if "://" not in path:
        try:
            return Path(path).resolve().relative_to(Path(folder).resolve()).as_posix()
        except ValueError:
            return path
    return path[len(folder) + 1 :] if path.startswith(folder + "/") else path
