"""Hostile and broken audio: headers are not trusted for sizes, and every failure is one
error naming the file."""

import io
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

import spec2img
from spec2img.errors import InputError, Spec2ImgError


def flac_claiming(total: int, n: int = 800) -> bytes:
    """A FLAC of ``n`` silent samples whose STREAMINFO claims ``total`` samples."""
    buf = io.BytesIO()
    sf.write(buf, np.zeros(n, np.float32), 8000, format="FLAC", subtype="PCM_16")
    data = bytearray(buf.getvalue())
    at = 8 + 10  # STREAMINFO body: block sizes (4), frame sizes (6), then rate..total samples
    field = int.from_bytes(data[at : at + 8], "big")
    field = (field & ~((1 << 36) - 1)) | total  # the low 36 bits are the sample count
    data[at : at + 8] = field.to_bytes(8, "big")
    return bytes(data)


@pytest.mark.parametrize("total", [2**36 - 1, 2**33, 10**9, 900])
def test_a_header_claiming_more_samples_is_not_believed_for_memory(tmp_path, total):
    path = tmp_path / "liar.flac"
    path.write_bytes(flac_claiming(total))
    assert sf.info(path).frames == total  # libsndfile believes it, then fails to seek
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="not a readable audio file") as info:
            spec2img.load_audio(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value).startswith(f"{path}: ")
    assert peak < 64 * 2**20, f"allocated {peak / 2**20:.0f} MiB for an 800-sample file"


def test_audio_longer_than_a_block_reads_whole(tmp_path, monkeypatch):
    from spec2img.io import audio

    monkeypatch.setattr(audio, "_BLOCK", 300)
    x = np.random.default_rng(0).standard_normal((1000, 3)).astype(np.float32)
    sf.write(tmp_path / "x.wav", x, 8000, subtype="FLOAT")
    y, sr = spec2img.load_audio(tmp_path / "x.wav")
    assert sr == 8000 and np.array_equal(y, x.T)


def test_too_many_channels_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "many.wav"
    sf.write(path, np.zeros((4096, 65), np.float32), 8000, subtype="FLOAT")
    with pytest.raises(Spec2ImgError, match="65 channels") as info:
        spec2img.audio_to_image(path, tmp_path / "out.png")
    assert str(path) in str(info.value) and not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("data", [b"RIFF\xff\xff\xff\xffWAVEfmt " + bytes(40), b"fLaC" + bytes(60),
                                  b"OggS" + bytes(60), b"\xff\xfb\x90" + bytes(500), b""])  # fmt: skip
def test_broken_headers_are_input_errors(tmp_path, data):
    path = tmp_path / "bad.wav"
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        spec2img.load_audio(path)
    assert str(info.value).startswith(f"{path}: ")
