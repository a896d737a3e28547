"""Edit lists as documents, and the journal that keeps a session's edits on disk.

An **edit list** (``GET /api/edits``, the page's *Edits* download, the input of
``spec2img apply``) is one JSON object::

    {"format": "spec2img-edits", "version": 1,
     "source": {"name": "take1.wav", "sha256": "..."},
     "grid": {"sample_rate": 44100, "n_fft": 2048, ..., "channels": 2, "rows": 1025},
     "edits": [{"op": "erase", "channels": [0, 1], "frames": [86, 173], "rows": [46, 186]},
               ...]}

``edits`` holds the edits in effect, in order, each in its canonical form
(:func:`spec2img.edit.ops.to_json`: cells, not seconds), so that replaying them on the
same input gives the same pixels, phase and audio bit for bit, and on another recording
of the same ``grid`` the same cells.  ``source`` is informative.

The **journal** is the same edits as they happen, one JSON object a line, appended and
flushed to disk (``fsync``) before the page hears back: a first line like an edit list's
head (``"format": "spec2img-journal"``, the input's path, size and SHA-256), then
``{"do": EDIT}``, ``{"undo": 1}``, ``{"redo": 1}`` and ``{"saved": NAME}`` records.  A
torn last line (a crash while writing it) is ignored.  It lives in the user's state
folder, ``$XDG_STATE_HOME/spec2img/edit/`` (``~/.local/state/...``), never beside the
input, one file per input path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from ..errors import InputError, OutputError, ParameterError
from . import ops

EDITS_FORMAT, JOURNAL_FORMAT = "spec2img-edits", "spec2img-journal"
#: The edit-list version this spec2img writes and reads.
VERSION = 1
#: Largest edit list or journal read, bytes, and most entries.
MAX_BYTES = 256 << 20
MAX_ENTRIES = 200_000
_HASH_BLOCK = 1 << 20


def state_dir() -> Path:
    """``$XDG_STATE_HOME/spec2img`` (default ``~/.local/state/spec2img``)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "state")  # fmt: skip
    return Path(base) / "spec2img"


def journal_path(source: str | os.PathLike) -> Path:
    """Where the journal of an editing session of ``source`` lives (one per path)."""
    src = Path(os.path.abspath(source))
    key = hashlib.sha256(os.fsencode(src)).hexdigest()[:16]
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in src.stem)[:60]
    return state_dir() / "edit" / f"{stem}-{key}.jsonl"


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_HASH_BLOCK):
            h.update(block)
    return h.hexdigest()


def grid_doc(session) -> dict:
    """What an edit list needs of a recording: its framing and its cells' grid."""
    p = session.meta.params
    return {**dataclasses.asdict(p), "channels": session.channels, "rows": session.rows}


#: Grid fields that must agree for an edit list to apply (``frames`` may differ).
_SAME = ("sample_rate", "n_fft", "hop_length", "win_length", "window", "center", "scale",
         "n_mels", "fmin", "fmax", "channels", "rows")  # fmt: skip


def edit_list(session, source_digest: str | None = None) -> dict:
    """The session's edit list document (the edits in effect)."""
    with session.lock:
        edits = [ops.to_json(e) for e in session.applied]
    source = {"name": session.source.name}
    if source_digest:
        source["sha256"] = source_digest
    return {"format": EDITS_FORMAT, "version": VERSION, "source": source,
            "grid": grid_doc(session), "edits": edits}  # fmt: skip


def read_document(path: str | os.PathLike) -> dict:
    """Read an edit list file as untrusted JSON data (bounded; no NaN or Infinity)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{path}: {size} bytes, larger than an edit list may be ({MAX_BYTES})")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not an edit list") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        doc = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise InputError(
            f"{path}: not a JSON edit list ({' '.join(str(e).split())[:80]})"
        ) from None
    return doc


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def parse_edits(doc, grid: ops.Grid, grid_of: dict | None = None, *, name="edit list"):
    """Validate an edit list document against a recording's ``grid``; the typed edits.

    ``grid_of`` is :func:`grid_doc` of the recording: the list's framing must match it.

    Raises
    ------
    ParameterError
        One line naming the document and, for a bad edit, its entry (counted from 0).
    """
    if not isinstance(doc, dict):
        raise ParameterError(f"{name}: an edit list is a JSON object, not {type(doc).__name__}")
    if doc.get("format") != EDITS_FORMAT:
        raise ParameterError(f"{name}: not a spec2img edit list (format must be {EDITS_FORMAT!r}, "
                             f"not {ops._short(doc.get('format'))})")  # fmt: skip
    version = doc.get("version")
    if isinstance(version, bool) or version != VERSION:
        raise ParameterError(
            f"{name}: version {ops._short(version)} is not one this spec2img reads ({VERSION})"
        )
    theirs = doc.get("grid")
    if grid_of is not None and isinstance(theirs, dict):
        diff = [k for k in _SAME if k in theirs and theirs[k] != grid_of.get(k)]
        if diff:
            k = diff[0]
            raise ParameterError(
                f"{name}: made for {k}={ops._short(theirs[k])}, but the recording has "
                f"{k}={ops._short(grid_of.get(k))}"
            )
    elif theirs is not None and not isinstance(theirs, dict):
        raise ParameterError(f"{name}: 'grid' must be an object")
    edits = doc.get("edits")
    if not isinstance(edits, list):
        raise ParameterError(f"{name}: 'edits' must be a list")
    if len(edits) > MAX_ENTRIES:
        raise ParameterError(f"{name}: {len(edits)} edits, more than {MAX_ENTRIES}")
    return [_entry(e, i, grid, name) for i, e in enumerate(edits)]


def _entry(data, i: int, grid: ops.Grid, name: str):
    try:
        return ops.parse_edit(data, grid)
    except ParameterError as e:
        op = data.get("op") if isinstance(data, dict) else None
        what = f" ({ops._short(op)})" if isinstance(op, str) and op in ops.OPS else ""
        raise ParameterError(f"{name}: entry {i}{what}: {e}") from None


# ------------------------------------------------------------------ the journal


@dataclasses.dataclass
class Recovery:
    """What a previous session of the same input left unsaved."""

    path: Path
    edits: list  # JSON of the edits in effect, in order
    saved: list  # JSON of the edits in effect at the last save
    started: str

    @property
    def unsaved(self) -> bool:
        return self.edits != self.saved


def fold(records) -> tuple[list, list]:
    """The edits in effect after journal ``records``, and those at the last save."""
    applied, undone, saved = [], [], []
    for r in records:
        if not isinstance(r, dict):
            continue
        if "do" in r:
            applied.append(r["do"])
            undone.clear()
        elif "undo" in r and applied:
            undone.append(applied.pop())
        elif "redo" in r and undone:
            applied.append(undone.pop())
        elif "saved" in r:
            saved = list(applied)
    return applied, saved


def read_journal(path: Path, source: str | os.PathLike) -> Recovery | None:
    """The recoverable state a journal holds, or None (none, empty, not for this file's
    current content, or unreadable)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            return None
        lines = path.read_bytes().split(b"\n")
    except OSError:
        return None
    records = []
    for line in lines:
        if not line.strip():
            continue
        try:
            records.append(json.loads(line, parse_constant=_no_constant))
        except (ValueError, RecursionError):
            break  # a torn last line: what came before stands
    if not records or not isinstance(records[0], dict):
        return None
    head = records[0]
    if head.get("format") != JOURNAL_FORMAT or head.get("version") != VERSION:
        return None
    src = head.get("source") or {}
    try:
        st = os.stat(source)
        if src.get("size") != st.st_size or src.get("sha256") != file_digest(source):
            return None  # the input changed since: these edits were for other content
    except OSError:
        return None
    applied, saved = fold(records[1:])
    return Recovery(path, applied, saved, str(head.get("started", "")))


class Journal:
    """The on-disk journal of one session (see the module docstring).

    Created empty; the file appears with the first record, so a session with no edits
    leaves nothing behind.
    """

    def __init__(self, path: Path, head: dict) -> None:
        self.path = path
        self.head = {"format": JOURNAL_FORMAT, "version": VERSION,
                     "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **head}  # fmt: skip
        self._f = None
        self.closed = False

    def check(self) -> None:
        """Raise :class:`OutputError` at start if the journal's folder is not writable."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with tempfile.TemporaryFile(dir=self.path.parent):
                pass
        except OSError as e:
            raise OutputError(
                f"{self.path.parent}: cannot keep the editing journal there: "
                f"{e.strerror or e} (set XDG_STATE_HOME to a writable folder)"
            ) from None

    def record(self, record: dict) -> None:
        """Append one record and put it on the disk (nothing once closed for good)."""
        if self.closed:
            return
        try:
            if self._f is None:
                self._open([])
            self._f.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._f.flush()
            os.fsync(self._f.fileno())
        except OSError as e:
            raise OutputError(f"{self.path}: cannot write the journal: {e.strerror or e}") from e

    def start_from(self, edits: list, saved: list) -> None:
        """Rewrite the journal as ``edits`` in effect, ``saved`` at the last save (a
        restored session), atomically."""
        self._open(edits, saved)

    def _open(self, edits: list, saved: list | None = None) -> None:
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lines = [self.head]
        if saved:  # the saved state, then from there to the edits in effect
            lines += [{"do": e} for e in saved] + [{"saved": "(restored)"}]
            n = len(saved)
            if edits[:n] == saved:
                edits = edits[n:]
            else:
                lines += [{"undo": 1}] * n
        lines += [{"do": e} for e in edits]
        tmp = self.path.with_name(self.path.name + ".part")
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(x, separators=(",", ":")) + "\n" for x in lines)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
        self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def close(self, *, final: bool = False) -> None:
        self.closed = self.closed or final
        if self._f is not None:
            self._f.close()
            self._f = None

    def discard(self) -> None:
        """Remove the journal (nothing in it is needed any more)."""
        self.close()
        self.path.unlink(missing_ok=True)


def set_aside(path: Path) -> Path:
    """Move a journal the user chose to discard to ``NAME.discarded.jsonl`` (one kept,
    so that a wrong click is not the end of it)."""
    aside = path.with_name(path.stem + ".discarded.jsonl")
    os.replace(path, aside)
    return aside


class Keeper:
    """Ties a session to its journal: records every change, knows what is saved, and
    offers (and resolves) a previous session's unsaved edits.

    Parameters
    ----------
    session : Session
    source : path-like
        The input, as named on the command line.
    recovery : Recovery or None
        A previous session's journal with unsaved edits, still to restore or discard.
    """

    def __init__(self, session, source, *, recovery: Recovery | None = None) -> None:
        self.session = session
        self.source = Path(source)
        self.digest = file_digest(source)
        head = {"source": {"path": os.path.abspath(source), "name": self.source.name,
                           "size": os.stat(source).st_size, "sha256": self.digest},
                "grid": grid_doc(session)}  # fmt: skip
        self.journal = Journal(journal_path(source), head)
        self.journal.check()
        self.recovery = recovery
        self.saved_edits: list = []
        if recovery is None:
            session.on_change = self.journal.record

    def unsaved(self) -> bool:
        """True if the edits in effect are not those last saved (cheap: compares the
        edit objects, mostly by identity)."""
        return list(self.session.applied) != self.saved_edits

    def saved(self, name: str) -> None:
        """The session was just saved to ``name``."""
        self.saved_edits = list(self.session.applied)
        self.journal.record({"saved": name})

    def resolve(self, action: str) -> dict:
        """``"restore"`` the previous session's edits (replayed on this session, which
        must be unedited and ready) or ``"discard"`` them (set aside)."""
        rec = self.recovery
        if rec is None:
            return {}
        if action == "discard":
            aside = set_aside(rec.path)
            self.recovery = None
            self.session.on_change = self.journal.record
            return {"discarded": len(rec.edits), "kept_in": aside.name}
        grid = self.session.grid()
        name = f"journal {rec.path.name}"
        edits = parse_edits({"format": EDITS_FORMAT, "version": VERSION, "edits": rec.edits},
                            grid, name=name)  # fmt: skip
        saved = parse_edits({"format": EDITS_FORMAT, "version": VERSION, "edits": rec.saved},
                            grid, name=name)  # fmt: skip
        self.session.on_change = None
        self.session.replay(edits)
        self.journal.start_from(rec.edits, rec.saved)
        self.saved_edits = list(self.session.applied) if saved == edits else saved
        self.session.on_change = self.journal.record
        self.recovery = None
        return {"restored": len(edits)}

    def finish(self) -> str | None:
        """At the end of the session: remove the journal when nothing is unsaved, else
        the one line to tell the user where the edits are."""
        self.session.on_change = None
        self.journal.close(final=True)  # an abandoned edit's record is not written
        if self.recovery is not None:
            return (f"the previous session's {len(self.recovery.edits)} unsaved edits are "
                    f"still in {self.recovery.path}")  # fmt: skip
        if not self.unsaved():
            self.journal.discard()
            return None
        n = len(self.session.applied)
        return (f"{n} edit(s) not saved; they are kept in {self.journal.path}: "
                f"'spec2img edit {self.source} --resume' brings them back")  # fmt: skip


def find_recovery(source: str | os.PathLike) -> Recovery | None:
    """A previous session's unsaved edits of ``source`` (a journal with edits that
    were never saved); a journal with nothing unsaved is removed."""
    path = journal_path(source)
    if not path.exists():
        return None
    rec = read_journal(path, source)
    if rec is None:  # unreadable, or made for what the input held before: kept aside
        set_aside(path)
        return None
    if not rec.unsaved:
        path.unlink(missing_ok=True)
        return None
    return rec
