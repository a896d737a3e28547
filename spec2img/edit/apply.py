"""``spec2img apply``: replay an edit list on recordings, as the editor would have.

The edit list (:mod:`spec2img.edit.journal`) is validated against each input's grid
before any work; the input is opened as ``spec2img edit`` opens it, the edits are
replayed through the same :class:`~spec2img.edit.session.Session`, and the output is
what the page's export gives for that state, byte for byte.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import journal as _journal
from .session import check_output_path, open_input


def apply_edits(
    doc: dict,
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    name: str = "edit list",
    overwrite: bool = False,
    plain=None,
    max_pixels: int | None = None,
) -> Path:
    """Replay the edit list ``doc`` on ``src`` and write the result to ``dst``.

    Parameters
    ----------
    doc : dict
        An edit list document (:func:`spec2img.edit.journal.read_document`).
    src : path-like
        Audio file, spec2img image or (with ``plain``) plain image.
    dst : path-like
        Audio (``.wav``, ``.flac``, ...: the full-quality decode) or ``.png`` (with
        its phase image).
    name : str
        How errors name the edit list.
    overwrite : bool
        Replace an existing ``dst``.

    Raises
    ------
    Spec2ImgError
        A bad edit list (naming the entry), input or output.
    """
    dst = check_output_path(dst, src, overwrite=overwrite)
    session = open_input(src, plain=plain, max_pixels=max_pixels)
    edits = _journal.parse_edits(doc, session.grid(), _journal.grid_doc(session), name=name)
    session.prepare()
    session.replay(edits)
    return session.save(dst)
