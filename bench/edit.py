"""Edit-to-hear latency of ``spec2img edit`` against a whole ``spec2img decode``.

    python bench/edit.py              # 20-s clip, 5 rounds
    python bench/edit.py --long       # also open a 10-minute stereo recording

1. Cuts a 20-s clip from ../shared/corpus (a synthetic stereo clip when it is absent),
   writes it as WAV and as a default spec2img PNG (no kept phase).
2. Serves an editor on each (the WAV: kept phase, the PNG: estimated phase) with uvicorn
   on a local port, as ``spec2img edit`` does, and times *edit to hear* from the client:
   ``POST /api/edit`` until the re-synthesised samples of ``GET /api/audio`` have
   arrived -- everything the page waits for before it plays the change.
3. Times a whole-process default ``python -m spec2img decode clip.png out.wav``.

Decode runs and edits are interleaved round by round; medians are quoted.  The target:
edit-to-hear <= 0.3 x the decode.  Results go to bench/results/edit.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT))

EDITS = {
    "erase 1 s x 2-8 kHz": {"op": "erase", "time": [8.0, 9.0], "freq": [2000, 8000]},
    "gain -10 dB, 2 s": {"op": "gain", "time": [4.0, 6.0], "gain_db": -10},
    "heal 0.1 s": {"op": "heal", "time": [12.0, 12.1]},
    "erase 20 s (all)": {"op": "erase", "freq": [5000, 10000]},
}


def make_clip(folder: Path, seconds: float) -> tuple[Path, Path, str]:
    import spec2img

    sources = sorted(CORPUS.glob("*.ogg"))
    for src in sources:
        y, sr = spec2img.load_audio(src)
        y = np.atleast_2d(y)  # (channels, n), mono too
        if y.shape[-1] >= seconds * sr:
            y, name = y[:, : int(seconds * sr)], src.name
            break
    else:
        sr, name = 44100, "synthetic"
        t = np.arange(int(seconds * sr)) / sr
        rng = np.random.default_rng(0)
        glide = 0.2 * np.sin(2 * np.pi * (200 + 40 * t) * t)
        y = np.stack([glide, np.roll(glide, 500)]) + 0.01 * rng.standard_normal((2, t.size))
    wav, png = folder / "clip.wav", folder / "clip.png"
    sf.write(wav, np.asarray(y, np.float32).T, sr, subtype="PCM_16")
    subprocess.run([sys.executable, "-m", "spec2img", "encode", str(wav), str(png), "-q"],
                   check=True)  # fmt: skip
    return wav, png, name


def serve(path: Path):
    import uvicorn

    from spec2img.edit.server import allowed_hosts, bind, create_app
    from spec2img.edit.session import open_input

    session = open_input(path)
    session.prepare()
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app = create_app(session, token="bench", hosts=allowed_hosts("127.0.0.1"))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, session


def edit_to_hear(client, base: str, edit: dict) -> float:
    start = time.perf_counter()
    r = client.post(f"{base}/api/edit", json=edit)
    r.raise_for_status()
    lo, hi = r.json()["samples"]
    step = 1 << 22
    for s in range(lo, hi, step):
        client.get(f"{base}/api/audio", params={"start": s, "end": min(hi, s + step)})
    seconds = time.perf_counter() - start
    client.post(f"{base}/api/undo").raise_for_status()
    return seconds


def decode_seconds(png: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "spec2img", "decode", str(png), str(out), "-q", "-y"],
                   check=True)  # fmt: skip
    return time.perf_counter() - start


def long_recording(folder: Path, client) -> dict:
    """Open 10 minutes of stereo 44.1 kHz: load time, what the page gets at first, and
    an edit's latency there."""
    import spec2img

    sources = sorted(CORPUS.glob("*.ogg"))
    sr = 44100
    n = 600 * sr
    if sources:
        parts, total = [], 0
        while total < n:
            for src in sources:
                y, _ = spec2img.load_audio(src, sr=sr)
                y = np.atleast_2d(y)  # (channels, n), mono too
                y = np.broadcast_to(y, (2, y.shape[-1])) if y.shape[0] == 1 else y[:2]
                parts.append(y)
                total += y.shape[-1]
        y = np.concatenate(parts, axis=-1)[:, :n]
    else:
        y = 0.1 * np.random.default_rng(0).standard_normal((2, n))
    path = folder / "long.wav"
    sf.write(path, np.asarray(y, np.float32).T, sr, subtype="PCM_16")
    start = time.perf_counter()
    base, server, session = serve(path)
    opened = time.perf_counter() - start
    info = client.get(f"{base}/api/info", headers=_auth()).json()
    first = 0
    start = time.perf_counter()
    for ch in range(info["channels"]):
        r = client.get(f"{base}/api/tile", params={"ch": ch, "step": info["overview_step"]})
        first += len(r.content)
    overview_s = time.perf_counter() - start
    full = 2 * info["channels"] * info["rows"] * info["frames"]
    lat = [edit_to_hear(client, base, {"op": "erase", "time": [300.0, 301.0],
                                       "freq": [2000, 8000]}) for _ in range(3)]  # fmt: skip
    server.should_exit = True
    return {
        "open_seconds": round(opened, 2), "overview_bytes": first, "full_image_bytes": full,
        "overview_fetch_seconds": round(overview_s, 3),
        "erase_1s_edit_to_hear_seconds": round(statistics.median(lat), 3),
    }  # fmt: skip


def _auth() -> dict:
    return {"X-Spec2img-Token": "bench"}


def main() -> None:
    import httpx

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--long", action="store_true", help="also open 10 minutes of stereo")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wav, png, name = make_clip(folder, args.seconds)
        editors = {
            "audio input (kept phase)": serve(wav),
            "image input (estimated phase)": serve(png),
        }
        decode, times = [], {(e, k): [] for e in editors for k in EDITS}
        with httpx.Client(headers=_auth(), timeout=120) as client:
            for _ in range(args.rounds):
                decode.append(decode_seconds(png, folder / "out.wav"))
                for e, (base, _, _) in editors.items():
                    for k, edit in EDITS.items():
                        times[(e, k)].append(edit_to_hear(client, base, edit))
            result = {"clip": name, "seconds": args.seconds, "rounds": args.rounds,
                      "decode_median_seconds": round(statistics.median(decode), 3), "edits": []}  # fmt: skip
            d = statistics.median(decode)
            print(f"clip: {name}, {args.seconds:g} s; whole-process default decode: "
                  f"median {d:.3f} s over {args.rounds} runs\n")  # fmt: skip
            print(
                f"| {'editor input':30} | {'edit':22} | edit-to-hear (median) | ratio to decode |"
            )
            print(f"|{'-' * 32}|{'-' * 24}|{'-' * 23}|{'-' * 17}|")
            for (e, k), v in times.items():
                m = statistics.median(v)
                print(f"| {e:30} | {k:22} | {m * 1000:17.0f} ms | {m / d:15.3f} |")
                result["edits"].append({"input": e, "edit": k, "median_seconds": round(m, 4),
                                        "ratio": round(m / d, 4)})  # fmt: skip
            if args.long:
                result["long"] = long_recording(folder, client)
                print("\n10 minutes of stereo 44.1 kHz:", json.dumps(result["long"]))
        for _, server, _ in editors.values():
            server.should_exit = True
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "edit.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
