"""spec2img.griffinlim and spec2img.mel_to_audio side by side with librosa's.

    python bench/dropins.py [--runs 3] [--long-runs 1] [--quick]

Each case inverts ``np.abs(librosa.stft(y))`` (librosa's defaults: n_fft 2048, hop 512,
22.05 kHz) of an excerpt from ../shared/corpus with both functions at the same
``n_iter`` (32, librosa's default, and 100), interleaved, in one process after a
warm-up call each; times are medians over ``--runs`` (``--long-runs`` for the 60-s
excerpts).  Quality is the spectral convergence ``||S - |STFT(y)||| / ||S||`` in dB
(lower is better).  Mono is the channel mean; stereo the file's two channels.
mel_to_audio inverts ``librosa.feature.melspectrogram(y=y)`` (128 Slaney mels of
power); its quality is the spectral convergence of the mel spectrogram, and librosa's
NNLS (about 5 s per second of audio) keeps those cases to 5 s.

Tune on Vibe_Ace and the trumpet; judge on Sugar Plum, Lets_Go_Fishin and speech
(docs/speed.md quotes this script's output).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import CORPUS  # noqa: E402

import spec2img  # noqa: E402

SR = 22050
corpus = CORPUS  # --corpus
#: label -> (file, where the 5-s excerpt starts in s, set)
CLIPS = {
    "Vibe_Ace": ("Kevin_MacLeod_-_Vibe_Ace.ogg", 20.0, "tune"),
    "trumpet": ("sorohanro_-_solo-trumpet-06.ogg", 0.0, "tune"),
    "Sugar Plum": (
        "Kevin_MacLeod_-_P_I_Tchaikovsky_Dance_of_the_Sugar_Plum_Fairy.ogg",
        20.0,
        "judge",
    ),  # fmt: skip
    "Lets_Go_Fishin": ("Karissa_Hobbs_-_Lets_Go_Fishin.ogg", 20.0, "judge"),
    "speech": ("3436-172162-0000.ogg", 0.0, "judge"),
}
LONG = ("Vibe_Ace", "Sugar Plum", "Lets_Go_Fishin")  # at least 60 s long
MEL = (("Vibe_Ace", 1), ("Lets_Go_Fishin", 1), ("speech", 1), ("Lets_Go_Fishin", 2))


def load(label: str, seconds: float, channels: int) -> np.ndarray:
    import librosa

    name, start, _ = CLIPS[label]
    start = start if seconds <= 5 else 0.0
    y, _ = librosa.load(corpus / name, sr=SR, mono=channels == 1, offset=start,
                        duration=seconds)  # fmt: skip
    return y if channels == 1 or y.ndim == 2 else None


def sc_db(S: np.ndarray, y: np.ndarray) -> float:
    import librosa

    X = np.abs(librosa.stft(np.asarray(y, np.float32)))
    t = min(S.shape[-1], X.shape[-1])
    return float(20 * np.log10(np.linalg.norm(S[..., :t] - X[..., :t]) / np.linalg.norm(S)))


def mel_sc_db(M: np.ndarray, y: np.ndarray) -> float:
    import librosa

    Z = librosa.feature.melspectrogram(y=np.asarray(y, np.float32), sr=SR)
    t = min(M.shape[-1], Z.shape[-1])
    return float(20 * np.log10(np.linalg.norm(M[..., :t] - Z[..., :t]) / np.linalg.norm(M)))


def timed(fn, runs: int):
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, times


def side_by_side(ours, theirs, runs: int):
    """Interleaved: ours, theirs, ours, ... -> (y_ours, t_ours, y_theirs, t_theirs)."""
    t_o, t_t = [], []
    for _ in range(runs):
        y_o, t = timed(ours, 1)
        t_o += t
        y_t, t = timed(theirs, 1)
        t_t += t
    return y_o, statistics.median(t_o), y_t, statistics.median(t_t)


def griffinlim_rows(runs: int, long_runs: int, quick: bool) -> list[str]:
    import librosa

    rows = [
        "| clip (set) | length | channels | n_iter | librosa s | spec2img s | time ratio | "
        "librosa SC dB | spec2img SC dB | better by dB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    cases = [(c, 5.0) for c in CLIPS] + ([] if quick else [(c, 60.0) for c in LONG])
    for label, seconds in cases:
        for channels in (1, 2):
            y = load(label, seconds, channels)
            if y is None:  # a mono recording has no stereo case
                continue
            S = np.abs(librosa.stft(y))
            for n_iter in (32, 100):
                y_o, t_o, y_t, t_t = side_by_side(
                    lambda S=S, n=n_iter: spec2img.griffinlim(S, n_iter=n, rng=0),
                    lambda S=S, n=n_iter: librosa.griffinlim(
                        S, n_iter=n, random_state=np.random.default_rng(0)
                    ),
                    long_runs if seconds > 5 else runs,
                )
                a, b = sc_db(S, y_o), sc_db(S, y_t)
                rows.append(
                    f"| {label} ({CLIPS[label][2]}) | {y.shape[-1] / SR:.0f} s | {channels} | "
                    f"{n_iter} | {t_t:.2f} | {t_o:.2f} | {t_o / t_t:.2f}x | {b:.1f} | {a:.1f} | "
                    f"{b - a:.1f} |"
                )
                print(rows[-1], flush=True)
    return rows


def mel_rows() -> list[str]:
    import librosa

    rows = [
        "| clip (set) | channels | librosa s | spec2img s | time ratio | librosa mel SC dB | "
        "spec2img mel SC dB | better by dB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, channels in MEL:
        y = load(label, 5.0, channels)
        M = librosa.feature.melspectrogram(y=y, sr=SR)
        y_o, t_o, y_t, t_t = side_by_side(
            lambda M=M: spec2img.mel_to_audio(M, sr=SR, rng=0),
            lambda M=M: librosa.feature.inverse.mel_to_audio(M, sr=SR),
            1,
        )
        a, b = mel_sc_db(M, y_o), mel_sc_db(M, y_t)
        rows.append(
            f"| {label} ({CLIPS[label][2]}) | {channels} | {t_t:.2f} | {t_o:.2f} | "
            f"{t_o / t_t:.2f}x | {b:.1f} | {a:.1f} | {b - a:.1f} |"
        )
        print(rows[-1], flush=True)
    return rows


def warm_up() -> None:
    """One small call of each, so that imports and compilation are not timed."""
    import librosa

    y = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    S = np.abs(librosa.stft(y))
    spec2img.griffinlim(S, n_iter=2)
    librosa.griffinlim(S, n_iter=2)
    M = librosa.feature.melspectrogram(y=y, sr=SR)
    spec2img.mel_to_audio(M, n_iter=2)
    librosa.feature.inverse.mel_to_audio(M, n_iter=2)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each 5-s case (median)")
    parser.add_argument("--long-runs", type=int, default=1, help="runs of each 60-s case")
    parser.add_argument("--quick", action="store_true", help="5-s excerpts only")
    parser.add_argument("--no-mel", action="store_true", help="skip mel_to_audio")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help=f"default {CORPUS}")
    args = parser.parse_args(argv)
    global corpus
    corpus = args.corpus
    if not corpus.is_dir():
        sys.exit(f"no recordings in {corpus}")
    warnings.simplefilter("ignore", FutureWarning)
    warm_up()
    print("## griffinlim\n")
    out = griffinlim_rows(args.runs, args.long_runs, args.quick)
    if not args.no_mel:
        print("\n## mel_to_audio (5 s)\n")
        out += [""] + mel_rows()
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "dropins.md").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
