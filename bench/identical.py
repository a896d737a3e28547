"""Byte-identical outputs before and after a change that must not change behaviour.

``python bench/identical.py --base REV`` checks out ``REV`` (default ``HEAD``) into a
temporary git worktree, then runs the same commands with that tree's ``spec2img`` and
with the work tree's (the same interpreter, each tree first on ``PYTHONPATH``) and
compares every output file:

- ``encode`` of every fixture recording (mono, stereo, mel, ``--keep-phase``,
  ``--size``) and of a corpus clip (``--corpus DIR``, default ``../shared/corpus``;
  skipped when absent);
- ``decode`` of spec2img images, of images an editor touched (metadata dropped and
  given back with ``--params-from``; only the ``Comment`` copy left; drawn on with
  ImageMagick when it is installed), of plots (``plt.specgram``), sox PNGs,
  audio-diffusion and Riffusion images;
- ``info`` (text and ``--json``) and ``show`` of the same images;
- the batch forms (``encode DIR -o OUT``, ``decode DIR -o OUT`` with a manifest);
- the Python API (``load``, ``load_image``, ``decode``) as arrays;
- the editor's PNG downloads, whose pixels and ``spec2img:`` text chunks must match
  (the ``Comment`` copy may be added: the editor lacked it).

The inputs (tool images, edited images, the images decode reads) are made once, by
the base tree, so both sides read the same bytes.  Files must match byte for byte
(both sides run with the same zlib); where they do not, the report says whether
pixels, samples or metadata differ.  Exit status 1 on any difference.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
CLIP = "sorohanro_-_solo-trumpet-06.ogg"
SR = 22050
#: Outputs whose ``Comment`` chunk may differ (the editor's writer lacked it).
COMMENT_MAY_DIFFER = ("editor/",)
#: Outputs that differ from those before issue 19 on purpose, and why (shown apart).
DELIBERATE = {
    "log/info-*-from.txt": "info --params-from describes the image as decode reads it "
    "(one identify): a spec2img image, or one whose size does not fit params_from, is "
    "read as a plain image with those parameters; info used to print the image's own "
    "metadata or a size error instead",
}


# --------------------------------------------------------------------- both sides


def _cli(out: Path, name: str, argv: list[str]) -> None:
    """Run the CLI in this process; keep its exit status, stdout and stderr."""
    from spec2img.cli.main import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
    log = out / "log"
    log.mkdir(exist_ok=True)
    text = f"exit {code}\n--- stdout\n{stdout.getvalue()}--- stderr\n{stderr.getvalue()}"
    (log / f"{name}.txt").write_text(text.replace(str(out), "OUT"))


def prepare(inp: Path, corpus: Path) -> None:
    """The inputs both sides read, made with this side's spec2img (the base's)."""
    import importlib.util

    import numpy as np
    import soundfile as sf
    from PIL import Image, PngImagePlugin

    def module(name):
        spec = importlib.util.spec_from_file_location(name, ROOT / "fixtures" / f"{name}.py")
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        return m

    tools = module("make_tool_images")
    fixtures = module("make_fixtures")
    inp.mkdir(parents=True)
    wavs = inp / "wav"
    wavs.mkdir()
    for name in ("tone", "chirp", "stereo", "mixture", "silence", "noise_bursts"):
        shutil.copy(ROOT / "fixtures" / f"{name}.wav", wavs / f"{name}.wav")
    clip = corpus / CLIP
    if clip.exists():
        y, sr = sf.read(clip, frames=int(4 * 44100), dtype="float32", always_2d=True)
        sf.write(inp / "clip.wav", y, sr, subtype="PCM_16")
        shutil.copy(clip, inp / CLIP)
    y = tools.signal()
    wav = tools.write_wav(inp / "tools_mixture.wav", y)
    tools.specgram_figure(inp / "specgram.png", y)
    tools.specgram_figure(inp / "specgram_nobar.png", y, colorbar=False)
    for flags, name in (((), "sox_default"), (("-r",), "sox_r")):
        tools.sox_image(inp / f"{name}.png", wav, *flags)
    long = (0.5 * fixtures.mixture(SR, 131071 / SR)).astype(np.float32)
    tools.audio_diffusion_image(inp / "audio_diffusion.png", long)
    riff = (0.5 * fixtures.mixture(44100, 2.0)).astype(np.float32)
    fixtures.riffusion_image(inp / "riffusion.png", riff, sr=44100)

    images = inp / "img"  # what decode reads: encoded by the base
    images.mkdir()
    out = inp / "made"
    out.mkdir()
    _cli(out, "tone", ["encode", str(wavs / "tone.wav"), str(images / "tone.png"), "-q"])
    _cli(out, "stereo", ["encode", str(wavs / "stereo.wav"), str(images / "stereo.png"), "-q"])
    _cli(out, "chirp", ["encode", str(wavs / "chirp.wav"), str(images / "chirp_mel.png"), "-q",
                        "--scale", "mel"])  # fmt: skip
    _cli(out, "mixture", ["encode", str(wavs / "mixture.wav"), str(images / "mixture_kept.png"),
                          "-q", "--keep-phase"])  # fmt: skip
    _cli(out, "sized", ["encode", str(wavs / "chirp.wav"), str(images / "chirp_sized.png"), "-q",
                        "--size", "160x128"])  # fmt: skip
    if (inp / "clip.wav").exists():
        _cli(out, "clip", ["encode", str(inp / "clip.wav"), str(images / "clip.png"), "-q"])
    shutil.copy(ROOT / "fixtures" / "chirp_golden.png", images / "chirp_golden.png")

    edited = inp / "edited"  # an editor's copies of tone.png
    edited.mkdir()
    with Image.open(images / "tone.png") as im:
        im.load()
        comment = im.text["Comment"]
        im.save(edited / "tone_pillow.png")  # Pillow keeps no text chunks
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", comment)
        im.save(edited / "tone_comment.png", pnginfo=info)  # what GIMP keeps
    magick = shutil.which("convert")
    if magick:
        subprocess.run([magick, str(images / "tone.png"), "-fill", "black", "-draw",
                        "rectangle 10,10 20,40", str(edited / "tone_magick.png")],
                       check=True)  # fmt: skip


def run(inp: Path, out: Path, corpus: Path) -> None:
    """Every output this side makes from ``inp``, under ``out``."""
    import numpy as np

    import spec2img

    out.mkdir(parents=True)
    images, wavs, edited = inp / "img", inp / "wav", inp / "edited"
    q = ["-q"]
    # encode
    enc = out / "encode"
    enc.mkdir()
    for wav in sorted(wavs.glob("*.wav")):
        _cli(out, f"encode-{wav.stem}", ["encode", str(wav), str(enc / f"{wav.stem}.png"), *q])
    _cli(out, "encode-mel", ["encode", str(wavs / "chirp.wav"), str(enc / "chirp_mel.png"), *q,
                             "--scale", "mel", "--n-mels", "64"])  # fmt: skip
    _cli(out, "encode-kept", ["encode", str(wavs / "stereo.wav"), str(enc / "stereo_kept.png"),
                              *q, "--keep-phase"])  # fmt: skip
    _cli(out, "encode-size", ["encode", str(wavs / "mixture.wav"), str(enc / "mixture_sz.png"),
                              *q, "--size", "128x96", "--db-range", "-100", "0"])  # fmt: skip
    if (inp / CLIP).exists():
        _cli(out, "encode-clip", ["encode", str(inp / CLIP), str(enc / "clip.png"), *q])
    # decode
    dec = out / "decode"
    dec.mkdir()
    n = ["--n-iter", "12"]
    for png in sorted(images.glob("*.png")):
        if png.name.endswith(".phase.png"):
            continue
        _cli(out, f"decode-{png.stem}", ["decode", str(png), str(dec / f"{png.stem}.wav"), *q, *n])
    _cli(out, "decode-nophase", ["decode", str(images / "mixture_kept.png"),
                                 str(dec / "mixture_nophase.wav"), *q, *n, "--no-phase"])  # fmt: skip
    _cli(
        out, "decode-default", ["decode", str(images / "tone.png"), str(dec / "tone_dflt.wav"), *q]
    )
    for method in ("fgla", "pghi", "gla", "pghi+agla"):
        _cli(out, f"decode-{method}", ["decode", str(images / "stereo.png"),
                                       str(dec / f"stereo_{method}.wav"), *q, *n,
                                       "--method", method])  # fmt: skip
    plain = {
        "specgram": ["--preset", "specgram", "--sr", str(SR), "--duration", "2"],
        "specgram_nobar": ["--preset", "specgram", "--sr", str(SR), "--duration", "2"],
        "sox_default": ["--sr", str(SR), "--duration", "2"],
        "sox_r": ["--sr", str(SR), "--duration", "2"],
        "audio_diffusion": ["--preset", "audio-diffusion"],
        "riffusion": [],
    }
    for name, opts in plain.items():
        if (inp / f"{name}.png").exists():
            _cli(out, f"decode-{name}", ["decode", str(inp / f"{name}.png"),
                                         str(dec / f"{name}.wav"), *q, *n, *opts])  # fmt: skip
    _cli(out, "decode-specgram-hand", ["decode", str(inp / "specgram_nobar.png"),
                                       str(dec / "specgram_hand.wav"), *q, *n, "--sr", str(SR),
                                       "--n-fft", "256", "--hop-length", "128", "--duration",
                                       "2", "--cmap", "viridis"])  # fmt: skip
    for png in sorted(edited.glob("*.png")):
        _cli(out, f"decode-{png.stem}", ["decode", str(png), str(dec / f"{png.stem}.wav"), *q, *n])
        _cli(out, f"decode-{png.stem}-from", [
            "decode", str(png), str(dec / f"{png.stem}_from.wav"), *q, *n,
            "--params-from", str(images / "tone.png"),
        ])  # fmt: skip
    # info and show
    shown = out / "show"
    shown.mkdir()
    every = [*sorted(images.glob("*.png")), *sorted(edited.glob("*.png"))]
    every += [inp / f"{k}.png" for k in plain if (inp / f"{k}.png").exists()]
    for png in every:
        opts = plain.get(png.stem, [])
        _cli(out, f"info-{png.stem}", ["info", str(png), *opts])
        _cli(out, f"info-{png.stem}-json", ["info", str(png), "--json", *opts])
        _cli(out, f"info-{png.stem}-from", ["info", str(png), "--params-from",
                                            str(images / "tone.png")])  # fmt: skip
    for png in (images / "tone.png", images / "stereo.png", edited / "tone_comment.png",
                inp / "specgram.png", inp / "riffusion.png"):  # fmt: skip
        _cli(out, f"show-{png.stem}", ["show", str(png), "-o", str(shown / f"{png.stem}.png"), *q,
                                       *plain.get(png.stem, [])])  # fmt: skip
    _cli(out, "show-wav", ["show", str(wavs / "chirp.wav"), "-o", str(shown / "chirp_wav.png"), *q])
    # batch
    _cli(out, "batch-encode", ["encode", str(wavs), "-o", str(out / "batch_encode"), *q,
                               "--manifest", str(out / "batch_encode.csv")])  # fmt: skip
    _cli(out, "batch-decode", ["decode", str(images), "-o", str(out / "batch_decode"), *q, *n,
                               "--manifest", str(out / "batch_decode.csv")])  # fmt: skip
    _cli(out, "batch-segments", ["encode", str(wavs / "stereo.wav"), "-o",
                                 str(out / "batch_segments"), *q, "--segment", "0.4"])  # fmt: skip
    # the Python API
    api = out / "api"
    api.mkdir()
    arrays = {}
    for png in (images / "tone.png", images / "mixture_kept.png", images / "chirp_sized.png"):
        im = spec2img.load(png)
        arrays[f"load-{png.stem}"] = im.pixels
        arrays[f"load-{png.stem}-meta"] = np.array(json.dumps(im.meta.to_dict()))
        y, _ = spec2img.decode(im, n_iter=8)
        arrays[f"decode-{png.stem}"] = y
    for png, kw in ((inp / "riffusion.png", {}), (edited / "tone_pillow.png",
                    {"params_from": str(images / "tone.png")})):  # fmt: skip
        im = spec2img.load_image(png, plain=kw or None)
        arrays[f"load_image-{png.stem}"] = im.pixels
        arrays[f"load_image-{png.stem}-meta"] = np.array(json.dumps(im.meta.to_dict()))
    np.savez(api / "arrays.npz", **arrays)
    # the editor's downloads
    from spec2img.edit.session import open_input

    ed = out / "editor"
    ed.mkdir()
    session = open_input(images / "stereo.png")
    session.prepare()
    for part in ("spectrogram", "phase"):
        data, name = session.image_bytes(part)
        (ed / f"{part}.png").write_bytes(data)


# --------------------------------------------------------------------- comparing


def _png_parts(path: Path):
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        return np.asarray(im), dict(im.text)


def _manifest(path: Path) -> list[dict]:
    import csv

    root = str(path.parent)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row.pop("seconds", None)
        for k, v in row.items():
            row[k] = v.replace(root, "OUT")
    return rows


def _differs(rel: str, a: Path, b: Path) -> str | None:
    """None when ``a`` and ``b`` match (byte for byte, or as allowed), else why not."""
    if a.read_bytes() == b.read_bytes():
        return None
    if a.suffix == ".csv":  # a manifest: its own path and its timings aside
        ta, tb = _manifest(a), _manifest(b)
        return None if ta == tb else "manifest rows differ"
    if a.suffix == ".png":
        pa, ta = _png_parts(a)
        pb, tb = _png_parts(b)
        same_px = pa.shape == pb.shape and (pa == pb).all()
        if rel.startswith(COMMENT_MAY_DIFFER):
            ta = {k: v for k, v in ta.items() if k != "Comment"}
            tb = {k: v for k, v in tb.items() if k != "Comment"}
            if same_px and ta == tb:
                return None
        if same_px and ta == tb:
            return "PNG bytes differ, pixels and text identical"
        keys = sorted(k for k in set(ta) | set(tb) if ta.get(k) != tb.get(k))
        return f"pixels {'identical' if same_px else 'DIFFER'}; text differs in {keys}"
    if a.suffix == ".wav":
        import numpy as np
        import soundfile as sf

        ya, ra = sf.read(a, dtype="int32")
        yb, rb = sf.read(b, dtype="int32")
        if ra != rb or ya.shape != yb.shape:
            return f"audio {ya.shape}@{ra} vs {yb.shape}@{rb}"
        return f"samples differ (max {int(np.max(np.abs(ya - yb)))} LSB)"
    if a.suffix == ".npz":
        import numpy as np

        za, zb = np.load(a), np.load(b)
        bad = [k for k in za.files if k not in zb.files or not np.array_equal(za[k], zb[k])]
        return f"arrays differ: {bad}" if bad else None
    return "bytes differ"


def compare(base: Path, new: Path) -> list[str]:
    problems = []
    files_a = {p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()}
    files_b = {p.relative_to(new).as_posix() for p in new.rglob("*") if p.is_file()}
    for rel in sorted(files_a - files_b):
        problems.append(f"{rel}: missing from the work tree's outputs")
    for rel in sorted(files_b - files_a):
        problems.append(f"{rel}: new in the work tree's outputs")
    for rel in sorted(files_a & files_b):
        why = _differs(rel, base / rel, new / rel)
        if why:
            problems.append(f"{rel}: {why}")
    return problems, len(files_a & files_b)


def _deliberate(problem: str) -> str | None:
    import fnmatch

    rel = problem.split(":")[0]
    return next((k for k in DELIBERATE if fnmatch.fnmatch(rel, k)), None)


def _side(tree: Path, mode: str, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree), "MPLBACKEND": "Agg"}
    env.pop("SPEC2IMG_WORKERS", None)
    subprocess.run([sys.executable, str(Path(__file__).resolve()), mode, str(tree), *args],
                   check=True, env=env, cwd=tree)  # fmt: skip


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] in ("--prepare", "--run"):
        mode, tree, *rest = argv
        import spec2img

        if not Path(spec2img.__file__).resolve().is_relative_to(Path(tree).resolve()):
            sys.exit(f"spec2img comes from {spec2img.__file__}, not {tree}")
        if mode == "--prepare":
            prepare(Path(rest[0]), Path(rest[1]))
        else:
            run(Path(rest[0]), Path(rest[1]), Path(rest[2]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="HEAD", help="git revision to compare with (HEAD)")
    ap.add_argument("--corpus", type=Path, default=CORPUS, help=f"recordings ({CORPUS})")
    ap.add_argument("--keep", type=Path, help="keep the outputs in this folder")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="identical-"))
    base_tree = tmp / "base"
    try:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q",
                        str(base_tree), args.base], check=True)  # fmt: skip
        t0 = time.perf_counter()
        _side(base_tree, "--prepare", str(tmp / "in"), str(args.corpus))
        _side(base_tree, "--run", str(tmp / "in"), str(tmp / "base_out"), str(args.corpus))
        t1 = time.perf_counter()
        _side(ROOT, "--run", str(tmp / "in"), str(tmp / "new_out"), str(args.corpus))
        t2 = time.perf_counter()
        problems, n = compare(tmp / "base_out", tmp / "new_out")
        deliberate = [p for p in problems if _deliberate(p)]
        problems = [p for p in problems if not _deliberate(p)]
        clip = "with" if (tmp / "in" / CLIP).exists() else "WITHOUT (absent)"
        print(f"{n} outputs compared, {clip} the corpus clip; base {args.base} "
              f"{t1 - t0:.0f} s, work tree {t2 - t1:.0f} s")  # fmt: skip
        for p in problems:
            print("  " + p)
        if deliberate:
            print(f"{len(deliberate)} deliberate differences:")
            for pattern, why in DELIBERATE.items():
                hits = [p.split(":")[0] for p in deliberate if _deliberate(p) == pattern]
                if hits:
                    print(f"  {pattern} ({len(hits)}): {why}")
        print("identical" if not problems else f"{len(problems)} differences")
        if args.keep:
            shutil.copytree(
                tmp, args.keep, dirs_exist_ok=True, ignore=shutil.ignore_patterns("base")
            )
        return 1 if problems else 0
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)],
                       check=False)  # fmt: skip
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
