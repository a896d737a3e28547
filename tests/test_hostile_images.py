"""Hostile and broken images: sizes and metadata are checked before pixels are decoded,
text chunks are capped, and every failure is one Spec2ImgError naming the file."""

import struct
import sys
import zlib

import numpy as np
import pytest
from conftest import ROOT

import spec2img
from spec2img.cli.main import main
from spec2img.errors import InputError, MetadataError
from spec2img.io.png import read_png

sys.path.insert(0, str(ROOT / "fuzz"))
import pngbytes  # noqa: E402


@pytest.fixture(scope="module")
def image():
    y = np.random.default_rng(0).standard_normal(1600).astype(np.float32) * 0.1
    return spec2img.encode(y, 8000, n_fft=64)


def png_with(image, *, text=None, extra=(), ihdr=None, idat=None, kind="tEXt") -> bytes:
    """A spec2img PNG built chunk by chunk: metadata ``text`` (default: the image's own),
    ``extra`` chunks after IHDR, an IHDR ``(width, height, depth, color)`` and raw IDAT."""
    h, w = image.pixels.shape
    width, height, depth, color = ihdr or (w, h, 16, 0)
    if idat is None:
        rows = image.pixels.astype(">u2")
        idat = zlib.compress(b"".join(b"\0" + r.tobytes() for r in rows))
    chunks = [[b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0), b""]]
    chunks += [list(c) for c in extra]
    text = image.meta.to_text() if text is None else text
    chunks += [pngbytes.text_chunk("spec2img:" + k, v, kind) for k, v in text.items()]
    chunks += [[b"IDAT", idat, b""], [b"IEND", b"", b""]]
    return pngbytes.join(chunks)


def write(tmp_path, data: bytes, name="x.png"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(path, error, *words, **load_kw):
    with pytest.raises(error) as info:
        spec2img.load(path, **load_kw)
    msg = str(info.value)
    assert msg.startswith(f"{path}: "), msg
    for w in words:
        assert w in msg, (w, msg)
    return msg


@pytest.mark.parametrize("kind", ["tEXt", "zTXt", "iTXt", "iTXt+z"])
def test_metadata_in_any_text_chunk_type_reads_back_the_same(tmp_path, image, kind):
    back = spec2img.load(write(tmp_path, png_with(image, kind=kind)))
    assert back.meta == image.meta and np.array_equal(back.pixels, image.pixels)


@pytest.mark.parametrize("size", [(100_000, 100_000), (2**31 - 1, 1), (20_000, 20_000)])
def test_a_huge_header_is_refused_before_any_pixel_is_decoded(tmp_path, image, size):
    # A few hundred bytes claiming billions of pixels, with pixel data that is garbage:
    # the size limit must answer first, naming it, not the decoder.
    path = write(tmp_path, png_with(image, ihdr=(*size, 16, 0), idat=b"garbage"))
    assert path.stat().st_size < 2000
    refused(path, InputError, "exceeds the limit of", "max_pixels")
    with pytest.raises(InputError, match="exceeds the limit of"):
        read_png(path)


def test_metadata_is_checked_against_the_header_before_pixels(tmp_path, image):
    text = image.meta.to_text()
    text["n_samples"] = str(10**12)
    path = write(tmp_path, png_with(image, text=text, idat=b"garbage"))
    refused(path, MetadataError, "image width")


def test_pillow_global_limit_does_not_decide_for_us(tmp_path, image, monkeypatch):
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 2x this is Pillow's hard error
    path = write(tmp_path, png_with(image))
    assert spec2img.load(path).meta == image.meta
    refused(path, InputError, "exceeds the limit of 1000", max_pixels=1000)


def test_max_pixels_on_every_command_that_reads_images(tmp_path, image, capsys):
    path = write(tmp_path, png_with(image))
    h, w = image.pixels.shape
    for argv in (["info", path], ["decode", path, tmp_path / "o.wav", "--n-iter", "1", "-q"]):
        argv = [str(a) for a in argv]
        assert main([*argv, "--max-pixels", str(h * w - 1)]) == 1
        err = capsys.readouterr().err
        assert "exceeds the limit" in err and str(path) in err, err
        assert main([*argv, "--max-pixels", str(h * w)]) == 0


def test_a_mel_image_whose_linear_spectrogram_is_too_big_is_refused(tmp_path):
    y = np.random.default_rng(1).standard_normal(8000).astype(np.float32)
    mel = spec2img.encode(y, 8000, n_fft=4096, hop_length=256, scale="mel", n_mels=8)
    path = write(tmp_path, png_with(mel))
    h, w = mel.pixels.shape  # 8 x 32 pixels, but 2049 x 32 cells to decode
    refused(path, InputError, "2049", "max_pixels", max_pixels=2049 * w - 1)
    assert spec2img.load(path, max_pixels=2049 * w).meta == mel.meta


@pytest.mark.parametrize("second", ["64", "128"])
def test_a_key_given_twice_is_refused(tmp_path, image, second):
    extra = [pngbytes.text_chunk("spec2img:n_fft", second)]
    refused(write(tmp_path, png_with(image, extra=extra)), MetadataError, "n_fft", "twice")


def test_text_chunks_are_capped_before_they_are_read_or_inflated(tmp_path, image):
    big = [pngbytes.text_chunk("spec2img:window", "x" * 100_000)]
    refused(write(tmp_path, png_with(image, extra=big)), MetadataError, "spec2img:window",
            "limit")  # fmt: skip
    bomb = [[b"zTXt", b"spec2img:comment\0\0" + zlib.compress(b"\0" * 50_000_000, 9), b""]]
    assert len(bomb[0][1]) < 100_000
    refused(write(tmp_path, png_with(image, extra=bomb)), MetadataError, "spec2img:comment",
            "limit")  # fmt: skip
    many = [pngbytes.text_chunk(f"spec2img:extra{i}", "1") for i in range(1000)]
    refused(write(tmp_path, png_with(image, extra=many)), MetadataError, "text chunks")


def test_other_programs_text_chunks_are_left_alone(tmp_path, image):
    extra = [pngbytes.text_chunk("Comment", "x" * 200_000), pngbytes.text_chunk("Title", "é")]
    assert spec2img.load(write(tmp_path, png_with(image, extra=extra))).meta == image.meta


@pytest.mark.parametrize("chunk, words", [
    ([b"iTXt", b"spec2img:window\0\0\0\0\0\xff\xfe", b""], "UTF-8"),
    ([b"zTXt", b"spec2img:window\0\0" + b"not zlib", b""], "compressed"),
    ([b"zTXt", b"spec2img:window\0\x07" + zlib.compress(b"hann"), b""], "compress"),
    ([b"iTXt", b"spec2img:window\0\x05\0\0\0hann", b""], "compress"),
    ([b"tEXt", b"spec2img:\xe9t\xe9\0" + b"1", b""], "key"),
    ([b"tEXt", b"spec2img:\0" + b"1", b""], "key"),
])  # fmt: skip
def test_malformed_text_chunks_are_metadata_errors(tmp_path, image, chunk, words):
    text = image.meta.to_text()
    del text["window"]
    refused(write(tmp_path, png_with(image, text=text, extra=[chunk])), MetadataError, words)


def test_non_latin1_values_arrive_through_itxt_and_are_judged_as_values(tmp_path, image):
    text = image.meta.to_text()
    text["window"] = "hann\u2603"
    refused(write(tmp_path, png_with(image, text=text, kind="iTXt")), MetadataError, "window")


def test_a_bad_crc_in_a_metadata_chunk_is_an_input_error(tmp_path, image):
    chunks = pngbytes.split(png_with(image))
    i = next(i for i, c in enumerate(chunks) if pngbytes.text_key(*c[:2]) == "spec2img:n_fft")
    chunks[i][1] = chunks[i][1].replace(b"64", b"65")
    refused(write(tmp_path, pngbytes.join(chunks, fix_crc=False)), InputError, "CRC")


@pytest.mark.parametrize("depth, color, want", [(8, 2, 0), (8, 6, 0), (16, 4, 0), (16, 2, 0),
                                                (8, 3, 257)])  # fmt: skip
def test_images_an_editor_saved_in_another_mode_decode_as_gray(tmp_path, image, depth, color,
                                                               want):  # fmt: skip
    """RGB, RGBA, gray+alpha and palette images read as one gray value per pixel
    (spec2img.io.gray); their all-zero samples are silence.  Palette entry 0 here is
    (0, 1, 2): unequal channels give their luminance, 1, widened to 257, with a warning."""
    h, w = image.pixels.shape
    channels = {2: 3, 4: 2, 6: 4, 3: 1}[color]
    row = b"\0" + bytes(w * channels * depth // 8)
    extra = [[b"PLTE", bytes(range(256)) * 3, b""]] if color == 3 else []
    data = png_with(image, ihdr=(w, h, depth, color), idat=zlib.compress(row * h), extra=extra)
    path = write(tmp_path, data)
    if color == 3:
        with pytest.warns(UserWarning, match="luminance"):
            back = spec2img.load(path)
    else:
        back = spec2img.load(path)
    assert back.pixels.shape == (h, w) and back.pixels.dtype == np.uint16
    assert np.all(back.pixels == want)


def test_interlaced_and_eight_bit_resaves_still_load(tmp_path, image):
    interlaced = pngbytes.interlaced_gray(image.pixels, {
        "spec2img:" + k: v for k, v in image.meta.to_text().items()})  # fmt: skip
    back = spec2img.load(write(tmp_path, interlaced))
    assert np.array_equal(back.pixels, image.pixels)
    eight = pngbytes.interlaced_gray((image.pixels >> 8).astype(np.uint8), {
        "spec2img:" + k: v for k, v in image.meta.to_text().items()})  # fmt: skip
    back = spec2img.load(write(tmp_path, eight, "eight.png"))
    assert np.abs(back.pixels.astype(int) - image.pixels).max() <= 257


@pytest.mark.parametrize("data, words", [
    (b"", "not an image"), (b"\x89PNG\r\n\x1a\n", "truncated"),
    (b"\x89PNG\r\n\x1a\n" + b"\0\0\0\x0dIHDR" + bytes(17), "header"),
    (b"\xff\xd8\xff\xe0" + bytes(100), "image"), (b"GIF89a" + bytes(20), "image"),
    (b"II*\0" + bytes(200), "image"), (b"BM" + bytes(60), "image"),
])  # fmt: skip
def test_garbage_and_other_formats_are_input_errors(tmp_path, data, words):
    path = write(tmp_path, data)
    with pytest.raises(InputError, match=words) as info:
        read_png(path)
    assert str(path) in str(info.value)
    refused(path, InputError)


def test_info_and_errors_never_print_control_characters(tmp_path, image, capsys):
    text = image.meta.to_text()
    text["note"] = "\x1b]0;pwned\x07\x1b[2J"  # set the terminal title, clear the screen
    path = write(tmp_path, png_with(image, text=text))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "note" in out and "\x1b" not in out and "\x07" not in out
    weird = tmp_path / "a\x1b[2Jb.png"
    weird.write_bytes(b"not a png")
    assert main(["info", str(weird)]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "[2Jb.png" in err


@pytest.mark.parametrize("key, value", [
    ("n_fft", "２０４８"), ("n_fft", "٢٠٤٨"), ("n_fft", "2_048"), ("n_fft", "0x800"),
    ("db_min", "-１５０"), ("db_min", "-١٥٠"), ("db_min", "-1_50"), ("db_min", "-150.0\x00"),
])  # fmt: skip
def test_numbers_are_plain_ascii(key, value):
    # Each would be valid as the number Python's int() or float() reads in it.
    from spec2img.params import Metadata

    text = spec2img.encode(np.zeros(4096, np.float32), 8000).meta.to_text()
    text[key] = value
    with pytest.raises(MetadataError, match=key):
        Metadata.from_text(text)


def test_a_folder_is_not_an_image(tmp_path):
    with pytest.raises(InputError, match="is a folder, not an image"):
        spec2img.load(tmp_path)


def test_the_default_limit_keeps_a_small_file_from_needing_gigabytes(tmp_path):
    # 8 mel bands x 4200 frames (a few kB as a PNG) decode through a 32769 x 4200
    # linear spectrogram: 138 million cells, beyond the default limit.
    from spec2img.io.png import DEFAULT_MAX_PIXELS
    from spec2img.params import Metadata, SpecParams

    p = SpecParams(sample_rate=44100, n_fft=65536, hop_length=16384, scale="mel", n_mels=8)
    meta = Metadata(params=p, db_min=-100.0, db_max=0.0, n_samples=4199 * 16384)
    path = write(tmp_path, png_with(spec2img.encode(np.zeros(65536, np.float32), 44100),
                                    text=meta.to_text(), ihdr=(meta.shape[1], 8, 16, 0),
                                    idat=zlib.compress(bytes((1 + 2 * 4200) * 8), 9)))  # fmt: skip
    assert path.stat().st_size < 10_000 and 32769 * 4200 > DEFAULT_MAX_PIXELS
    refused(path, InputError, "cells", "max_pixels")
    assert spec2img.load(path, max_pixels=32769 * 4200).meta == meta


def test_the_help_states_the_default_limit(capsys):
    from spec2img.io.png import DEFAULT_MAX_PIXELS

    assert main(["info", "--help"]) == 0
    assert f"{DEFAULT_MAX_PIXELS}" in capsys.readouterr().out
