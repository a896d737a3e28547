"""The same batch on a Dask cluster of worker processes: identical outputs, byte for byte."""

import pytest
from test_batch import FAST, make_tree, run, summary

from spec2img.batch.runners import scheduler_address

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:  # fmt: skip
        yield c


def files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.*"))}


def test_dask_run_equals_the_local_run(tmp_path, capsys, cluster):
    make_tree(tmp_path / "in", names=("a.wav", "sub/b.wav", "sub/c.flac", "d.wav"))
    (tmp_path / "in" / "bad.wav").write_text("not audio")
    address = cluster.scheduler_address
    for where, extra in [("local", ["-j", 1]), ("dask", ["--scheduler", address])]:
        code, _, err = run(capsys, "encode", tmp_path / "in", "-o", tmp_path / where / "png",
                           *FAST, *extra)  # fmt: skip
        assert code == 1 and "4 converted, 0 skipped, 1 failed" in summary(err)
        assert "bad.wav" in err
        code, _, err = run(capsys, "decode", tmp_path / where / "png", "-o",
                           tmp_path / where / "wav", "--n-iter", 8, "--seed", 3, *extra)  # fmt: skip
        assert code == 0 and "4 converted" in summary(err)
    local, remote = files(tmp_path / "local"), files(tmp_path / "dask")
    assert sorted(local) == sorted(remote) and len(local) == 8
    assert all(local[name] == remote[name] for name in local)
    code, _, err = run(capsys, "encode", tmp_path / "in", "-o", tmp_path / "dask" / "png",
                       *FAST, "--scheduler", address.replace("tcp://", "dask://"))  # fmt: skip
    assert "0 converted, 4 skipped, 1 failed" in summary(err)


def test_scheduler_addresses():
    assert scheduler_address("dask://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert scheduler_address("tcp://h:1") == "tcp://h:1"


def test_unreachable_scheduler_is_one_clear_error(tmp_path, capsys, monkeypatch):
    make_tree(tmp_path / "in", names=("a.wav",))
    monkeypatch.setattr(distributed, "Client", _refuse)
    code, _, err = run(capsys, "encode", tmp_path / "in", "-o", tmp_path / "o", "--scheduler",
                       "tcp://127.0.0.1:9")  # fmt: skip
    assert code == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert "Traceback" not in err


def _refuse(*args, **kwargs):
    raise OSError("Timed out trying to connect")
