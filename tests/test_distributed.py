"""Sharded runs on Dask distributed (``neurocompile/distributed.py``, issue 16).

A LocalCluster of 2 worker processes (one thread each) runs small Programs sharded by sample; every
result must equal the one-process run bit for bit (outputs, recordings, dtypes, units, warnings),
in sample order, for loihi2 and spinnaker emulator Programs and a learning Program. A worker killed
(SIGKILL) while shards run has its shards run again: the result is still identical and every sample
is counted once. Cluster addresses that cannot be reached fail within the connect timeout with a
typed error (the CLI: one line, exit 2).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import warnings

import numpy as np
import pytest

from neurocompile.distributed import (
    default_shards,
    merge_warnings,
    parse_cluster,
    shard_bounds,
    worker_stats,
)
from neurocompile.errors import BackendUnavailableError, NumericOverflowError, ParameterError
from neurocompile.targets.loihi2.builder import Loihi2Builder

dask_mark = pytest.mark.dask


@pytest.fixture(scope="module")
def client():
    dist = pytest.importorskip("distributed", reason="dask distributed is not installed (make venvs)")
    from neurocompile.distributed import local_cluster

    cluster = local_cluster(2)  # what --cluster local:2 starts
    c = dist.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _same(a, b) -> None:
    """Every array equal bit for bit with the same dtype; same provenance, units and warnings."""
    assert sorted(a.outputs) == sorted(b.outputs) and sorted(a.recordings) == sorted(b.recordings)
    for k, x in a.arrays().items():
        y = b.arrays()[k]
        assert x.dtype == y.dtype and x.shape == y.shape, (k, x.dtype, y.dtype, x.shape, y.shape)
        assert np.array_equal(x, y), k
    assert a.meta() == b.meta()
    assert a.warnings == b.warnings


def _loihi_program(seed: int = 0, n_in: int = 24, n_h: int = 40):
    rng = np.random.default_rng(seed)
    b = Loihi2Builder()
    b.input("inp", n_in)
    b.lif("h", n_h, du=400, dv=300, vth=2000, bias_mant=rng.integers(-50, 50, n_h))
    b.lif("out", 5, du=400, dv=300, vth=1500)
    b.dense("inp", "h", rng.integers(-100, 200, (n_h, n_in)))
    b.dense("h", "out", rng.integers(-100, 200, (5, n_h)), delays=rng.integers(0, 3, (5, n_h)))
    return b.build(outputs={"y": ("out", "spikes"), "v": ("out", "v", 0.5)})


def _distinct_inputs(batch: int, steps: int, n: int, seed: int = 1) -> np.ndarray:
    """Samples that all differ (each has its own rate), so any reordering or loss shows."""
    rng = np.random.default_rng(seed)
    rates = np.linspace(0.02, 0.5, batch)[:, None, None]
    return (rng.random((batch, steps, n)) < rates).astype(np.int8)


def _overflow_program():
    """Overflows that depend on the sample: u wraps in 'h' (neuron 0) when >= 5 inputs fire in one
    step, v saturates (neuron 1, large negative input); 'g' saturates when input 0 is busy."""
    b = Loihi2Builder()
    b.input("x", 8)
    b.lif("h", 2, du=4095, dv=0, vth=131071)
    b.lif("g", 1, du=4095, dv=0, vth=131071)
    w = np.zeros((2, 8), int)
    w[0, :] = 255
    b.dense("x", "h", w, weight_exp=7, sign_mode=1, name="hu")
    b.dense("x", "h", np.vstack([np.zeros(8, int), np.full(8, -255)]), weight_exp=3, sign_mode=1, name="hv")
    wg = np.zeros((1, 8), int)
    wg[0, 0] = -255
    b.dense("x", "g", wg, weight_exp=7, sign_mode=1, name="gv")
    return b.build(outputs={"y": ("h", "spikes")})


def _overflow_inputs(batch: int = 12, steps: int = 40) -> np.ndarray:
    rng = np.random.default_rng(5)
    p = rng.uniform(0.0, 0.8, batch)[:, None, None]
    x = (rng.random((batch, steps, 8)) < p).astype(np.int8)
    x[::4] = 0  # some samples stay quiet: no overflow at all
    return x


# ------------------------------------------------------------------------------ no cluster needed
def test_shard_bounds_cover_every_sample_once():
    for batch in (1, 2, 7, 37, 100):
        for shards in (1, 2, 3, 8, 200):
            b = shard_bounds(batch, shards)
            assert b[0][0] == 0 and b[-1][1] == batch and len(b) == min(batch, shards)
            assert all(x[1] == y[0] for x, y in zip(b, b[1:]))
            sizes = [y - x for x, y in b]
            assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1
    assert shard_bounds(0, 4) == []
    # 4 per worker; more for big batches, so that no default shard exceeds 256 samples
    assert default_shards(10, 2) == 8 and default_shards(10, 0) == 4
    assert max(b - a for a, b in shard_bounds(5000, default_shards(5000, 2))) <= 256


def test_parse_cluster_forms():
    assert parse_cluster("local:3") == ("local", 3)
    assert parse_cluster("tcp://10.0.0.5:8786") == ("address", "tcp://10.0.0.5:8786")
    assert parse_cluster("tcp://node-01.cluster:8786")[0] == "address"
    for bad in ("local:0", "local", "8786", "tcp://host", "tcp://host:99999", "http://h:1", "local:x"):
        with pytest.raises(ParameterError) as ei:
            parse_cluster(bad)
        assert "local:N" in str(ei.value) and ei.value.parameter == "cluster"


def test_merge_warnings_matches_one_process_wording():
    """Shards' overflow warnings merged: counts summed, first (step, sample) over the batch with
    global sample numbers, parts and populations in the backend's order (u before v, h before g)."""
    prog = _overflow_program()
    x = _overflow_inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        whole = prog.run({"x": x}).warnings
        assert len(whole) == 2 and "'h'" in whole[0] and "'g'" in whole[1], whole
        assert "u wrapped" in whole[0] and "v saturated" in whole[0], whole
        for shards in (2, 3, 5, 12):
            bounds = shard_bounds(len(x), shards)
            parts = [prog.run({"x": x[a:b]}).warnings for a, b in bounds]
            assert merge_warnings(parts, [a for a, _ in bounds], prog) == whole, shards
    other = ["something else", "population 'h': free text"]
    assert merge_warnings([other, other], [0, 3]) == other


def test_merge_warnings_other_shapes():
    """The spinnaker emulator's one-part messages (one per kind, own note) and a learning projection's
    warning with a second count: each count summed, the earliest (tick, global sample) kept."""
    note = " (bit-exact; strict=True raises)"
    wrap = (
        "population 'p': an int32 value wrapped (isyn) in {} sample(s), first at tick {} of sample {}" + note
    )
    sat = (
        "population 'p': a ring-buffer entry saturated in {} sample(s), first at tick {} of sample {} (lost)"
    )
    proj = (
        "projection 's': weights saturated (range [0, 255]): {} synapse update(s) in {} sample(s), "
        "first at step {} of sample {}" + note
    )
    shard_a = [sat.format(1, 9, 1), proj.format(68, 1, 274, 0)]
    shard_b = [wrap.format(2, 4, 0), sat.format(3, 2, 1), proj.format(85, 1, 191, 1)]
    # shard b shows the backend's order (wrap before saturation): kept
    assert merge_warnings([shard_a, shard_b], [0, 2]) == [
        wrap.format(2, 4, 2),
        sat.format(4, 2, 3),
        proj.format(153, 2, 191, 3),
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dask_mark
def test_unreachable_scheduler_fails_within_the_timeout(monkeypatch):
    pytest.importorskip("distributed", reason="dask distributed is not installed (make venvs)")
    monkeypatch.setenv("NEUROCOMPILE_CLUSTER_TIMEOUT", "2")
    addr = f"tcp://127.0.0.1:{_free_port()}"
    t0 = time.perf_counter()
    with pytest.raises(BackendUnavailableError) as ei:
        _loihi_program().run({"inp": _distinct_inputs(4, 10, 24)}, cluster=addr)
    assert time.perf_counter() - t0 < 15
    assert addr in str(ei.value) and ei.value.parameter == "cluster"


@dask_mark
def test_cli_unreachable_cluster_one_line_exit_2(tmp_path, monkeypatch, capsys):
    pytest.importorskip("distributed", reason="dask distributed is not installed (make venvs)")
    from neurocompile.cli.main import main

    monkeypatch.setenv("NEUROCOMPILE_CLUSTER_TIMEOUT", "2")
    prog = tmp_path / "p.ncp"
    _loihi_program().save(prog)
    np.savez(tmp_path / "in.npz", inp=_distinct_inputs(4, 10, 24))
    addr = f"tcp://127.0.0.1:{_free_port()}"
    args = [
        "run",
        str(prog),
        "-i",
        str(tmp_path / "in.npz"),
        "-o",
        str(tmp_path / "o.npz"),
        "--cluster",
        addr,
    ]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and addr in err[0] and err[0].startswith("backend unavailable"), err
    assert main(args[:-1] + ["local:0"]) == 2
    assert "local:N" in capsys.readouterr().err


# ------------------------------------------------------------------------------ on a LocalCluster
@dask_mark
@pytest.mark.parametrize("shards", (1, 2, 7, 37))
def test_sharded_loihi2_run_is_bit_identical(client, shards):
    prog = _loihi_program()
    x = {"inp": _distinct_inputs(37, 30, 24)}
    rec = "h.v,h.u,h.spikes,out.v,inp.spikes"
    whole = prog.run(x, record=rec)
    seen: list[tuple[int, int]] = []
    sharded = prog.run(
        x, record=rec, cluster=client, shards=shards, progress=lambda d, n: seen.append((d, n))
    )
    _same(whole, sharded)
    # progress: samples done across workers, rising to the batch exactly once
    assert seen[0] == (0, 37) and seen[-1] == (37, 37)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) == min(shards, 37) + 1
    raw = prog.run(x, record=rec, raw=True)
    _same(raw, prog.run(x, record=rec, raw=True, cluster=client, shards=shards))


@dask_mark
def test_sharded_spinnaker_run_is_bit_identical(client):
    from neurocompile.targets.spinnaker.builder import SpiNNakerBuilder

    rng = np.random.default_rng(3)
    b = SpiNNakerBuilder(1.0)
    b.spike_source("src", 16)
    b.if_curr_exp("lif", 8, tau_syn_E=5.0, tau_syn_I=5.0, v_thresh=-55.0, tau_m=20.0)
    pre, post = np.meshgrid(np.arange(16), np.arange(8), indexing="ij")
    b.from_list(
        "src", "lif", pre_idx=pre.ravel(), post_idx=post.ravel(), weights=rng.uniform(0, 2.0, pre.size)
    )
    prog = b.build({"o": ("lif", "spikes")})
    x = {"src": _distinct_inputs(11, 40, 16, seed=4)}
    whole = prog.run(x, record="lif.v,lif.u")
    _same(whole, prog.run(x, record="lif.v,lif.u", cluster=client, shards=4))


@dask_mark
def test_sharded_learning_run_is_bit_identical(client):
    """A learning Program (R-STDP, Loihi stochastic rounding seeded by rng_seed): each sample learns
    from the Program's initial weights, so shards give the same final weights and traces."""
    from neurocompile.models import learning_tasks as D

    xs, rs = [], []
    for s in range(5):
        x, r, _ = D.choice_data(s, 6)
        xs.append(x)
        rs.append(r)
    prog = D.choice_program(3)
    inputs = {"inp": np.stack(xs), "reward": np.stack(rs)}
    whole = prog.run(inputs, record="out.v")
    assert (
        "syn.weights" in whole.recordings
        and len({whole.recordings["syn.weights"][i].tobytes() for i in range(5)}) > 1
    )
    _same(whole, prog.run(inputs, record="out.v", cluster=client, shards=3))


@dask_mark
def test_sharded_warnings_and_strict_errors_as_one_process(client):
    prog = _overflow_program()
    x = {"x": _overflow_inputs()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        whole = prog.run(x)
        n_whole = len(caught)
        sharded = prog.run(x, cluster=client, shards=5)
    assert len(whole.warnings) == 2
    _same(whole, sharded)
    assert len(caught) == 2 * n_whole  # re-issued on the client, once per merged message
    with pytest.raises(NumericOverflowError) as one:
        prog.run(x, strict=True)
    with pytest.raises(NumericOverflowError) as many:
        prog.run(x, strict=True, cluster=client, shards=5)
    assert str(many.value) == str(one.value) and many.value.node == one.value.node


@dask_mark
def test_local_workers_have_one_numba_thread(client):
    def threads() -> int:
        import numba

        return numba.config.NUMBA_NUM_THREADS

    assert set(client.run(threads).values()) == {1}


@dask_mark
def test_program_is_deserialised_once_per_worker(client):
    prog = _loihi_program(seed=9)
    x = {"inp": _distinct_inputs(16, 10, 24)}
    prog.run(x, cluster=client, shards=8)
    before = client.run(worker_stats)
    prog.run(x, cluster=client, shards=8)
    after = client.run(worker_stats)
    assert sum(s["shards"] for s in after.values()) - sum(s["shards"] for s in before.values()) == 8
    assert {w: s["loads"] for w, s in after.items()} == {w: s["loads"] for w, s in before.items()}


@dask_mark
def test_bad_inputs_raise_the_one_process_error(client):
    from neurocompile.errors import InputDataError

    prog = _loihi_program()
    x = _distinct_inputs(6, 10, 24).astype(np.float64)
    x[4, 3, 2] = 2.0  # not a spike, in the last shard
    with pytest.raises(InputDataError) as one:
        prog.run({"inp": x})
    with pytest.raises(InputDataError) as many:
        prog.run({"inp": x}, cluster=client, shards=3)
    assert type(many.value) is type(one.value) and many.value.node == one.value.node
    with pytest.raises(InputDataError):  # a missing key: checked in this process
        prog.run({"other": x}, cluster=client)


@dask_mark
@pytest.mark.slow
def test_killed_worker_shards_rerun_no_sample_lost_or_twice(client):
    """SIGKILL one worker process while shards run: Dask reruns its shards elsewhere (the nanny
    restarts the process); the gathered result equals the one-process run, every sample once."""
    rng = np.random.default_rng(11)
    b = Loihi2Builder()
    b.input("inp", 128)
    b.lif("h", 2048, du=400, dv=300, vth=2000)
    b.lif("out", 10, du=400, dv=300, vth=1500)
    b.dense("inp", "h", rng.integers(-20, 40, (2048, 128)))
    b.dense("h", "out", rng.integers(-20, 40, (10, 2048)))
    prog = b.build(outputs={"y": ("out", "spikes")})
    x = {"inp": _distinct_inputs(24, 1500, 128, seed=12)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        whole = prog.run(x, record="h.spikes")
    pids = client.run(os.getpid)
    victim, pid = sorted(pids.items())[0]

    def suspicious(dask_scheduler=None) -> int:  # times a shard was on a worker that died
        p = dask_scheduler.task_prefixes.get("neurocompile-shard")
        return 0 if p is None else p.suspicious

    rerun_before = client.run_on_scheduler(suspicious)
    out: dict = {}
    seen: list[int] = []

    def go() -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out["r"] = prog.run(
                    x, record="h.spikes", cluster=client, shards=12, progress=lambda d, n: seen.append(d)
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            out["e"] = exc

    th = threading.Thread(target=go)
    th.start()
    busy = False
    deadline = time.time() + 60
    while time.time() < deadline and th.is_alive():
        if client.processing(workers=[victim]).get(victim):
            busy = True
            break
        time.sleep(0.02)
    assert busy, "the victim never got a shard"
    time.sleep(0.05)  # inside its shard
    os.kill(pid, signal.SIGKILL)
    th.join(180)
    assert not th.is_alive() and "e" not in out, out.get("e")
    _same(whole, out["r"])
    assert client.run_on_scheduler(suspicious) > rerun_before, "no shard was lost with the worker"
    assert seen[-1] == 24 and len(seen) == 13 and seen == sorted(seen)  # every shard counted once
    assert pid not in client.run(os.getpid).values()  # the process really died
    client.wait_for_workers(2, timeout=60)  # the nanny's new process, for the tests after this one


@dask_mark
@pytest.mark.slow
def test_cli_run_with_local_cluster_writes_the_same_npz(tmp_path, capsys):
    from neurocompile.cli.main import main
    from neurocompile.data import load_npz

    prog = tmp_path / "p.ncp"
    _loihi_program().save(prog)
    np.savez(tmp_path / "in.npz", inp=_distinct_inputs(9, 20, 24))
    base = ["run", str(prog), "-i", str(tmp_path / "in.npz"), "--record", "h.v,out.spikes"]
    assert main(base + ["-o", str(tmp_path / "one.npz")]) == 0
    assert main(base + ["-o", str(tmp_path / "many.npz"), "--cluster", "local:2"]) == 0
    out = capsys.readouterr().out
    assert "shards on 2 Dask workers" in out, out
    one, many = load_npz(tmp_path / "one.npz"), load_npz(tmp_path / "many.npz")
    assert sorted(one) == sorted(many) and all(np.array_equal(one[k], many[k]) for k in one)


@dask_mark
def test_sweep_on_the_cluster_gives_the_same_rows(client):
    """neurocompile.sweep.run_sweep: one Dask task per point, rows in grid order, equal to one process."""
    import sys

    import cloudpickle

    from neurocompile.sweep import run_sweep

    sys.path.insert(0, os.path.dirname(__file__))
    import test_sweep

    cloudpickle.register_pickle_by_value(test_sweep)  # the workers cannot import tests/
    grid = {"seed": list(range(6)), "fail": [False, True]}
    local = run_sweep(test_sweep.probe, grid)
    seen: list[int] = []
    res = run_sweep(test_sweep.probe, grid, cluster=client, progress=lambda d, n: seen.append(d))
    assert res.rows == local.rows and res.workers == 2 and seen == list(range(13))
    assert any("error" in r for r in res.rows) and res.metrics == local.metrics


@dask_mark
@pytest.mark.slow
def test_validate_on_the_cluster_gives_the_same_report(client):
    """compare.validate(cluster=...) on a zoo model: the same report as in one process."""
    from neurocompile.compare import validate
    from neurocompile.models import accuracy, load_test_set, model_path

    name = "digits_cnn_sinabs"
    prog = accuracy.compile_for(name, "loihi2", options={})
    inputs, labels = load_test_set(name, 24)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        one = validate(model_path(name), prog, inputs, labels=labels)
        many = validate(model_path(name), prog, inputs, labels=labels, cluster=client)
    assert one.as_dict() == many.as_dict()


def test_shipped_bytes_are_the_same_program():
    """The workers get the .ncp bytes deflated at level 1: the same Program (its default bytes)."""
    from neurocompile.distributed import SHIP_COMPRESS_LEVEL
    from neurocompile.program import Program

    prog = _loihi_program(seed=4)
    shipped = prog.to_bytes(compresslevel=SHIP_COMPRESS_LEVEL)
    assert shipped != prog.to_bytes() and Program.from_bytes(shipped).to_bytes() == prog.to_bytes()


def test_shard_results_pack_spikes_losslessly():
    """A shard's 0/1 integer and bool arrays travel packed 8 per byte and come back equal, with their
    dtype; any other array (other values, floats, tiny) travels as it is."""
    from types import SimpleNamespace

    from neurocompile.distributed import _pack_spikes, _unpack_spikes

    rng = np.random.default_rng(0)
    spikes = (rng.random((3, 50, 7)) < 0.3).astype(np.int8)
    arrays = {
        "a.spikes": spikes,
        "inp.spikes": spikes.astype(np.int64)[:, ::2],  # not contiguous
        "b": spikes.astype(bool),
        "u": spikes.astype(np.uint8),
        "counts": spikes * 2,  # values beyond 1: not packed
        "v": spikes.astype(np.float64),
        "tiny": spikes[:1, :2, :3].copy(),
    }
    want = {k: v.copy() for k, v in arrays.items()}
    result = SimpleNamespace(outputs={"y": spikes[:, 10:].copy()}, recordings=dict(arrays))
    packed = _pack_spikes(result)
    assert {key for _, key in packed} == {"y", "a.spikes", "inp.spikes", "b", "u"}
    assert all(result.recordings[k] is arrays[k] for k in ("counts", "v", "tiny"))
    _unpack_spikes({"result": result, "packed": packed})
    for k, v in want.items():
        got = result.recordings[k]
        assert got.dtype == v.dtype and np.array_equal(got, v), k
    assert np.array_equal(result.outputs["y"], spikes[:, 10:])
