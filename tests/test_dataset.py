"""spec2img.io.dataset: the dataset.json of a training set, written and read back."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import spec2img
from spec2img.errors import InputError, MetadataError, ParameterError
from spec2img.io import dataset
from spec2img.params import MAX_IMAGE_SIDE, Metadata


@pytest.fixture(scope="module")
def meta() -> dict:
    y = np.random.default_rng(2).standard_normal(8000).astype(np.float32) * 0.1
    return spec2img.encode(y, 8000, n_fft=256).meta.to_dict()


def entries(folder, meta, n=3):
    out = []
    for i in reversed(range(n)):  # out of order on purpose
        seg = {"segment_index": str(i), "segment_count": str(n),
               "segment_offset": str(i * 4096), "total_samples": "12288", "segment_of": "x.wav"}  # fmt: skip
        out.append({"image": folder / "a" / f"x_{i:03d}.png", "source": "rec/a/x.wav",
                    "metadata": {**meta, **seg}})  # fmt: skip
    return out


def test_write_then_read_round_trip(tmp_path, meta):
    path = dataset.write_dataset(tmp_path, entries(tmp_path, meta), size=(256, 128))
    assert path == tmp_path / dataset.FILENAME
    got_meta, size, files = dataset.read_dataset(path)
    assert got_meta == Metadata.from_dict(meta)
    assert size == (256, 128)
    assert files == [
        {"image": f"a/x_{i:03d}.png", "source": "rec/a/x.wav", "offset": i * 4096} for i in range(3)
    ]
    doc = json.loads(path.read_text())
    assert (doc["format"], doc["version"]) == (dataset.FORMAT, dataset.VERSION)
    assert not set(dataset.PER_FILE_KEYS) & set(doc["metadata"])  # per-file keys stay out
    assert doc["metadata"] == meta
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset.json"]  # nothing left over


def test_the_default_size_is_the_stft_grid(tmp_path, meta):
    path = dataset.write_dataset(tmp_path, entries(tmp_path, meta, 1))
    m, size, _ = dataset.read_dataset(path)
    height, width = m.shape
    assert size == (width, height) == (m.n_frames, 129)


def test_images_outside_the_folder_and_urls_keep_their_paths(tmp_path, meta):
    e = [{"image": "/elsewhere/y.png", "metadata": meta},
         {"image": "s3://bucket/set/b/z.png", "metadata": meta}]  # fmt: skip
    dataset.write_dataset("s3://bucket/set", e, dst=tmp_path / "staged.json")
    _, _, files = dataset.read_dataset(tmp_path / "staged.json")
    assert [f["image"] for f in files] == ["/elsewhere/y.png", "b/z.png"]
    assert all(f["source"] == "" and "offset" not in f for f in files)


@pytest.mark.parametrize("key, value, hint", [
    ("sample_rate", 16000, r"\(use (--)?sr\)"), ("channels", 2, r"\(use (--)?mono\)"),
    ("n_fft", 512, r"\)"),
])  # fmt: skip
def test_images_that_differ_are_refused_with_the_reason(tmp_path, meta, key, value, hint):
    e = entries(tmp_path, meta, 2)
    e[0]["metadata"] = {**e[0]["metadata"], key: value}
    with pytest.raises(ParameterError, match=f"images differ in {key}") as info:
        dataset.write_dataset(tmp_path, e)
    assert re.search(hint + "$", str(info.value).split(";")[0])  # the remedy, where one helps
    assert list(tmp_path.iterdir()) == []


def test_an_empty_set_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="no images"):
        dataset.write_dataset(tmp_path, [])


@pytest.mark.parametrize("text, size", [("256x128", (256, 128)), ("64*32", (64, 32)),
                                        (f"1X{MAX_IMAGE_SIDE}", (1, MAX_IMAGE_SIDE))])  # fmt: skip
def test_parse_size(text, size):
    assert dataset.parse_size(text) == size


@pytest.mark.parametrize("text, words", [
    ("256", "WIDTHxHEIGHT"), ("axb", "WIDTHxHEIGHT"), ("1x2x3", "WIDTHxHEIGHT"),
    ("0x10", "must be 1 to"), (f"{MAX_IMAGE_SIDE + 1}x1", "must be 1 to"), ("-4x4", "must be 1"),
])  # fmt: skip
def test_bad_sizes_are_parameter_errors_quoting_the_value(text, words):
    with pytest.raises(ParameterError, match=words):
        dataset.parse_size(text)


def _write(tmp_path, doc) -> object:
    path = tmp_path / "d.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


@pytest.mark.parametrize("change, error, words", [
    ({"format": "other"}, MetadataError, "not a spec2img dataset file"),
    ({"version": 2}, MetadataError, "dataset version 2 is not 1"),
    ({"metadata": None}, MetadataError, "metadata is missing"),
    ({"metadata": {"n_fft": 256}}, MetadataError, "sample_rate"),
    ({"size": [256]}, MetadataError, "size must be"),
    ({"size": "256x256"}, MetadataError, "size must be"),
    ({"size": [0, 5]}, MetadataError, "must be 1 to"),
    ({"files": {"a": 1}}, MetadataError, "files must be a list"),
])  # fmt: skip
def test_bad_dataset_files_are_refused_naming_the_file(tmp_path, meta, change, error, words):
    doc = {"format": dataset.FORMAT, "version": 1, "metadata": meta, "size": [8, 8], "files": []}
    path = _write(tmp_path, {**doc, **change})
    with pytest.raises(error, match=words) as info:
        dataset.read_dataset(path)
    assert str(info.value).startswith(f"{path}: ")


def test_metadata_out_of_bounds_is_refused(tmp_path, meta):
    doc = {"format": dataset.FORMAT, "version": 1, "metadata": {**meta, "sample_rate": 0},
           "size": [8, 8], "files": []}  # fmt: skip
    with pytest.raises(MetadataError, match="sample_rate"):
        dataset.read_dataset(_write(tmp_path, doc))


@pytest.mark.parametrize("text", ["", "{", "[1, 2]", "null", '"spec2img-dataset"'])
def test_unreadable_or_foreign_json(tmp_path, text):
    path = _write(tmp_path, text)
    with pytest.raises((InputError, MetadataError)) as info:
        dataset.read_dataset(path)
    assert str(info.value).startswith(f"{path}: ")


def test_a_missing_dataset_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        dataset.read_dataset(tmp_path / "none.json")
