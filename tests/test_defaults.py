"""Each default is written once: the functions, the dataclasses and the CLI agree
(as python-soundfile tests its defaults)."""

from __future__ import annotations

import inspect

import pytest
from conftest import SR

import spec2img
from spec2img import options, params, phase
from spec2img.arrays import mosaicing, spectra
from spec2img.cli import create_parser
from spec2img.wild.plain import plain_spec


def defaults(fn) -> dict:
    return {
        k: p.default for k, p in inspect.signature(fn).parameters.items()
        if p.default is not inspect.Parameter.empty
    }  # fmt: skip


def cli_defaults(command: str) -> dict:
    parser = create_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return {a.dest: a.default for a in sub._actions}


WRITTEN_ONCE = {
    "n_fft": params.DEFAULT_N_FFT,
    "window": params.DEFAULT_WINDOW,
    "n_mels": params.DEFAULT_N_MELS,
    "top_db": params.DEFAULT_TOP_DB,
}


@pytest.mark.parametrize("name,value", WRITTEN_ONCE.items())
def test_encode_specparams_cli_and_arrays_agree(name, value):
    assert defaults(spec2img.encode)[name] == value
    assert cli_defaults("encode")[name.replace("-", "_")] == value
    # to_image's n_fft is None: taken from the array's number of bins
    assert defaults(spectra.to_image).get(name, value) in (value, None)
    assert defaults(spectra.to_image).get("window", params.DEFAULT_WINDOW) == params.DEFAULT_WINDOW
    assert getattr(options.EncodeOptions(), name) == value
    if name in ("n_fft", "window", "n_mels"):
        assert getattr(params.SpecParams(SR), name) == value
    if name in ("n_fft", "window"):
        assert defaults(mosaicing.mosaic)[name] == value
        assert cli_defaults("mosaic").get(name, value) == value


def test_plain_images_fill_in_the_same_defaults():
    linear = plain_spec(sr=SR, n_fft=1024, duration=1.0)
    mel = plain_spec(sr=SR, n_fft=1024, duration=1.0, y_axis="mel")
    assert linear.params.window == params.DEFAULT_WINDOW
    assert mel.params.n_mels == params.DEFAULT_N_MELS


def test_phase_defaults_agree():
    assert sorted(phase.METHODS) == sorted(options.METHODS)  # the same names
    assert options.PhaseOptions().method == options.DEFAULT_METHOD == phase.DEFAULT_METHOD
    assert options.PhaseOptions().n_iter == options.DEFAULT_N_ITER == phase.DEFAULT_N_ITER
    assert defaults(phase.reconstruct)["method"] == options.DEFAULT_METHOD
    assert defaults(phase.reconstruct)["n_iter"] == options.DEFAULT_N_ITER
    d = cli_defaults("decode")
    assert d["seed"] == options.PhaseOptions().seed
    # method and n_iter stay None on the command line: "not given", then the default
    assert d["method"] is None and d["n_iter"] is None
