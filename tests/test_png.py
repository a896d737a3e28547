"""spec2img.io.png: the 16-bit PNG with metadata, and its bounded header reader.

Whole-image behaviour (``spec2img.load`` on hostile files) is in test_hostile_images.py;
this file pins the module's own contract: exact round trips, the chunk limits at their
boundaries, and a clear error for every way a file can be cut or corrupted.
"""

from __future__ import annotations

import struct
import sys
import zlib

import numpy as np
import pytest
from conftest import ROOT

from spec2img.errors import InputError, MetadataError, Spec2ImgError
from spec2img.io import png
from spec2img.io.png import read_header, read_png, write_png

sys.path.insert(0, str(ROOT / "fuzz"))
import pngbytes  # noqa: E402


@pytest.fixture
def pixels(rng):
    return rng.integers(0, 65536, size=(33, 47), dtype=np.uint16)


def gray16(pixels: np.ndarray, text=(), extra_before=(), extra_after=()) -> bytes:
    """A 16-bit grayscale PNG built chunk by chunk, text chunks before IDAT."""
    h, w = pixels.shape
    rows = pixels.astype(">u2")
    idat = zlib.compress(b"".join(b"\0" + r.tobytes() for r in rows))
    chunks = [[b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 0, 0, 0, 0), b""]]
    chunks += [list(c) for c in extra_before]
    chunks += [pngbytes.text_chunk(png.PREFIX + k, v) for k, v in dict(text).items()]
    chunks += [[b"IDAT", idat, b""]]
    chunks += [list(c) for c in extra_after]
    chunks += [[b"IEND", b"", b""]]
    return pngbytes.join(chunks)


def test_write_then_read_is_exact_in_pixels_and_text(tmp_path, pixels):
    text = {"n_fft": "2048", "window": "kaiser:8.6", "db_min": "-87.25", "note": "café"}
    path = write_png(tmp_path / "a.png", pixels, text)
    got, got_text, mode = read_png(path)
    assert mode in png.MODES_16
    assert got.dtype == np.uint16 and got.shape == pixels.shape
    np.testing.assert_array_equal(got, pixels)
    assert got_text == text
    header = read_header(path)
    assert (header.width, header.height, header.format) == (47, 33, "PNG")
    assert header.text == text


def test_write_keeps_the_extremes_and_refuses_to_overwrite_an_input(tmp_path):
    pixels = np.array([[0, 1, 65534, 65535]], np.uint16)
    path = write_png(tmp_path / "x.png", pixels, {})
    np.testing.assert_array_equal(read_png(path)[0], pixels)
    before = path.read_bytes()
    with pytest.raises(Spec2ImgError):
        write_png(path, pixels[:, ::-1], {}, inputs=[path])
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]  # no temporary left


def test_text_is_written_as_one_plain_chunk_per_key(tmp_path, pixels):
    """One tEXt chunk per key, and all of them once more in the Comment chunk that
    editors keep (spec2img.io.comment)."""
    path = write_png(tmp_path / "a.png", pixels, {"n_fft": "2048", "scale": "mel"})
    chunks = pngbytes.split(path.read_bytes())
    texts = [(c[0], c[1]) for c in chunks if c[0] in (b"tEXt", b"zTXt", b"iTXt")]
    assert (b"tEXt", b"spec2img:n_fft\x002048") in texts
    assert (b"tEXt", b"spec2img:scale\x00mel") in texts
    form = b'spec2img/1 {"n_fft":"2048","scale":"mel"}'
    assert (b"tEXt", b"Comment\x00" + form) in texts
    assert len(texts) == 3


def test_the_header_is_read_without_the_pixel_data(tmp_path, pixels):
    data = bytearray(gray16(pixels, {"n_fft": "64"}))
    # Corrupt the IDAT body (not its CRC): Pillow could not decode it, the header reader
    # never looks at it.
    chunks = pngbytes.split(bytes(data))
    i = next(i for i, c in enumerate(chunks) if c[0] == b"IDAT")
    chunks[i][1] = b"\xff" * len(chunks[i][1])
    path = tmp_path / "bad_idat.png"
    path.write_bytes(pngbytes.join(chunks))
    header = read_header(path)
    assert (header.width, header.height, header.text) == (47, 33, {"n_fft": "64"})
    with pytest.raises(InputError, match="broken or truncated"):
        read_png(path)


def test_text_after_the_pixels_is_found_too(tmp_path, pixels):
    after = [pngbytes.text_chunk("spec2img:n_fft", "512")]
    path = tmp_path / "late.png"
    path.write_bytes(gray16(pixels, extra_after=after))
    assert read_header(path).text == {"n_fft": "512"}


@pytest.mark.parametrize("limit, ok", [(33 * 47, True), (33 * 47 - 1, False), (None, True)])
def test_max_pixels_is_inclusive_and_named_in_the_error(tmp_path, pixels, limit, ok):
    path = write_png(tmp_path / "a.png", pixels, {})
    if ok:
        assert read_header(path, max_pixels=limit).width == 47
        return
    with pytest.raises(InputError) as e:
        read_png(path, max_pixels=limit)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and "47x33" in msg and str(limit) in msg


@pytest.mark.parametrize("size, ok", [(png.MAX_TEXT_CHUNK, True), (png.MAX_TEXT_CHUNK + 1, False)])
def test_a_text_chunk_may_be_exactly_the_limit(tmp_path, pixels, size, ok):
    key = png.PREFIX + "comment"
    value = "v" * (size - len(key) - 1)  # the chunk's data: key, NUL, value
    chunk = pngbytes.text_chunk(key, value)
    assert len(chunk[1]) == size
    path = tmp_path / "t.png"
    path.write_bytes(gray16(pixels, extra_before=[chunk]))
    if ok:
        assert read_header(path).text["comment"] == value
    else:
        with pytest.raises(MetadataError, match=f"limit of {png.MAX_TEXT_CHUNK} bytes"):
            read_header(path)


@pytest.mark.parametrize("kind", ["zTXt", "iTXt+z"])
def test_compressed_text_is_capped_once_inflated(tmp_path, pixels, kind):
    key = png.PREFIX + "comment"
    path = tmp_path / "z.png"
    fits = pngbytes.text_chunk(key, "a" * png.MAX_TEXT_CHUNK, kind)
    path.write_bytes(gray16(pixels, extra_before=[fits]))
    assert read_header(path).text["comment"] == "a" * png.MAX_TEXT_CHUNK
    over = pngbytes.text_chunk(key, "a" * (png.MAX_TEXT_CHUNK + 1), kind)
    assert len(over[1]) < 100  # small on disk: only inflating shows its size
    path.write_bytes(gray16(pixels, extra_before=[over]))
    with pytest.raises(MetadataError, match="inflates beyond"):
        read_header(path)


def test_at_most_the_limit_of_text_chunks(tmp_path, pixels):
    path = tmp_path / "n.png"
    text = {f"k{i}": str(i) for i in range(png.MAX_TEXT_CHUNKS)}
    path.write_bytes(gray16(pixels, text))
    assert len(read_header(path).text) == png.MAX_TEXT_CHUNKS
    text[f"k{png.MAX_TEXT_CHUNKS}"] = "x"
    path.write_bytes(gray16(pixels, text))
    with pytest.raises(MetadataError, match=f"more than {png.MAX_TEXT_CHUNKS}"):
        read_header(path)


def test_a_bad_crc_in_our_text_is_refused_but_not_in_others(tmp_path, pixels):
    ours = pngbytes.chunk(b"tEXt", b"spec2img:n_fft\x0064", crc=b"\0\0\0\0")
    theirs = pngbytes.chunk(b"tEXt", b"Comment\x00hi", crc=b"\0\0\0\0")
    good = gray16(pixels)
    at = good.index(b"IDAT") - 4  # insert before the IDAT chunk's length field
    path = tmp_path / "crc.png"
    path.write_bytes(good[:at] + ours + good[at:])
    with pytest.raises(InputError, match="bad CRC"):
        read_header(path)
    path.write_bytes(good[:at] + theirs + good[at:])
    assert read_header(path).text == {}  # another program's chunk is not ours to judge


def test_a_broken_ihdr_is_refused(tmp_path, pixels):
    good = gray16(pixels)
    for name, data in {
        "crc": good[:29] + b"\0\0\0\0" + good[33:],
        "type": good[:12] + b"IHDX" + good[16:],
        "zero": pngbytes.join([[b"IHDR", struct.pack(">IIBBBBB", 0, 5, 16, 0, 0, 0, 0), b""],
                               [b"IEND", b"", b""]]),
        "huge": pngbytes.join([[b"IHDR", struct.pack(">IIBBBBB", 2**31, 5, 16, 0, 0, 0, 0), b""],
                               [b"IEND", b"", b""]]),
    }.items():  # fmt: skip
        path = tmp_path / f"{name}.png"
        path.write_bytes(data)
        with pytest.raises(InputError, match="broken PNG header") as e:
            read_header(path)
        assert str(e.value).startswith(f"{path}: ")


def test_every_truncation_is_one_input_error(tmp_path, pixels):
    """Cut the file at every byte up to the end of its text: never another exception."""
    data = gray16(pixels, {"n_fft": "64", "window": "hann"})
    end_of_text = data.index(b"IDAT") - 4
    path = tmp_path / "cut.png"
    results = set()
    for n in range(len(png.PNG_SIGNATURE), end_of_text):
        path.write_bytes(data[:n])
        try:
            header = read_header(path)
        except InputError as e:
            assert str(e).startswith(f"{path}: ")
            results.add("error")
        else:
            # a cut exactly between chunks leaves a short but well-formed header
            assert header.text.items() <= {"n_fft": "64", "window": "hann"}.items()
            results.add("ok")
    assert "error" in results
    path.write_bytes(data[: len(data) - 30])  # inside the pixel data
    with pytest.raises(InputError, match="broken or truncated"):
        read_png(path)


def test_not_a_png_is_read_by_pillow_header_only(tmp_path):
    from PIL import Image

    path = tmp_path / "x.jpg"
    Image.new("RGB", (20, 10), (200, 10, 10)).save(path, quality=90)
    header = read_header(path)
    assert (header.width, header.height, header.format, header.text) == (20, 10, "JPEG", {})
    with pytest.raises(InputError, match=r"20x10 pixels exceeds the limit of 199\b"):
        read_header(path, max_pixels=199)


@pytest.mark.parametrize("data, words", [
    (b"", "not an image"), (b"hello world", "not an image"),
    (png.PNG_SIGNATURE, "before its header"), (png.PNG_SIGNATURE + b"\0\0\0\x0dIHDR", "truncated"),
])  # fmt: skip
def test_garbage_is_an_input_error_naming_the_file(tmp_path, data, words):
    path = tmp_path / "g.png"
    path.write_bytes(data)
    with pytest.raises(InputError, match=words) as e:
        read_header(path)
    assert str(e.value).startswith(f"{path}: ")


def test_a_missing_file_and_a_folder_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_header(tmp_path / "nope.png")
    with pytest.raises(InputError, match="is a folder"):
        read_header(tmp_path)
