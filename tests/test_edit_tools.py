"""The editor's new tools in a real headless Chromium: paint on a blank canvas, lasso,
move up an octave, solo, wand, heal, copy/paste, pictures, readout, frequency zoom."""

from __future__ import annotations

import numpy as np
import pytest
from edit_helpers import CHROMIUM, CHROMIUM_ARGS, SR, Served, session_for, write_clip

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found (/usr/bin/chromium)")
ARGS = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]
SECONDS = 3.0
HZ = SR / 2048


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def blank():
    from spec2img.edit.session import open_new

    s = open_new(SECONDS, sr=SR, channels=1, name="tune.wav")
    s.prepare()
    served = Served(s)
    yield served
    served.close()


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tools")
    write_clip(folder / "song.wav", seconds=SECONDS)
    served = Served(session_for(folder / "song.wav"))
    yield served
    served.close()


def _open(browser, served):
    s = served.session
    while s.undo_stack:
        s.undo()
    s.redo_stack.clear()
    s.clipboard = None
    context = browser.new_context(accept_downloads=True, bypass_csp=True,
                                  viewport={"width": 1280, "height": 640})  # fmt: skip
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(served.url)
    _ready(pg)
    return pg, context, errors


@pytest.fixture
def blank_page(browser, blank):
    pg, context, errors = _open(browser, blank)
    yield pg
    context.close()
    assert not errors, errors


@pytest.fixture
def song_page(browser, song):
    pg, context, errors = _open(browser, song)
    yield pg
    context.close()
    assert not errors, errors


def _ready(pg, timeout=30_000):
    pg.wait_for_timeout(30)
    pg.wait_for_function("document.body.dataset.state === 'ready'", timeout=timeout)


class Geometry:
    """Screen points of (seconds, Hz) on the first panel, linear frequency axis."""

    def __init__(self, pg, channels=1):
        self.pg, self.channels = pg, channels

    @property
    def box(self):  # read each time: the tool bar's height changes with the tool
        return self.pg.locator("#spectrogram").bounding_box()

    @property
    def panel(self):
        return (self.box["height"] - 6 * (self.channels - 1)) / self.channels

    def x(self, t):
        return self.box["x"] + self.box["width"] * t / SECONDS

    def y(self, hz, ch=0):
        top = self.box["y"] + ch * (self.panel + 6)
        return top + self.panel * (1 - hz / (SR / 2 + HZ / 2))


def _drag(pg, points, steps=6):
    pg.mouse.move(*points[0])
    pg.mouse.down()
    for p in points[1:]:
        pg.mouse.move(*p, steps=steps)
    pg.mouse.up()
    _ready(pg)


def _bands(y, t0, t1):
    seg = y[int(t0 * SR) : int(t1 * SR)].astype(np.float64)
    spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size))) ** 2
    f = np.fft.rfftfreq(seg.size, 1 / SR)
    centres = np.arange(0, SR / 2, 100.0)
    e = np.array([spec[(f >= c - 50) & (f < c + 50)].sum() for c in centres])
    return centres, 10 * np.log10(e + 1e-30)


def test_paint_a_note_with_harmonics_lasso_move_up_an_octave_and_solo(blank_page, blank):
    pg, s = blank_page, blank.session
    assert "n_fft 2048, hop 512" in pg.text_content("#resolution")
    g = Geometry(pg)
    pg.click("[data-tool=paint]")
    pg.fill("#paint-harmonics", "2")
    _drag(pg, [(g.x(0.5), g.y(1000)), (g.x(1.2), g.y(1000))])
    assert s.state()["history"] == ["paint tone -20 dB +2 harmonics"]
    y, _ = s.render()
    centres, db = _bands(y[0], 0.7, 1.0)
    main = db[np.abs(centres - 1000) <= 50].max()
    assert main - db[np.abs(centres - 2000) <= 50].max() < 10  # the overtones are there
    assert main - db[np.abs(centres - 3000) <= 50].max() < 16
    assert main - db[(centres < 800) | ((centres > 1200) & (centres < 1800))].max() >= 30

    # the readout names what is under the pointer
    pg.mouse.move(g.x(0.8), g.y(1000))
    text = pg.text_content("#readout")
    assert text.startswith("0.8") and " Hz" in text and ("B5" in text or "C6" in text), text
    assert "dB" in text

    # lasso the note, drag it up an octave (to twice the frequency under the pointer)
    pg.click("[data-tool=lasso]")
    _drag(pg, [(g.x(0.4), g.y(800)), (g.x(1.3), g.y(800)), (g.x(1.3), g.y(1250)),
               (g.x(0.4), g.y(1250)), (g.x(0.4), g.y(820))])  # fmt: skip
    assert (
        pg.evaluate("document.querySelector('[data-tool=lasso]').getAttribute('aria-pressed')")
        == "true"
    )
    _drag(pg, [(g.x(0.8), g.y(1000)), (g.x(0.8), g.y(2000))], steps=10)
    assert s.state()["history"][-1] == "move x2"
    y, _ = s.render()
    centres, db = _bands(y[0], 0.7, 1.0)
    assert centres[np.argmax(db)] == 2000

    # solo: the outline moved with it; solo plays only it
    pg.click("[data-action=solo]")
    pg.wait_for_function("document.body.dataset.playing === 'true'")
    assert float(pg.text_content("#clock").split(":")[1]) >= 0.3  # at the selection's time
    pg.wait_for_function("document.body.dataset.playing === 'false'", timeout=10_000)

    pg.click("[data-action=undo]")
    _ready(pg)
    assert s.state()["history"] == ["paint tone -20 dB +2 harmonics"]


def test_copy_paste_at_the_playhead_and_keys(blank_page, blank):
    pg, s = blank_page, blank.session
    g = Geometry(pg)
    pg.keyboard.press("p")
    _drag(pg, [(g.x(0.3), g.y(1500)), (g.x(0.6), g.y(1500))])
    pg.keyboard.press("s")
    _drag(pg, [(g.x(0.2), g.y(1200)), (g.x(0.7), g.y(1800))])
    pg.keyboard.press("Control+c")
    pg.wait_for_function("document.querySelector('#status').textContent.startsWith('copied')")
    pg.mouse.click(g.x(2.0), g.y(4000))  # the playhead to 2 s
    pg.keyboard.press("Control+v")
    _ready(pg)
    assert s.state()["history"][-1] == "paste"
    y, _ = s.render()
    centres, db = _bands(y[0], 2.15, 2.4)
    assert centres[np.argmax(db)] == 1500
    pg.keyboard.press("Control+x")  # cut the original
    _ready(pg)
    y, _ = s.render()
    assert np.max(np.abs(y[0, int(0.35 * SR) : int(0.55 * SR)])) < 1e-3


def test_wand_selects_a_line_and_erase_acts_on_it(song_page, song):
    pg, s = song_page, song.session
    g = Geometry(pg, channels=2)
    pg.uncheck("#link")
    pg.click("[data-tool=wand]")
    pg.fill("#wand-tol", "20")
    pg.mouse.click(g.x(0.2), g.y(2500))
    _ready(pg)
    before = s.px.copy()
    pg.click("[data-action=erase]")
    _ready(pg)
    changed = np.argwhere(before[0] != s.px[0])
    assert len(changed) and abs(np.median(changed[:, 0]) - 2500 / HZ) <= 2
    assert np.ptp(changed[:, 0]) <= 12 and not (before[1] != s.px[1]).any()


def test_heal_a_lassoed_click_and_the_frequency_view(song_page, song):
    pg, s = song_page, song.session
    g = Geometry(pg, channels=2)
    pg.click("[data-tool=lasso]")
    _drag(pg, [(g.x(1.5), g.y(200)), (g.x(1.7), g.y(200)), (g.x(1.7), g.y(7000)),
               (g.x(1.5), g.y(7000)), (g.x(1.5), g.y(250))])  # fmt: skip
    pg.fill("#feather", "2")
    pg.click("[data-action=heal]")
    _ready(pg)
    assert s.state()["history"] == ["heal"]
    pg.select_option("#freq-scale", "mel")
    pg.click("[data-action=freq-zoom-in]")
    pg.click("[data-action=freq-zoom-in]")
    pg.mouse.move(g.x(1.0), g.box["y"] + 5)
    pg.mouse.wheel(0, 200)  # plain wheel: time zoom, not an error
    pg.keyboard.down("Control")
    pg.mouse.wheel(0, -300)
    pg.keyboard.up("Control")
    pg.wait_for_timeout(200)
    text = pg.text_content("#readout")
    hz = float(text.split("·")[1].split("Hz")[0])
    assert hz < 3000  # zoomed in frequency: the top of the panel is far below 8 kHz
    pg.click("[data-action=zoom-fit]")
    pg.mouse.move(g.x(1.0), g.box["y"] + 2)
    hz = float(pg.text_content("#readout").split("·")[1].split("Hz")[0])
    assert hz > 7000  # whole range again


def test_a_picture_is_painted_into_the_rectangle_and_undone(song_page, song, tmp_path):
    from PIL import Image

    pg, s = song_page, song.session
    g = Geometry(pg, channels=2)
    pic = np.zeros((32, 48), np.uint8)
    pic[8:24, 12:36] = 255
    path = tmp_path / "logo.png"
    Image.fromarray(pic).save(path)
    pg.click("[data-tool=select]")
    _drag(pg, [(g.x(1.0), g.y(5000)), (g.x(2.0), g.y(7000))])
    before = s.px.copy()
    with pg.expect_file_chooser() as fc:
        pg.click("[data-action=import-image]")
    fc.value.set_files(str(path))
    _ready(pg)
    assert s.state()["history"] == ["picture"]
    assert (s.px > before).any()
    pg.keyboard.press("Control+z")
    pg.wait_for_function("!document.querySelector('[data-action=redo]').disabled")
    assert np.array_equal(s.px, before)


def test_a_recording_being_opened_shows_a_coarse_view_then_becomes_editable(browser, tmp_path):
    import threading

    from spec2img.edit.session import open_audio

    write_clip(tmp_path / "song.wav", seconds=SECONDS)
    opening = open_audio(tmp_path / "song.wav")
    served = Served(opening)
    go = threading.Event()
    threading.Thread(target=lambda: (go.wait(30), opening.prepare()), daemon=True).start()
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 640})
    try:
        pg = context.new_page()
        pg.goto(served.url)
        pg.wait_for_function("document.body.dataset.state === 'busy'")  # drawn, not ready
        pg.wait_for_function("document.querySelector('#status').textContent.includes('coarse')")
        assert "n_fft 2048" in pg.text_content("#resolution")
        # meanwhile it plays (the input's samples are there at once) ...
        pg.wait_for_function("document.querySelector('#status').textContent.includes('play')")
        pg.click("[data-action=play]")
        pg.wait_for_function("document.body.dataset.playing === 'true'")
        pg.click("[data-action=play]")
        # ... and takes edits: queued, undone, queued again, applied when it is ready
        g = Geometry(pg, channels=2)
        pg.click("[data-tool=erase]")
        for i in range(2):
            box = g.box
            pg.mouse.move(g.x(1.0), g.y(7000))
            pg.mouse.down()
            pg.mouse.move(g.x(1.5), g.y(200), steps=6)
            pg.mouse.up()
            pg.wait_for_function(
                "document.querySelector('#status').textContent.includes('queued (1)')"
            )
            assert box == g.box
            if i == 0:
                pg.click("[data-action=undo]")
                pg.wait_for_function(
                    "document.querySelector('#status').textContent.includes('queued (0)')"
                )
        assert opening.state()["queued"] == 1 and not opening.state()["ready"]
        go.set()
        _ready(pg)
        assert opening.state()["history"] == ["erase"]
        _drag(pg, [(g.x(2.0), g.y(7000)), (g.x(2.5), g.y(200))])
        assert opening.state()["history"] == ["erase", "erase"]
    finally:
        context.close()
        served.close()


def test_noise_paint_gain_on_a_selection_and_a_ctrl_drag_duplicate(blank_page, blank):
    pg, s = blank_page, blank.session
    g = Geometry(pg)
    pg.keyboard.press("p")
    pg.select_option("#paint-mode", "noise")
    pg.eval_on_selector("#paint-size", "e => { e.value = '60'; }")
    _drag(pg, [(g.x(0.3), g.y(3000)), (g.x(0.8), g.y(3000))])
    assert s.state()["history"] == ["paint noise -20 dB"]
    y, _ = s.render()
    centres, db = _bands(y[0], 0.4, 0.7)
    band = db[(centres >= 2800) & (centres <= 3200)]
    assert np.ptp(band) < 10 and band.min() - db[centres == 1000][0] > 30  # a band of noise

    pg.keyboard.press("o")  # lasso it, take 12 dB off with the Gain action
    assert pg.get_attribute("[data-tool=lasso]", "aria-pressed") == "true"
    _drag(pg, [(g.x(0.2), g.y(2000)), (g.x(0.9), g.y(2000)), (g.x(0.9), g.y(4500)),
               (g.x(0.2), g.y(4500)), (g.x(0.2), g.y(2100))])  # fmt: skip
    before = float(np.sqrt(np.mean(s.render()[0][0, int(0.4 * SR) : int(0.7 * SR)] ** 2)))
    pg.fill("#gain-db", "-12")
    pg.click("[data-action=gain]")
    _ready(pg)
    after = float(np.sqrt(np.mean(s.render()[0][0, int(0.4 * SR) : int(0.7 * SR)] ** 2)))
    assert 20 * np.log10(after / before) == pytest.approx(-12, abs=0.5)

    # Ctrl+drag inside the selection: a copy 1 s later, the original stays
    box = g.box
    pg.keyboard.down("Control")
    _drag(pg, [(g.x(0.5), g.y(3000)), (g.x(1.5), g.y(3000))], steps=10)
    pg.keyboard.up("Control")
    assert s.state()["history"][-1] == "duplicate"
    y, _ = s.render()
    for t in (0.55, 1.55):
        assert np.sqrt(np.mean(y[0, int(t * SR) : int((t + 0.1) * SR)] ** 2)) > after / 2
    pg.keyboard.press("Escape")
    pg.keyboard.press("w")
    assert pg.get_attribute("[data-tool=wand]", "aria-pressed") == "true"
    assert box["width"] > 1000


@pytest.mark.parametrize("scale", ["log", "mel"])
def test_on_a_log_or_mel_display_a_stroke_paints_the_frequency_under_the_pointer(
    blank_page, blank, scale
):
    import math

    pg, s = blank_page, blank.session
    pg.select_option("#freq-scale", scale)
    g = Geometry(pg)
    top = SR / 2 + HZ / 2
    if scale == "log":
        lo = 20.0
        frac = math.log(2000 / lo) / math.log(top / lo)
    else:
        mel = lambda f: 2595 * math.log10(1 + f / 700)  # noqa: E731
        frac = mel(2000) / mel(top)
    y = g.box["y"] + g.panel * (1 - frac)
    pg.mouse.move(g.x(1.0), y)
    hz = float(pg.text_content("#readout").split("·")[1].split("Hz")[0])
    assert abs(hz - 2000) < 40, hz  # within a pixel
    pg.click("[data-tool=paint]")
    y = g.box["y"] + g.panel * (1 - frac)  # the tool bar may have changed height
    _drag(pg, [(g.x(1.0), y), (g.x(2.0), y)])
    out, _ = s.render()
    centres, db = _bands(out[0], 1.2, 1.8)
    assert centres[np.argmax(db)] == 2000
