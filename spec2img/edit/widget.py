"""The editor in a notebook cell: ``spec2img.edit(path_or_array, sr=...)``.

An `anywidget <https://anywidget.dev>`_ widget that shows the page of ``spec2img edit``
inline in JupyterLab, Notebook 7, VS Code and Colab.  The page's own modules run
unchanged (``static/widget.js`` loads them with ``env.js`` swapped); their requests
travel as the widget's model messages over the kernel's own channel, so there is no
port, token or proxy.  Each request is answered by the same Starlette routes the
command-line server guards (:func:`spec2img.edit.server.session_app`), called
in-process on a worker thread, so the kernel stays free while an edit is re-synthesised.

The edited recording comes back as arrays: :attr:`Editor.audio` (librosa's shapes) and
:attr:`Editor.image` (a :class:`~spec2img.io.image.SpectrogramImage`).

Every edit is journaled as the command line's are (:mod:`spec2img.edit.journal`), so
a kernel that dies, is restarted or is killed loses nothing: the next ``edit()`` of
the same input -- the same file path, or an array or image with the same content,
rate and options -- offers the unsaved edits back (the page's banner, or
``resume=True`` / ``False``) and restores them exactly.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from ..errors import ParameterError, Spec2ImgError
from . import journal
from .server import MAX_BODY, STATIC
from .session import Session, open_input

#: Modules of static/ that are not the page's: the widget's loader, and env.js (made per
#: view).  Every other module is the page's, loaded as it is.
NOT_PAGE_MODULES = ("widget.js", "env.js")
#: Image files opened as images; anything else is read as audio.
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif")
#: Longest request line a view may send, characters.
MAX_URL = 2000
#: Height of the spectrogram in the cell (the tool bars come on top), CSS pixels.
DEFAULT_HEIGHT = 360


def page_assets() -> dict:
    """What a view needs to build the page: its modules' sources, its markup (the inside
    of ``index.html``'s body) and its style sheet."""
    index = (STATIC / "index.html").read_text()
    body = re.search(r"<body[^>]*>(.*)</body>", index, re.S)
    if body is None:  # the page is ours; this only guards an edit that broke it
        raise Spec2ImgError("spec2img/edit/static/index.html has no <body>")
    return {
        "modules": {
            p.name: p.read_text()
            for p in sorted(STATIC.glob("*.js"))
            if p.name not in NOT_PAGE_MODULES
        },
        "html": body.group(1),
        "css": (STATIC / "style.css").read_text(),
    }


def _widget_base():
    try:
        import anywidget
        import traitlets
    except ImportError:
        raise Spec2ImgError(
            "spec2img.edit() in a notebook needs anywidget: pip install 'spec2img[notebook]'"
        ) from None
    return anywidget.AnyWidget, traitlets


def edit(
    source,
    *,
    sr: int | None = None,
    height: int = DEFAULT_HEIGHT,
    resume: bool | None = None,
    **spectrogram,
):
    """Edit a recording or a spectrogram image in a notebook cell.

    Parameters
    ----------
    source : path-like, np.ndarray [shape=(n,) or (channels, n)] or SpectrogramImage
        An audio file, an image file (spec2img, Riffusion), audio samples, or an image.
    sr : int > 0 or None
        Sampling rate of ``source`` samples (required for an array); for an audio file,
        resample to it (``None``: the file's own).
    height : int
        Height of the spectrogram (with its axes) in the cell, CSS pixels (200 to 2000);
        the tool bars come on top of it.
    resume : bool or None
        What to do with the unsaved edits a previous session of the same input left
        (a kernel that died): ``None`` offers them in the page (restore or discard;
        edits wait for the choice), ``True`` restores them at once, ``False`` sets them
        aside (``spec2img edit``'s ``--resume`` and ``--fresh``).
    **spectrogram
        :func:`spec2img.encode`'s keywords for audio (``n_fft``, ``hop_length``,
        ``scale``, ...).

    Returns
    -------
    Editor
        The widget (display it, or leave it last in the cell); its :attr:`~Editor.audio`
        and :attr:`~Editor.image` are the edited recording.

    Raises
    ------
    Spec2ImgError
        A bad source or parameter (named), or anywidget is not installed.
    OutputError
        The journal's folder (``$XDG_STATE_HOME/spec2img/edit``) is not writable.

    Notes
    -----
    The session is journaled on disk as it is edited; :meth:`Editor.close` removes
    the journal when nothing is unsaved (:meth:`Editor.save` saves).
    """
    if isinstance(height, bool) or not isinstance(height, int) or not 200 <= height <= 2000:
        raise ParameterError(
            f"height must be a whole number of pixels in [200, 2000], not {height!r}"
        )
    if resume not in (None, True, False):
        raise ParameterError(f"resume must be True, False or None, not {resume!r}")
    editor_class = __getattr__("Editor")  # anywidget missing: say so before any work
    session, subject = _session(source, sr, spectrogram)
    recovery = journal.find_recovery(subject)
    if recovery is not None and resume is False:
        journal.set_aside(recovery.path)
        recovery = None
    keeper = journal.Keeper(session, subject, recovery=recovery, warn=_warn)
    return editor_class(session, height=height, keeper=keeper, resume=bool(resume))


def _warn(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=2)


def _file_subject(path: Path) -> journal.Subject:
    subject = journal.Subject.of_file(path)  # the command line's journal slots
    subject.again = f"spec2img.edit({str(path)!r}, resume=True)"
    return subject


def _array_subject(kind: str, parts, name: str, how: str) -> journal.Subject:
    return journal.Subject.of_content(
        kind, parts, name, command=f"spec2img.edit({how})",
        again=f"spec2img.edit({how}, resume=True) of the same content",
    )  # fmt: skip


def _session(source, sr, spectrogram) -> tuple[Session, journal.Subject]:
    """The session on ``source``, and what its journal belongs to: the file's path, or
    the content of an array or image (with the rate and options it is opened with)."""
    from ..io.image import SpectrogramImage
    from ..pipeline import encode

    if isinstance(source, SpectrogramImage):
        if sr is not None or spectrogram:
            raise ParameterError("sr and encode's keywords apply to audio, not to an image")
        parts = [np.ascontiguousarray(source.pixels).data, str(source.pixels.dtype),
                 source.pixels.shape, source.meta.to_text()]  # fmt: skip
        if source.phase is not None:
            parts += [np.ascontiguousarray(source.phase).data, str(source.phase.dtype)]
        session = Session(source, Path("image.png"))
        return session, _array_subject("image", parts, "image.png", "image")
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.suffix.lower() in IMAGE_EXTS:
            if sr is not None or spectrogram:
                raise ParameterError(
                    f"{path}: sr and encode's keywords apply to audio, not to an image"
                )
            return open_input(path), _file_subject(path)
        from ..io.audio import load_audio

        y, rate = load_audio(path, sr=sr)
        name = path.name
        subject = _file_subject(path)
    else:
        if sr is None:
            raise ParameterError("edit() of an array needs its sampling rate: sr=...")
        y, rate, name = source, sr, "array"
    y = np.asarray(y)
    if y.ndim not in (1, 2):
        raise ParameterError(f"audio must be (n,) or (channels, n), not shape {y.shape}")
    image = encode(y, rate, keep_phase=True, **spectrogram)
    original = np.atleast_2d(np.asarray(y, dtype=np.float32))
    if name == "array":
        parts = [np.ascontiguousarray(y).data, str(y.dtype), y.shape, rate, spectrogram]
        subject = _array_subject("array", parts, "array", "y, sr=...")
    return Session(image, Path(name), original=original), subject


async def _call(app, method: str, path: str, query: str, body: bytes) -> tuple[int, dict, bytes]:
    """One request through the ASGI app, in-process: ``(status, headers, body)``."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
        "query_string": query.encode(), "root_path": "", "server": None, "client": None,
        "headers": [(b"host", b"widget"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    }  # fmt: skip
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status, headers, chunks = 500, {}, []

    async def send(message):
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    try:
        await app(scope, receive, send)
    except Exception:  # noqa: BLE001 - Starlette re-raises after sending its 500 answer
        if not chunks:
            raise
    return status, headers, b"".join(chunks)


def _request(content) -> tuple[str, str, str, bytes]:
    """A view's request, checked as untrusted data: ``(method, path, query, body)``."""
    method, url, body = content.get("method"), content.get("url"), content.get("body", "")
    if method not in ("GET", "POST"):
        raise ParameterError(f"method must be GET or POST, not {str(method)[:20]!r}")
    if not isinstance(url, str) or len(url) > MAX_URL:
        raise ParameterError("url must be a string of at most 2000 characters")
    if not isinstance(body, str) or len(body) > MAX_BODY:
        raise ParameterError(f"body must be a string of at most {MAX_BODY} bytes")
    parts = urlsplit(url)
    path = "/" + parts.path.lstrip("./")  # the page's URLs are relative or rooted
    if not path.startswith("/api/"):
        raise ParameterError(
            f"only the editor's /api/ requests go over the kernel, not {path[:60]!r}"
        )
    return method, path, parts.query, body.encode()


def _editor_class():
    base, traitlets = _widget_base()

    class Editor(base):
        """The editor in a notebook cell, on one editing session.

        Made by :func:`spec2img.edit`.  The edited recording is read back with
        :attr:`audio` and :attr:`image`; :meth:`save` writes it.
        """

        _esm = (STATIC / "widget.js").read_text()
        _page = traitlets.Dict().tag(sync=True)
        height = traitlets.Int(DEFAULT_HEIGHT).tag(sync=True)

        def __init__(
            self,
            session: Session,
            *,
            height: int = DEFAULT_HEIGHT,
            keeper: journal.Keeper | None = None,
            resume: bool = False,
        ) -> None:
            from .server import prepare, session_app

            super().__init__(_page=page_assets(), height=height)
            self._session = session
            self._keeper = keeper
            self._app = session_app(session, keeper=keeper)
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="spec2img-edit")
            # the first decode, then (resume) the restore; errors land in session.error,
            # which the page shows and .audio raises
            self._prep = threading.Thread(target=prepare, args=(self._app, resume),
                                          name="spec2img-edit-prepare", daemon=True)  # fmt: skip
            self._prep.start()
            self.on_msg(self._on_message)

        # ------------------------------------------------------------ the kernel's side

        def _on_message(self, widget, content, buffers) -> None:
            if isinstance(content, dict) and content.get("kind") == "request":
                self._pool.submit(self._answer, content)

        def _answer(self, content: dict) -> None:
            rid = str(content.get("id", ""))[:100]
            try:
                status, headers, body = asyncio.run(_call(self._app, *_request(content)))
            except Spec2ImgError as e:
                status, headers = 400, {"content-type": "application/json"}
                body = json.dumps({"error": str(e)}).encode()
            except Exception as e:  # noqa: BLE001 - the page shows it; the kernel goes on
                status, headers = 500, {"content-type": "application/json"}
                body = json.dumps({"error": f"{type(e).__name__}: {e}"[:300]}).encode()
            self.send({"kind": "response", "id": rid, "status": status, "headers": headers},
                      [body])  # fmt: skip

        # ------------------------------------------------------------ the edited recording

        def _ready(self) -> Session:
            s = self._session
            s.ready.wait()
            self._prep.join()  # and restored, with resume=True
            if s.error:
                raise Spec2ImgError(s.error)
            return s

        @property
        def sr(self) -> int:
            """Sampling rate of :attr:`audio`, Hz."""
            return self._session.sample_rate

        @property
        def audio(self) -> np.ndarray:
            """The edited audio, float32: ``(n,)`` for mono, ``(channels, n)`` otherwise
            (the full-quality decode, exactly the edited samples when the phase is kept)."""
            y, _ = self._ready().render()
            return y[0] if y.shape[0] == 1 else y

        @property
        def image(self):
            """The edited spectrogram with its phase, a
            :class:`~spec2img.io.image.SpectrogramImage` (``.pixels`` is the array)."""
            return self._ready().edited_image()

        @property
        def history(self) -> list[str]:
            """The edits made, oldest first (what undo would take back)."""
            self._prep.join()  # a restore at start (resume=True) is part of it
            return list(self._session.state()["history"])

        @property
        def journal(self) -> Path | None:
            """The file this session's edits are journaled in (it appears with the
            first edit; None without a journal)."""
            return None if self._keeper is None else self._keeper.journal.path

        @property
        def recovery(self) -> int | None:
            """How many unsaved edits of a previous session the page offers back (edits
            wait until they are restored or discarded), or None."""
            self._prep.join()
            rec = self._app.state.recovery
            return None if rec is None else len(rec.edits)

        def save(self, path: str | os.PathLike) -> Path:
            """Write the edited recording: an image (``.png``, with its phase image) or
            audio (any other extension); atomically, never over the input.  The
            journal notes it: what is saved is not offered back after a crash."""
            s = self._ready()
            with self._app.state.slot._lock:  # not while an edit runs
                out = s.save(path)
                warning = self._keeper.saved(out.name) if self._keeper is not None else None
            if warning:
                _warn(warning)
            return out

        def close(self) -> None:
            """Close the widget (its views go) and stop answering requests.  The journal
            is removed if nothing is unsaved; else a warning says where it is (the next
            ``edit()`` of the same input offers it back)."""
            self._end(say=True)
            super().close()

        def _end(self, say: bool) -> None:
            self._pool.shutdown(wait=True, cancel_futures=True)  # no edit left half-way
            keeper, self._keeper = self._keeper, None
            if keeper is not None:
                line = keeper.finish()
                if line and say:
                    _warn(line)

        def __del__(self) -> None:
            # collected (the kernel ends): end the session without a word, as a dead
            # kernel would -- unsaved edits stay in the journal for the next edit()
            try:
                self._end(say=False)
            except Exception:  # noqa: BLE001 - nothing may escape a finaliser
                pass
            super().__del__()

        def __repr__(self) -> str:
            s = self._session
            return (
                f"<spec2img.edit {s.source.name}: {s.channels} channel(s), "
                f"{s.meta.n_samples / s.sample_rate:.2f} s at {s.sample_rate} Hz, "
                f"{len(s.undo_stack)} edit(s)>"
            )

    return Editor


def __getattr__(name: str):
    if name == "Editor":  # built on first use: anywidget is an optional import
        cls = _editor_class()
        globals()["Editor"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
