"""Edit lists as documents, and the journal that keeps a session's edits on disk.

An **edit list** (``GET /api/edits``, the page's *Edits* download, the input of
``spec2img apply``) is one JSON object::

    {"format": "spec2img-edits", "version": 2,
     "source": {"name": "take1.wav", "sha256": "..."},
     "grid": {"sample_rate": 44100, "n_fft": 2048, ..., "channels": 2, "rows": 1025},
     "edits": [{"op": "erase", "channels": [0, 1], "frames": [86, 173], "rows": [46, 186]},
               {"op": "paste", "frame": 300, "ratio": 1,
                "from": {"at": 1, "frames": [20, 60], "rows": [10, 90]}}, ...]}

``edits`` holds the edits in effect, in order, each in its canonical form
(:func:`spec2img.edit.ops.to_json`: cells, not seconds), so that replaying them on the
same input gives the same pixels, phase and audio bit for bit, and on another recording
of the same ``grid`` the same cells.  A paste says where its cells come from
(version 2): ``"from": {"at": K, <selection>}`` is the selection of the state after the
list's first K edits (a replay takes it when it passes there), ``"from": {"cells":
...}`` the cells themselves (copied from a state the list does not pass through).
Version 1 lists (no ``from``: a paste reads what the list's last cut took) are read
as before.  ``source`` is informative.

The **journal** is what happens in a session, one JSON object a line, appended and
put on the disk (``fsync``) before the change is final: a first line like an edit
list's head (``"format": "spec2img-journal"``, the input's path, size and SHA-256, or
a new canvas's output and making), then ``{"do": EDIT}`` (as requested),
``{"undo": 1}``, ``{"redo": 1}``, ``{"copy": SELECTION}`` and ``{"saved": NAME}``
records.  Restoring replays them all in order, so the clipboard, the undo history and
every pixel are what they were.  A torn last line (a crash while writing it) is
ignored; a record that cannot be written refuses its change.  It lives in the user's
state folder, ``$XDG_STATE_HOME/spec2img/edit/`` (``~/.local/state/...``), never
beside the input: one file per input path (or new canvas's output), and one more
(``NAME.2.jsonl``, ...) for each further editor of the same input running at the
same time, each held by a lock (``NAME.lock``) while its editor lives.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from ..errors import InputError, JournalError, OutputError, ParameterError, Spec2ImgError
from . import ops

try:
    import fcntl
except ImportError:  # Windows: no advisory locks (two editors may share a journal)
    fcntl = None

EDITS_FORMAT, JOURNAL_FORMAT = "spec2img-edits", "spec2img-journal"
#: The edit-list version this spec2img writes, and those it reads (1: a paste reads the
#: clipboard the list's last cut filled; 2 adds a paste's ``from``).
VERSION = 2
VERSIONS = (1, 2)
#: Largest edit list or journal read, bytes, and most entries.
MAX_BYTES = 256 << 20
MAX_ENTRIES = 200_000
_HASH_BLOCK = 1 << 20


def state_dir() -> Path:
    """``$XDG_STATE_HOME/spec2img`` (default ``~/.local/state/spec2img``)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "state")  # fmt: skip
    return Path(base) / "spec2img"


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
    if isinstance(version, bool) or version not in VERSIONS:
        raise ParameterError(
            f"{name}: version {ops._short(version)} is not one this spec2img reads "
            f"({', '.join(map(str, VERSIONS))})"
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
        edit = ops.parse_edit(data, grid)
        source = getattr(edit, "source", None)
        if isinstance(source, ops.Copied) and source.at > i:
            raise ParameterError(
                f"'from' 'at' is {source.at}: a paste copies from the state after at most "
                f"the edits before it ({i})"
            )
        return edit
    except ParameterError as e:
        op = data.get("op") if isinstance(data, dict) else None
        what = f" ({ops._short(op)})" if isinstance(op, str) and op in ops.OPS else ""
        raise ParameterError(f"{name}: entry {i}{what}: {e}") from None


# ------------------------------------------------------------------ the journal

#: The journal format this spec2img writes, and those it reads (1: copies were not
#: journaled yet; its records replay the same way).
JOURNAL_VERSION = 2
JOURNAL_VERSIONS = (1, 2)
#: Editors of one input (or one new canvas) at the same time, each with its own journal.
MAX_SLOTS = 16


class Subject:
    """What a journal belongs to: an input file (by path, checked by size and
    SHA-256) or a new canvas (by the output it is saved to, checked by how it was
    made: seconds, rate, channels, grid and levels).

    Use :meth:`of_file` or :meth:`of_canvas`.
    """

    def __init__(self, key: str, stem: str, head: dict, command: str) -> None:
        self.key, self.stem, self.head, self.command = key, stem, head, command
        self.source: Path | None = None
        self.digest: str | None = None

    @classmethod
    def of_file(cls, source: str | os.PathLike) -> Subject:
        src = Path(source)
        digest = file_digest(src)
        head = {"source": {"path": os.path.abspath(src), "name": src.name,
                           "size": os.stat(src).st_size, "sha256": digest}}  # fmt: skip
        out = cls(os.path.abspath(src), src.stem, head, f"spec2img edit {src}")
        out.source, out.digest = src, digest
        return out

    @classmethod
    def of_canvas(cls, output: str | os.PathLike, canvas: dict, command: str) -> Subject:
        """A ``--new`` canvas saved to ``output``, made as ``canvas`` says (JSON data:
        compared as read back); ``command`` starts the same canvas again."""
        out = Path(output)
        canvas = json.loads(json.dumps({"output": os.path.abspath(out), **canvas}))
        subject = cls("new:" + os.path.abspath(out), "new-" + out.stem, {"canvas": canvas},
                      command)  # fmt: skip
        return subject

    def matches(self, head: dict) -> bool:
        """Whether a journal's head was written for this subject as it is now."""
        if self.source is None:
            return head.get("canvas") == self.head["canvas"]
        src = head.get("source") or {}
        mine = self.head["source"]
        return src.get("size") == mine["size"] and src.get("sha256") == mine["sha256"]


def _subject(source) -> Subject:
    return source if isinstance(source, Subject) else Subject.of_file(source)


def journal_path(source: str | os.PathLike | Subject) -> Path:
    """Where the journal of an editing session of ``source`` (a path or a
    :class:`Subject`) lives: one per input path (or new canvas's output); a second
    editor of the same input at the same time writes ``NAME.2.jsonl`` (:func:`slot_path`)."""
    if isinstance(source, Subject):
        key, stem = source.key, source.stem
    else:
        key, stem = os.path.abspath(source), Path(os.path.abspath(source)).stem
    digest = hashlib.sha256(os.fsencode(key)).hexdigest()[:16]
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in stem)[:60]
    return state_dir() / "edit" / f"{stem}-{digest}.jsonl"


def slot_path(base: Path, n: int) -> Path:
    """Journal slot ``n`` (1, 2, ...) of the journal ``base``."""
    return base if n == 1 else base.with_name(f"{base.stem}.{n}.jsonl")


class SlotLock:
    """An advisory lock (``flock``) on ``NAME.lock`` beside a journal: held by the
    editor writing that journal for as long as its process lives (the kernel lets go
    of it when the process dies, ``kill -9`` included, so a lock is never stale).
    The file holds a note naming its holder.  Where ``fcntl`` is missing (Windows)
    nothing is locked."""

    def __init__(self, journal: Path) -> None:
        self.journal = journal
        self.path = journal.with_suffix(".lock")
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False if another process holds it."""
        if fcntl is None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        note = f"process {os.getpid()}, since {time.strftime('%H:%M')}".encode()
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, note, 0)
        except OSError:
            pass  # the note is a courtesy; the lock is what counts
        self._fd = fd
        return True

    def holder(self) -> str:
        """The note of whoever holds the lock (``process PID, since HH:MM``)."""
        try:
            text = self.path.read_bytes()[:80].decode("utf-8", "replace")
        except OSError:
            return "another process"
        return "".join(c for c in text if c.isprintable()) or "another process"

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing lets go of the lock; the file stays for the next
            self._fd = None


@dataclasses.dataclass
class Recovery:
    """What a previous session of the same input left unsaved."""

    path: Path
    records: list  # the journal's records after its head, in order
    edits: list  # JSON of the edits in effect, in order
    saved: list  # JSON of the edits in effect at the last save
    started: str
    grid: dict | None = None  # the grid the edits were made on

    @property
    def unsaved(self) -> bool:
        return self.edits != self.saved


def fold(records) -> tuple[list, list]:
    """The edits in effect after journal ``records``, and those at the last save (each
    paste with no ``from`` marked with the record that filled the clipboard it read,
    so that two pastes of different clipboards never compare equal)."""
    applied, undone, saved = [], [], []
    filled = None  # the record (index) that filled the clipboard
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            continue
        if "do" in r:
            e = r["do"]
            if isinstance(e, dict) and e.get("op") == "paste" and "from" not in e:
                e = {**e, "clipboard of record": filled}
            elif isinstance(e, dict) and e.get("op") == "cut":
                filled = i
            applied.append(e)
            undone.clear()
        elif "copy" in r:
            filled = i
        elif "undo" in r and applied:
            undone.append(applied.pop())
        elif "redo" in r and undone:
            applied.append(undone.pop())
        elif "saved" in r:
            saved = list(applied)
    return applied, saved


def read_journal(path: Path, source) -> Recovery | None:
    """The recoverable state a journal holds, or None (none, empty, not for this
    subject as it is now, or unreadable)."""
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
    if head.get("format") != JOURNAL_FORMAT or head.get("version") not in JOURNAL_VERSIONS:
        return None
    try:
        if not _subject(source).matches(head):
            return None  # the input changed since: these edits were for other content
    except OSError:
        return None
    applied, saved = fold(records[1:])
    grid = head.get("grid") if isinstance(head.get("grid"), dict) else None
    return Recovery(path, records[1:], applied, saved, str(head.get("started", "")), grid)


def replay_records(session, records, *, name: str = "journal") -> list:
    """Do what journal ``records`` say on ``session`` (unedited), in order -- edits,
    undos, redos and copies, so the clipboard too is what it was -- and return the
    edits in effect at the last save (``[]``: none).

    Raises
    ------
    ParameterError
        A record that cannot be replayed, named by its line.
    """
    grid = session.grid()
    saved: list = []
    for i, r in enumerate(records):
        try:
            if not isinstance(r, dict):
                raise ParameterError("a record must be a JSON object")
            if "do" in r:
                session.edit(ops.parse_edit(r["do"], grid))
            elif "undo" in r:
                session.undo()
            elif "redo" in r:
                session.redo()
            elif "copy" in r:
                session.copy(ops.parse_selection(r["copy"], grid))
            elif "saved" in r:
                saved = list(session.applied)
        except Spec2ImgError as e:
            raise ParameterError(f"{name}: line {i + 2}: {e}") from None
    return saved


def check_folder(folder: Path) -> None:
    """Raise :class:`OutputError` if journals cannot be kept in ``folder``."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise OutputError(
            f"{folder}: cannot keep the editing journal there: "
            f"{e.strerror or e} (set XDG_STATE_HOME to a writable folder)"
        ) from None


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every system can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    """Write ``data`` at the end of ``fd`` and put it on the disk."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


class Journal:
    """The on-disk journal of one session (see the module docstring).

    Created empty; the file appears with the first record, so a session with no edits
    leaves nothing behind.  Records are kept in memory too: when a write fails, what
    it may have left is cut off, and the next record writes the whole journal anew
    (atomically), so the file never holds a record of a change that was refused.
    """

    def __init__(self, path: Path, head: dict) -> None:
        self.path = path
        self.head = {"format": JOURNAL_FORMAT, "version": JOURNAL_VERSION,
                     "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **head}  # fmt: skip
        self.records: list[dict] = []
        self._fd: int | None = None
        self.closed = False

    def check(self) -> None:
        """Raise :class:`OutputError` at start if the journal's folder is not writable."""
        check_folder(self.path.parent)

    def record(self, record: dict) -> None:
        """Append one record and put it on the disk (nothing once closed for good).

        Raises
        ------
        JournalError
            It could not be written (disk full, read-only folder): nothing of it stays.
        """
        if self.closed:
            return
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        try:
            if self._fd is None:
                self._rewrite([*self.records, record])
            else:
                end = os.lseek(self._fd, 0, os.SEEK_END)
                try:
                    _write_all(self._fd, line)
                except OSError:
                    self._cut(end)
                    raise
        except OSError as e:
            raise JournalError(
                f"{self.path}: cannot write the editing journal: {e.strerror or e}"
            ) from None
        self.records.append(record)

    def _cut(self, end: int) -> None:
        """After a failed append: drop what it wrote; the next record rewrites the file."""
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, end)
        except OSError:
            pass
        finally:
            os.close(fd)

    def start_from(self, records: list) -> None:
        """Rewrite the journal as ``records`` (a restored session), atomically."""
        self.close()
        self._rewrite(list(records))
        self.records = list(records)

    def _rewrite(self, records: list) -> None:
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = "".join(json.dumps(x, separators=(",", ":")) + "\n"
                       for x in [self.head, *records]).encode()  # fmt: skip
        tmp = self.path.with_name(self.path.name + ".part")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            _sync_folder(self.path.parent)  # the rename itself, on the disk
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def close(self, *, final: bool = False) -> None:
        self.closed = self.closed or final
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

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
    source : path-like or Subject
        The input, as named on the command line, or a new canvas
        (:meth:`Subject.of_canvas`).
    recovery : Recovery or None
        A previous session's journal with unsaved edits, still to restore or discard.
    warn : callable (str) or None
        Told once (until a write succeeds again) when the journal cannot be written.

    Raises
    ------
    OutputError
        The journal's folder is not writable, or the journal to recover is being
        restored by another editor.
    """

    def __init__(self, session, source, *, recovery: Recovery | None = None,
                 warn=None) -> None:  # fmt: skip
        self.session = session
        self.subject = _subject(source)
        self.source = self.subject.source or Path(session.source)
        self.digest = self.subject.digest
        self.others: list[str] = []  # notes of other editors of the same input
        check_folder(journal_path(self.subject).parent)
        self.lock = self._claim(recovery)
        head = {**self.subject.head, "grid": grid_doc(session)}
        self.journal = Journal(self.lock.journal, head)
        self.journal.check()
        self.recovery = recovery
        self.saved_edits: list = []
        self.warn = warn
        self._warned = False
        if recovery is None:
            session.on_change = self._record

    def _claim(self, recovery: Recovery | None) -> SlotLock:
        """Lock the journal slot to write: the recovery's, or the first free one with
        no journal in it (another editor's, or one left to recover, is never touched)."""
        if recovery is not None:
            lock = SlotLock(recovery.path)
            if not lock.acquire():
                raise OutputError(f"{recovery.path}: being restored by {lock.holder()}")
            return lock
        base = journal_path(self.subject)
        for n in range(1, MAX_SLOTS + 1):
            path = slot_path(base, n)
            lock = SlotLock(path)
            if not lock.acquire():
                self.others.append(lock.holder())
                continue
            if not path.exists():
                return lock
            lock.release()
        raise OutputError(f"{base.parent}: {MAX_SLOTS} editors of {self.source.name} at once")

    def _record(self, record: dict) -> None:
        try:
            self.journal.record(record)
        except JournalError as e:
            if not self._warned and self.warn is not None:
                self.warn(f"{e}: changes are refused until it can be written again")
            self._warned = True
            raise
        self._warned = False

    def unsaved(self) -> bool:
        """True if the edits in effect are not those last saved (cheap: compares the
        edit objects, mostly by identity)."""
        return list(self.session.applied) != self.saved_edits

    def saved(self, name: str) -> str | None:
        """The session was just saved to ``name``; a warning if the journal could not
        note it (the save stands; after a crash its edits would be offered again)."""
        self.saved_edits = list(self.session.applied)
        try:
            self._record({"saved": name})
        except JournalError as e:
            return f"saved, but the journal could not note it: {e}"
        return None

    def resolve(self, action: str) -> dict:
        """``"restore"`` the previous session's edits (its journal replayed on this
        session, which must be unedited and ready) or ``"discard"`` them (set aside)."""
        rec = self.recovery
        if rec is None:
            return {}
        if action == "discard":
            aside = set_aside(rec.path)
            self.recovery = None
            self.session.on_change = self._record
            return {"discarded": len(rec.edits), "kept_in": aside.name}
        mine = json.loads(json.dumps(grid_doc(self.session)))
        diff = [k for k in _SAME if rec.grid is not None and rec.grid.get(k) != mine.get(k)]
        if diff:
            k = diff[0]
            raise ParameterError(
                f"the previous session's edits were made with {k}={ops._short(rec.grid[k])}, "
                f"this one has {k}={ops._short(mine.get(k))}: start with the same options "
                "to restore them"
            )
        self.session.on_change = None
        saved = replay_records(self.session, rec.records, name=f"journal {rec.path.name}")
        self.journal.start_from(rec.records)
        self.saved_edits = saved
        self.session.on_change = self._record
        self.recovery = None
        return {"restored": len(self.session.applied)}

    def finish(self) -> str | None:
        """At the end of the session: remove the journal when nothing is unsaved, else
        the one line to tell the user where the edits are."""
        self.session.on_change = None
        self.journal.close(final=True)  # an abandoned edit's record is not written
        try:
            if self.recovery is not None:
                return (f"the previous session's {len(self.recovery.edits)} unsaved edits are "
                        f"still in {self.recovery.path}")  # fmt: skip
            if not self.unsaved():
                self.journal.discard()
                return None
            n = len(self.session.applied)
            return (f"{n} edit(s) not saved; they are kept in {self.journal.path}: "
                    f"'{self.subject.command} --resume' brings them back")  # fmt: skip
        finally:
            self.lock.release()


def find_recovery(source) -> Recovery | None:
    """A previous session's unsaved edits of ``source`` (a path or a
    :class:`Subject`): the first journal slot no running editor holds whose journal
    has edits that were never saved.  A journal with nothing unsaved is removed; one
    made for what the input held before is set aside (one of another canvas saved to
    the same output is left for that canvas)."""
    subject = _subject(source)
    base = journal_path(subject)
    for n in range(1, MAX_SLOTS + 1):
        path = slot_path(base, n)
        if not path.exists():
            continue
        lock = SlotLock(path)
        if not lock.acquire():
            continue  # a running editor's
        try:
            rec = read_journal(path, subject)
            if rec is None and subject.source is None:
                continue  # another canvas saved to the same output: its own to restore
            if rec is None:  # unreadable, or made for what the input held before
                set_aside(path)
            elif not rec.unsaved:
                path.unlink(missing_ok=True)
            else:
                return rec
        finally:
            lock.release()
    return None
