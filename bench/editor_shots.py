"""Screenshots of the editor's "Done when" scenarios for docs/, driven in Chromium.

    python bench/editor_shots.py            # writes docs/editor-*.png (each < 200 KB)

0. 20 s of the corpus's stereo waltz: an erased rectangle, a selection and the
   playhead -> docs/editor.png (left as it is when the corpus is absent);
1. ``spec2img edit --new 5 -o tune.wav``: three notes painted with harmonics (C5, E5, G5)
   on the log frequency display -> docs/editor-paint.png;
2. the last note lassoed and dragged up an octave, then soloed -> docs/editor-move.png;
3. ``spec2img edit speech.wav`` (fixtures/speech_cough_hum.wav): the cough lassoed and
   healed, the 60-Hz hum wand-selected and erased -> docs/editor-speech.png.

The numbers are checked on the way (the notes sound where painted, the moved note an
octave up, the hum gone), so a screenshot never shows a scenario that did not work.
"""

from __future__ import annotations

import io
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


class Screen:
    """(seconds, Hz) -> page coordinates on channel 0 of a log frequency display."""

    def __init__(self, page, session):
        self.page, self.s = page, session
        hz = session.row_hz()
        self.lo = max(hz[1], 20.0)
        self.hi = hz[-1] + (hz[-1] - hz[-2]) / 2
        self.seconds = session.meta.n_samples / session.sample_rate

    @property
    def box(self):
        return self.page.locator("#spectrogram").bounding_box()

    def x(self, t):
        g = self.s.grid()
        frame = (t - g.frame_offset) / g.frame_seconds
        return self.box["x"] + self.box["width"] * (frame + 0.0) / g.frames

    def y(self, f, channels=1):
        b = self.box
        panel = (b["height"] - 6 * (channels - 1)) / channels
        frac = math.log(f / self.lo) / math.log(self.hi / self.lo)
        return b["y"] + panel * (1 - frac)


def ready(page):
    page.wait_for_timeout(50)
    page.wait_for_function("document.body.dataset.state === 'ready'", timeout=60_000)


def drag(page, points, steps=8):
    page.mouse.move(*points[0])
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*p, steps=steps)
    page.mouse.up()
    ready(page)


def save_small(page, path: Path) -> int:
    """The screenshot as a palette PNG (256 colours): small, and sharp on text."""
    from PIL import Image

    img = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    for colors in (256, 128, 64):  # fewer colours for a busy spectrogram, until it fits
        small = img.quantize(colors=colors, method=Image.Quantize.MEDIANCUT,
                             dither=Image.Dither.NONE)  # fmt: skip
        small.save(path, optimize=True)
        size = path.stat().st_size
        if size < 200_000:
            break
    assert size < 200_000, f"{path.name} is {size} bytes"
    return size


def band_peak(y, sr, t0, t1):
    seg = y[int(t0 * sr) : int(t1 * sr)].astype(np.float64)
    spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
    return np.fft.rfftfreq(seg.size, 1 / sr)[np.argmax(spec)]


def tune(browser, out: Path):
    from edit_helpers import Served

    from spec2img.edit.session import open_new

    s = open_new(5.0, sr=44100, channels=1, name="tune.wav")
    s.prepare()
    served = Served(s, output=Path(tempfile.mkdtemp()) / "tune.wav")
    page = browser.new_page(viewport={"width": 1280, "height": 680}, bypass_csp=True)
    page.goto(served.url)
    ready(page)
    page.select_option("#freq-scale", "log")
    page.click("[data-tool=paint]")
    page.fill("#paint-harmonics", "5")
    sc = Screen(page, s)
    notes = [(0.4, 1.4, 523.25), (1.8, 2.8, 659.26), (3.2, 4.2, 783.99)]
    for a, b, f in notes:
        drag(page, [(sc.x(a), sc.y(f)), (sc.x(b), sc.y(f))], steps=12)
    y, sr = s.render()
    for a, b, f in notes:
        assert abs(band_peak(y[0], sr, a + 0.2, b - 0.2) - f) < 3, f
    page.mouse.move(sc.x(2.3), sc.y(659.26))  # the readout names the note under the pointer
    print("paint:", save_small(page, out / "editor-paint.png"), "bytes;",
          page.text_content("#readout"))  # fmt: skip

    a, b, f = notes[2]
    page.click("[data-tool=lasso]")
    lo, hi = f * 0.85, f * 6.6  # the note and its overtones
    drag(page, [(sc.x(a - 0.1), sc.y(lo)), (sc.x(b + 0.1), sc.y(lo)), (sc.x(b + 0.1), sc.y(hi)),
                (sc.x(a - 0.1), sc.y(hi)), (sc.x(a - 0.1), sc.y(lo * 1.02))])  # fmt: skip
    mid = (a + b) / 2
    drag(page, [(sc.x(mid), sc.y(f)), (sc.x(mid), sc.y(2 * f))], steps=16)
    y, sr = s.render()
    got = band_peak(y[0], sr, a + 0.2, b - 0.2)
    assert abs(got - 2 * f) < 6, got
    assert s.state()["history"][-1] == "move x2", s.state()["history"]
    page.click("[data-action=solo]")
    page.wait_for_timeout(600)
    page.mouse.move(sc.x(mid), sc.y(2 * f))
    print("move:", save_small(page, out / "editor-move.png"), "bytes; moved note at", got, "Hz")
    page.click("[data-action=save]")
    ready(page)
    page.close()
    served.close()


def speech(browser, out: Path):
    import soundfile as sf
    from edit_helpers import Served, session_for

    from fixtures.make_fixtures import COUGH, HUM_HZ, SR, speech_cough_hum

    folder = Path(tempfile.mkdtemp())
    sf.write(folder / "speech.wav", speech_cough_hum(), SR, subtype="PCM_16")
    s = session_for(folder / "speech.wav")
    served = Served(s)
    page = browser.new_page(viewport={"width": 1280, "height": 680}, bypass_csp=True)
    page.goto(served.url)
    ready(page)
    page.select_option("#freq-scale", "log")
    sc = Screen(page, s)
    page.click("[data-tool=lasso]")
    a, b = COUGH
    lo, hi = 100, 12000  # above the top: the lasso takes the highest rows too
    # around the smear the eye sees: a frame hears 46 ms either side of its centre
    drag(page, [(sc.x(a - 0.06), sc.y(lo)), (sc.x(b + 0.06), sc.y(lo * 1.3)),
                (sc.x(b + 0.1), sc.y(hi)), (sc.x(a - 0.07), sc.y(hi)),
                (sc.x(a - 0.07), sc.y(lo * 1.1))])  # fmt: skip
    page.click("[data-action=heal]")
    ready(page)
    # no ghost: the healed gap is as quiet as the pause after it, not the word before it
    hz, g = s.row_hz(), s.grid()
    band = (hz >= 300) & (hz <= 3000)

    def level(t0, t1):
        f0, f1 = (int((t - g.frame_offset) / g.frame_seconds) for t in (t0, t1))
        px = s.px[0][band, f0:f1].astype(float)
        return float(np.mean(np.where(px > 0, px * s.db_step + s.meta.db_min, s.meta.db_min)))

    gap, pause = level(a, b), level(1.84, 1.9)
    assert gap < pause + 6, (gap, pause)
    print(f"speech: healed gap {gap:.1f} dB, the pause after it {pause:.1f} dB (300-3000 Hz)")
    page.click("[data-tool=wand]")
    page.fill("#wand-tol", "20")
    page.mouse.click(sc.x(1.85), sc.y(HUM_HZ))
    ready(page)
    before = s.px.copy()
    page.click("[data-action=erase]")
    ready(page)
    assert s.state()["history"] == ["heal", "erase"], s.state()["history"]
    rows = np.argwhere(before[0] != s.px[0])[:, 0]
    hz = s.row_hz()[rows]
    assert rows.size and hz.max() < 150, hz.max()  # the hum line, not the voice (170 Hz up)
    y, sr = s.render()
    tail = y[0, int(1.8 * sr) : int(1.95 * sr)]  # between the cough and the voice
    hum = 0.02 / np.sqrt(2)
    left = np.sqrt(np.mean(tail**2))
    assert left < hum / 10, left  # the hum 20 dB down or more
    print(f"speech: hum {20 * np.log10(left / hum):.1f} dB after the erase")
    page.mouse.move(sc.x(1.2), sc.y(400))
    print("speech:", save_small(page, out / "editor-speech.png"), "bytes")
    page.close()
    served.close()


def waltz(browser, out: Path):
    """The first picture of docs/editor.md: 20 s of a stereo waltz from the corpus, an
    erased rectangle, a selection and the playhead."""
    import os

    import soundfile as sf
    from edit_helpers import Served, session_for

    import spec2img

    corpus = Path(os.environ.get("SPEC2IMG_CORPUS", "")) if os.environ.get(
        "SPEC2IMG_CORPUS") else next((p / "shared" / "corpus" for p in ROOT.parents
                                      if (p / "shared" / "corpus").is_dir()), None)  # fmt: skip
    src = corpus / "147793__setuniman__sweet-waltz-0i-22mi.ogg" if corpus else None
    if src is None or not src.exists():
        print("waltz: the corpus is not here; docs/editor.png is left as it is")
        return
    y, sr = spec2img.load_audio(src)
    folder = Path(tempfile.mkdtemp())
    sf.write(folder / "waltz.wav", np.asarray(y)[:, : 20 * sr].T, sr, subtype="PCM_16")
    s = session_for(folder / "waltz.wav")
    served = Served(s)
    page = browser.new_page(viewport={"width": 1280, "height": 640}, bypass_csp=True)
    page.goto(served.url)
    ready(page)
    page.select_option("#freq-scale", "log")
    sc = Screen(page, s)
    page.click("[data-tool=erase]")
    drag(page, [(sc.x(8.3), sc.y(12000, 2)), (sc.x(9.6), sc.y(5500, 2))])
    assert s.state()["history"] == ["erase"], s.state()["history"]
    page.click("[data-tool=select]")
    drag(page, [(sc.x(12.5), sc.y(3000, 2)), (sc.x(15.0), sc.y(45, 2))])
    page.mouse.click(sc.x(6.0), sc.y(12000, 2) + 4)  # a click places the playhead
    page.wait_for_timeout(200)
    page.mouse.move(sc.x(13.5), sc.y(440, 2))
    print("waltz:", save_small(page, out / "editor.png"), "bytes")
    page.close()
    served.close()


def main() -> int:
    from playwright.sync_api import sync_playwright

    out = ROOT / "docs"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            waltz(browser, out)
            tune(browser, out)
            speech(browser, out)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
