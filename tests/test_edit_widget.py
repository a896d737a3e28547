"""The editor in a notebook cell (spec2img.edit, an anywidget over the kernel's channel).

In-process: the widget answers its page's requests with the server's own routes,
checks them as untrusted data, and hands the edited audio and image back as arrays.
In a real JupyterLab (started on 127.0.0.1 with a token) driven by Playwright with
Debian's chromium: run ``w = spec2img.edit(...)``, erase a rectangle in the widget,
read ``w.audio`` in the next cell and find the erased span silent.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from edit_helpers import CHROMIUM, CHROMIUM_ARGS

import spec2img
from spec2img.errors import ParameterError, Spec2ImgError

pytest.importorskip("anywidget", reason="anywidget is not installed (spec2img[notebook])")

SR = 16000


def _tone(seconds=2.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def _ask(w, method, url, body=""):
    from spec2img.edit.widget import _call, _request

    return asyncio.run(_call(w._app, *_request({"method": method, "url": url, "body": body})))


def test_the_package_is_callable_and_keeps_its_modules():
    w = spec2img.edit(_tone(), sr=SR)
    assert type(w).__name__ == "Editor"
    assert spec2img.edit.session.Session is type(w._session)  # the modules are still there
    assert "1 channel(s)" in repr(w) and "2.00 s" in repr(w)
    w.close()
    assert w._pool._shutdown


def test_requests_reach_the_routes_and_edits_come_back_as_arrays():
    y = np.stack([_tone(), 0.5 * _tone()])
    w = spec2img.edit(y, sr=SR)
    assert w._session.ready.wait(60)  # prepared on a thread of its own
    status, headers, body = _ask(w, "GET", "api/tile?ch=1&t0=0&t1=10&step=1")  # relative
    assert status == 200 and int(headers["x-rows"]) == 1025 and len(body) == 1025 * 10 * 2
    edit = {"op": "erase", "frames": [20, 40], "rows": [0, 1025], "channels": [0, 1]}
    status, _, body = _ask(w, "POST", "/api/edit", json.dumps(edit))
    change = json.loads(body)
    assert status == 200 and change["label"] == "erase"
    audio = w.audio
    assert audio.shape == y.shape and audio.dtype == np.float32
    s0, s1 = change["samples"]
    hop = 512
    # the frames 20..39 are erased: samples well inside them are silent, the rest kept
    quiet = audio[:, 24 * hop : 36 * hop]
    assert np.max(np.abs(quiet)) < 1e-4
    np.testing.assert_allclose(audio[:, : s0 - 1], y[:, : s0 - 1], atol=1e-3)
    image = w.image
    assert image.phase is not None and image.pixels.shape == (2 * 1025, 63)
    assert image.blocks()[:, :, 22:38].max() == 0
    assert w.history == ["erase"]


def test_the_widget_refuses_bad_requests_as_data():
    w = spec2img.edit(_tone(), sr=SR)
    assert w._session.ready.wait(60)
    assert _ask(w, "GET", "/api/tile?ch=5")[0] == 400  # the route's own bounds
    assert _ask(w, "POST", "/api/edit", "{not json")[0] == 400
    from spec2img.edit.widget import _request

    for bad in (
        {"method": "DELETE", "url": "/api/state"},
        {"method": "GET", "url": "/static/../session.py"},
        {"method": "GET", "url": "/" + "a" * 3000},
        {"method": "GET", "url": 5},
        {"method": "POST", "url": "/api/edit", "body": ["x"]},
    ):
        with pytest.raises(ParameterError):
            _request(bad)


def test_the_widget_loads_every_module_of_the_page():
    from spec2img.edit.server import STATIC
    from spec2img.edit.widget import page_assets

    page = page_assets()
    assert set(page["modules"]) == {p.name for p in STATIC.glob("*.js")} - {"widget.js", "env.js"}
    assert {"app.js", "api.js", "view.js", "player.js"} <= set(page["modules"])
    assert 'id="spectrogram"' in page["html"] and "<body" not in page["html"]
    # every module a page module imports is there to be linked (env.js is made per view)
    for name, src in page["modules"].items():
        for dep in re.findall(r"(?:from|import)\s*['\"]\./([\w-]+\.js)['\"]", src):
            assert dep in page["modules"] or dep == "env.js", (name, dep)


def test_bad_sources_are_named_errors(tmp_path):
    with pytest.raises(ParameterError, match="sr="):
        spec2img.edit(_tone())
    with pytest.raises(ParameterError, match="shape"):
        spec2img.edit(np.zeros((2, 2, 4000), np.float32), sr=SR)
    with pytest.raises(ParameterError, match="height"):
        spec2img.edit(_tone(), sr=SR, height=5)
    with pytest.raises(Spec2ImgError, match="nothing.wav"):
        spec2img.edit(tmp_path / "nothing.wav")


def test_a_file_and_an_image_open_too(tmp_path):
    import soundfile as sf

    sf.write(tmp_path / "a.wav", _tone(), SR)
    w = spec2img.edit(tmp_path / "a.wav")
    assert w.sr == SR and w.audio.shape == (2 * SR,)
    image = spec2img.encode(_tone(), SR)
    w = spec2img.edit(image)
    assert w.audio.shape == (2 * SR,)  # decoded in the background first
    image.save(tmp_path / "a.png")
    assert spec2img.edit(tmp_path / "a.png").image.pixels.shape == image.pixels.shape


# ---------------------------------------------------------------- in a real JupyterLab

ARGS = CHROMIUM_ARGS
TOKEN = "spec2img-test-token"

FIRST = """\
import numpy as np, spec2img
sr = 16000
t = np.arange(2 * sr) / sr
y = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
w = spec2img.edit(y, sr=sr, height=360)
w"""
SECOND = """\
a = w.audio
def rms(x): return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
peaks = np.abs(a[: a.size // 160 * 160]).reshape(-1, 160).max(axis=1)  # per 10 ms
silent = np.flatnonzero(peaks < 1e-4)
print("RESULT", json.dumps({"shape": list(a.shape), "history": w.history,
      "silent": silent.tolist(), "rms_start": rms(a[: sr // 4]), "rms_end": rms(a[-sr // 4:])}))"""

TOOLS_SECOND = """\
import json
a = w.audio
def band(t0, t1, f):  # dB in +-60 Hz around f over [t0, t1] s
    seg = a[int(t0 * sr) : int(t1 * sr)].astype(np.float64)
    s = np.abs(np.fft.rfft(seg * np.hanning(seg.size))) ** 2
    fr = np.fft.rfftfreq(seg.size, 1 / sr)
    return float(10 * np.log10(s[np.abs(fr - f) < 60].sum() + 1e-30))
print("RESULT", json.dumps({"history": w.history, "paint": band(0.25, 0.55, 2000),
      "paint_elsewhere": band(1.3, 1.5, 2000), "tone_kept": band(0.25, 0.55, 440),
      "tone_erased": band(1.3, 1.5, 440), "undone": band(0.25, 0.55, 3000)}))"""


RECOVER_FIRST = """\
import hashlib, json, spec2img
w = spec2img.edit("clip.wav", height=360)
w"""
RECOVER_SECOND = """\
print("RESULT", json.dumps({"history": w.history, "recovery": w.recovery,
      "audio": hashlib.sha256(w.audio.tobytes()).hexdigest()}))"""


def _lab_missing() -> str | None:
    if CHROMIUM is None:
        return "no Chromium found (/usr/bin/chromium)"
    for name in ("jupyterlab", "playwright", "ipykernel", "nbformat"):
        try:
            __import__(name)
        except ImportError:
            return f"{name} is not installed"
    return None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    reason = _lab_missing()
    if reason:
        pytest.skip(reason)
    import nbformat

    root = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    nb.cells = [nbformat.v4.new_code_cell(FIRST),
                nbformat.v4.new_code_cell("import json\n" + SECOND)]  # fmt: skip
    for front_end in FRONT_ENDS:  # one notebook each: a kernel and outputs of its own
        nbformat.write(nb, root / f"edit-{front_end}.ipynb")
    nb.cells = [nbformat.v4.new_code_cell(RECOVER_FIRST),
                nbformat.v4.new_code_cell(RECOVER_SECOND)]  # fmt: skip
    nbformat.write(nb, root / "recover.ipynb")
    nb.cells = [nbformat.v4.new_code_cell(FIRST), nbformat.v4.new_code_cell(TOOLS_SECOND)]
    nbformat.write(nb, root / "tools.ipynb")
    home = root.parent / "home"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
           "XDG_STATE_HOME": str(home / "state"),  # the kernels' editing journals
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_DATA_DIR": str(home / "data"), "HOME": str(home),
           "JUPYTER_PLATFORM_DIRS": "1", "PYTHONPATH": str(Path(spec2img.__file__).parents[1])}  # fmt: skip
    labconfig = home / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
         "--ServerApp.port=0", f"--IdentityProvider.token={TOKEN}",
         f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
         "--allow-root",  # CI runs as root; the server listens on loopback only
         f"--LabApp.workspaces_dir={home / 'workspaces'}",
         f"--LabApp.user_settings_dir={home / 'settings'}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url, lines, deadline = None, [], time.monotonic() + 120
    while url is None and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        m = re.search(r"(http://127\.0\.0\.1:\d+)/lab", line)
        url = m.group(1) if m else None
    if url is None:
        proc.kill()
        pytest.fail("JupyterLab did not start:\n" + "".join(lines[-30:]))
    # keep draining its log so that it never blocks on a full pipe
    import threading

    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    yield url, root
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _dismiss_dialogs(page) -> None:
    """Accept a JupyterLab dialog that came up under load (its default button: the
    kernel to select, a restart to confirm), saying which, so it never covers the cell."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and dialog.first.is_visible():
        print("JupyterLab dialog:", dialog.first.inner_text()[:200].replace("\n", " "))
        page.keyboard.press("Enter")
        dialog.first.wait_for(state="hidden", timeout=10_000)


def _run_cell(page, index: int) -> None:
    """Run cell ``index`` with Shift+Enter; press again if the kernel was not connected
    yet and the cell did not start (its prompt stays ``[ ]``)."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    for _ in range(6):
        _dismiss_dialogs(page)
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if re.search(r"\[(\*|\d+)\]", prompt.inner_text()):
                return
            time.sleep(0.2)
    raise AssertionError(f"cell {index} never started")


def _drive(page, url: str) -> str:
    """Open the notebook, run the editor cell, erase, run the reading cell: its output."""
    page.goto(f"{url}?token={TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor", timeout=90_000)
    _run_cell(page, 0)
    body = page.locator(".s2i-body[data-state='ready']")  # CSS selectors pierce shadow DOM
    body.wait_for(timeout=45_000)
    canvas = page.locator(".s2i-body canvas#spectrogram")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    # erase (the default tool) from 0.8 s to 1.2 s of the 2 s, every row:
    # the whole recording is in view, so x is proportional to time
    x0, x1 = box["x"] + 0.4 * box["width"], box["x"] + 0.6 * box["width"]
    page.mouse.move(x0, box["y"] + 2)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, box["y"] + box["height"] / 2, steps=5)
    page.mouse.move(x1, box["y"] + box["height"] - 1, steps=5)
    page.mouse.up()
    page.locator(".s2i-body #status", has_text="erase: re-synthesised").wait_for(timeout=60_000)
    # the editor's keys reach the editor, not the notebook (whose command mode has Z too)
    canvas.focus()
    page.keyboard.press("Control+z")
    page.locator(".s2i-body #status", has_text="undo erase").wait_for(timeout=30_000)
    page.keyboard.press("Control+Shift+z")
    page.locator(".s2i-body #status", has_text="redo erase").wait_for(timeout=30_000)
    shot = os.environ.get("SPEC2IMG_SCREENSHOT")
    if shot:
        page.screenshot(path=shot)
    _run_cell(page, 1)
    out = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea-output")
    out.filter(has_text="RESULT").wait_for(timeout=60_000)
    return out.inner_text()


#: The two web front ends, by the path that opens a notebook in each.
FRONT_ENDS = {"jupyterlab": "lab/tree", "notebook7": "notebooks"}


def _in_chromium(tmp_path, drive) -> dict:
    """Run ``drive(page)`` (it returns the text of an output saying ``RESULT {json}``) in
    Debian's Chromium and return that JSON.  Errors thrown by our modules (loaded from
    blob URLs), not by the front end's own, fail the test; on a failure the page is kept
    as a screenshot (copied to $SPEC2IMG_SCREENSHOT) and its console printed."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors, console = [], []
        page.on("pageerror", lambda e: errors.append(f"{e.message}\n{e.stack or ''}"))
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        try:
            text = drive(page)
        except Exception:
            page.screenshot(path=str(tmp_path / "failed.png"))
            if os.environ.get("SPEC2IMG_SCREENSHOT"):
                shutil.copy(tmp_path / "failed.png", os.environ["SPEC2IMG_SCREENSHOT"])
            print("\n".join(console[-40:]), errors)
            raise
        finally:
            browser.close()
    ours = [e for e in errors if "blob:" in e or "spec2img" in e]
    assert not ours, ours
    return json.loads(text[text.index("RESULT") + 7 :].strip().splitlines()[0])


@pytest.mark.parametrize("front_end", sorted(FRONT_ENDS))
def test_the_editor_in_jupyterlab_erases_and_hands_back_the_audio(lab, tmp_path, front_end):

    if front_end == "notebook7" and importlib.util.find_spec("notebook") is None:
        pytest.skip("notebook (Notebook 7) is not installed")
    url = f"{lab[0]}/{FRONT_ENDS[front_end]}/edit-{front_end}.ipynb"
    result = _in_chromium(tmp_path, lambda page: _drive(page, url))
    assert result["shape"] == [2 * SR] and result["history"] == ["erase"]
    silent = result["silent"]  # the 10 ms windows that are silent: one span, 0.8-1.2 s
    assert silent == list(range(silent[0], silent[-1] + 1)), silent
    lo, hi = silent[0] / 100, (silent[-1] + 1) / 100
    # the frames whose centres the drag covered, less the window's half-length each side
    assert 0.75 < lo < 0.9 and 1.1 < hi < 1.25, (lo, hi)
    assert result["rms_start"] > 0.2 and result["rms_end"] > 0.2  # the rest is kept


def test_without_anywidget_the_error_says_what_to_install(monkeypatch):
    import spec2img.edit.widget as widget

    monkeypatch.setitem(sys.modules, "anywidget", None)  # import anywidget fails
    monkeypatch.delitem(widget.__dict__, "Editor", raising=False)
    with pytest.raises(Spec2ImgError, match=r"spec2img\[notebook\]"):
        spec2img.edit(_tone(), sr=SR)


def _drive_tools(page, url: str) -> str:
    """In the widget: paint a tone, lasso the 440 Hz tone and erase it, solo the lasso,
    paint again and undo that; then read the audio back in the next cell."""
    page.goto(f"{url}?token={TOKEN}&reset")  # a fresh workspace: only this notebook open
    page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor", timeout=90_000)
    _run_cell(page, 0)
    page.locator(".jp-NotebookPanel:visible .s2i-body[data-state='ready']").wait_for(timeout=45_000)
    canvas = page.locator(".jp-NotebookPanel:visible .s2i-body canvas#spectrogram")
    canvas.scroll_into_view_if_needed()
    status = page.locator(".jp-NotebookPanel:visible .s2i-body #status")

    def at(t, hz):  # the whole 2 s in view, linear 0-8 kHz: read the box each time
        box = canvas.bounding_box()
        frames = 1 + 2 * 16000 // 512
        top = 8000 + 16000 / 2048 / 2
        return (box["x"] + box["width"] * (t * 16000 / 512) / frames,
                box["y"] + box["height"] * (1 - hz / top))  # fmt: skip

    def drag(points):
        _dismiss_dialogs(page)
        page.mouse.move(*points[0])
        page.mouse.down()
        for p in points[1:]:
            page.mouse.move(*p, steps=6)
        page.mouse.up()

    def click(selector):
        _dismiss_dialogs(page)
        page.locator(selector).click()

    def ready():
        page.wait_for_timeout(50)
        page.locator(".jp-NotebookPanel:visible .s2i-body[data-state='ready']").wait_for(
            timeout=60_000
        )

    click(".jp-NotebookPanel:visible .s2i-body [data-tool=paint]")
    drag([at(0.2, 2000), at(0.6, 2000)])
    status.filter(has_text="paint tone -20 dB: re-synthesised").wait_for(timeout=60_000)
    ready()
    click(".jp-NotebookPanel:visible .s2i-body [data-tool=lasso]")
    drag([at(1.2, 200), at(1.6, 200), at(1.6, 800), at(1.2, 800), at(1.2, 220)])
    click(".jp-NotebookPanel:visible .s2i-body [data-action=erase]")
    status.filter(has_text="erase: re-synthesised").wait_for(timeout=60_000)
    ready()
    click(".jp-NotebookPanel:visible .s2i-body [data-action=solo]")
    status.filter(has_text="solo: only the selected cells").wait_for(timeout=30_000)
    page.locator(".jp-NotebookPanel:visible .s2i-body[data-playing='true']").wait_for(
        timeout=10_000
    )
    click(".jp-NotebookPanel:visible .s2i-body [data-tool=paint]")
    drag([at(0.2, 3000), at(0.6, 3000)])
    status.filter(has_text="paint tone -20 dB: re-synthesised").wait_for(timeout=60_000)
    ready()
    canvas.focus()
    page.keyboard.press("Control+z")
    status.filter(has_text="undo paint tone -20 dB").wait_for(timeout=30_000)
    ready()
    page.mouse.move(*at(0.4, 2000))  # the readout names what is under the pointer
    assert (
        "2000" in page.locator(".jp-NotebookPanel:visible .s2i-body #readout").inner_text()
        or "B6" in page.locator(".jp-NotebookPanel:visible .s2i-body #readout").inner_text()
    )
    shot = os.environ.get("SPEC2IMG_TOOLS_SCREENSHOT")
    if shot:
        page.screenshot(path=shot)
    _run_cell(page, 1)
    out = (
        page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell")
        .nth(1)
        .locator(".jp-OutputArea-output")
    )
    out.filter(has_text="RESULT").wait_for(timeout=60_000)
    return out.inner_text()


@pytest.mark.slow  # about 10 s of JupyterLab in Chromium; the suite keeps ~5 min
def test_the_tools_work_in_a_jupyterlab_cell(lab, tmp_path):
    """Paint, lasso + erase, solo and undo inside the widget, checked on ``w.audio``."""
    r = _in_chromium(tmp_path, lambda page: _drive_tools(page, f"{lab[0]}/lab/tree/tools.ipynb"))
    assert r["history"] == ["paint tone -20 dB", "erase"], r["history"]
    assert r["paint"] - r["paint_elsewhere"] > 30  # painted where drawn, and only there
    assert r["tone_kept"] - r["tone_erased"] > 40  # the lasso's erase took the tone
    assert r["paint"] - r["undone"] > 30  # the second stroke is undone


@pytest.mark.slow  # about 10 s of JupyterLab in Chromium; the suite keeps ~5 min
def test_in_jupyterlab_a_dead_kernels_edits_are_offered_and_restored(lab, tmp_path, monkeypatch):
    """A kernel that died with edits of clip.wav (its journal as it left it): running
    the cell again shows the banner in the cell; Restore brings the same bits back."""
    import hashlib

    import soundfile as sf

    url, root = lab
    monkeypatch.setenv("XDG_STATE_HOME", str(root.parent / "home" / "state"))
    sf.write(root / "clip.wav", np.stack([_tone(), 0.5 * _tone()]).T, SR)
    dead = spec2img.edit(root / "clip.wav")
    assert dead._session.ready.wait(60)
    for e in ({"op": "erase", "frames": [20, 40], "rows": [0, 1025]},
              {"op": "gain", "frames": [45, 55], "gain_db": -12, "channels": [1]}):  # fmt: skip
        assert _ask(dead, "POST", "/api/edit", json.dumps(e))[0] == 200
    history, audio = dead.history, hashlib.sha256(dead.audio.tobytes()).hexdigest()
    keeper, dead._keeper = dead._keeper, None  # as a dead kernel leaves it
    keeper.journal.close()
    keeper.lock.release()

    def restore(page):
        # a workspace of its own: the other tests' notebooks are not reopened beside it
        page.goto(f"{url}/lab/workspaces/recover/tree/recover.ipynb?reset&token={TOKEN}")
        page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor", timeout=90_000)
        _run_cell(page, 0)
        banner = page.locator(".s2i-body #recovery")
        banner.filter(has_text="left 2 unsaved edit(s)").wait_for(timeout=60_000)
        page.locator(".s2i-body [data-recovery=restore]").click()
        page.locator(".s2i-body #status", has_text="edits are back").wait_for(timeout=60_000)
        assert banner.is_hidden()
        assert page.locator(".s2i-body [data-action=undo]").is_enabled()
        _run_cell(page, 1)
        out = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea-output")
        out.filter(has_text="RESULT").wait_for(timeout=60_000)
        return out.inner_text()

    result = _in_chromium(tmp_path, restore)
    assert result == {"history": history, "recovery": None, "audio": audio}
