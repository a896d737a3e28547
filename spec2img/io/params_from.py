"""``params_from``: the metadata of another image or file, to read an image with.

An image that lost its metadata in an editor, or a plain image drawn with the
parameters of a known one, is read with the metadata of a spec2img PNG, of
``spec2img info --json`` output or of a dataset file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import InputError, MetadataError, in_file
from ..params import Metadata
from .dataset import FORMAT, read_dataset
from .png import read_header


def read_params(path: str | os.PathLike) -> Metadata:
    """Metadata to decode other images with: from a spec2img PNG or a JSON file.

    The JSON is either ``spec2img info --json`` output (a flat object of metadata keys)
    or a dataset file (read by :func:`spec2img.io.dataset.read_dataset`); an image
    is read with the bounded header reader, without decoding its pixels.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file (params_from)", params=("params_from",))
    if path.suffix.lower() == ".json":
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"{path}: not a readable JSON file ({e})") from None
        if isinstance(d, dict) and d.get("format") == FORMAT:
            return read_dataset(path)[0]
        if not isinstance(d, dict):
            raise MetadataError(f"{path}: expected a JSON object of spec2img metadata")
        try:
            return Metadata.from_dict(d)
        except (MetadataError, TypeError) as e:
            raise in_file(path, MetadataError(str(e))) from None
    text = read_header(path, max_pixels=None).text
    if not text:
        raise MetadataError(f"{path}: no spec2img metadata to take parameters from")
    try:
        return Metadata.from_text(text)
    except MetadataError as e:
        raise in_file(path, e) from None
