"""Shared makers for the editor's tests: a short stereo recording and a session on it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000

#: Debian's Chromium, which the browser tests drive with Playwright (it cannot download a
#: browser of its own here); None where it is missing, and those tests skip.
CHROMIUM = next(
    (p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and Path(p).exists()),
    None,
)
#: Headless, and nothing that reaches for the network (this machine has none).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


#: Requests (path, body) of clipboard work of every kind, for a 2-s :func:`write_clip`:
#: a paste of a copy still in the list's past, of a cut, of a copy whose state was
#: undone afterwards (it travels as cells), across channels; a move and a cut.
CLIPBOARD_SCRIPT = [
    ("/api/edit", {"op": "erase", "frames": [2, 6], "rows": [10, 100]}),
    ("/api/copy", {"frames": [10, 20], "rows": [20, 200]}),
    ("/api/edit", {"op": "gain", "frames": [25, 30], "gain_db": -6}),
    ("/api/edit", {"op": "paste", "frame": 40}),
    ("/api/edit", {"op": "move", "lasso": [[15, 30], [30, 40], [22, 150]], "by": 10,
                   "ratio": 1.5}),
    ("/api/edit", {"op": "cut", "frames": [45, 55], "rows": [5, 300]}),
    ("/api/edit", {"op": "paste", "frame": 10, "ratio": 2}),
    ("/api/undo", {}),
    ("/api/redo", {}),
    ("/api/copy", {"wand": {"seed": [30, 40], "tolerance_db": 12}, "frames": [20, 45],
                   "feather": 2}),
    ("/api/undo", {}),
    ("/api/edit", {"op": "paste", "frame": 50}),
    ("/api/copy", {"frames": [0, 8], "channels": [0]}),
    ("/api/edit", {"op": "paste", "frame": 30, "channels": [1]}),
]  # fmt: skip


def stereo_clip(seconds: float = 3.0, seed: int = 7) -> np.ndarray:
    """``(2, n)`` float32: a glide and a tone burst over quiet noise, the channels differ."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    glide = 0.25 * np.sin(2 * np.pi * (300 + 150 * t) * t)
    burst = 0.15 * np.sin(2 * np.pi * 2500 * t) * ((t % 1.0) < 0.4)
    left = glide + burst + 0.01 * rng.standard_normal(t.size)
    right = 0.8 * glide + 0.01 * rng.standard_normal(t.size)
    return np.stack([left, right]).astype(np.float32)


def write_clip(path, seconds: float = 3.0, subtype: str = "FLOAT") -> np.ndarray:
    y = stereo_clip(seconds)
    sf.write(path, y.T, SR, subtype=subtype)
    return y


def session_for(path):
    from spec2img.edit.session import open_input

    s = open_input(path)
    s.prepare()
    return s


class Served:
    """``session`` served by uvicorn on a free loopback port in a thread (token "tok");
    ``url`` opens the page, ``close()`` stops it."""

    def __init__(self, session, output=None):
        import threading
        import time

        import uvicorn

        from spec2img.edit.server import allowed_hosts, bind, create_app

        self.session = session
        self.sock = bind("127.0.0.1", 0)
        port = self.sock.getsockname()[1]
        app = create_app(session, token="tok", hosts=allowed_hosts("127.0.0.1"),
                         output=output)  # fmt: skip
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)  # fmt: skip
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{port}/?token=tok"

    def close(self):
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
