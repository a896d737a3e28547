"""The editor's page in a real headless Chromium (Playwright driving Debian's chromium):
load, erase a rectangle, undo, redo, export and check the files, play, shortcuts."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from edit_helpers import CHROMIUM, CHROMIUM_ARGS, SR, session_for, write_clip

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found (/usr/bin/chromium)")
ARGS = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]
SECONDS = 3.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    from spec2img.edit.server import allowed_hosts, bind, create_app

    folder = tmp_path_factory.mktemp("page")
    y = write_clip(folder / "song.wav", seconds=SECONDS)
    session = session_for(folder / "song.wav")
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app = create_app(session, token="tok", hosts=allowed_hosts("127.0.0.1"))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/?token=tok", session, y
    srv.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server, tmp_path):
    session = server[1]
    while session.undo_stack:
        session.undo()
    session.redo_stack.clear()
    # bypass_csp: Playwright's own evaluate() needs eval, which the page's CSP forbids
    context = browser.new_context(accept_downloads=True, bypass_csp=True,
                                  viewport={"width": 1280, "height": 640})  # fmt: skip
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server[0])
    _ready(pg)
    yield pg
    context.close()
    assert not errors, errors


def _ready(pg, timeout=30_000):
    pg.wait_for_function("document.body.dataset.state === 'ready'", timeout=timeout)


def _drag_seconds(pg, t0, t1, tool="erase"):
    """Drag over [t0, t1] seconds across the whole height of the first channel."""
    pg.click(f"[data-tool={tool}]")
    box = pg.locator("#spectrogram").bounding_box()
    x = lambda t: box["x"] + box["width"] * t / SECONDS  # noqa: E731
    panel = (box["height"] - 6) / 2
    pg.mouse.move(x(t0), box["y"] + 1)
    pg.mouse.down()
    pg.mouse.move(x((t0 + t1) / 2), box["y"] + panel / 2, steps=4)
    pg.mouse.move(x(t1), box["y"] + panel + 20, steps=4)  # past the bottom: clamped
    pg.mouse.up()
    pg.wait_for_timeout(50)
    _ready(pg)


def _download(pg, action):
    with pg.expect_download() as d:
        pg.click(f"[data-action={action}]")
    return d.value


def _audio(download):
    y, sr = sf.read(io.BytesIO(Path(download.path()).read_bytes()), always_2d=True,
                    dtype="float32")  # fmt: skip
    return y.T, sr


def test_load_erase_undo_redo_export(page, server, tmp_path):
    _, session, y = server
    assert page.locator("#spectrogram").bounding_box()["width"] > 1000  # full width
    page.screenshot(path=tmp_path / "loaded.png")
    _drag_seconds(page, 1.0, 2.0)
    page.screenshot(path=tmp_path / "erased.png")
    out, sr = _audio(_download(page, "export-audio"))
    assert sr == SR and out.shape == y.shape  # exact length, both channels
    n_fft = session.meta.params.n_fft
    # the drag's ends are within a pixel of 1 s and 2 s
    silent = slice(int(1.02 * SR) + n_fft, int(1.98 * SR) - n_fft)
    assert np.max(np.abs(out[:, silent])) < 1e-6
    rest = np.r_[0 : int(0.98 * SR) - 2 * n_fft, int(2.02 * SR) + 2 * n_fft : y.shape[1]]
    assert np.max(np.abs(out[:, rest] - y[:, rest])) < 1e-3
    assert session.state()["history"] == ["erase"]

    page.click("[data-action=undo]")
    _ready(page)
    assert session.state()["can_redo"] and not session.undo_stack
    back, _ = _audio(_download(page, "export-audio"))
    assert np.max(np.abs(back - y)) < 1e-3

    page.click("[data-action=redo]")
    _ready(page)
    again, _ = _audio(_download(page, "export-audio"))
    assert np.max(np.abs(again - out)) < 1e-6

    flac, sr = _audio(_download(page, "export-flac"))
    assert sr == SR and flac.shape == y.shape

    downloads = []
    page.on("download", lambda d: downloads.append(d))
    page.click("[data-action=export-image]")
    page.wait_for_function("document.body.dataset.state === 'ready'")
    deadline = time.monotonic() + 20
    while len(downloads) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    names = sorted(d.suggested_filename for d in downloads)
    assert names == ["song-edited.phase.png", "song-edited.png"]
    for d in downloads:
        d.save_as(tmp_path / d.suggested_filename)
    from spec2img.io.image import load

    img = load(tmp_path / "song-edited.png")
    assert img.phase is not None and np.array_equal(img.blocks(), session.px)


def test_keyboard_shortcuts_and_playback(page, server, tmp_path):
    _, session, _ = server
    _drag_seconds(page, 0.5, 1.0, tool="gain")
    assert session.state()["history"] == ["gain -12.0 dB"]
    page.keyboard.press("Control+z")
    page.wait_for_function("!document.querySelector('[data-action=redo]').disabled")
    assert not session.undo_stack
    page.keyboard.press("Control+Shift+z")
    page.wait_for_function("!document.querySelector('[data-action=undo]').disabled")
    assert len(session.undo_stack) == 1

    assert page.evaluate("document.body.dataset.playing") == "false"
    page.keyboard.press("Space")
    page.wait_for_function("document.body.dataset.playing === 'true'")
    t0 = page.text_content("#clock")
    page.wait_for_timeout(400)
    page.screenshot(path=tmp_path / "playing.png")
    assert page.text_content("#clock") != t0  # the playhead moves
    page.keyboard.press("Space")
    page.wait_for_function("document.body.dataset.playing === 'false'")

    for _ in range(100):  # A/B: once the original has arrived, A switches to it
        page.keyboard.press("a")
        if page.get_attribute("[data-action=ab]", "aria-pressed") == "true":
            break
        page.wait_for_timeout(50)
    assert page.text_content("[data-action=ab]") == "A: original"
    page.click("[data-action=ab]")
    assert page.text_content("[data-action=ab]") == "B: edited"

    page.keyboard.press("b")  # tool shortcuts
    assert page.get_attribute("[data-tool=brush]", "aria-pressed") == "true"
    page.keyboard.press("h")
    assert page.get_attribute("[data-tool=heal]", "aria-pressed") == "true"


def test_brush_heal_zoom_and_display_controls(page, server, tmp_path):
    _, session, _ = server
    box = page.locator("#spectrogram").bounding_box()
    page.click("[data-tool=brush]")
    page.mouse.move(box["x"] + 300, box["y"] + 150)
    page.mouse.down()
    page.mouse.move(box["x"] + 500, box["y"] + 180, steps=8)
    page.mouse.up()
    _ready(page)
    assert session.state()["history"] == ["brush -30.0 dB"]
    _drag_seconds(page, 2.0, 2.2, tool="heal")
    assert session.state()["history"][-1] == "heal"

    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 100)
    for _ in range(4):
        page.mouse.wheel(0, -400)
    page.wait_for_timeout(300)
    page.click("[data-action=zoom-in]")
    page.select_option("#freq-scale", "log")
    page.select_option("#colormap", "viridis")
    page.fill("#db-low", "-60")
    page.wait_for_timeout(200)
    page.screenshot(path=tmp_path / "zoomed.png")
    assert float(page.input_value("#scroll")) >= 0
    page.click("[data-action=zoom-fit]")
    # play from a clicked time: a click without dragging moves the playhead there
    page.click("[data-tool=select]")
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + 50)
    page.wait_for_timeout(100)
    clock = page.text_content("#clock")
    assert clock.startswith("0:01.4") or clock.startswith("0:01.5"), clock
    # loop a selection: playback stays inside it
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + 200, steps=4)
    page.mouse.up()
    page.keyboard.press("l")
    assert page.get_attribute("[data-action=loop]", "aria-pressed") == "true"
    page.keyboard.press("Space")
    page.wait_for_function("document.body.dataset.playing === 'true'")
    seen = set()
    for _ in range(12):
        page.wait_for_timeout(100)
        seen.add(page.text_content("#clock"))
    page.keyboard.press("Space")
    seconds = sorted(float(t.split(":")[1]) for t in seen)
    assert 0.55 <= seconds[0] and seconds[-1] <= 0.95, seen  # 0.6 s to 0.9 s of a 3-s clip
