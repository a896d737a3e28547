"""Calls a type checker must refuse: it sees the signatures, not ``Any``.

Each line marked ``# E`` must be reported, and no other (tests/test_types.py).
"""

import numpy as np

import spec2img

y = np.zeros(22050, np.float32)
spec2img.encode(y, 22050, n_fft="big")  # E
spec2img.encode(y, 22050, not_a_parameter=1)  # E
spec2img.decode(42)  # E
spec2img.griffinlim(y, n_iter="many")  # E
spec2img.mel_to_audio(y, sr=22050, bogus=True)  # E
n: str = spec2img.decode("a.png")[1]  # E
spec2img.no_such_function()  # E
