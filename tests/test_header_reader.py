"""The one reader of untrusted image headers: bounded, and never a pixel decoded."""

from __future__ import annotations

import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from conftest import SR, run, signals

import spec2img
from spec2img.batch.segments import read_meta
from spec2img.io.png import PREFIX, read_header
from spec2img.wild.identify import identify


def chunk(ctype: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body))
        + ctype
        + body
        + struct.pack(">I", zlib.crc32(ctype + body) & 0xFFFFFFFF)
    )


def big_png_with_trailing_text(path, text: dict[str, str], side: int = 10_000) -> None:
    """A 16-bit grayscale PNG of side x side (10^8) pixels whose text chunks follow
    its IDAT, written in pieces (the compressed zeros are ~0.2 MB)."""
    raw_row = b"\0" + bytes(2 * side)  # filter byte, then the row
    z = zlib.compressobj(9)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 16, 0, 0, 0, 0)))
        data = b"".join(z.compress(raw_row * 100) for _ in range(side // 100)) + z.flush()
        f.write(chunk(b"IDAT", data))
        for k, v in text.items():
            f.write(chunk(b"tEXt", (PREFIX + k).encode() + b"\0" + v.encode()))
        f.write(chunk(b"IEND", b""))


@pytest.fixture
def no_pixel_decoding(monkeypatch):
    """Make any Pillow pixel decode fail the test."""
    from PIL import ImageFile

    def refuse(self, *a, **k):
        raise AssertionError("Pillow's pixel decoder was called")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def test_text_after_a_huge_idat_is_read_without_decoding_pixels(tmp_path, no_pixel_decoding):
    meta = spec2img.encode(signals.tone(), SR).meta
    path = tmp_path / "big.png"
    big_png_with_trailing_text(path, meta.to_text())
    tracemalloc.start()
    try:
        header = read_header(path, max_pixels=None)
        got, size = read_meta(path)
        kind = identify(path).kind
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (header.width, header.height) == (10_000, 10_000) == size
    assert got == meta and header.text == meta.to_text() and kind == "spec2img"
    assert peak < 2 * 2**20  # bounded: a few chunks, not 200 MB of pixels


def test_the_pixel_limit_is_applied_from_the_header(tmp_path, no_pixel_decoding):
    path = tmp_path / "big.png"
    big_png_with_trailing_text(path, {"version": "1"}, side=2000)
    with pytest.raises(spec2img.InputError, match="exceeds the limit of 1000000"):
        read_header(path, max_pixels=10**6)
    assert read_header(path, max_pixels=4 * 10**6).width == 2000


def test_an_exif_block_is_read_from_the_header(tmp_path):
    from PIL import Image

    exif = Image.Exif()
    exif[0x010E] = "a description"
    img = Image.fromarray(np.zeros((4, 5), np.uint8))
    img.save(tmp_path / "e.png", exif=exif.tobytes())
    img.save(tmp_path / "e.jpg", exif=exif.tobytes())
    for name in ("e.png", "e.jpg"):
        header = read_header(tmp_path / name)
        assert header.exif_tags()[0x010E] == "a description", name
    assert read_header(tmp_path / "e.png").text == {}


def test_control_characters_from_a_file_never_reach_the_terminal(tmp_path, capsys):
    # A metadata value printed in an error, and a file name, both holding escapes.
    image = spec2img.encode(signals.tone(), SR, n_fft=256)
    image.meta.extra["nmf_role"] = "\x1b[31mred\x07"
    folder = tmp_path / "in"
    folder.mkdir()
    image.save(folder / "nmf.png")
    (folder / "bell\x07\x1b[2J.png").write_bytes(b"not a png")
    code, out, err = run(capsys, "decode", folder / "nmf.png", tmp_path / "x.wav", "-q")
    assert code == 1 and "\\x1b[31mred\\x07" in err
    code, out, err = run(capsys, "decode", folder, "-o", tmp_path / "out", "-j", 1, "-q")
    assert code == 1
    assert "\\x1b[31mred\\x07" in err and "bell\\x07\\x1b[2J" in err
    assert not any(c in err for c in "\x1b\x07"), err


@pytest.fixture
def header_reads(monkeypatch):
    """How often the one header reader read each file (by name), PNG or other."""
    from collections import Counter
    from pathlib import Path

    from spec2img.io import png

    reads = Counter()

    def counting(name, where):
        inner = getattr(png, name)

        def read(*args):
            reads[Path(args[where]).name] += 1
            return inner(*args)

        monkeypatch.setattr(png, name, read)

    counting("_png_header", 0)
    counting("_pillow_header", 1)
    return reads


def _decode_argv(tmp_path, kind):
    """A decode of one kind of image: (image, extra options)."""
    from PIL import Image, PngImagePlugin

    from spec2img.cli.main import main

    wav = tmp_path / "tone.wav"
    import soundfile as sf

    sf.write(wav, signals.tone(), SR)
    png = tmp_path / "tone.png"
    extra = ["--keep-phase"] if kind == "kept-phase" else []
    assert main(["encode", str(wav), str(png), "-q", *extra]) == 0
    if kind in ("spec2img", "kept-phase"):
        return png, []
    with Image.open(png) as im:
        im.load()
        info = PngImagePlugin.PngInfo()
        if kind == "comment":  # what GIMP keeps
            info.add_text("Comment", im.text["Comment"])
        im.save(tmp_path / f"{kind}.png", pnginfo=info)
    if kind == "comment":
        return tmp_path / "comment.png", []
    if kind == "edited":  # Pillow keeps no metadata
        return tmp_path / "edited.png", ["--params-from", str(png)]
    # read as a plain image, as a plot of known parameters
    return tmp_path / "plot.png", ["--sr", str(SR), "--n-fft", "2048", "--duration", "1.5"]


@pytest.mark.parametrize("kind", ["spec2img", "kept-phase", "comment", "edited", "plot"])
def test_the_header_is_read_once_per_decode(tmp_path, kind, header_reads):
    from spec2img.cli.main import main

    image, extra = _decode_argv(tmp_path, kind)
    header_reads.clear()
    argv = ["decode", str(image), str(tmp_path / "out.wav"), "-q", "--n-iter", "2", *extra]
    assert main(argv) == 0
    assert header_reads[image.name] == 1
    header_reads.clear()
    spec2img.decode(spec2img.load_image(image, plain=_plain(extra)), n_iter=2)
    assert header_reads[image.name] == 1
    header_reads.clear()
    assert main(["info", str(image), *extra]) == 0
    assert header_reads[image.name] == 1


def _plain(argv: list[str]) -> dict:
    keys = [a[2:].replace("-", "_") for a in argv[::2]]
    return {k: (v if k == "params_from" else float(v) if "." in v else int(v))
            for k, v in zip(keys, argv[1::2], strict=True)}  # fmt: skip


def test_identify_says_what_an_image_is_and_where_its_parameters_come_from(tmp_path):
    image, _ = _decode_argv(tmp_path, "comment")
    found = spec2img.identify(image)
    assert (found.kind, found.source, found.header.source) == ("spec2img", "Comment", "Comment")
    edited = tmp_path / "edited.png"
    from PIL import Image

    with Image.open(image) as im:
        im.load()
        im.save(edited)  # no metadata at all
    assert spec2img.identify(edited).kind == "plain"
    found = spec2img.identify(edited, {"params_from": str(tmp_path / "tone.png")})
    assert (found.kind, found.source) == ("edited", "params-from")
    assert found.meta == spec2img.load(tmp_path / "tone.png").meta
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    found = spec2img.identify(broken)  # kept, raised by whoever needs the header
    assert found.kind == "spec2img" and found.header is None
    with pytest.raises(spec2img.InputError, match="broken"):
        spec2img.load_image(broken)
