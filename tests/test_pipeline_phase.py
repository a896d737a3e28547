"""How the decoder feeds phase retrieval: layout, blockwise reductions, no copies."""

import numpy as np
import pytest
from conftest import SR, signals

import spec2img
from spec2img import phase, pipeline
from spec2img.dsp import spectrum
from spec2img.dsp.scale import mel_basis
from spec2img.dsp.stft import Stft
from spec2img.io.image import SpectrogramImage


@pytest.mark.parametrize("extra_frames", [-1, 0, 1])
@pytest.mark.parametrize("scale", ["linear", "mel"])
def test_linear_magnitude_values_and_layout(extra_frames, scale):
    image = spec2img.encode(signals.stereo(), SR, scale=scale)
    pixels = image.pixels
    if extra_frames < 0:
        pixels = pixels[:, :-1]
    elif extra_frames > 0:
        pixels = np.concatenate([pixels, pixels[:, -1:]], axis=1)
    image = SpectrogramImage(np.ascontiguousarray(pixels), image.meta)
    S = pipeline.linear_magnitude(image)
    assert S.shape == (2, 1025, image.meta.n_frames) and S.dtype == np.float32
    # the transpose of a contiguous (channels, frames, bins) array: no copy downstream
    assert np.swapaxes(S, 1, 2).flags.c_contiguous
    internal = phase._internal(S, S.shape[-1], S.shape[-2], np.float32)
    assert np.shares_memory(internal, S)
    if scale == "linear":  # the image's own values, once on its grid
        np.testing.assert_array_equal(S, image.on_grid().magnitude())


def test_blockwise_energy_matches_the_whole_array():
    y = signals.stereo()
    for scale in ("linear", "mel"):
        image = spec2img.encode(y, SR, scale=scale)
        ref = np.sum(np.square(image.magnitude(), dtype=np.float64), axis=(-2, -1))
        np.testing.assert_allclose(pipeline.image_energy(image), ref, rtol=1e-6)
        engine = Stft.from_params(image.params)
        z = 0.5 * y
        a = spectrum.match_level(z.copy(), image.magnitude(), image.params, engine)
        basis = mel_basis(image.params) if scale == "mel" else None
        b = spectrum.match_energy(z.copy(), ref, engine, basis=basis)
        np.testing.assert_allclose(a, b, rtol=1e-5)
        assert np.allclose(a, y, atol=1e-3)  # halving is undone


def test_forward_blocks_equal_forward():
    y = signals.stereo()[:, :20000]
    for center in (True, False):
        engine = Stft(1024, 300, 900, "hamming", center, block=7)
        X = engine.forward(y)
        got = np.concatenate([s for _, _, s in engine.forward_blocks(y)], axis=1)
        np.testing.assert_array_equal(np.swapaxes(got, 1, 2), X)
