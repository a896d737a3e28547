"""Edit-to-hear latency of ``spec2img edit`` against a whole ``spec2img decode``.

    python bench/edit.py              # 20-s clips of a tune and a judge recording, 5 rounds
    python bench/edit.py --clip Karissa_Hobbs_-_Lets_Go_Fishin   # one recording
    python bench/edit.py --long       # also open a 10-minute stereo recording
    python bench/edit.py --only-long  # only that

1. Cuts a 20-s clip from each recording of ``--clip`` in ../shared/corpus (or
   ``$SPEC2IMG_CORPUS``; by default Vibe Ace from the tune set and Let's Go Fishin' from
   the judge set; a synthetic stereo clip when the corpus is absent), writes it as WAV
   and as a default spec2img PNG (no kept phase).
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
sys.path.insert(0, str(ROOT))


def _corpus() -> Path:
    """$SPEC2IMG_CORPUS, else ../shared/corpus from the repository (or from the folder
    holding its worktree)."""
    import os

    if os.environ.get("SPEC2IMG_CORPUS"):
        return Path(os.environ["SPEC2IMG_CORPUS"])
    for up in (ROOT.parent, ROOT.parent.parent):
        if (up / "shared" / "corpus").is_dir():
            return up / "shared" / "corpus"
    return ROOT.parent / "shared" / "corpus"


CORPUS = _corpus()
#: The default recordings: one of the tune set, one of the judge set.
CLIPS = {"Kevin_MacLeod_-_Vibe_Ace": "tune", "Karissa_Hobbs_-_Lets_Go_Fishin": "judge"}

EDITS = {
    "erase 1 s x 2-8 kHz": {"op": "erase", "time": [8.0, 9.0], "freq": [2000, 8000]},
    "gain -10 dB, 2 s": {"op": "gain", "time": [4.0, 6.0], "gain_db": -10},
    "heal 0.1 s": {"op": "heal", "time": [12.0, 12.1]},
    "erase 20 s (all)": {"op": "erase", "freq": [5000, 10000]},
}


def new_edits(info: dict) -> dict:
    """The issue-22 edits, in the grid of ``info``: paint, lasso, wand, cut/paste, move,
    picture (a cut fills the clipboard the paste after it reads)."""
    import base64
    import io

    from PIL import Image

    fps = info["sample_rate"] / info["hop_length"]
    hz = info["sample_rate"] / info["n_fft"]
    f = lambda t: t * fps  # noqa: E731
    pic = io.BytesIO()
    Image.fromarray((np.outer(np.linspace(0, 1, 64), np.ones(128)) * 255).astype(np.uint8)).save(
        pic, format="PNG"
    )
    lasso = [[f(8.0), 2000 / hz], [f(9.0), 2000 / hz], [f(9.0), 8000 / hz], [f(8.5), 5000 / hz]]
    return {
        "paint 1 s tone + 5 harmonics": {
            "op": "paint",
            "points": [[f(3.0), 440 / hz], [f(4.0), 440 / hz]],
            "radius": [3, 4],
            "harmonics": 5,
        },  # fmt: skip
        "paint 1 s noise 1 kHz band": {
            "op": "paint",
            "mode": "noise",
            "points": [[f(3.0), 3000 / hz], [f(4.0), 3000 / hz]],
            "radius": [3, 500 / hz],
        },  # fmt: skip
        "lasso erase 1 s, feather 2": {"op": "erase", "lasso": lasso, "feather": 2},
        "lasso heal 0.3 s x 0.2-8 kHz": {
            "op": "heal",
            "lasso": [
                [f(12.0), 200 / hz],
                [f(12.3), 200 / hz],
                [f(12.35), 4000 / hz],
                [f(12.3), 8000 / hz],
                [f(12.0), 8000 / hz],
            ],
        },  # fmt: skip
        "wand erase (seed 10 s, 1 kHz)": {
            "op": "erase",
            "wand": {"seed": [f(10.0), 1000 / hz], "tolerance_db": 12},
        },  # fmt: skip
        "cut 1 s x 2-8 kHz": {"op": "cut", "time": [8.0, 9.0], "freq": [2000, 8000]},
        "paste it at 15 s": {"op": "paste", "frame": int(f(15.0))},
        "move 1 s up an octave": {
            "op": "move",
            "time": [5.0, 6.0],
            "freq": [200, 4000],
            "by": int(f(1.0)),
            "ratio": 2.0,
        },  # fmt: skip
        "picture 2 s x 1-5 kHz": {
            "op": "image",
            "data": base64.b64encode(pic.getvalue()).decode(),
            "time": [10.0, 12.0],
            "freq": [1000, 5000],
        },  # fmt: skip
    }


def make_clip(folder: Path, seconds: float, stem: str | None = None) -> tuple[Path, Path, str]:
    import spec2img

    sources = sorted(CORPUS.glob("*.ogg"))
    if stem is not None:
        sources = [p for p in sources if p.stem == stem]
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
    folder.mkdir(parents=True, exist_ok=True)
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
    if r.status_code != 200:
        raise RuntimeError(f"{edit.get('op')}: {r.text}")
    lo, hi = r.json()["samples"]
    step = 1 << 22
    for s in range(lo, hi, step):
        client.get(f"{base}/api/audio", params={"start": s, "end": min(hi, s + step)})
    seconds = time.perf_counter() - start
    client.post(f"{base}/api/undo").raise_for_status()
    return seconds


def solo_to_hear(client, base: str, sel: dict) -> float:
    """``POST /api/solo`` until its samples have arrived: the page then plays them."""
    start = time.perf_counter()
    r = client.post(f"{base}/api/solo", json=sel)
    if r.status_code != 200:
        raise RuntimeError(f"solo: {r.text}")
    return time.perf_counter() - start


def decode_seconds(png: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "spec2img", "decode", str(png), str(out), "-q", "-y"],
                   check=True)  # fmt: skip
    return time.perf_counter() - start


def long_recording(folder: Path, client, rounds: int = 3) -> dict:
    """10 minutes of stereo 44.1 kHz: how soon ``spec2img edit`` shows the whole
    spectrogram against a whole ``spec2img encode`` (interleaved, medians), what the
    page gets at first, and an edit's latency there."""
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
    del y
    shown, encoded = [], []
    for _ in range(rounds):  # interleaved: the page's first whole view, then an encode
        shown.append(page_shows(path, client))
        encoded.append(encode_seconds(path, folder / "long.png"))
        got = shown[-1]
        print(f"page shows all {got['shows']:.2f} s, plays {got['plays']:.2f} s, edit "
              f"accepted ({got['edit_status']}) {got['edit_accepted']:.2f} s, ready "
              f"{got['ready']:.2f} s; encode {encoded[-1]:.2f} s", flush=True)  # fmt: skip
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
    enc = statistics.median(encoded)
    med = {k: statistics.median(r[k] for r in shown) for k in ("shows", "plays",
                                                                 "edit_accepted", "ready")}  # fmt: skip
    return {
        "page_shows_whole_spectrogram_seconds": round(med["shows"], 2),
        "encode_seconds": round(enc, 2), "ratio": round(med["shows"] / enc, 3),
        "page_plays_seconds": round(med["plays"], 2),
        "edit_accepted_seconds": round(med["edit_accepted"], 2),
        "ready_with_the_edit_applied_seconds": round(med["ready"], 2),
        "shown_runs": [round(r["shows"], 2) for r in shown],
        "encode_runs": [round(v, 2) for v in encoded],
        "open_to_editable_in_process_seconds": round(opened, 2), "overview_bytes": first,
        "full_image_bytes": full, "overview_fetch_seconds": round(overview_s, 3),
        "erase_1s_edit_to_hear_seconds": round(statistics.median(lat), 3),
    }  # fmt: skip


def page_shows(path: Path, client) -> dict:
    """Seconds from starting ``spec2img edit FILE`` to the page having what it draws
    first (the info and the overview of every channel: the whole recording), to its
    first chunk of audio (it plays), to an edit accepted (queued while the rest is
    prepared), and to ready (the queued edit applied, everything editable)."""
    start = time.perf_counter()
    import os

    env = {**os.environ, "XDG_STATE_HOME": str(path.parent / "state")}  # its journal: ours
    proc = subprocess.Popen([sys.executable, "-m", "spec2img", "edit", str(path), "--no-browser",
                             "--fresh"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    try:
        url = proc.stdout.readline().strip()
        base, token = url.split("/?token=")
        h = {"X-Spec2img-Token": token}
        info = client.get(f"{base}/api/info", headers=h).json()
        for ch in range(info["channels"]):
            r = client.get(f"{base}/api/tile", headers=h,
                           params={"ch": ch, "step": info["overview_step"]})  # fmt: skip
            r.raise_for_status()
        out = {"shows": time.perf_counter() - start}
        client.get(f"{base}/api/audio", headers=h,
                   params={"which": "original", "start": 0, "end": 1 << 22}).raise_for_status()  # fmt: skip
        out["plays"] = time.perf_counter() - start
        r = client.post(f"{base}/api/edit", headers=h,
                        json={"op": "erase", "time": [300.0, 301.0], "freq": [2000, 8000]})  # fmt: skip
        out["edit_accepted"] = time.perf_counter() - start
        out["edit_status"] = r.status_code
        while not client.get(f"{base}/api/state", headers=h).json()["ready"]:
            time.sleep(0.1)
        out["ready"] = time.perf_counter() - start
        return out
    finally:
        proc.terminate()
        proc.wait(30)


def encode_seconds(path: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "spec2img", "encode", str(path), str(out), "-q", "-y"],
                   check=True)  # fmt: skip
    return time.perf_counter() - start


def _auth() -> dict:
    return {"X-Spec2img-Token": "bench"}


def main() -> None:
    import httpx

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--long", action="store_true", help="also open 10 minutes of stereo")
    ap.add_argument("--only-long", action="store_true", help="only the 10 minutes of stereo")
    ap.add_argument("--clip", action="append", metavar="STEM",
                    help=f"a corpus recording (its file name without .ogg); default {list(CLIPS)}")  # fmt: skip
    args = ap.parse_args()
    if args.only_long:
        with (
            tempfile.TemporaryDirectory() as tmp,
            httpx.Client(headers=_auth(), timeout=600) as client,
        ):
            result = {"long": long_recording(Path(tmp), client, args.rounds)}
        print("10 minutes of stereo 44.1 kHz:", json.dumps(result["long"], indent=1))
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "edit_long.json").write_text(json.dumps(result, indent=1) + "\n")
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp, httpx.Client(headers=_auth(), timeout=120) as client:
        for stem in args.clip or list(CLIPS):
            results.append(bench_clip(Path(tmp) / stem, stem, args, client))
        result = {"clips": results}
        if args.long:
            result["long"] = long_recording(Path(tmp), client, args.rounds)
            print("\n10 minutes of stereo 44.1 kHz:", json.dumps(result["long"]))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "edit.json").write_text(json.dumps(result, indent=1) + "\n")


def bench_clip(folder: Path, stem: str, args, client) -> dict:
    """Every edit (and a solo) on both editors of one clip, interleaved round by round
    with a whole-process decode of it; prints the table."""
    wav, png, name = make_clip(folder, args.seconds, stem)
    editors = {
        "audio input (kept phase)": serve(wav),
        "image input (estimated phase)": serve(png),
    }
    info = editors["audio input (kept phase)"][2].info()
    all_edits = {**EDITS, **new_edits(info)}
    fps = info["sample_rate"] / info["hop_length"]
    hz = info["sample_rate"] / info["n_fft"]
    solo = {"lasso": [[5.0 * fps, 200 / hz], [6.0 * fps, 200 / hz], [6.0 * fps, 4000 / hz],
                      [5.0 * fps, 4000 / hz]]}  # fmt: skip
    decode, times = [], {(e, k): [] for e in editors for k in [*all_edits, "solo 1 s lasso"]}
    try:
        for _ in range(args.rounds):
            decode.append(decode_seconds(png, folder / "out.wav"))
            for e, (base, _, _) in editors.items():
                for k, edit in all_edits.items():
                    times[(e, k)].append(edit_to_hear(client, base, edit))
                times[(e, "solo 1 s lasso")].append(solo_to_hear(client, base, solo))
    finally:
        for _, server, _ in editors.values():
            server.should_exit = True
    d = statistics.median(decode)
    result = {"clip": name, "set": "synthetic" if name == "synthetic" else CLIPS.get(stem, "judge"), "seconds": args.seconds,
              "rounds": args.rounds, "decode_median_seconds": round(d, 3),
              "decode_runs": [round(v, 2) for v in decode], "edits": []}  # fmt: skip
    print(f"\nclip: {name} ({result['set']} set), {args.seconds:g} s; whole-process default "
          f"decode: median {d:.3f} s over {args.rounds} runs\n")  # fmt: skip
    print(f"| {'editor input':30} | {'edit':30} | edit-to-hear (median) | ratio to decode |")
    print(f"|{'-' * 32}|{'-' * 32}|{'-' * 23}|{'-' * 17}|")
    for (e, k), v in times.items():
        m = statistics.median(v)
        print(f"| {e:30} | {k:30} | {m * 1000:17.0f} ms | {m / d:15.3f} |", flush=True)
        result["edits"].append({"input": e, "edit": k, "median_seconds": round(m, 4),
                                "ratio": round(m / d, 4)})  # fmt: skip
    return result


if __name__ == "__main__":
    main()
