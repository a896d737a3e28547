"""Images edited in real editors decode with no options and sound like the edit.

Each edit erases (paints black, or makes transparent) one box of a spec2img image of
the mixture fixture; the decode must keep the original length, be at least 40 dB
quieter inside the box than the unedited decode, and match the unedited decode
elsewhere (gain-matched spectral convergence <= -25 dB).  ImageMagick and GIMP run for
real where installed (GIMP, slow to start, is marked slow); Pillow always.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
import soundfile as sf
from conftest import ROOT, SR, run, signals

import spec2img
from spec2img.cli.main import main
from spec2img.dsp.stft import Stft
from spec2img.io import comment, pngdata
from spec2img.io.png import read_header

sys.path.insert(0, str(ROOT / "fuzz"))
import pngbytes  # noqa: E402

#: The erased box in pixels: left, top, width, height (rows 850..999 of 1025 hold the
#: mixture's strongest partials, bins 25..174, frames 20..39).
BOX = (20, 850, 20, 150)
MIN_DROP_DB = 40.0
MAX_REST_SC_DB = -25.0


def _tool(*names, says: str):
    """The first of ``names`` on PATH whose ``-version`` output names ``says`` (some
    machines have a ``convert`` that is not ImageMagick's)."""
    for name in names:
        path = shutil.which(name)
        if path:
            try:
                out = subprocess.run([path, "-version"], capture_output=True, text=True,
                                     timeout=20).stdout  # fmt: skip
            except (OSError, subprocess.SubprocessError):
                continue
            if says in out:
                return path
    return None


MAGICK = _tool("magick", "convert", says="ImageMagick")
GIMP = _tool("gimp", "gimp-2.10", says="Image Manipulation Program")
needs_magick = pytest.mark.skipif(MAGICK is None, reason="ImageMagick (convert) is not installed")
needs_gimp = pytest.mark.skipif(GIMP is None, reason="GIMP is not installed")


def decode(src, dst, *extra) -> np.ndarray:
    assert main(["decode", str(src), str(dst), "-q", "-y", *map(str, extra)]) == 0
    return sf.read(dst, dtype="float32")[0]


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """(folder, original PNG, its unedited decode)."""
    folder = tmp_path_factory.mktemp("editors")
    wav = folder / "mixture.wav"
    sf.write(wav, np.atleast_2d(signals.mixture()).T, SR, subtype="FLOAT")
    png = folder / "original.png"
    assert main(["encode", str(wav), str(png), "-q"]) == 0
    return folder, png, decode(png, folder / "unedited.wav")


def check_erased(reference: np.ndarray, edited: np.ndarray) -> tuple[float, float]:
    """(drop inside the box in dB, gain-matched SC elsewhere in dB), asserted."""
    assert edited.shape == reference.shape
    engine = Stft(2048, 512)
    A = np.abs(engine.forward(reference)).astype(np.float64)
    B = np.abs(engine.forward(edited)).astype(np.float64)
    n_bins = A.shape[0]
    x0, y0, w, h = BOX
    lo, hi = n_bins - (y0 + h), n_bins - y0  # image row r is bin n_bins - 1 - r
    inside = (slice(lo + 6, hi - 6), slice(x0 + 2, x0 + w - 2))  # away from leakage
    rest = np.ones(A.shape, bool)
    rest[max(0, lo - 12) : hi + 12, max(0, x0 - 3) : x0 + w + 3] = False
    drop = 10 * np.log10(np.sum(A[inside] ** 2) / max(np.sum(B[inside] ** 2), 1e-300))
    a, b = A[rest], B[rest]
    gain = np.sum(a * b) / np.sum(b * b)
    sc = 20 * np.log10(np.linalg.norm(a - gain * b) / np.linalg.norm(a))
    assert drop >= MIN_DROP_DB, drop
    assert sc <= MAX_REST_SC_DB, sc
    return drop, sc


def colour_type(path) -> tuple[int, int]:
    data = path.read_bytes()
    return data[24], data[25]  # IHDR bit depth, colour type


MAGICK_EDITS = {
    # ImageMagick writes 16-bit gray+alpha after -draw, 16-bit RGB with -type TrueColor
    "draw-black": ([], ["-fill", "black", "-draw", "rectangle {x0},{y0} {x1},{y1}"], (16, 4)),
    "truecolor": (["-colorspace", "sRGB", "-type", "TrueColor"],
                  ["-fill", "black", "-draw", "rectangle {x0},{y0} {x1},{y1}"], (16, 2)),
    "transparent": (["-alpha", "set", "-region", "{w}x{h}+{x0}+{y0}", "-alpha", "transparent",
                     "+region"], [], (16, 4)),
    "eight-bit": (["-depth", "8"], ["-fill", "black", "-draw", "rectangle {x0},{y0} {x1},{y1}"],
                  (8, 0)),
}  # fmt: skip


@needs_magick
@pytest.mark.parametrize("edit", sorted(MAGICK_EDITS))
def test_imagemagick_edits_decode_with_no_options(original, edit):
    folder, png, reference = original
    x0, y0, w, h = BOX
    before, after, want_type = MAGICK_EDITS[edit]
    names = dict(x0=x0, y0=y0, x1=x0 + w - 1, y1=y0 + h - 1, w=w, h=h)
    out = folder / f"magick-{edit}.png"
    argv = [MAGICK, str(png), *[a.format(**names) for a in before + after], str(out)]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    assert colour_type(out) == want_type  # the mode this edit is about
    assert read_header(out).source == "text chunks"  # ImageMagick keeps them
    check_erased(reference, decode(out, folder / f"magick-{edit}.wav"))


def _text_keywords(path) -> dict[str, str]:
    from PIL import Image

    with Image.open(path) as im:
        return dict(im.text)


@needs_magick
def test_an_editor_download_edited_in_imagemagick_decodes_with_no_options(original):
    """The editor's PNG download carries the chunks encode writes (the Comment copy
    too), so it survives ImageMagick and then an editor that keeps only the Comment."""
    from PIL import Image, PngImagePlugin

    from spec2img.edit.session import open_input

    folder, png, reference = original
    session = open_input(png)
    session.prepare()
    data, name = session.image_bytes("spectrogram")
    download = folder / name
    download.write_bytes(data)
    saved = folder / "saved.png"
    session.edited_image().save(saved)  # what encode and the editor's Save write
    theirs, ours = _text_keywords(saved), _text_keywords(download)
    assert set(ours) == set(theirs) and "Comment" in ours

    def metadata(text):  # the same metadata but for the phase image each names
        text = {**text, "Comment": comment.unpack(text["Comment"])}
        text["Comment"].pop("phase_file")
        return {k: v for k, v in text.items() if k != "spec2img:phase_file"}

    assert metadata(ours) == metadata(theirs)
    phase_data, phase_name = session.image_bytes("phase")
    (folder / phase_name).write_bytes(phase_data)
    assert _text_keywords(folder / phase_name).keys() == ours.keys() - {"spec2img:phase_file"} | {
        "spec2img:kind"
    }

    x0, y0, w, h = BOX
    out = folder / "download-magick.png"
    subprocess.run([MAGICK, str(download), "-fill", "black", "-draw",
                    f"rectangle {x0},{y0} {x0 + w - 1},{y0 + h - 1}", str(out)],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    check_erased(reference, decode(out, folder / "download-magick.wav", "--no-phase"))
    # then an editor that drops unknown chunks and keeps the Comment (GIMP does)
    gimped = folder / "download-magick-comment.png"
    with Image.open(out) as im:
        im.load()
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", im.text["Comment"])
        im.save(gimped, pnginfo=info)
    assert read_header(gimped).source == "Comment"
    check_erased(reference, decode(gimped, folder / "download-comment.wav", "--no-phase"))


def _gimp(script: str, cwd) -> None:
    env = {"HOME": str(cwd), "PATH": "/usr/bin:/bin"}
    argv = [GIMP, "-i", "-d", "-f", "-b", script, "-b", "(gimp-quit 0)"]
    subprocess.run(argv, check=True, capture_output=True, cwd=cwd, env=env, timeout=300)


GIMP_EDITS = {
    "fill-black": "(gimp-drawable-edit-fill drawable FILL-FOREGROUND)",
    "erase": "(gimp-layer-add-alpha drawable) (gimp-drawable-edit-clear drawable)",
}


@pytest.mark.slow
@needs_gimp
@pytest.mark.parametrize("edit", sorted(GIMP_EDITS))
def test_gimp_batch_edits_decode_with_no_options(original, edit, capsys):
    folder, png, reference = original
    x0, y0, w, h = BOX
    out = folder / f"gimp-{edit}.png"
    script = (
        f'(let* ((image (car (gimp-file-load RUN-NONINTERACTIVE "{png}" "{png}"))) '
        "(drawable (car (gimp-image-get-active-drawable image)))) "
        f"(gimp-image-select-rectangle image CHANNEL-OP-REPLACE {x0} {y0} {w} {h}) "
        "(gimp-context-set-foreground (quote (0 0 0))) "
        f"{GIMP_EDITS[edit]} (gimp-selection-none image) "
        f'(file-png-save-defaults RUN-NONINTERACTIVE image drawable "{out}" "{out}") '
        "(gimp-image-delete image))"
    )
    _gimp(script, folder)
    header = read_header(out)
    assert header.bit_depth == 16
    assert header.source == "Comment"  # GIMP drops the spec2img:* chunks, keeps Comment
    code, text, _ = run(capsys, "info", out)
    assert code == 0 and "found in" in text and "Comment" in text
    check_erased(reference, decode(out, folder / f"gimp-{edit}.wav"))


def _pillow_edit(png, out, mode: str) -> None:
    from PIL import Image, ImageDraw

    x0, y0, w, h = BOX
    with Image.open(png) as im:
        im.load()
        if mode == "I;16":
            ImageDraw.Draw(im).rectangle([x0, y0, x0 + w - 1, y0 + h - 1], fill=0)
        elif mode == "RGB":  # 8-bit: Pillow has no 16-bit colour
            im = Image.fromarray((np.array(im) >> 8).astype(np.uint8)).convert("RGB")
            ImageDraw.Draw(im).rectangle([x0, y0, x0 + w - 1, y0 + h - 1], fill=(0, 0, 0))
        else:  # LA: erase to transparent
            im = Image.fromarray((np.array(im) >> 8).astype(np.uint8)).convert("LA")
            a = np.array(im)
            a[y0 : y0 + h, x0 : x0 + w, 1] = 0
            a[y0 : y0 + h, x0 : x0 + w, 0] = 200  # colour under a transparent pixel is moot
            im = Image.fromarray(a, "LA")
        im.save(out)  # Pillow writes no text chunks


@pytest.mark.parametrize("mode", ["I;16", "RGB", "LA"])
def test_pillow_edits_decode_with_params_from_the_original(original, mode, capsys):
    folder, png, reference = original
    out = folder / f"pillow-{mode.replace(';', '')}.png"
    _pillow_edit(png, out, mode)
    assert read_header(out).text == {}
    wav = folder / f"pillow-{mode.replace(';', '')}.wav"
    code, _, err = run(capsys, "decode", out, wav, "-q")
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "--params-from ORIGINAL.png" in lines[0]
    assert not wav.exists()
    check_erased(reference, decode(out, wav, "--params-from", png))
    code, text, _ = run(capsys, "info", out, "--params-from", png)
    assert code == 0 and f"--params-from {png}" in text


# --- what the header reader takes from where ---------------------------------------


@pytest.fixture(scope="module")
def image():
    y = np.random.default_rng(1).standard_normal(2000).astype(np.float32) * 0.1
    return spec2img.encode(y, 8000, n_fft=64)


def build_png(image, *, text=None, extra=(), rows=None, ihdr=None) -> bytes:
    h, w = image.pixels.shape
    width, height, depth, color, interlace = ihdr or (w, h, 16, 0, 0)
    if rows is None:
        rows = b"".join(b"\0" + r.astype(">u2").tobytes() for r in image.pixels)
    chunks = [[b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace),
               b""]]  # fmt: skip
    chunks += [pngbytes.text_chunk("spec2img:" + k, v) for k, v in (text or {}).items()]
    chunks += [list(c) for c in extra]
    chunks += [[b"IDAT", zlib.compress(rows), b""], [b"IEND", b"", b""]]
    return pngbytes.join(chunks)


def test_written_pngs_carry_the_compact_form_in_their_comment(tmp_path, image):
    path = tmp_path / "a.png"
    image.save(path)
    from PIL import Image

    with Image.open(path) as im:
        form = im.text["Comment"]
    assert form.startswith("spec2img/1 {")
    assert comment.unpack(form) == image.meta.to_text()
    header = read_header(path)
    assert header.source == "text chunks" and header.text == image.meta.to_text()


@pytest.mark.parametrize("kind", ["tEXt", "zTXt", "iTXt"])
def test_the_comment_alone_gives_the_same_metadata(tmp_path, image, kind):
    form = comment.pack(image.meta.to_text())
    path = tmp_path / "c.png"
    path.write_bytes(build_png(image, extra=[pngbytes.text_chunk("Comment", form, kind)]))
    back = spec2img.load(path)
    assert back.meta == image.meta and np.array_equal(back.pixels, image.pixels)
    assert read_header(path).source == "Comment"


def _exif(description: str) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010E] = description
    return exif.tobytes()


def test_exif_alone_gives_the_same_metadata_also_as_a_raw_profile(tmp_path, image):
    form = comment.pack(image.meta.to_text())
    data = _exif(form)
    path = tmp_path / "e.png"
    path.write_bytes(build_png(image, extra=[[b"eXIf", data, b""]]))
    assert spec2img.load(path).meta == image.meta and read_header(path).source == "Exif"
    # GIMP writes Exif back as a hex "Raw profile type exif" text
    hexed = "\nexif\n" + f"{len(data) + 6:8d}\n" + (b"Exif\0\0" + data).hex() + "\n"
    raw = pngbytes.text_chunk("Raw profile type exif", hexed, "zTXt")
    path.write_bytes(build_png(image, extra=[raw]))
    assert spec2img.load(path).meta == image.meta and read_header(path).source == "Exif"


def test_text_chunks_win_over_a_disagreeing_comment_with_one_warning(tmp_path, image):
    text = image.meta.to_text()
    other = dict(text, db_max="0.5", n_fft="128")
    extra = [pngbytes.text_chunk("Comment", comment.pack(other))]
    path = tmp_path / "d.png"
    path.write_bytes(build_png(image, text=text, extra=extra))
    with pytest.warns(UserWarning, match=r"disagrees .* on db_max, n_fft; using the text chunks"):
        header = read_header(path)
    assert header.text == text and header.source == "text chunks"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_header(path)  # warned once, not on every read of the same file


def test_comment_wins_over_disagreeing_exif(tmp_path, image):
    text = image.meta.to_text()
    extra = [pngbytes.text_chunk("Comment", comment.pack(text)),
             [b"eXIf", _exif(comment.pack(dict(text, window="hamming"))), b""]]  # fmt: skip
    path = tmp_path / "x.png"
    path.write_bytes(build_png(image, extra=extra))
    with pytest.warns(UserWarning, match="Exif disagrees with its Comment on window"):
        header = read_header(path)
    assert header.text == text and header.source == "Comment"


@pytest.mark.parametrize("form, words", [
    ('spec2img/2 {"a":"1"}', "form version 2"),
    ("spec2img/1 not json", "not valid JSON"),
    ('spec2img/1 {"a":"1","a":"2"}', "twice"),
    ('spec2img/1 {"bad key":"1"}', "bad metadata key"),
    ('spec2img/1 {"a":{"b":1}}', "not a value"),
    ("spec2img/1 " + "[" * 3000 + "]" * 3000, "JSON"),
    ('spec2img/1 ["a"]', "not a JSON object"),
])  # fmt: skip
def test_a_broken_compact_form_is_a_metadata_error_when_it_is_all_there_is(tmp_path, image, form,
                                                                           words):  # fmt: skip
    path = tmp_path / "b.png"
    path.write_bytes(build_png(image, extra=[pngbytes.text_chunk("Comment", form[:4000])]))
    with pytest.raises(spec2img.MetadataError, match=words) as info:
        spec2img.load(path)
    assert str(info.value).startswith(f"{path}: ")


def test_a_broken_comment_beside_good_text_chunks_is_only_a_warning(tmp_path, image):
    extra = [pngbytes.text_chunk("Comment", "spec2img/1 {broken")]
    path = tmp_path / "w.png"
    path.write_bytes(build_png(image, text=image.meta.to_text(), extra=extra))
    with pytest.warns(UserWarning, match="ignoring the spec2img form in its Comment"):
        assert spec2img.load(path).meta == image.meta


def test_other_comments_and_huge_or_bomb_comments_are_left_alone(tmp_path, image):
    bomb = zlib.compress(b"spec2img/1 " + b" " * 10_000_000)
    extra = [pngbytes.text_chunk("Comment", "made with love"),
             [b"zTXt", b"Comment\0\0" + bomb, b""],
             pngbytes.text_chunk("Comment", "spec2img/1 " + "x" * 100_000)]  # fmt: skip
    path = tmp_path / "o.png"
    path.write_bytes(build_png(image, extra=extra))
    with pytest.raises(spec2img.MetadataError, match="no spec2img metadata"):
        spec2img.load(path)


# --- pixels in the modes editors save ---------------------------------------------


def _filter_rows(samples: np.ndarray, bpp: int) -> bytes:
    """PNG rows of big-endian 16-bit ``samples`` (h, w, c), cycling the five filters."""
    data = samples.astype(">u2").reshape(samples.shape[0], -1).view(np.uint8).astype(np.int64)
    out = []
    prior = np.zeros(data.shape[1], np.int64)
    for y, row in enumerate(data):
        kind = y % 5
        a = np.concatenate([np.zeros(bpp, np.int64), row[:-bpp]])
        c = np.concatenate([np.zeros(bpp, np.int64), prior[:-bpp]])
        b = prior
        if kind == 0:
            pred = 0
        elif kind == 1:
            pred = a
        elif kind == 2:
            pred = b
        elif kind == 3:
            pred = (a + b) // 2
        else:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
        out.append(bytes([kind]) + ((row - pred) % 256).astype(np.uint8).tobytes())
        prior = row
    return b"".join(out)


def _adam7_rows(samples: np.ndarray, bpp: int) -> bytes:
    parts = []
    for x0, y0, dx, dy in pngdata._ADAM7:
        sub = samples[y0::dy, x0::dx]
        if sub.size:
            parts.append(_filter_rows(sub, bpp))
    return b"".join(parts)


@pytest.mark.parametrize("color, interlace", [(2, 0), (6, 0), (4, 0), (2, 1), (6, 1)])
def test_16_bit_colour_and_alpha_pngs_decode_at_full_depth(tmp_path, image, color, interlace):
    px = image.pixels
    channels = pngdata.CHANNELS[color]
    samples = np.repeat(px[..., None], channels, axis=-1)
    if color in (4, 6):
        samples[..., -1] = 65535
        samples[:5, :7, -1] = 0  # transparent: silence
        samples[5:9, :7, -1] = 32768  # half: over black
    rows = (_adam7_rows if interlace else _filter_rows)(samples, 2 * channels)
    h, w = px.shape
    path = tmp_path / f"c{color}i{interlace}.png"
    path.write_bytes(build_png(image, text=image.meta.to_text(), rows=rows,
                               ihdr=(w, h, 16, color, interlace)))  # fmt: skip
    back = spec2img.load(path).pixels
    want = px.copy()
    if color in (4, 6):
        want[:5, :7] = 0
        want[5:9, :7] = (px[5:9, :7].astype(np.uint64) * 32768 + 32767) // 65535
    assert np.array_equal(back, want)  # all 16 bits, where Pillow would keep 8


def test_the_numpy_unfilter_matches_the_kernel(image):
    samples = np.stack([image.pixels, image.pixels // 3, image.pixels // 7], axis=-1)
    rows = np.frombuffer(_filter_rows(samples, 6), np.uint8)
    h, stride = samples.shape[0], samples.shape[1] * 6
    a, b = np.zeros((h, stride), np.uint8), np.zeros((h, stride), np.uint8)
    assert pngdata.unfilter(rows, h, stride, 6, a) == -1
    assert pngdata._unfilter_np(rows, h, stride, 6, b) == -1
    want = samples.astype(">u2").reshape(h, -1).view(np.uint8)
    assert np.array_equal(a, want) and np.array_equal(b, want)


def test_truncated_or_overlong_16_bit_colour_data_is_an_input_error(tmp_path, image):
    h, w = image.pixels.shape
    samples = np.repeat(image.pixels[..., None], 3, axis=-1)
    rows = _filter_rows(samples, 6)
    for name, data in (("short", rows[: len(rows) // 2]), ("long", rows + rows[:1000])):
        path = tmp_path / f"{name}.png"
        path.write_bytes(build_png(image, text=image.meta.to_text(), rows=data,
                                   ihdr=(w, h, 16, 2, 0)))  # fmt: skip
        with pytest.raises(spec2img.InputError, match="broken"):
            spec2img.load(path)


def test_unequal_channels_decode_their_luminance_with_one_warning(tmp_path, image):
    from PIL import Image

    px8 = (image.pixels >> 8).astype(np.uint8)
    rgb = np.stack([px8, px8, px8], axis=-1)
    rgb[:4, :4] = (255, 0, 0)  # a red stroke
    path = tmp_path / "red.png"
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", comment.pack(image.meta.to_text()))
    Image.fromarray(rgb, "RGB").save(path, pnginfo=info)
    with pytest.warns(UserWarning, match="differ in 16 pixels") as record:
        back = spec2img.load(path).pixels
    assert len([w for w in record if "luminance" in str(w.message)]) == 1
    assert np.all(back[:4, :4] == round(0.2126 * 255) * 257)
    assert np.array_equal(back[4:, 4:], px8[4:, 4:].astype(np.uint16) * 257)


def test_riffusion_exif_survives_as_gimps_raw_profile_text(tmp_path):
    """GIMP rewrites a PNG's eXIf chunk as a hex 'Raw profile type exif' text: the
    header reader reads Exif there too, so a Riffusion image edited in GIMP is still
    recognised."""
    from PIL import Image
    from test_riffusion import riffusion_image

    from spec2img.wild.identify import identify

    y = np.random.default_rng(3).standard_normal(44100).astype(np.float32) * 0.1
    original = riffusion_image(tmp_path / "riff.png", y)
    with Image.open(original) as im:
        exif = im.info["exif"]
        pixels = np.array(im)
    data = exif[6:] if exif.startswith(b"Exif\0\0") else exif
    hexed = "\nexif\n" + f"{len(data) + 6:8d}\n" + (b"Exif\0\0" + data).hex() + "\n"
    h, w = pixels.shape[:2]
    rows = b"".join(b"\0" + r.tobytes() for r in pixels)
    chunks = [[b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0), b""],
              pngbytes.text_chunk("Raw profile type exif", hexed, "zTXt"),
              [b"IDAT", zlib.compress(rows), b""], [b"IEND", b"", b""]]  # fmt: skip
    edited = tmp_path / "gimp-riff.png"
    edited.write_bytes(pngbytes.join(chunks))
    assert read_header(edited).exif == data
    assert identify(edited).kind == identify(original).kind == "riffusion"


@needs_magick
def test_a_jpeg_export_keeps_the_parameters_in_its_comment(original):
    """ImageMagick writes the PNG's Comment into the JPEG's COM segment: the JPEG (8-bit,
    lossy) decodes with no options to the original length."""
    folder, png, reference = original
    jpeg = folder / "export.jpg"
    subprocess.run([MAGICK, str(png), "-quality", "95", str(jpeg)], check=True, timeout=60)
    assert read_header(jpeg).source == "Comment"
    y = decode(jpeg, folder / "jpeg.wav")
    assert y.shape == reference.shape
