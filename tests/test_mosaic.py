"""Audio mosaicing: duration, frames built only from the source, sparsity, the CLI."""

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, rms_db, signals

import spec2img
from spec2img.arrays.mosaicing import learn_activations, mosaic, source_templates
from spec2img.cli.main import main
from spec2img.dsp.stft import Stft
from spec2img.errors import ParameterError

STFT = {"n_fft": 1024, "hop_length": 256}
STEPS = (300, 450, 675, 1000, 1500, 2250, 3375)  # Hz


def scale_of_tones(sr=SR, step=0.2):
    """Pure tones one after another, each ``step`` seconds: the source's vocabulary."""
    t = np.arange(int(sr * step)) / sr
    fade = np.minimum(1, np.minimum(t, t[-1] - t) / 0.01)
    return np.concatenate([0.3 * fade * np.sin(2 * np.pi * f * t) for f in STEPS]).astype(
        np.float32
    )


def sweep(sr=SR, seconds=1.0):
    """A target moving smoothly through the source's range (not equal to any frame)."""
    t = np.arange(int(sr * seconds)) / sr
    f0, f1 = 320, 3200
    k = np.log(f1 / f0) / seconds
    return (0.2 * np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k)).astype(np.float32)


def peak_hz(y, sr=SR):
    S = np.abs(Stft(1024, 256).forward(y))
    return np.argmax(S, axis=0) * sr / 1024, S.max(axis=0)


@pytest.mark.parametrize("phase", ["target", "retrieve", "source"])
def test_output_has_the_targets_duration_and_follows_its_pitch(phase):
    from scipy.stats import spearmanr

    src, tgt = scale_of_tones(), sweep()
    y = mosaic(src, tgt, SR, phase=phase, n_iter=50, phase_iter=20, **STFT)
    assert y.shape == tgt.shape and y.dtype == np.float32
    f_out, level = peak_hz(y)
    f_tgt, _ = peak_hz(tgt)
    loud = level > level.max() * 0.1
    assert spearmanr(f_out[loud], f_tgt[loud]).statistic > 0.9  # rises with the target
    if phase != "target":  # the target's phase bends partials toward its own pitch
        on_a_tone = np.min(np.abs(np.log(f_out[loud, None] / np.array(STEPS))), axis=1) < 0.06
        assert on_a_tone.mean() > 0.8, on_a_tone.mean()


def test_spectral_frames_are_built_only_from_the_sources():
    """The target is broadband noise; the output may only hold the source's partials."""
    src = signals.tone()  # 440, 880, 1320 Hz
    tgt = signals.noise_bursts()
    y = mosaic(src, tgt, SR, n_iter=50, **STFT)
    assert y.shape == tgt.shape
    engine = Stft(**STFT)
    S_src = np.abs(engine.forward(src)).mean(axis=1)
    support = S_src > S_src.max() * 1e-3  # bins where the source has any energy
    E = np.abs(engine.forward(y)) ** 2
    assert E[support].sum() / E.sum() > 0.99
    E_tgt = np.abs(engine.forward(tgt)) ** 2
    assert E_tgt[support].sum() / E_tgt.sum() < 0.2  # the target itself is elsewhere


def test_magnitude_is_a_nonnegative_mix_of_source_frames_and_sparse_keeps_k():
    rng = np.random.default_rng(0)
    S_src = np.abs(rng.standard_normal((64, 30))).astype(np.float32)
    S_src[:, 5] = 0  # a silent frame: dropped from the templates
    W, keep = source_templates(S_src)
    assert W.shape == (64, 29) and 5 not in keep
    assert np.allclose(np.linalg.norm(W, axis=0), 1)
    np.testing.assert_allclose(
        W * np.linalg.norm(S_src[:, keep], axis=0), S_src[:, keep], rtol=1e-5
    )
    V = np.abs(rng.standard_normal((2, 64, 40))).astype(np.float32)
    for k in (1, 3):
        H = learn_activations(V, W, n_iter=30, sparse=k)
        assert H.shape == (2, 29, 40) and np.all(H >= 0)
        assert np.all(np.count_nonzero(H, axis=-2) <= k)
    H = learn_activations(V, W, n_iter=30, sparse=1)
    WH = W @ H  # with one activation per frame, each frame is a scaled source frame
    cos = np.max(W.T @ (WH / np.linalg.norm(WH, axis=-2, keepdims=True)), axis=-2)
    np.testing.assert_allclose(cos, 1.0, rtol=1e-5)


def test_more_updates_fit_the_target_better():
    rng = np.random.default_rng(1)
    W, _ = source_templates(np.abs(rng.standard_normal((64, 30))))
    V = W @ np.abs(rng.standard_normal((30, 20))).astype(np.float32)

    def kl(H):
        WH = W @ H
        return float(np.sum(V * np.log(V / WH) - V + WH))

    fits = [kl(learn_activations(V, W, n_iter=n)) for n in (1, 10, 100)]
    assert fits[0] > fits[1] > fits[2]


def test_stereo_target_keeps_its_channels():
    tgt = signals.stereo()
    y = mosaic(signals.tone(), tgt, SR, n_iter=20, **STFT)
    assert y.shape == tgt.shape
    assert all(np.isfinite(rms_db(y[c])) for c in range(2))


def test_cli_mosaic(tmp_path, capsys):
    sf.write(tmp_path / "src.wav", scale_of_tones(sr=16000), 16000)  # resampled to 22050
    sf.write(tmp_path / "tgt.wav", sweep(), SR)
    out = tmp_path / "out.wav"
    code = main(["mosaic", str(tmp_path / "src.wav"), str(tmp_path / "tgt.wav"), str(out),
                 "--n-iter", "30", "--sparse", "2", "--phase", "retrieve", "-q"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    y, sr = sf.read(out)
    assert sr == SR and len(y) == len(sweep())
    assert rms_db(y) > rms_db(sweep()) - 6


def test_cli_mosaic_errors_name_the_file(tmp_path, capsys):
    sf.write(tmp_path / "silent.wav", np.zeros(SR, np.float32), SR)
    sf.write(tmp_path / "tgt.wav", sweep(), SR)
    sf.write(tmp_path / "short.wav", np.ones(100, np.float32), SR)
    out = str(tmp_path / "out.wav")
    cases = [
        ([tmp_path / "silent.wav", tmp_path / "tgt.wav", out], "silent.wav: the source is silent"),
        ([tmp_path / "tgt.wav", tmp_path / "short.wav", out], "short.wav: target of 100 samples"),
        ([tmp_path / "missing.wav", tmp_path / "tgt.wav", out], "no such file"),
        (
            [tmp_path / "tgt.wav", tmp_path / "tgt.wav", tmp_path / "o.mp4"],
            "unknown audio extension",
        ),
    ]
    for argv, words in cases:
        code = main(["mosaic", *map(str, argv), "-q"])
        err = capsys.readouterr().err.strip()
        assert code == 1 and len(err.splitlines()) == 1 and words in err, err
    assert not (tmp_path / "out.wav").exists()
    assert main(["mosaic", "a.wav", "b.wav", "c.wav", "--phase", "random"]) == 2


def test_bad_parameters():
    with pytest.raises(ParameterError, match="n_fft=8"):
        mosaic(signals.tone(), signals.tone(), SR, n_fft=8)
    with pytest.raises(ParameterError, match="phase must be one of"):
        mosaic(signals.tone(), signals.tone(), SR, phase="random")
    with pytest.raises(ParameterError, match="sparse must be"):
        mosaic(signals.tone(), signals.tone(), SR, sparse=0)


def test_public_name():
    assert spec2img.mosaic is mosaic
