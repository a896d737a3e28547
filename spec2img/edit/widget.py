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
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from ..errors import ParameterError, Spec2ImgError
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


def edit(source, *, sr: int | None = None, height: int = DEFAULT_HEIGHT, **spectrogram):
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
    """
    if isinstance(height, bool) or not isinstance(height, int) or not 200 <= height <= 2000:
        raise ParameterError(
            f"height must be a whole number of pixels in [200, 2000], not {height!r}"
        )
    session = _session(source, sr, spectrogram)
    return __getattr__("Editor")(session, height=height)


def _session(source, sr, spectrogram) -> Session:
    from ..io.image import SpectrogramImage
    from ..pipeline import encode

    if isinstance(source, SpectrogramImage):
        if sr is not None or spectrogram:
            raise ParameterError("sr and encode's keywords apply to audio, not to an image")
        return Session(source, Path("image.png"))
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.suffix.lower() in IMAGE_EXTS:
            if sr is not None or spectrogram:
                raise ParameterError(
                    f"{path}: sr and encode's keywords apply to audio, not to an image"
                )
            return open_input(path)
        from ..io.audio import load_audio

        y, rate = load_audio(path, sr=sr)
        name = path.name
    else:
        if sr is None:
            raise ParameterError("edit() of an array needs its sampling rate: sr=...")
        y, rate, name = source, sr, "array"
    y = np.asarray(y)
    if y.ndim not in (1, 2):
        raise ParameterError(f"audio must be (n,) or (channels, n), not shape {y.shape}")
    image = encode(y, rate, keep_phase=True, **spectrogram)
    original = np.atleast_2d(np.asarray(y, dtype=np.float32))
    return Session(image, Path(name), original=original)


def _prepare(session: Session) -> None:
    # Errors land in session.error, which the page shows and .audio raises.
    try:
        session.prepare()
    except Exception:  # noqa: BLE001
        pass


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

        def __init__(self, session: Session, *, height: int = DEFAULT_HEIGHT) -> None:
            from .server import session_app

            super().__init__(_page=page_assets(), height=height)
            self._session = session
            self._app = session_app(session)
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="spec2img-edit")
            threading.Thread(target=_prepare, args=(session,), daemon=True).start()
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
            return list(self._session.state()["history"])

        def save(self, path: str | os.PathLike) -> Path:
            """Write the edited recording: an image (``.png``, with its phase image) or
            audio (any other extension); atomically, never over the input."""
            return self._ready().save(path)

        def close(self) -> None:
            """Close the widget (its views go) and stop answering requests."""
            self._pool.shutdown(wait=False, cancel_futures=True)
            super().close()

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
