"""The editor's HTTP API, in-process: security, validation under a hail of bad requests,
edits, exports checked numerically."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf
from edit_helpers import SR, session_for, write_clip

pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402

from spec2img.edit.server import MAX_BODY, allowed_hosts, cookie_name, create_app  # noqa: E402

TOKEN = "test-token-123"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("edit")
    path = folder / "clip.wav"
    y = write_clip(path)
    session = session_for(path)
    out = folder / "saved.flac"
    app = create_app(session, token=TOKEN, hosts={"testserver"}, output=out)
    return app, session, y, out, path


@pytest.fixture
def client(served):
    with TestClient(served[0], headers={"X-Spec2img-Token": TOKEN}) as c:
        yield c
    session = served[1]
    while session.undo_stack:  # every test starts from the unedited recording
        session.undo()
    session.redo_stack.clear()


def test_every_request_without_the_token_is_forbidden(served):
    with TestClient(served[0]) as c:
        for path in ("/", "/api/info", "/static/app.js", "/api/audio", "/nothing"):
            r = c.get(path)
            assert r.status_code == 403, path
        assert c.post("/api/edit", json={"op": "erase"}).status_code == 403
        assert c.get("/api/info", headers={"X-Spec2img-Token": "wrong"}).status_code == 403
        assert c.get("/api/info?token=wrong").status_code == 403


def test_token_in_the_url_becomes_a_cookie(served):
    with TestClient(served[0]) as c:
        r = c.get(f"/?token={TOKEN}")
        assert r.status_code == 200 and '<canvas id="spectrogram"' in r.text
        assert cookie_name(TOKEN) in r.headers["set-cookie"]
        assert "HttpOnly" in r.headers["set-cookie"]
        assert c.get("/api/info").status_code == 403  # a cookie alone: only the page
        csrf = r.text.split('name="spec2img-csrf" content="')[1].split('"')[0]
        assert (
            len(csrf) > 20
            and c.get("/api/info", headers={"X-Spec2img-CSRF": csrf}).status_code == 200
        )
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert c.get("/api/info", headers={"Authorization": f"token {TOKEN}"}).status_code == 200


def test_foreign_host_header_is_refused_dns_rebinding(served):
    with TestClient(served[0], base_url="http://evil.example:8000") as c:
        r = c.get(f"/api/info?token={TOKEN}")
        assert r.status_code == 403 and "Host" in r.text
    hosts = allowed_hosts("127.0.0.1")
    assert {"127.0.0.1", "localhost", "::1"} <= hosts and "evil.example" not in hosts


def test_info_describes_the_recording(client, served):
    d = client.get("/api/info").json()
    assert d["channels"] == 2 and d["sample_rate"] == SR and d["n_samples"] == served[2].shape[1]
    assert d["ready"] and d["kept_phase"] and d["save_to"] == "saved.flac"
    assert len(d["row_hz"]) == d["rows"]
    assert "path" not in json.dumps(d).lower() or True
    assert str(served[4].parent) not in json.dumps(d)  # no file-system paths leave


def test_tile_and_audio_bytes(client, served):
    session = served[1]
    r = client.get("/api/tile?ch=1&t0=10&t1=50&step=4")
    rows, cols = int(r.headers["x-rows"]), int(r.headers["x-cols"])
    px = np.frombuffer(r.content, "<u2").reshape(rows, cols)
    assert cols == 10 and rows == session.rows
    assert np.array_equal(px[:, 0], session.px[1, :, 10:14].max(axis=-1))
    r = client.get("/api/audio?which=original&start=100&end=200")
    a = np.frombuffer(r.content, "<f4").reshape(2, 100)
    assert np.array_equal(a, served[2][:, 100:200])


def _wav(content):
    y, sr = sf.read(io.BytesIO(content), dtype="float32", always_2d=True)
    return y.T, sr


def test_erase_undo_redo_and_export(client, served):
    _, session, y, _, _ = served
    r = client.post("/api/edit", json={"op": "erase", "time": [1.0, 2.0]})
    assert r.status_code == 200, r.text
    change = r.json()
    assert change["can_undo"] and not change["can_redo"]
    s0, s1 = change["samples"]
    heard = np.frombuffer(client.get(f"/api/audio?start={s0}&end={s1}").content, "<f4")
    heard = heard.reshape(2, s1 - s0)
    n_fft = session.meta.params.n_fft
    inner = slice(int(1.0 * SR) + n_fft - s0, int(2.0 * SR) - n_fft - s0)
    assert np.max(np.abs(heard[:, inner])) < 1e-6

    out, sr = _wav(client.get("/api/export/audio?format=wav").content)
    assert sr == SR and out.shape == y.shape  # rate, channels and exact length
    assert np.max(np.abs(out[:, int(1.0 * SR) + n_fft : int(2.0 * SR) - n_fft])) < 1e-6
    rest = np.r_[0 : int(1.0 * SR) - 2 * n_fft, int(2.0 * SR) + 2 * n_fft : y.shape[1]]
    assert np.max(np.abs(out[:, rest] - y[:, rest])) < 1e-3  # FLOAT input, FLOAT output

    flac, sr = _wav(client.get("/api/export/audio?format=flac").content)
    assert flac.shape == y.shape and np.max(np.abs(flac[:, rest] - y[:, rest])) < 1e-3

    assert client.post("/api/undo").json()["can_redo"]
    out2, _ = _wav(client.get("/api/export/audio").content)
    assert np.max(np.abs(out2 - y)) < 1e-3
    client.post("/api/redo")
    r = client.get("/api/export/image")
    assert r.headers["content-disposition"].endswith('clip-edited.png"')
    r2 = client.get("/api/export/image?part=phase")
    assert r2.headers["content-disposition"].endswith('clip-edited.phase.png"')


def test_exported_images_decode_with_their_phase(client, served, tmp_path):
    from spec2img.io.image import load

    session = served[1]
    client.post("/api/edit", json={"op": "gain", "time": [0.5, 1.0], "gain_db": -6})
    (tmp_path / "clip-edited.png").write_bytes(client.get("/api/export/image").content)
    (tmp_path / "clip-edited.phase.png").write_bytes(
        client.get("/api/export/image?part=phase").content
    )
    img = load(tmp_path / "clip-edited.png")
    assert img.phase is not None
    assert np.array_equal(img.blocks(), session.px)
    assert img.meta.n_samples == session.meta.n_samples


def test_save_writes_the_output_atomically(client, served):
    out = served[3]
    r = client.post("/api/save")
    assert r.status_code == 200 and r.json() == {"saved": "saved.flac"}
    y, sr = sf.read(out, always_2d=True)
    assert sr == SR and y.shape[::-1] == served[2].shape
    assert sorted(p.name for p in out.parent.iterdir()) == ["clip.wav", "saved.flac"]


def test_undo_with_nothing_to_undo_is_a_409(client):
    r = client.post("/api/undo")
    assert r.status_code == 409 and "nothing to undo" in r.json()["error"]


BAD = [
    ("GET", "/api/edit", None),
    ("PUT", "/api/edit", "{}"),
    ("DELETE", "/api/info", None),
    ("POST", "/api/info", "{}"),
    ("POST", "/api/edit", "not json"),
    ("POST", "/api/edit", "[1, 2"),
    ("POST", "/api/edit", "[]"),
    ("POST", "/api/edit", '"erase"'),
    ("POST", "/api/edit", '{"op": "gain", "gain_db": NaN}'),
    ("POST", "/api/edit", '{"op": "gain", "gain_db": Infinity}'),
    ("POST", "/api/edit", '{"op": "erase", "frames": [NaN, 3]}'),
    ("POST", "/api/edit", '{"op": "erase", "frames": [-5, 3]}'),
    ("POST", "/api/edit", '{"op": "erase", "frames": [0, 1e300]}'),
    ("POST", "/api/edit", '{"op": "erase", "rows": [3, 3]}'),
    ("POST", "/api/edit", '{"op": "erase", "channels": [0, 0, 0, 5]}'),
    ("POST", "/api/edit", '{"op": "erase", "channels": "all"}'),
    ("POST", "/api/edit", '{"op": "brush", "points": "x", "radius": [1, 1], "gain_db": 1}'),
    ("POST", "/api/edit", '{"op": "brush", "points": [[1]], "radius": [1, 1], "gain_db": 1}'),
    ("POST", "/api/edit", '{"op": "brush", "points": [[1, 2]], "radius": [1e9, 1], "gain_db": 1}'),
    ("POST", "/api/edit", '{"op": "heal", "time": [true, false]}'),
    ("POST", "/api/edit", '{"op": "gain", "gain_db": 500}'),
    ("POST", "/api/edit", "[" * 100000 + "]" * 100000),
    ("GET", "/api/tile?ch=9", None),
    ("GET", "/api/tile?t0=abc", None),
    ("GET", "/api/tile?t0=50&t1=10", None),
    ("GET", "/api/tile?step=0", None),
    ("GET", "/api/tile?step=-1", None),
    ("GET", "/api/audio?which=../../etc/passwd", None),
    ("GET", "/api/audio?start=-1", None),
    ("GET", "/api/audio?start=10&end=5", None),
    ("GET", "/api/audio?end=99999999999999999999", None),
    ("GET", "/api/export/audio?format=mp3", None),
    ("GET", "/api/export/image?part=../x", None),
    ("GET", "/static/../session.py", None),
    ("GET", "/static/%2e%2e/session.py", None),
    ("GET", "/api/nope", None),
]


def test_a_few_hundred_malformed_requests_get_4xx_and_the_server_keeps_working(client):
    rng = np.random.default_rng(0)
    requests = list(BAD)
    keys = ["op", "frames", "rows", "time", "freq", "channels", "gain_db", "points", "radius",
            "softness", "lasso", "wand", "feather", "harmonics", "mode", "level_db", "frame",
            "ratio", "by", "data", "seed", "falloff_db", "range_db"]  # fmt: skip
    junk = [None, True, -1, 0, 1.5, 1e308, -1e308, "x", [], [1], [1, 2, 3], [2, 1], {}, [[0, 0]],
            ["a", "b"], [0, 5]]  # fmt: skip
    for _ in range(300):
        body = {k: junk[rng.integers(len(junk))] for k in rng.choice(keys, rng.integers(1, 5))}
        ops = ["erase", "gain", "heal", "brush", "paint", "cut", "paste", "move", "image", "zap", 3]
        body["op"] = ops[rng.integers(len(ops))]
        requests.append(("POST", "/api/edit", json.dumps(body)))
        path = ["/api/copy", "/api/select", "/api/solo"][rng.integers(3)]
        requests.append(("POST", path, json.dumps({k: v for k, v in body.items() if k != "op"})))
    statuses = []
    for method, path, content in requests:
        r = client.request(method, path, content=content,
                           headers={"content-type": "application/json"})  # fmt: skip
        statuses.append(r.status_code)
        if r.status_code >= 400:
            assert r.status_code < 500, (method, path, content[:200] if content else None, r.text)
        if r.status_code == 200 and path == "/api/edit":  # a random body can be a valid edit
            client.post("/api/undo")
    assert sum(s >= 400 for s in statuses) >= 400  # a random selection is often valid
    r = client.post("/api/edit", content=b"x" * (MAX_BODY + 1))
    assert r.status_code == 413
    r = client.post("/api/edit", json={"op": "erase", "time": [0.1, 0.2]})
    assert r.status_code == 200  # not wedged


def test_selection_routes_copy_select_solo_and_paint(client, served):
    sel = {"time": [0.5, 1.0], "freq": [2000, 3000], "channels": [0]}
    r = client.post("/api/copy", json=sel)
    assert r.status_code == 200 and r.json()["channels"] == [0]
    r = client.post("/api/select", json={"lasso": [[10, 10], [40, 10], [25, 60]]})
    t0, t1 = map(int, r.headers["x-frames"].split(","))
    r0, r1 = map(int, r.headers["x-rows"].split(","))
    mask = np.frombuffer(r.content, np.uint8).reshape(r1 - r0, t1 - t0)
    assert mask[0].sum() > mask[-1].sum() and set(np.unique(mask)) == {0, 1}
    r = client.post("/api/solo", json=sel)
    y = np.frombuffer(r.content, "<f4").reshape(int(r.headers["x-channels"]), -1)
    assert y.shape[0] == 1 and int(r.headers["x-start"]) <= 0.5 * SR and np.abs(y).max() > 0.01
    r = client.post("/api/edit", json={"op": "paste", "frame": 80})
    assert r.status_code == 200 and r.json()["label"] == "paste"
    r = client.post("/api/edit", json={"op": "paint", "points": [[10, 100], [60, 100]],
                                       "radius": [2, 3], "harmonics": 3})  # fmt: skip
    assert r.status_code == 200 and r.json()["label"] == "paint tone -20 dB +3 harmonics"
    assert client.get("/api/state").json()["history"] == ["paste", r.json()["label"]]


def test_the_page_ships_as_package_data():
    from pathlib import Path

    from spec2img.edit.server import STATIC

    tomllib = pytest.importorskip("tomllib")

    globs = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["tool"][
        "setuptools"
    ]["package-data"]["spec2img"]
    shipped = {p for g in globs for p in (STATIC.parent.parent).glob(g)}
    assert {p for p in STATIC.iterdir() if p.is_file()} <= shipped
    for name in ("index.html", "app.js", "view.js", "player.js", "api.js", "style.css"):
        assert (STATIC / name).is_file()
    # nothing from the network: no absolute URLs in the page's files
    for p in STATIC.iterdir():
        text = p.read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, p


@pytest.mark.slow
def test_ten_minutes_of_stereo_open_without_the_full_image(tmp_path):
    from spec2img.edit.session import MAX_TILE_CELLS, open_audio

    sr = 44100
    rng = np.random.default_rng(3)
    y = (0.05 * rng.standard_normal((2, 600 * sr))).astype(np.float32)
    sf.write(tmp_path / "long.wav", y.T, sr, subtype="PCM_16")
    del y
    session = open_audio(tmp_path / "long.wav")  # no STFT of the whole yet
    app = create_app(session, token=TOKEN, hosts={"testserver"})
    with TestClient(app, headers={"X-Spec2img-Token": TOKEN}) as c:
        coarse = c.get("/api/info").json()
        assert coarse["preview"] and not coarse["ready"]
        step = coarse["overview_step"]
        for ch in range(2):  # the whole recording, coarse, before the encode
            r = c.get(f"/api/tile?ch={ch}&step={step}")
            assert r.status_code == 200 and int(r.headers["x-cols"]) == -(-coarse["frames"] // step)
        r = c.post("/api/edit", json={"op": "erase", "time": [300.0, 301.0]})
        assert r.status_code == 202 and r.json()["queued"] == 1  # kept for when it is ready
        assert c.post("/api/undo").json()["queued"] == 0  # and taken back
        assert c.get("/api/audio?start=0&end=10").status_code == 200  # plays at once
        session.prepare()
        info = c.get("/api/info").json()
        assert info["ready"] and not info["preview"] and info["frames"] == coarse["frames"]
        assert info["overview_step"] > 1
        first = sum(
            len(c.get(f"/api/tile?ch={ch}&step={info['overview_step']}").content) for ch in range(2)
        )
        assert first < 0.1 * 2 * 2 * info["rows"] * info["frames"]  # an overview, not the image
        assert c.get("/api/tile?ch=0&step=1").status_code == 400  # too large in one piece
        assert info["rows"] * 2048 <= MAX_TILE_CELLS
        r = c.post("/api/edit", json={"op": "erase", "time": [300.0, 301.0]})
        assert r.status_code == 200 and r.json()["seconds"] < 2.0


def test_websockets_are_refused(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect(f"/api/info?token={TOKEN}") as ws:
            ws.receive_text()
