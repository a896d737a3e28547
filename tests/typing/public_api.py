"""Uses of the public API that a type checker must accept (tests/test_types.py)."""

from pathlib import Path

import numpy as np

import spec2img

y = np.zeros(22050, np.float32)
image: spec2img.SpectrogramImage = spec2img.encode(y, 22050, n_fft=1024, scale="mel")
audio, sr = spec2img.decode(image, n_iter=4)
audio2, sr2 = spec2img.decode(Path("out.png"))
rate: int = sr + sr2
loaded, file_sr = spec2img.load_audio("in.wav", sr=16000)
S = np.abs(np.zeros((1025, 10), np.complex64))
z: np.ndarray = spec2img.griffinlim(S, n_iter=8, init="random", rng=0)
m: np.ndarray = spec2img.mel_to_audio(S[:128], sr=22050, htk=True, norm=None)
params = spec2img.SpecParams(sample_rate=22050)
try:
    spec2img.load("a.png")
except spec2img.Spec2ImgError as e:
    message: str = str(e)
version: str = spec2img.__version__
