"""The one table of the editor's operations, :data:`OPS`.

Each operation is one :class:`Op` record: its JSON name, its typed record
(:mod:`.records`), its validator (:mod:`.validate`: untrusted JSON to the record, with
bounds), its applier (:mod:`.appliers`: the record on a canvas), its canonical JSON and
its undo label.  A new operation is one more :func:`register` here and nothing else.

The names the rest of the editor uses are re-exported here, so ``ops.X`` stays the
editor's one vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from .appliers import (  # noqa: F401  (re-exported)
    _apply_brush,
    _apply_cut,
    _apply_move,
    _apply_paint,
    _apply_paste,
    _apply_picture,
    _masked,
    brush_mask,
    copy_clip,
    dabs,
    gain_pixels,
    heal_patch,
    put,
    take,
)
from .paint import Canvas
from .records import (  # noqa: F401  (re-exported)
    HEAL_CONTEXT,
    HEAL_STEP_DB,
    MAX_BRUSH_CELLS,
    MAX_EDIT_CELLS,
    MAX_GAIN_DB,
    MAX_POINTS,
    Applied,
    Brush,
    Clip,
    Copied,
    Cut,
    Edit,
    Erase,
    Gain,
    Grid,
    Heal,
    Held,
    Move,
    Paint,
    Paste,
    Picture,
    Region,
)
from .select import Shape
from .validate import (  # noqa: F401  (re-exported)
    MAX_NUMBER,
    MAX_PICTURE_BYTES,
    PHASE_STEP,
    _gain,
    _parse_brush,
    _parse_move,
    _parse_paint,
    _parse_paste,
    _parse_picture,
    _shape,
    _short,
    brush_cells,
    finite,
    parse_region,
    parse_selection,
    parse_shape,
)


def parse_edit(data, grid: Grid) -> Edit:
    """Validate a JSON edit request (a dict) against ``grid``: the parser of its
    ``op`` in :data:`OPS`.

    Raises
    ------
    ParameterError
        Anything missing, of the wrong type, not finite or out of range.
    """
    if not isinstance(data, dict):
        raise ParameterError(f"an edit must be a JSON object, not {type(data).__name__}")
    op = data.get("op")
    record = OPS.get(op) if isinstance(op, str) else None
    if record is None:
        raise ParameterError(f"'op' must be one of {sorted(OPS)}, not {_short(op)}")
    return record.parse(data, grid)


@dataclass(frozen=True)
class Op:
    """One kind of edit: everything the editor (and a journal of edits) knows of it.

    Attributes
    ----------
    name : str
        The ``op`` of its JSON.
    kind : type
        Its frozen dataclass.
    parse : callable (dict, Grid) -> edit
        The validator: bounds-checks a JSON object (``ParameterError`` naming the field).
    apply : callable (edit, Canvas) -> Applied or None
        Pure: reads the canvas, never writes it.
    to_json : callable (edit) -> dict
        Its canonical fields (in cells), without ``op``: ``parse`` of them gives the
        edit back exactly.
    describe : callable (edit) -> str
        The undo history's label.
    """

    name: str
    kind: type
    parse: Callable
    apply: Callable
    to_json: Callable
    describe: Callable


#: The operations, by name.
OPS: dict[str, Op] = {}
_BY_KIND: dict[type, Op] = {}


def register(op: Op) -> Op:
    """Add ``op`` to :data:`OPS` (a new operation needs nothing else)."""
    OPS[op.name] = op
    _BY_KIND[op.kind] = op
    return op


def spec(edit) -> Op:
    """The :class:`Op` record of an edit."""
    try:
        return _BY_KIND[type(edit)]
    except KeyError:
        raise TypeError(f"not an edit: {edit!r}") from None


def apply(edit: Edit, canvas: Canvas) -> Applied | None:
    """What ``edit`` changes on ``canvas`` (its record's applier); None when it changes
    nothing."""
    return spec(edit).apply(edit, canvas)


def describe(edit: Edit) -> str:
    """A short label for the undo history."""
    return spec(edit).describe(edit)


def to_json(edit: Edit) -> dict:
    """The canonical JSON of ``edit``, in cells: :func:`parse_edit` of it gives ``edit``
    back exactly, on any recording of the same grid."""
    return {"op": spec(edit).name, **spec(edit).to_json(edit)}


def _region_json(r: Region) -> dict:
    return {"channels": list(r.channels), "frames": [r.t0, r.t1], "rows": [r.r0, r.r1]}


def shape_json(shape: Shape) -> dict:
    """The canonical JSON of a selection (:func:`~.validate.parse_selection` reads it)."""
    out = {"feather": shape.feather} if shape.feather else {}
    if shape.polygon is not None:
        return {"channels": list(shape.box.channels),
                "lasso": [list(p) for p in shape.polygon], **out}  # fmt: skip
    out.update(_region_json(shape.box))
    if shape.wand is not None:
        t, r, ch, tol = shape.wand
        out["wand"] = {"seed": [t, r], "channel": ch, "tolerance_db": tol}
    return out


def _source_json(source) -> dict:
    """A paste's source as :func:`~.validate._source` reads it back."""
    if isinstance(source, Copied):
        return {"at": source.at, **shape_json(source.shape)}
    import base64

    c = source.clip
    q = np.rint(c.phase.astype(np.float64) / PHASE_STEP).astype(np.int64) % 65536

    def b64(a, dtype):
        return base64.b64encode(np.ascontiguousarray(a, dtype).tobytes()).decode("ascii")

    return {"cells": {"channels": list(c.channels), "frames": [c.t0, c.t1],
                      "rows": [c.r0, c.r1], "bins": [c.b0, c.b1],
                      "pixels": b64(c.pixels, "<u2"), "mask": b64(c.mask, "<f4"),
                      "phase": b64(q, "<u2")}}  # fmt: skip


def _stroke_json(e) -> dict:
    return {"channels": list(e.channels), "points": [list(p) for p in e.points],
            "radius": list(e.radius), "softness": e.softness}  # fmt: skip


def _ratio_label(name):
    return lambda e: name + (f" x{e.ratio:g}" if e.ratio != 1 else "")


def _paint_label(e: Paint) -> str:
    extra = f" +{e.harmonics} harmonics" if e.harmonics else ""
    return f"paint {e.mode} -{e.level_db:g} dB{extra}"


def _picture_json(e: Picture) -> dict:
    import base64

    return {**_region_json(e.region), "data": base64.b64encode(e.data).decode("ascii"),
            "level_db": e.level_db, "range_db": e.range_db}  # fmt: skip


register(
    Op(
        "erase",
        Erase,
        lambda d, g: Erase(_shape(d, g)),
        _masked,
        lambda e: shape_json(e.shape),
        lambda e: "erase",
    )
)
register(
    Op(
        "gain",
        Gain,
        _gain,
        _masked,
        lambda e: {**shape_json(e.shape), "gain_db": e.gain_db},
        lambda e: f"gain {e.gain_db:+.1f} dB",
    )
)
register(
    Op(
        "heal",
        Heal,
        lambda d, g: Heal(_shape(d, g)),
        _masked,
        lambda e: shape_json(e.shape),
        lambda e: "heal",
    )
)
register(
    Op(
        "brush",
        Brush,
        _parse_brush,
        _apply_brush,
        lambda e: {**_stroke_json(e), "gain_db": e.gain_db},
        lambda e: f"brush {e.gain_db:+.1f} dB",
    )
)
register(
    Op(
        "paint",
        Paint,
        _parse_paint,
        _apply_paint,
        lambda e: {
            **_stroke_json(e),
            "level_db": e.level_db,
            "harmonics": e.harmonics,
            "falloff_db": e.falloff_db,
            "mode": e.mode,
            "seed": e.seed,
        },
        _paint_label,
    )
)
register(
    Op(
        "cut",
        Cut,
        lambda d, g: Cut(_shape(d, g)),
        _apply_cut,
        lambda e: shape_json(e.shape),
        lambda e: "cut",
    )
)
register(
    Op(
        "paste",
        Paste,
        _parse_paste,
        _apply_paste,
        lambda e: {
            "frame": e.frame,
            "ratio": e.ratio,
            **({} if e.channels is None else {"channels": list(e.channels)}),
            **({} if e.source is None else {"from": _source_json(e.source)}),
        },
        _ratio_label("paste"),
    )
)
register(
    Op(
        "move",
        Move,
        _parse_move,
        _apply_move,
        lambda e: {**shape_json(e.shape), "by": e.by, "ratio": e.ratio, "keep": e.keep},
        lambda e: _ratio_label("duplicate" if e.keep else "move")(e),
    )
)
register(Op("image", Picture, _parse_picture, _apply_picture, _picture_json,
            lambda e: "picture"))  # fmt: skip
