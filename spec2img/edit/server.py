"""The editor's web server: a small Starlette app over one :class:`~.session.Session`.

Security follows Jupyter's local server:

- every request must carry the access token: in the query (``?token=``, the URL
  printed at start; the page then gets it as a cookie), a cookie, or a header
  (``Authorization: token T`` or ``X-Spec2img-Token: T``); without it: 403;
- the ``Host`` header must name this server (a loopback name, the bound address, or
  an IP literal when bound to all interfaces): a web page whose DNS name was rebound
  to 127.0.0.1 is refused;
- bodies are limited to :data:`MAX_BODY` bytes, the page never sends paths, and the
  only files the server opens are the ones named on its command line.

Routes are in one list, :func:`routes`; the only state is the app's
(``app.state.session``, ``app.state.output``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
import socket
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import OutputError, ParameterError, Spec2ImgError
from . import ops
from .session import MAX_AUDIO_SAMPLES, BusyError, NothingToDo, Session

STATIC = Path(__file__).parent / "static"
#: Largest request body, bytes (a long brush stroke is a few hundred kB).
MAX_BODY = 1 << 20
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
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


def allowed_hosts(host: str, port: int) -> set[str]:
    """``Host`` header values that name a server bound to ``host:port``."""
    names = {*LOOPBACK_NAMES}
    if host not in ("0.0.0.0", "::", ""):
        names.add(f"[{host}]" if ":" in host else host)
    return {f"{n}:{port}" for n in names} | ({n for n in names} if port == 80 else set())


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ip_literal(host_header: str) -> bool:
    h = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
    if h.startswith("[") and "]" in h:
        h = h[1 : h.index("]")]
    try:
        ipaddress.ip_address(h)
    except ValueError:
        return False
    return True


class Guard:
    """ASGI middleware: Host check, token check, body limit, security headers."""

    def __init__(self, app, *, token: str, hosts: set[str], any_ip: bool = False) -> None:
        self.app = app
        self.token = token
        self.hosts = {h.lower() for h in hosts}
        self.any_ip = any_ip
        self.cookie = cookie_name(token)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":  # the editor has none: refuse, unguarded or not
            return await send({"type": "websocket.close", "code": 1008})
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "").lower()
        if host not in self.hosts and not (self.any_ip and _ip_literal(host)):
            return await _plain(send, 403, "refused: the Host header does not name this server")
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = (query.get("token") or [""])[0]
        from_query = bool(given)
        if not given:
            auth = headers.get("authorization", "")
            given = auth[6:].strip() if auth.lower().startswith("token ") else ""
        given = given or headers.get("x-spec2img-token", "") or _cookie(headers, self.cookie)
        if not given or not secrets.compare_digest(given.encode(), self.token.encode()):
            return await _plain(send, 403, "forbidden: open the URL with ?token= that "
                                "'spec2img edit' printed")  # fmt: skip
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return await _plain(send, 413, f"request body larger than {MAX_BODY} bytes")
        body, more = b"", True
        if scope["method"] in ("POST", "PUT", "PATCH"):
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > MAX_BODY:
                    return await _plain(send, 413, f"request body larger than {MAX_BODY} bytes")
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
    return FileResponse(STATIC / "index.html", media_type="text/html")


async def info(request: Request) -> Response:
    s = _session(request)
    d = await run_in_threadpool(s.info)
    out = request.app.state.output
    d["save_to"] = None if out is None else out.name
    return JSONResponse(d)


async def state(request: Request) -> Response:
    return JSONResponse(_session(request).state())


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


async def edit(request: Request) -> Response:
    s = _session(request)
    e = ops.parse_edit(await _json(request), s.grid())
    change = await run_in_threadpool(s.edit, e)
    return JSONResponse(change.to_json())


async def copy(request: Request) -> Response:
    s = _session(request)
    shape = ops.parse_selection(await _json(request), s.grid())
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
    return JSONResponse((await run_in_threadpool(_session(request).undo)).to_json())


async def redo(request: Request) -> Response:
    return JSONResponse((await run_in_threadpool(_session(request).redo)).to_json())


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
    out = request.app.state.output
    if out is None:
        return JSONResponse({"error": "no output file: start with -o OUTPUT to save"}, 409)
    await _json(request)
    path = await run_in_threadpool(_session(request).save, out)
    return JSONResponse({"saved": path.name})


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
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


async def _error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, BusyError | NothingToDo):
        status = 409
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
) -> Guard:
    """The editor as an ASGI app (the Starlette app inside :class:`Guard`).

    Parameters
    ----------
    session : Session
    token : str
        The access token every request must carry.
    hosts : set of str
        Accepted ``Host`` headers (``host:port``), see :func:`allowed_hosts`.
    any_ip : bool
        Also accept any IP literal as Host (bound to all interfaces).
    output : Path or None
        Where ``POST /api/save`` writes (``-o OUTPUT``).
    """
    return Guard(session_app(session, output=output), token=token, hosts=hosts, any_ip=any_ip)


def session_app(session: Session, *, output: Path | None = None) -> Starlette:
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


def serve(
    session: Session,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    output: Path | None = None,
    open_browser: bool = True,
    announce=print,
) -> int:
    """Serve the editor until Ctrl-C or SIGTERM; return 0.

    Prints the page URL (with the token) through ``announce`` once listening, decodes
    the recording in the background (the page shows it as busy), and opens the browser
    unless ``open_browser`` is false.  If that background work is still running at the
    end, the process exits (status 0) without waiting for it.
    """
    import asyncio
    import contextlib
    import signal
    import threading
    import webbrowser

    import uvicorn

    sock = bind(host, port)
    port = sock.getsockname()[1]
    token = secrets.token_urlsafe(24)
    any_ip = host in ("0.0.0.0", "::", "")
    app = create_app(session, token=token, hosts=allowed_hosts(host, port), any_ip=any_ip,
                     output=output)  # fmt: skip
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2)  # fmt: skip
    server = uvicorn.Server(config)

    @contextlib.contextmanager
    def capture_signals():  # stop on the first Ctrl-C / SIGTERM, then return normally
        def stop(signum, frame):
            server.should_exit = True

        old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in old.items():
                signal.signal(s, h)

    server.capture_signals = capture_signals
    url = url_for(host, port, token)
    prep = threading.Thread(target=_prepare_quietly, args=(session,), daemon=True)
    prep.start()

    async def main():
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if server.started:
            announce(url)
            if open_browser:
                threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        await task

    try:
        asyncio.run(main())
    finally:
        sock.close()
    prep.join(timeout=2.0)
    if prep.is_alive():
        # The first decode (or the kernels' compilation) is still running in compiled
        # code, which cannot be interrupted; letting the interpreter finalise under it
        # can crash or hang the exit.  Nothing is left to clean up: leave at once.
        import os
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def _prepare_quietly(session: Session) -> None:
    # Errors of the background decode are kept in session.error; the page shows them.
    try:
        session.prepare()
    except Exception:  # noqa: BLE001
        pass
