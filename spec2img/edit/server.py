"""The editor's web server: a small Starlette app over one :class:`~.session.Session`.

Security follows Jupyter's local server, and goes further where browsers let every
port of 127.0.0.1 act as one site:

- every request must carry the access token: in the query (``?token=``, the URL
  printed at start; the page then gets it as a cookie), a cookie, or a header
  (``Authorization: token T`` or ``X-Spec2img-Token: T``); without it: 403;
- a cookie alone opens only the page and its static files: every API request, and
  every request that changes anything, also needs a header a page of another origin
  cannot send: the token (``X-Spec2img-Token``) or the session's anti-forgery token
  (``X-Spec2img-CSRF``, in the page's ``<meta name="spec2img-csrf">``);
- ``Origin`` and ``Sec-Fetch-Site``, when the browser sends them, must say the request
  comes from the editor itself (only a top-level navigation to the page may come from
  elsewhere); bodies must be JSON: form-like content types get 415;
- the ``Host`` header must name this server by host *name* (a loopback name or
  address, the bound address, names the user allows), whatever the port, so an SSH
  tunnel or a proxy to another port works and a web page whose DNS name was rebound
  to 127.0.0.1 is refused;
- bodies are limited to :data:`MAX_BODY` bytes and must arrive within
  :data:`READ_TIMEOUT` seconds, as must a request's headers; idle connections close;
- work is done off the event loop, one change at a time (another gets 409), so a
  long edit never holds up other requests.

Every URL the page and the API use is relative, so the editor also works below a
path prefix (jupyter-server-proxy's ``/proxy/PORT/``).  Routes are in one list,
:func:`routes`; the only state is the app's (``app.state``).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import secrets
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import JournalError, OutputError, ParameterError, Spec2ImgError
from . import journal as _journal
from . import ops
from .session import MAX_AUDIO_SAMPLES, BusyError, NothingToDo, Session

STATIC = Path(__file__).parent / "static"
#: Largest request body, bytes (a long brush stroke is a few hundred kB).
MAX_BODY = 1 << 20
#: Seconds a client has to send a request's headers, and then its body.
READ_TIMEOUT = 10.0
#: Seconds an idle kept-alive connection stays open.
IDLE_TIMEOUT = 5
#: Seconds a stopping server gives running requests before abandoning them.
STOP_GRACE = 0.4
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
CSRF_HEADER = "x-spec2img-csrf"
#: Body types a form or a no-cors fetch can send without a preflight: never accepted.
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
_SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
     b"connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"x-frame-options", b"DENY"),
]  # fmt: skip


def cookie_name(token: str) -> str:
    """The cookie holding ``token``: named after it, as cookies ignore ports and two
    editors may run side by side."""
    return "spec2img_" + hashlib.sha256(token.encode()).hexdigest()[:12]


def allowed_hosts(host: str, extra=()) -> set[str]:
    """Host *names* (no port) a server bound to ``host`` answers to: the loopback
    names, the bound address, and ``extra`` (names the user allows).  Any loopback IP
    literal is accepted as well (see :func:`host_allowed`)."""
    names = {*LOOPBACK_NAMES, *(n.lower().strip("[]") for n in extra)}
    if host not in ("0.0.0.0", "::", ""):
        names.add(host.lower().strip("[]"))
    return names


def host_name(header: str) -> str:
    """The name in a ``Host`` header: ``[::1]:8000`` -> ``::1``, ``Example:80`` ->
    ``example``."""
    h = header.strip().lower()
    if h.startswith("["):
        return h[1 : h.index("]")] if "]" in h else h
    if h.count(":") == 1:
        h = h.split(":")[0]
    return h.rstrip(".")


def host_allowed(header: str, names: set[str], any_ip: bool = False) -> bool:
    """True if the ``Host`` header names this server, whatever its port."""
    name = host_name(header)
    if not name:
        return False
    if name in names:
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    return any_ip or ip.is_loopback


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Guard:
    """ASGI middleware: Host, origin, token and anti-forgery checks, body limits and
    timeouts, security headers (see the module docstring)."""

    def __init__(
        self,
        app,
        *,
        token: str,
        hosts: set[str],
        any_ip: bool = False,
        csrf: str | None = None,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self.app = app
        self.token = token
        self.hosts = {h.lower() for h in hosts}
        self.any_ip = any_ip
        self.cookie = cookie_name(token)
        self.csrf = csrf or secrets.token_urlsafe(24)
        self.read_timeout = read_timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":  # the editor has none: refuse, unguarded or not
            return await send({"type": "websocket.close", "code": 1008})
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if not host_allowed(host, self.hosts, self.any_ip):
            return await _plain(send, 403, "refused: the Host header does not name this server")
        method, path = scope["method"], scope.get("path", "/")
        refused = _foreign(headers, method, path)
        if refused:
            return await _plain(send, 403, f"refused: {refused}")
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = (query.get("token") or [""])[0]
        from_query = bool(given)
        if not given:
            auth = headers.get("authorization", "")
            given = auth[6:].strip() if auth.lower().startswith("token ") else ""
        given = given or headers.get("x-spec2img-token", "")
        strong = bool(given)  # a token the request itself carries: a script or the URL
        given = given or _cookie(headers, self.cookie)
        if not given or not secrets.compare_digest(given.encode(), self.token.encode()):
            return await _plain(send, 403, "forbidden: open the URL with ?token= that "
                                "'spec2img edit' printed")  # fmt: skip
        page = method in ("GET", "HEAD") and (path == "/" or path.startswith("/static/"))
        if not strong and not page:
            proof = headers.get(CSRF_HEADER, "")
            if not proof or not secrets.compare_digest(proof.encode(), self.csrf.encode()):
                return await _plain(send, 403, "forbidden: a cookie alone does not authorize "
                                    "this; send X-Spec2img-Token (or the page's X-Spec2img-CSRF)")  # fmt: skip
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return await _plain(send, 413, f"request body larger than {MAX_BODY} bytes")
        body, more = b"", True
        if method not in ("GET", "HEAD", "OPTIONS"):
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if kind and kind != "application/json":
                return await _plain(send, 415, f"refused: a body must be application/json, not "
                                    f"{kind[:60]!r}")  # fmt: skip
            try:
                async with asyncio.timeout(self.read_timeout):
                    while more:
                        message = await receive()
                        if message["type"] == "http.disconnect":
                            return None
                        body += message.get("body", b"")
                        more = message.get("more_body", False)
                        if len(body) > MAX_BODY:
                            return await _plain(send, 413,
                                                f"request body larger than {MAX_BODY} bytes")  # fmt: skip
            except TimeoutError:
                return await _plain(send, 408, f"the body did not arrive within "
                                    f"{self.read_timeout:g} s")  # fmt: skip
            if body and not kind:
                return await _plain(send, 415, "refused: a body must be application/json")
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                h = list(message.get("headers", [])) + _SECURITY_HEADERS
                if from_query:
                    h.append((b"set-cookie", f"{self.cookie}={self.token}; Path=/; HttpOnly; "
                              "SameSite=Strict".encode()))  # fmt: skip
                message = {**message, "headers": h}
            await send(message)

        return await self.app(scope, replay, send_with_headers)


def _foreign(headers: dict, method: str, path: str) -> str:
    """Why a request comes from a page other than the editor's, or ``""``.

    ``Sec-Fetch-Site`` (sent by current browsers) must be ``same-origin`` or ``none``
    (typed, a bookmark), except for a top-level navigation to the page itself (a link
    from a notebook): that one cannot read anything.  ``Origin`` must be the editor's.
    """
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        navigation = headers.get("sec-fetch-mode") == "navigate" and method in ("GET", "HEAD")
        if not (navigation and path == "/"):
            return f"a request from another site (Sec-Fetch-Site: {site[:20]})"
    origin = headers.get("origin")
    if origin is not None:
        host = headers.get("host", "").lower()
        if origin.lower() not in (f"http://{host}", f"https://{host}"):
            return f"a request from another origin ({origin[:80]})"
    return ""


def _cookie(headers: dict, name: str) -> str:
    for part in headers.get("cookie", "").split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return ""


async def _plain(send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            *_SECURITY_HEADERS]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


# ------------------------------------------------------------------ endpoints


def _session(request: Request) -> Session:
    return request.app.state.session


def _int(request: Request, key: str, lo: int, hi: int, default: int | None = None) -> int:
    raw = request.query_params.get(key)
    if raw is None:
        if default is None:
            raise ParameterError(f"query parameter {key!r} is required")
        return default
    try:
        v = int(raw)
    except ValueError:
        raise ParameterError(f"{key!r} must be a whole number, not {raw[:40]!r}") from None
    if not lo <= v <= hi:
        raise ParameterError(f"{key!r} must be in [{lo}, {hi}], not {v}")
    return v


async def _json(request: Request):
    body = await request.body()
    if not body:
        return {}
    try:
        return json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise ParameterError(f"the body is not valid JSON ({str(e)[:80]})") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


async def index(request: Request) -> Response:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    return Response(html.replace("__CSRF__", request.app.state.csrf), media_type="text/html")


async def info(request: Request) -> Response:
    s = _session(request)
    d = await run_in_threadpool(s.info)
    out = request.app.state.output
    d["save_to"] = None if out is None else out.name
    return JSONResponse(d)


async def state(request: Request) -> Response:
    """Never waits for a running edit: nothing here takes a lock."""
    st = request.app.state
    d = _session(request).state()
    d["busy"] = st.slot.held
    d["recovery"] = None if st.recovery is None else {
        "edits": len(st.recovery.edits), "started": st.recovery.started}  # fmt: skip
    d["unsaved"] = st.keeper.unsaved() if st.keeper is not None else False
    return JSONResponse(d)


async def colormaps(request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(_colormaps))


def _colormaps() -> dict:
    from matplotlib import colormaps as cm

    out = {}
    for name in ("magma", "viridis", "inferno", "gray", "gray_r", "cividis", "turbo"):
        lut = (cm[name](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(int)
        out[name] = lut.ravel().tolist()
    return out


async def tile(request: Request) -> Response:
    s = _session(request)
    ch = _int(request, "ch", 0, s.channels - 1, 0)
    t0 = _int(request, "t0", 0, s.n_frames - 1, 0)
    t1 = _int(request, "t1", t0 + 1, s.n_frames, s.n_frames)
    step = _int(request, "step", 1, s.n_frames, 1)
    version = s.version
    px = await run_in_threadpool(s.tile, ch, t0, t1, step)
    return Response(px.astype("<u2").tobytes(), media_type="application/octet-stream",
                    headers={"x-rows": str(px.shape[0]), "x-cols": str(px.shape[1]),
                             "x-version": str(version)})  # fmt: skip


async def audio(request: Request) -> Response:
    s = _session(request)
    n = s.meta.n_samples
    which = request.query_params.get("which", "edited")
    start = _int(request, "start", 0, n - 1, 0)
    end = _int(request, "end", start + 1, n, min(n, start + MAX_AUDIO_SAMPLES))
    version = s.version
    y = await run_in_threadpool(s.audio, which, start, end)
    return Response(y.astype("<f4").tobytes(), media_type="application/octet-stream",
                    headers={"x-channels": str(y.shape[0]), "x-samples": str(y.shape[1]),
                             "x-version": str(version)})  # fmt: skip


class Slot:
    """One change at a time: taken on the event loop without waiting (another request
    gets 409), given back by the worker thread when its work ends, also when the
    request waiting for it was abandoned (a stopping server)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        return self._lock.locked()

    async def run(self, fn, *args):
        if not self._lock.acquire(blocking=False):
            raise BusyError("another edit is running; try again when it has finished")

        def work():
            try:
                return fn(*args)
            finally:
                self._lock.release()

        return await run_in_threadpool(work)


def _changing(request: Request) -> None:
    st = request.app.state
    if st.recovery is not None:
        raise BusyError(
            f"a previous session left {len(st.recovery.edits)} unsaved edits: restore or "
            "discard them first"
        )


async def edit(request: Request) -> Response:
    s = _session(request)
    e = ops.parse_edit(await _json(request), s.grid())
    _changing(request)
    queued = await _queue(s, "queue", e)
    if queued is not None:  # a recording still being opened: applied when it is ready
        return JSONResponse(queued, 202)
    change = await request.app.state.slot.run(s.edit, e)
    return JSONResponse(change.to_json())


async def _queue(s, method: str, arg):
    """Queue a change on a recording still being opened (``Opening.queue`` /
    ``Opening.unqueue``): its answer, or None when there is nothing to queue on."""
    fn = getattr(type(s), method, None)
    return None if fn is None else await run_in_threadpool(fn, s, arg)


async def copy(request: Request) -> Response:
    s = _session(request)
    shape = ops.parse_selection(await _json(request), s.grid())
    _changing(request)  # journaled: a later paste reads it
    return JSONResponse(await run_in_threadpool(s.copy, shape))


async def select(request: Request) -> Response:
    s = _session(request)
    shape = ops.parse_selection(await _json(request), s.grid())
    region, mask = await run_in_threadpool(s.select, shape)
    return Response(mask.tobytes(), media_type="application/octet-stream",
                    headers={"x-frames": f"{region.t0},{region.t1}",
                             "x-rows": f"{region.r0},{region.r1}"})  # fmt: skip


async def solo(request: Request) -> Response:
    s = _session(request)
    shape = ops.parse_selection(await _json(request), s.grid())
    start, y = await run_in_threadpool(s.solo, shape)
    return Response(y.astype("<f4").tobytes(), media_type="application/octet-stream",
                    headers={"x-channels": str(y.shape[0]), "x-samples": str(y.shape[1]),
                             "x-start": str(start)})  # fmt: skip


async def undo(request: Request) -> Response:
    _changing(request)
    queued = await _queue(_session(request), "unqueue", "undo")
    if queued is not None:
        return JSONResponse(queued, 202)
    change = await request.app.state.slot.run(_session(request).undo)
    return JSONResponse(change.to_json())


async def redo(request: Request) -> Response:
    _changing(request)
    queued = await _queue(_session(request), "unqueue", "redo")
    if queued is not None:
        return JSONResponse(queued, 202)
    change = await request.app.state.slot.run(_session(request).redo)
    return JSONResponse(change.to_json())


async def edits(request: Request) -> Response:
    st = request.app.state
    doc = await run_in_threadpool(_journal.edit_list, _session(request),
                                  st.keeper.digest if st.keeper else None)  # fmt: skip
    name = f"{_session(request).source.stem}.edits.json"
    return Response(json.dumps(doc, indent=1).encode(), media_type="application/json",
                    headers=_attachment(name))  # fmt: skip


async def recovery(request: Request) -> Response:
    """``{"action": "restore" | "discard"}``: what to do with a previous session's
    unsaved edits."""
    data = await _json(request)
    action = data.get("action") if isinstance(data, dict) else None
    if action not in ("restore", "discard"):
        raise ParameterError(f"'action' must be 'restore' or 'discard', not {ops._short(action)}")
    st = request.app.state
    if st.recovery is None:
        raise NothingToDo("there is no previous session to restore or discard")
    result = await st.slot.run(st.keeper.resolve, action)
    st.recovery = None
    change = _session(request).state()
    return JSONResponse({**change, **result})


async def export_audio(request: Request) -> Response:
    fmt = request.query_params.get("format", "wav")
    data, name = await run_in_threadpool(_session(request).audio_bytes, fmt)
    media = "audio/wav" if fmt == "wav" else "audio/flac"
    return Response(data, media_type=media, headers=_attachment(name))


async def export_image(request: Request) -> Response:
    part = request.query_params.get("part", "spectrogram")
    data, name = await run_in_threadpool(_session(request).image_bytes, part)
    return Response(data, media_type="image/png", headers=_attachment(name))


def _attachment(name: str) -> dict:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return {"content-disposition": f'attachment; filename="{safe}"'}


async def save(request: Request) -> Response:
    st = request.app.state
    out = st.output
    if out is None:
        return JSONResponse({"error": "no output file: start with -o OUTPUT to save"}, 409)
    await _json(request)

    def work():
        path = _session(request).save(out)
        warning = st.keeper.saved(path.name) if st.keeper is not None else None
        return path, warning

    path, warning = await st.slot.run(work)
    return JSONResponse({"saved": path.name, **({"warning": warning} if warning else {})})


def routes() -> list:
    """Every route of the editor."""
    return [
        Route("/", index, methods=["GET"]),
        Route("/api/info", info, methods=["GET"]),
        Route("/api/state", state, methods=["GET"]),
        Route("/api/colormaps", colormaps, methods=["GET"]),
        Route("/api/tile", tile, methods=["GET"]),
        Route("/api/audio", audio, methods=["GET"]),
        Route("/api/edit", edit, methods=["POST"]),
        Route("/api/copy", copy, methods=["POST"]),
        Route("/api/select", select, methods=["POST"]),
        Route("/api/solo", solo, methods=["POST"]),
        Route("/api/undo", undo, methods=["POST"]),
        Route("/api/redo", redo, methods=["POST"]),
        Route("/api/export/audio", export_audio, methods=["GET"]),
        Route("/api/export/image", export_image, methods=["GET"]),
        Route("/api/save", save, methods=["POST"]),
        Route("/api/edits", edits, methods=["GET"]),
        Route("/api/recovery", recovery, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


async def _error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, BusyError | NothingToDo):
        status = 409
    elif isinstance(exc, JournalError):  # the change was refused, nothing is lost
        status = 503
    elif isinstance(exc, OutputError):
        status = 500
    elif isinstance(exc, Spec2ImgError):
        status = 400
    else:
        status = 500
    text = " ".join(str(exc).split()) or type(exc).__name__
    return JSONResponse({"error": text[:500]}, status)


async def _http_error(request: Request, exc) -> Response:
    return JSONResponse({"error": exc.detail}, exc.status_code)


def create_app(
    session: Session,
    *,
    token: str,
    hosts: set[str],
    any_ip: bool = False,
    output: Path | None = None,
    keeper: _journal.Keeper | None = None,
    csrf: str | None = None,
    read_timeout: float = READ_TIMEOUT,
) -> Guard:
    """The editor as an ASGI app (the Starlette app inside :class:`Guard`).

    Parameters
    ----------
    session : Session
    token : str
        The access token every request must carry.
    hosts : set of str
        Host names (no port) the ``Host`` header may name, see :func:`allowed_hosts`;
        loopback IP literals are always accepted.
    any_ip : bool
        Also accept any IP literal as Host (bound to all interfaces).
    output : Path or None
        Where ``POST /api/save`` writes (``-o OUTPUT``).
    keeper : Keeper or None
        The session's journal (and a previous session's unsaved edits to offer).
    csrf : str or None
        The anti-forgery token the page sends (default: a new random one).
    read_timeout : float > 0
        Seconds a request's body may take to arrive.
    """
    app = session_app(session, output=output, keeper=keeper)
    guard = Guard(app, token=token, hosts=hosts, any_ip=any_ip, csrf=csrf,
                  read_timeout=read_timeout)  # fmt: skip
    app.state.csrf = guard.csrf
    return guard


def session_app(
    session: Session, *, output: Path | None = None, keeper: _journal.Keeper | None = None
) -> Starlette:
    """The routes on ``session``, without :class:`Guard`: what :func:`create_app` guards
    for HTTP, and what the notebook widget calls in-process (its requests come over the
    kernel's own channel, so there is no token, host or port to check)."""
    from starlette.exceptions import HTTPException

    app = Starlette(
        routes=routes(),
        exception_handlers={
            Exception: _error,
            Spec2ImgError: _error,
            HTTPException: _http_error,
            MemoryError: _error,
        },  # fmt: skip
    )
    app.state.session = session
    app.state.output = output
    app.state.keeper = keeper
    app.state.recovery = None if keeper is None else keeper.recovery
    app.state.slot = Slot()
    app.state.csrf = ""  # the page's anti-forgery token: Guard's, when there is one
    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise OutputError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_for(host: str, port: int, token: str) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/?token={token}"


def _timed_protocol(read_timeout: float):
    """uvicorn's h11 protocol, closing a connection whose request headers have not
    all arrived ``read_timeout`` seconds after it opened or after its last answer
    (uvicorn itself only times out idle connections between requests)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class TimedH11(H11Protocol):
        _header_timer = None

        def connection_made(self, transport):
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self):
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc):
            if self._header_timer is not None:
                self._header_timer.cancel()
            super().connection_lost(exc)

        def _arm(self):
            if self._header_timer is not None:
                self._header_timer.cancel()
            self._header_timer = self.loop.call_later(read_timeout, self._too_slow)

        def _too_slow(self):
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return TimedH11


@dataclass
class Editor:
    """A running editor server (its own thread and event loop): ``url``, :meth:`stop`.

    Made by :func:`start`; usable from a notebook, whose event loop keeps running.
    """

    url: str
    server: object
    thread: threading.Thread
    sock: socket.socket
    app: Guard
    prep: threading.Thread | None = None
    stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def busy(self) -> bool:
        """True while a change (or the first decode) is still running."""
        return self.app.app.state.slot.held or bool(self.prep and self.prep.is_alive())

    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving (running requests get :data:`STOP_GRACE` seconds)."""
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()
        self.stopped.set()


def start(
    session: Session,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    output: Path | None = None,
    keeper: _journal.Keeper | None = None,
    allow_hosts=(),
    resume: bool = False,
    read_timeout: float = READ_TIMEOUT,
    idle_timeout: float = IDLE_TIMEOUT,
) -> Editor:
    """Start serving the editor in a thread with its own event loop; return at once.

    The first decode (and, with ``resume``, the restore of the previous session's
    edits) runs in the background; the page shows it as busy.  Works whether or not
    an event loop runs in the calling thread (Jupyter's does).
    """
    import uvicorn

    sock = bind(host, port)
    port = sock.getsockname()[1]
    token = secrets.token_urlsafe(24)
    any_ip = host in ("0.0.0.0", "::", "")
    app = create_app(session, token=token, hosts=allowed_hosts(host, allow_hosts),
                     any_ip=any_ip, output=output, keeper=keeper,
                     read_timeout=read_timeout)  # fmt: skip
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off",
        timeout_graceful_shutdown=STOP_GRACE, timeout_keep_alive=idle_timeout,
        http=_timed_protocol(read_timeout),
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])),
                              name="spec2img-edit-server", daemon=True)  # fmt: skip
    slot = app.app.state.slot

    def prepare():
        with slot._lock:  # edits wait (409) until the recording is ready and restored
            # A recording being opened, with a page already asking for it: its first
            # picture goes out before the encode competes with the answers for the CPU
            # (a few seconds at most; no wait when no page comes at once)
            shown = getattr(session, "shown", None)
            if shown is not None and session.visited.wait(PAGE_GRACE):
                shown.wait(SHOW_FIRST)
            _prepare_quietly(session)
            if resume and keeper is not None and keeper.recovery is not None:
                try:
                    keeper.resolve("restore")
                except Spec2ImgError as e:
                    session.error = f"cannot restore the previous session: {e}"
                app.app.state.recovery = keeper.recovery

    prep = threading.Thread(target=prepare, name="spec2img-edit-prepare", daemon=True)
    prep.start()
    thread.start()
    while not server.started and thread.is_alive():
        thread.join(0.02)
    if not server.started:
        sock.close()
        raise OutputError(f"the editor's server on {host}:{port} did not start")
    return Editor(url_for(host, port, token), server, thread, sock, app, prep)


def serve(
    session: Session,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    output: Path | None = None,
    open_browser: bool = True,
    announce=print,
    keeper: _journal.Keeper | None = None,
    allow_hosts=(),
    resume: bool = False,
    exit_at_end: bool = False,
    say=None,
) -> int:
    """Serve the editor until Ctrl-C or SIGTERM (or a notebook's interrupt); return 0.

    Prints the page URL (with the token) through ``announce`` once listening and opens
    the browser unless ``open_browser`` is false.  The server runs in its own thread
    and event loop (:func:`start`), so this works also where an event loop is already
    running (a notebook's cell: its interrupt stops the server).  SIGINT is caught when
    called in the main thread, SIGTERM too when no event loop runs there (the command
    line); the previous handlers are put back.

    At the end, ``keeper.finish()``'s line (unsaved edits and where their journal is)
    goes to ``say`` (default: standard error).  With ``exit_at_end`` (the command line)
    the process then leaves at once (status 0), abandoning a change still running:
    compiled code cannot be interrupted, finalising the interpreter under it can hang,
    and nothing is left to clean up (outputs are written atomically, the journal is
    closed), so SIGTERM ends the process within a second.
    """
    import os
    import signal
    import webbrowser

    try:
        asyncio.get_running_loop()
        loop_running = True
    except RuntimeError:
        loop_running = False
    editor = start(session, host=host, port=port, output=output, keeper=keeper,
                   allow_hosts=allow_hosts, resume=resume)  # fmt: skip
    stop = threading.Event()
    old = {}
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C (a notebook's interrupt) stops the server; SIGTERM only on the command
        # line, where nothing else has a say.  Both handlers are put back at the end.
        def on_signal(signum, frame):
            stop.set()

        caught = (signal.SIGINT,) if loop_running else (signal.SIGINT, signal.SIGTERM)
        old = {s: signal.signal(s, on_signal) for s in caught}
    try:
        announce(editor.url)
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(editor.url,), daemon=True).start()
        while not stop.is_set() and editor.thread.is_alive():
            stop.wait(0.05)
    except KeyboardInterrupt:  # a notebook's interrupt, or Ctrl-C before the handler
        pass
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        editor.stop(timeout=STOP_GRACE + 0.3)
    line = keeper.finish() if keeper is not None else None
    if line:
        (say or (lambda m: print(f"spec2img: {m}", file=sys.stderr, flush=True)))(line)
    if exit_at_end:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


#: Seconds the encode of a recording being opened waits for the page's first picture,
#: when a page asked for the recording's facts within PAGE_GRACE seconds of the start.
SHOW_FIRST = 3.0
PAGE_GRACE = 1.0


def _prepare_quietly(session: Session) -> None:
    # Errors of the background decode are kept in session.error; the page shows them.
    try:
        session.prepare()
    except Exception:  # noqa: BLE001
        pass
