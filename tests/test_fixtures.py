"""The committed fixtures are what fixtures/make_fixtures.py makes, and the format is stable."""

import numpy as np
import soundfile as sf
from conftest import FIXTURES, signals

import spec2img


def test_wav_fixtures_match_their_generator():
    for name, make in signals.FIXTURES.items():
        y, sr = sf.read(FIXTURES / name, dtype="float32", always_2d=True)
        want = np.atleast_2d(make()).T
        assert sr == signals.SR and y.shape == want.shape, name
        assert np.max(np.abs(y - want)) <= 1 / 32768 + 1e-6, name  # PCM_16 quantisation


def test_golden_png_decodes_to_what_the_encoder_makes_today():
    golden = spec2img.load(FIXTURES / "chirp_golden.png")
    y, sr = sf.read(FIXTURES / "chirp.wav", dtype="float32")
    now = spec2img.encode(y, sr, **signals.GOLDEN_PARAMS)
    assert golden.meta.to_dict() == now.meta.to_dict()
    # FFT rounding may differ across machines by a hair: allow one quantisation step.
    diff = np.abs(golden.pixels.astype(np.int32) - now.pixels.astype(np.int32))
    assert diff.max() <= 1 and np.mean(diff == 0) > 0.99
