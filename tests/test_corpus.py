"""Round trips on real recordings from ../shared/corpus (skipped when it is absent)."""

import pytest
from conftest import CORPUS, rms_db, sc_db

import spec2img

pytestmark = [pytest.mark.corpus]

CASES = {
    "Kevin_MacLeod_-_Vibe_Ace.ogg": -28,
    "198-209-0000.ogg": -26,
    "sorohanro_-_solo-trumpet-06.ogg": -30,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_real_recordings_round_trip(tmp_path, name):
    y, sr = spec2img.load_audio(CORPUS / name)
    y = y[..., : 10 * sr]
    image = spec2img.encode(y, sr)
    z, _ = spec2img.decode(image)
    assert z.shape == y.shape
    assert sc_db(y, z) < CASES[name]
    assert abs(rms_db(z) - rms_db(y)) < 0.5


def test_short_real_excerpt_level_and_length():
    y, sr = spec2img.load_audio(CORPUS / "sorohanro_-_solo-trumpet-06.ogg")
    y = y[..., : 2 * sr]
    z, _ = spec2img.decode(spec2img.encode(y, sr), n_iter=32)
    assert z.shape == y.shape and abs(rms_db(z) - rms_db(y)) < 0.5
