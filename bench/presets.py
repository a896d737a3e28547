"""Per-case figures of images made by real tools, decoded with and without presets.

``python bench/presets.py`` makes the images with fixtures/make_tool_images.py (sox
cases only where sox is installed) into a temporary folder, decodes each the careful
way (preset, detection, colour bar) and the naive way (no preset: the tool's STFT size
by hand, a named colormap, librosa's 80-dB guess; for plt.specgram figures the plot
area alone, since a figure's axes would now name the tool), and prints gain-matched spectral
convergence (SC, dB, lower is better), mel log-spectral distance (LSD, dB) and the
RMS level error of decodes that keep the level.  ``ceiling`` is the same audio encoded
by spec2img at the tool's framing and decoded: what a perfect reading could reach.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    warnings.simplefilter("ignore")
    import spec2img
    from spec2img.pipeline import audio_to_image

    tools = _load("tools", ROOT / "fixtures" / "make_tool_images.py")
    from conftest import gain_sc_db, mel_lsd, rms_db

    sr, dur = tools.SR, 2.0
    d = Path(tempfile.mkdtemp())
    y = tools.signal(dur)
    wav = tools.write_wav(d / "mix.wav", y)

    def score(path, ref=y, **plain):
        image = spec2img.load_image(path, plain=plain)
        z, _ = spec2img.decode(image)
        relative = image.meta.extra.get("level") == "relative"
        level = None if relative else rms_db(z) - rms_db(ref)
        return gain_sc_db(ref, z), mel_lsd(ref, z, sr), level

    def bare(path):
        """The plot area alone: a naive decode must not read the figure's axes (which
        would name the tool and its conventions, as the preset does)."""
        from spec2img.wild.raster import Raster, find_plot_area

        with Raster(path) as r:
            a = find_plot_area(r)
        out = path.with_name(path.stem + "_bare.png")
        box = (int(a.left) + 2, int(a.top) + 2, int(a.right) - 2, int(a.bottom) - 2)
        Image.open(path).convert("RGB").crop(box).save(out)
        return out

    def ceiling(ref, n_fft, hop, **kw):
        out = d / f"ceil_{n_fft}_{hop}.png"
        sf_path = d / "ceil.wav"
        tools.write_wav(sf_path, ref)
        audio_to_image(sf_path, out, n_fft=n_fft, hop_length=hop, **kw)
        return score(out, ref)

    rows = []
    base = dict(sr=sr, duration=dur)
    sg = tools.specgram_figure(d / "sg.png", y)
    house = tools.specgram_figure(d / "house.png", y, cmap=tools.custom_colormap())
    nobar = tools.specgram_figure(d / "nobar.png", y, colorbar=False)
    naive_sg = dict(base, n_fft=256, hop_length=128, cmap="viridis")
    ceil_sg = ceiling(y, 256, 128)
    rows.append(("specgram, colour bar", score(sg, preset="specgram", **base),
                 score(bare(sg), **naive_sg), ceil_sg))  # fmt: skip
    rows.append(("specgram, --cmap auto", score(sg, preset="specgram", cmap="auto", **base),
                 score(sg, preset="specgram", cmap="viridis", **base), ceil_sg))  # fmt: skip
    rows.append(("specgram, house cmap, auto",
                 score(house, preset="specgram", cmap="auto", **base),
                 score(house, preset="specgram", **base), ceil_sg))  # fmt: skip
    jpeg = d / "house.jpg"
    Image.open(house).convert("RGB").save(jpeg, quality=90)
    rows.append(("specgram, house cmap, JPEG q90, auto",
                 score(jpeg, preset="specgram", cmap="auto", **base),
                 score(jpeg, preset="specgram", **base), ceil_sg))  # fmt: skip
    rows.append(("specgram, no colour bar", score(nobar, preset="specgram", **base),
                 score(bare(nobar), **naive_sg), ceil_sg))  # fmt: skip
    if tools.sox_image(d / "probe.png", wav) is not None:
        ceil_sox = ceiling(y, 1024, 55)
        for name, flags in tools.SOX_VARIANTS.items():
            p = tools.sox_image(d / f"sox_{name}.png", wav, *flags)
            rgb = d / f"sox_{name}_rgb.png"
            Image.open(p).convert("RGB").save(rgb)
            naive = score(rgb, **base, n_fft=1024, hop_length=55, cmap="inferno", top_db=120)
            rows.append((f"sox {' '.join(flags) or 'default'}", score(p, **base), naive,
                         ceil_sox))  # fmt: skip
        rgb = d / "sox_default_rgb.png"
        rows.append(("sox default as RGB, --preset sox", score(rgb, preset="sox", **base),
                     rows[-5][2], ceil_sox))  # fmt: skip
    n = 256 * 512 - 1
    long = (0.5 * tools.signals.mixture(sr, n / sr)).astype(np.float32)
    ad = tools.audio_diffusion_image(d / "ad.png", long)
    rows.append(("audio-diffusion 256x256", score(ad, long, preset="audio-diffusion"),
                 score(ad, long, sr=22050, n_fft=2048, frames=256),
                 ceiling(long, 2048, 512, scale="mel", n_mels=256)))  # fmt: skip

    print("| case | preset SC / LSD / level | naive SC / LSD | ceiling SC / LSD |")
    print("| --- | --- | --- | --- |")
    for name, careful, naive, ceil in rows:
        level = "relative" if careful[2] is None else f"{careful[2]:+.1f} dB"
        print(f"| {name} | {careful[0]:.1f} / {careful[1]:.2f} / {level} | "
              f"{naive[0]:.1f} / {naive[1]:.2f} | {ceil[0]:.1f} / {ceil[1]:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
