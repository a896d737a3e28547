"""Batch throughput and long-file memory: the figures in docs/benchmarks.md ("At scale").

    python bench/batch.py                 # 200 clips of 2 s, decode with 32 iterations
    python bench/batch.py --clips 50      # quicker

1. Cuts ``--clips`` short clips from ../shared/corpus (round robin over its files).
2. Encodes and decodes them as one folder with ``--jobs 1`` and ``--jobs 2``: files/s
   and speed-up; then the same through a ``dask.distributed.LocalCluster`` of two
   single-threaded worker processes.
3. Decodes one 10-minute stereo 44.1 kHz recording (the corpus, looped) under
   ``/usr/bin/time -v`` and reports its peak resident memory against the float32 size of
   its magnitude.

Each run is a fresh ``python -m spec2img`` process, timed from start to exit (pool or
cluster start-up included, the cluster's own start-up excluded).  Scratch files go to a
temporary folder; the figures are printed and written to bench/results/batch.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT))


def make_clips(folder: Path, n: int, seconds: float) -> None:
    import spec2img

    sources = sorted(CORPUS.glob("*.ogg"))
    if not sources:
        sys.exit(f"no recordings in {CORPUS}")
    audio = [(np.atleast_2d(y), sr) for y, sr in map(spec2img.load_audio, sources)]
    cursor = [0] * len(audio)
    for i in range(n):
        k = i % len(audio)
        y, sr = audio[k]
        length = int(seconds * sr)
        if cursor[k] + length > y.shape[-1]:
            cursor[k] = 0
        clip = y[:, cursor[k] : cursor[k] + length]
        cursor[k] += length
        sub = folder / sources[k].stem[:20]
        sub.mkdir(parents=True, exist_ok=True)
        sf.write(sub / f"clip{i:03d}.wav", clip.T, sr, subtype="PCM_16")


def make_long(path: Path, seconds: float = 600.0, sr: int = 44100) -> None:
    import spec2img

    parts = []
    for p in sorted(CORPUS.glob("*.ogg")):
        y, _ = spec2img.load_audio(p, sr=sr)
        y = np.atleast_2d(y)  # (channels, n), mono too
        parts.append(np.vstack([y[0], y[-1] * 0.8]) if y.shape[0] == 1 else y[:2])
    y = np.concatenate(parts, axis=1)
    n = int(seconds * sr)
    y = np.tile(y, (1, -(-n // y.shape[1])))[:, :n]
    sf.write(path, y.T, sr, subtype="PCM_16")


def spec2img_cli(*args, timed: bool = False) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "spec2img", *map(str, args)]
    if timed:
        cmd = ["/usr/bin/time", "-v", *cmd]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if res.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{res.stderr[-2000:]}")
    return elapsed, res.stderr


def throughput(clips: Path, work: Path, n: int, n_iter: int, how: list) -> dict:
    out = {}
    for label, extra in how:
        png, wav = work / f"png-{label}", work / f"wav-{label}"
        t_enc, _ = spec2img_cli("encode", clips, "-o", png, "-q", *extra)
        t_dec, _ = spec2img_cli("decode", png, "-o", wav, "-q", "--n-iter", n_iter, *extra)
        out[label] = {"encode_s": t_enc, "decode_s": t_dec,
                      "encode_files_per_s": n / t_enc, "decode_files_per_s": n / t_dec}  # fmt: skip
        print(f"  {label:>8}: encode {n / t_enc:6.2f} files/s   decode {n / t_dec:6.2f} files/s",
              flush=True)  # fmt: skip
    return out


def peak_memory(work: Path, n_iter: int) -> dict:
    import spec2img

    src, png, wav = work / "long.flac", work / "long.png", work / "long_back.wav"
    make_long(src)
    t_enc, err_enc = spec2img_cli("encode", src, png, "-q", "-y", timed=True)
    t_dec, err_dec = spec2img_cli("decode", png, wav, "-q", "-y", "--n-iter", n_iter,
                                  timed=True)  # fmt: skip
    meta = spec2img.load(png).meta
    mag = 4 * meta.channels * (meta.params.n_fft // 2 + 1) * meta.n_frames
    rss = {k: _max_rss(e) for k, e in [("encode", err_enc), ("decode", err_dec)]}
    return {"duration_s": meta.n_samples / meta.params.sample_rate, "channels": meta.channels,
            "sample_rate": meta.params.sample_rate, "magnitude_bytes": mag,
            "encode_peak_rss": rss["encode"], "decode_peak_rss": rss["decode"],
            "decode_over_magnitude": rss["decode"] / mag, "encode_s": t_enc, "decode_s": t_dec,
            "decode_n_iter": n_iter}  # fmt: skip


def _max_rss(stderr: str) -> int:
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    return int(m.group(1)) * 1024 if m else -1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--n-iter", type=int, default=32, help="decode iterations of the clips")
    ap.add_argument("--long-n-iter", type=int, default=4, help="iterations of the long decode")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--no-memory", action="store_true")
    opts = ap.parse_args()
    results = {"clips": opts.clips, "clip_seconds": opts.seconds, "n_iter": opts.n_iter,
               "cores": len(os.sched_getaffinity(0)), "load_before": os.getloadavg()[0]}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="spec2img-bench-") as tmp:
        work = Path(tmp)
        make_clips(work / "clips", opts.clips, opts.seconds)
        print(f"{opts.clips} clips of {opts.seconds:g} s; decode with {opts.n_iter} iterations")
        how = [("jobs 1", ["-j", 1]), ("jobs 2", ["-j", 2])]
        results["local"] = throughput(work / "clips", work, opts.clips, opts.n_iter, how)
        if not opts.no_dask:
            from distributed import LocalCluster

            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:  # fmt: skip
                dask_how = [("dask 2", ["--scheduler", cluster.scheduler_address])]
                results["dask"] = throughput(work / "clips", work, opts.clips, opts.n_iter,
                                             dask_how)  # fmt: skip
        one, two = results["local"]["jobs 1"], results["local"]["jobs 2"]
        for step in ("encode", "decode"):
            results[f"{step}_speedup_jobs2"] = one[f"{step}_s"] / two[f"{step}_s"]
            print(f"  {step} speed-up with --jobs 2: {results[f'{step}_speedup_jobs2']:.2f}x")
        if not opts.no_memory:
            m = peak_memory(work, opts.long_n_iter)
            results["long_file"] = m
            print(f"10-min stereo 44.1 kHz decode ({m['decode_n_iter']} iterations): peak RSS "
                  f"{m['decode_peak_rss'] / 2**30:.2f} GiB = {m['decode_over_magnitude']:.1f}x "
                  f"the {m['magnitude_bytes'] / 2**20:.0f} MiB float32 magnitude "
                  f"({m['decode_s']:.0f} s); encode peak {m['encode_peak_rss'] / 2**30:.2f} GiB")  # fmt: skip
    results["load_after"] = os.getloadavg()[0]
    print(
        f"load average {results['load_before']:.1f} before, {results['load_after']:.1f} after "
        f"(other work on the machine slows every figure, jobs 2 most)"
    )
    dest = ROOT / "bench" / "results"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "batch.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {dest / 'batch.json'}")


if __name__ == "__main__":
    main()
