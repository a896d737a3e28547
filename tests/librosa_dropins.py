"""A pytest plugin that puts spec2img's drop-ins in place of librosa's two functions.

Run librosa's own tests of them against ours, in a librosa checkout, with this folder on
``PYTHONPATH``::

    python -m pytest -p librosa_dropins -o addopts= -o xfail_strict=true \\
        tests/test_core.py -k griffinlim tests/test_features.py::test_mel_to_audio \\
        tests/test_multichannel.py::test_griffinlim_multi

``tests/test_dropins.py`` does this when ``LIBROSA_TESTS`` names a checkout.  The
summary line counts the calls that reached spec2img, so a run that tested librosa's
own functions by mistake shows it.
"""

from __future__ import annotations

import functools

import librosa
import librosa.feature.inverse

import spec2img

CALLS = {"griffinlim": 0, "mel_to_audio": 0}


def _counted(name, fn):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        CALLS[name] += 1
        return fn(*args, **kwargs)

    return call


def pytest_configure(config):
    librosa.griffinlim = _counted("griffinlim", spec2img.griffinlim)
    librosa.feature.inverse.mel_to_audio = _counted("mel_to_audio", spec2img.mel_to_audio)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(
        f"spec2img drop-ins called: griffinlim {CALLS['griffinlim']}, "
        f"mel_to_audio {CALLS['mel_to_audio']}"
    )
