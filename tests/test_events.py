"""Event data in and out (``neurocompile/events.py``, ``docs/events.md``).

Generated event streams (fixed seeds 0, 1, 2 chosen before any run) are binned and compared with
a grid built here event by event in plain Python (and with tonic's own ``ToFrame`` when tonic is
installed); the binned grid runs a compiled Program to the same outputs as that direct grid; the
bundled digits converted to events bin back to the dense test set exactly; NIRData written here
reads back (and, with a nir 1.0.8 wheel, NIR's own reader reads our files and we read NIR's);
bad inputs are refused with typed errors naming the field, and the CLI prints one line, exit 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neurocompile as nc
from neurocompile import events as E
from neurocompile.cli.main import main
from neurocompile.errors import InputDataError
from neurocompile.models import load_card, load_test_set, model_path
from neurocompile.target import target_names

SEEDS = (0, 1, 2)
REPO = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- helpers
def camera_events(seed: int, n: int, W: int, H: int, P: int, t_max_us: int) -> np.ndarray:
    """Random DVS-like events in tonic's dtype (x, y int16, t int64 microseconds, p bool/int)."""
    rng = np.random.default_rng(seed)
    dtype = [("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?" if P <= 2 else "<i2")]
    ev = np.zeros(n, dtype)
    ev["x"] = rng.integers(0, W, n)
    ev["y"] = rng.integers(0, H, n)
    ev["p"] = rng.integers(0, P, n)
    ev["t"] = np.sort(rng.integers(0, t_max_us, n))
    return ev


def direct_grid(samples, W, H, P, width_us, steps, mode="count") -> np.ndarray:
    """The grid built event by event: step floor(t / width), channel p, row y, column x."""
    out = np.zeros((len(samples), steps, P, H, W))
    for b, ev in enumerate(samples):
        for e in ev:
            k = int(float(e["t"]) // width_us)
            if k >= steps:
                continue
            y = int(e["y"]) if "y" in ev.dtype.names else 0
            p = int(e["p"]) if "p" in ev.dtype.names else 0
            if mode == "binary":
                out[b, k, p, y, int(e["x"])] = 1
            else:
                out[b, k, p, y, int(e["x"])] += 1
    return out


def compile_zoo(name: str, target: str):
    sem = load_card(name)["simulate"]
    return nc.compile(
        str(model_path(name)), target=target, dt=sem["dt"], discretization=sem["discretization"]
    )


def _one_line(err: str) -> str:
    lines = [x for x in err.strip().splitlines() if x.strip()]
    return lines[-1] if lines else ""


# ----------------------------------------------------------------------------- binning
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mode", E.MODES)
def test_camera_events_bin_like_the_direct_grid(seed, mode):
    W, H, P = 8, 6, 2
    samples = [camera_events(seed * 10 + i, 400, W, H, P, 20_000) for i in range(3)]
    grid, rep = E.bin_events(samples, (P, H, W), width=1000, mode=mode, steps=20)
    want = direct_grid(samples, W, H, P, 1000, 20, mode)
    assert grid.shape == want.shape and np.array_equal(grid, want)
    assert rep.events == 1200 and rep.dropped == 0
    counts = direct_grid(samples, W, H, P, 1000, 20, "count")
    if mode == "binary":
        assert rep.merged == int(counts.sum() - np.count_nonzero(counts))
    else:
        assert rep.multi_bins == int(np.count_nonzero(counts > 1)) and rep.max_count == int(counts.max())


@pytest.mark.extras
@pytest.mark.parametrize("seed", SEEDS)
def test_binning_matches_tonic_to_frame(seed):
    tonic = pytest.importorskip("tonic", reason="tonic 1.7.0 not installed (pip install --no-deps tonic)")
    from tonic.transforms import ToFrame

    W, H, P = 8, 6, 2
    ev = camera_events(seed, 600, W, H, P, 30_000)
    grid, _ = E.bin_events([ev], (P, H, W), width=1000, steps=30, mode="count")
    frames = ToFrame(sensor_size=(W, H, P), time_window=1000, start_time=0, end_time=30_000)(ev.copy())
    assert tonic.__version__ == "1.7.0"
    assert np.array_equal(frames[:30], grid[0])
    # 1-D sensor (tonic's x, t, p layout, e.g. SHD): frames (T, P, W)
    ev1 = np.zeros(300, [("x", "<i2"), ("t", "<i8"), ("p", "<i2")])
    rng = np.random.default_rng(seed)
    ev1["x"], ev1["t"] = rng.integers(0, 16, 300), np.sort(rng.integers(0, 10_000, 300))
    g1, _ = E.bin_events([ev1], (16,), width=500, steps=20, mode="count")
    f1 = ToFrame(sensor_size=(16, 1, 1), time_window=500, start_time=0, end_time=10_000)(ev1.copy())
    assert np.array_equal(f1[:20, 0], g1[0])


def test_window_drops_are_counted_and_float_times_bin_by_the_stated_rule():
    rng = np.random.default_rng(0)
    ev = np.zeros(500, [("x", "<i4"), ("t", "<f8")])
    ev["x"] = rng.integers(0, 16, 500)
    ev["t"] = rng.uniform(0, 50_000, 500)
    width = 1000.0
    grid, rep = E.bin_events([ev], (16,), width=width, steps=30, mode="count")
    late = int(np.count_nonzero(ev["t"] >= 30 * width))
    assert late > 0 and rep.dropped == late and rep.events == 500
    assert grid.sum() == 500 - late
    assert any("dropped" in w for w in rep.warnings())
    # k * dt in floating point lands in step k (dt = 0.1 ms: 0.1 * k is not exact for most k)
    k = np.arange(1000)
    ev2 = np.zeros(1000, [("x", "<i4"), ("t", "<f8")])
    ev2["t"] = k * 0.1
    g2, _ = E.bin_events([ev2], (1,), width=0.1, steps=1000)
    assert np.array_equal(g2[0, :, 0], np.ones(1000))
    # a huge float time is a late event (dropped), not an overflow; inferring its window is refused
    big = ev[:5].copy()
    big["t"][0] = 1e300
    g4, rep4 = E.bin_events([big], (16,), width=width, steps=30, mode="count")
    assert rep4.dropped == 1 + int(np.count_nonzero(big["t"][1:] >= 30 * width))
    with pytest.raises(InputDataError, match="elements"):
        E.bin_events([big], (16,), width=width)
    # steps inferred: the last event's step + 1 over every sample
    g3, rep3 = E.bin_events([ev, ev[:10]], (16,), width=width)
    assert rep3.steps == int(ev["t"].max() // width) + 1 and rep3.dropped == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 2), st.integers(0, 1), st.integers(0, 5_000)),
        max_size=40,
    ),
    st.sampled_from([250, 1000, 333.5]),
    st.sampled_from(E.MODES),
)
def test_property_any_event_list_bins_like_the_direct_grid(rows, width, mode):
    """Any event list (x < 5, y < 3, p < 2, t < 5 ms; integer and non-integer widths) bins like the
    grid built event by event, and events -> grid -> events -> grid is stable."""
    ev = np.zeros(len(rows), [("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])
    for i, (x, y, p, t) in enumerate(rows):
        ev[i] = (x, y, t, bool(p))
    steps = 5_000 // 250 + 1
    grid, rep = E.bin_events([ev], (2, 3, 5), width=width, mode=mode, steps=steps)
    assert np.array_equal(grid, direct_grid([ev], 5, 3, 2, width, steps, mode))
    assert rep.dropped == sum(1 for r in rows if r[3] // width >= steps)
    again, _ = E.bin_events(
        E.grid_to_events(grid, width=width), (2, 3, 5), width=width, mode="count", steps=steps
    )
    assert np.array_equal(again, grid)


def test_polarity_merge_and_sensor_inference():
    ev = np.zeros(4, [("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])
    ev["x"], ev["y"], ev["p"], ev["t"] = [0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 0, 1], [0, 1, 2, 3]
    with pytest.raises(InputDataError) as exc:
        E.bin_events([ev], (1, 4, 4), width=1)
    assert exc.value.parameter == "p" and "P = 1" in str(exc.value)
    g, _ = E.bin_events([ev], (1, 4, 4), width=1, polarity="merge")
    assert g.sum() == 4 and all(g[0, i, 0, i, i] == 1 for i in range(4))
    # a flat (128,) input fed by an 8x8 two-polarity camera: index (p * 8 + y) * 8 + x
    want = np.zeros((4, 128))
    for i in range(4):
        want[i, int(ev["p"][i]) * 64 + i * 8 + i] = 1
    g128, _ = E.bin_events([ev], (128,), width=1, sensor_size=(8, 8, 2))
    assert np.array_equal(g128[0], want)
    with pytest.raises(InputDataError) as exc:
        E.bin_events([ev], (64,), width=1, sensor_size=(8, 8, 2))
    assert exc.value.parameter == "sensor_size"
    assert E.sensor_for_shape((2, 34, 34)) == (34, 34, 2) and E.sensor_for_shape((700,)) == (700, 1, 1)


# ----------------------------------------------------------------------------- events -> grid -> run
@pytest.mark.parametrize("target", target_names())
def test_generated_events_run_like_the_directly_built_grid(target, tmp_path):
    """CNN (input (1, 8, 8), dt = 1 step): events at 1 ms per step; the binned grid read from an
    .npz of per-sample event lists runs to the same outputs as the grid built event by event."""
    prog = compile_zoo("digits_cnn_sinabs", target)
    samples = [camera_events(s, 300, 8, 8, 1, 24_000) for s in SEEDS]
    path = tmp_path / "ev.npz"
    np.savez(path, *samples)
    arrays, reps = E.load_inputs(path, {"input": (1, 8, 8)}, prog.semantics["dt"], E.EventOptions(bin_ms=1.0))
    direct = direct_grid(samples, 8, 8, 1, 1000, 24, "binary")  # the default mode
    assert np.array_equal(arrays["input"], direct) and reps[0].steps == 24
    a = prog.run(arrays, backend="emulator")
    b = prog.run({"input": direct}, backend="emulator")
    for k in b.outputs:
        assert np.array_equal(a.outputs[k], b.outputs[k])
    assert sum(float(v.sum()) for v in b.outputs.values()) > 0  # the run is not vacuous


def test_one_d_events_default_bin_is_the_programs_dt(tmp_path):
    """The default model (input (16,), dt = 1 ms in seconds): no --bin-ms needed; times in us."""
    prog = nc.compile(str(REPO / "models/default/default.nir"), target=target_names()[0])
    rng = np.random.default_rng(1)
    ev = np.zeros(800, [("x", "<i2"), ("t", "<i8"), ("p", "?")])
    ev["x"], ev["t"] = rng.integers(0, 16, 800), np.sort(rng.integers(0, 100_000, 800))
    np.save(tmp_path / "one.npy", ev)
    arrays, reps = E.load_inputs(tmp_path / "one.npy", {"input": (16,)}, prog.semantics["dt"])
    direct = direct_grid([ev], 16, 1, 1, 1000, 100, "binary")[:, :, 0, 0]
    assert reps[0].width == 1000.0 and np.array_equal(arrays["input"], direct)
    a, b = prog.run(arrays), prog.run({"input": direct})
    assert all(np.array_equal(a.outputs[k], b.outputs[k]) for k in b.outputs)


# ----------------------------------------------------------------------------- bundled digits
@pytest.mark.parametrize("name", ["digits_cnn_sinabs", "digits_rnn_norse"])
@pytest.mark.parametrize("mode", E.MODES)
def test_digits_to_events_and_back_is_exact(name, mode):
    from neurocompile.models.digits_events import test_set_events

    inputs, labels = load_test_set(name)
    dense = inputs["input"]
    events, lab, width = test_set_events(name)
    assert np.array_equal(lab, labels) and len(events) == len(dense)
    assert sum(len(e) for e in events) == int(dense.sum())  # one event per spike
    assert all(np.all(np.diff(e["t"]) >= 0) for e in events)  # sorted by time
    grid, rep = E.bin_events(events, dense.shape[2:], width=width, mode=mode, steps=dense.shape[1])
    assert np.array_equal(grid, dense) and rep.dropped == rep.merged == rep.multi_bins == 0


def test_default_demo_input_as_events_is_exact():
    from neurocompile.data import load_npz
    from neurocompile.models.digits_events import test_set_events

    dense = load_npz(REPO / "models/default/input.npz")["input"]
    events, labels, width = test_set_events("default")
    assert labels is None and width == 1000.0 and all(e["t"].dtype == np.int64 for e in events)
    grid, _ = E.bin_events(events, dense.shape[2:], width=width, steps=dense.shape[1])
    assert np.array_equal(grid, dense)


def test_digits_events_cli_file_runs_like_the_dense_test_set(tmp_path, capsys):
    """python -m neurocompile.models.digits_events, then simulate on events vs on the dense set."""
    from neurocompile.models.digits_events import main as digits_main

    ev_path = tmp_path / "rnn_events.npz"
    assert digits_main(["digits_rnn_norse", "-o", str(ev_path), "--samples", "12"]) == 0
    inputs, labels = load_test_set("digits_rnn_norse", 12)
    dense_path = tmp_path / "dense.npz"
    np.savez(dense_path, input=inputs["input"])
    m = str(model_path("digits_rnn_norse"))
    T = inputs["input"].shape[1]
    assert main(["simulate", m, "-i", str(ev_path), "-o", str(tmp_path / "a.npz"), "--steps", str(T)]) == 0
    err = capsys.readouterr().err
    assert "events: input 'input': 12 sample(s)" in err and "976.5625 us" in err
    assert main(["simulate", m, "-i", str(dense_path), "-o", str(tmp_path / "b.npz")]) == 0
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert np.array_equal(a["output"], b["output"]) and a["output"].sum() > 0
    with np.load(ev_path) as f:  # the labels travel with the events
        assert np.array_equal(f["labels"], labels)


# ----------------------------------------------------------------------------- NIRData
#: The layout of nir 1.0.8's ``nir/serialization.py`` write_data (NIR commit 16509878b238).
NIR_ROOT_TYPE, NIR_NODE_TYPE = "NIRGraphData", "NIRNodeData"


def _random_result(seed: int):
    rng = np.random.default_rng(seed)
    return nc.data.RunResult(
        outputs={"out": (rng.random((3, 25, 4)) < 0.3).astype(np.float32)},
        recordings={
            "lif.v": rng.normal(size=(3, 25, 2, 3)),
            "lif.spikes": (rng.random((3, 25, 2, 3)) < 0.2) * 1.0,
        },
        semantics={"dt": 1e-3},
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_nirdata_write_read_round_trip_and_layout(seed, tmp_path):
    import h5py

    res = _random_result(seed)
    path = tmp_path / "rec.h5"
    E.write_nirdata(path, E.result_to_nirdata(res), what="--save-nirdata")
    with h5py.File(path, "r") as f:  # the layout NIR defines, read with h5py alone
        assert f.attrs["__type__"] == NIR_ROOT_TYPE and set(f["nodes"]) == {"out", "lif"}
        assert f["nodes/out"].attrs["__type__"] == NIR_NODE_TYPE
        ev = f["nodes/out/observables/spikes"]
        assert ev.attrs["__type__"] == "EventData" and int(ev.attrs["n_neurons"]) == 4
        assert np.isclose(float(ev.attrs["t_max"]), 25e-3) and set(ev) == {"idx", "time"}
        v = f["nodes/lif/observables/v"]
        assert v.attrs["__type__"] == "TimeGriddedData" and v["data"].shape == (3, 25, 6)
        assert float(v.attrs["dt"]) == 1e-3
    back = E.read_nirdata(path)
    assert np.array_equal(back["lif"]["v"].data, res.recordings["lif.v"].reshape(3, 25, 6))
    arrays, _ = E.load_inputs(path, {"out": (4,), "lif": (2, 3)}, 1e-3)
    assert np.array_equal(arrays["out"], res.outputs["out"])
    assert np.array_equal(arrays["lif"], res.recordings["lif.spikes"])  # 'spikes' preferred over 'v'
    ed = back["out"]["spikes"]
    for b in range(3):  # events at step middles, sorted by time
        k, i = np.nonzero(res.outputs["out"][b])
        valid = ed.idx[b] >= 0
        assert np.array_equal(ed.idx[b][valid], i) and np.allclose(ed.time[b][valid], (k + 0.5) * 1e-3)
        assert np.all(np.isinf(ed.time[b][~valid]))


def test_time_gridded_input_rebinned_by_a_whole_factor(tmp_path):
    rng = np.random.default_rng(2)
    data = (rng.random((2, 9, 5)) < 0.4).astype(np.float64)
    path = tmp_path / "g.h5"
    E.write_nirdata(path, {"input": {"spikes": E.TimeGriddedData(data, 0.5e-3)}}, what="x")
    arrays, reps = E.load_inputs(path, {"input": (5,)}, 1e-3, E.EventOptions(mode="count"))  # 2 steps a bin
    want = np.zeros((2, 5, 5))
    for k in range(9):
        want[:, k // 2] += data[:, k]
    assert np.array_equal(arrays["input"], want) and reps[0].steps == 5
    binary, _ = E.load_inputs(path, {"input": (5,)}, 1e-3, E.EventOptions(mode="binary"))
    assert np.array_equal(binary["input"], (want > 0) * 1.0)
    with pytest.raises(InputDataError, match="whole multiple"):
        E.load_inputs(path, {"input": (5,)}, 0.75e-3)


def _nir_108(tmp_path_factory) -> Path:
    """A folder holding nir 1.0.8 (pure Python; the .venv's nir stays 1.0.4, pinned by sinabs)."""
    d = tmp_path_factory.mktemp("nir108")
    wheel = os.environ.get("NEUROCOMPILE_NIR_DATA_WHEEL")
    if not wheel or not Path(wheel).is_file():
        r = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "nir==1.0.8", "-d", str(d)],
            capture_output=True,
            text=True,
            timeout=180,
        )
        found = list(d.glob("nir-1.0.8-*.whl"))
        if r.returncode != 0 or not found:
            pytest.skip(f"nir 1.0.8 wheel not obtainable with pip download: {_one_line(r.stderr)}")
        wheel = str(found[0])
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(d / "site")
    return d / "site"


@pytest.mark.extras
def test_nir_108_reads_our_nirdata_and_we_read_its(tmp_path, tmp_path_factory):
    site = _nir_108(tmp_path_factory)
    res = _random_result(0)
    ours = tmp_path / "ours.h5"
    E.write_nirdata(ours, E.result_to_nirdata(res), what="x")
    script = r"""
import json, sys, numpy as np, nir
assert nir.version == "1.0.8" or nir.__version__ == "1.0.8", nir.__version__
gd = nir.read_data(sys.argv[1])
ed = gd.nodes["out"].observables["spikes"]
grid = ed.to_time_gridded(1e-3).data
v = gd.nodes["lif"].observables["v"]
rng = np.random.default_rng(5)
data = rng.random((2, 11, 6)) < 0.4
tg = nir.TimeGriddedData(data, 1e-3)
nodes = {"grid": nir.NIRNodeData({"spikes": tg}), "ev": nir.NIRNodeData({"spikes": tg.to_event(n_events=66)})}
nir.write_data(sys.argv[2], nir.NIRGraphData(nodes))
np.save(sys.argv[3], grid)
np.save(sys.argv[4], data)
print(json.dumps({"v_shape": list(v.data.shape), "dt": v.dt, "t_max": ed.t_max}))
"""
    theirs = tmp_path / "theirs.h5"
    env = {**os.environ, "PYTHONPATH": str(site)}
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            str(ours),
            str(theirs),
            str(tmp_path / "g.npy"),
            str(tmp_path / "d.npy"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout.strip().splitlines()[-1])
    assert info["v_shape"] == [3, 25, 6] and info["dt"] == 1e-3 and np.isclose(info["t_max"], 25e-3)
    assert np.array_equal(np.load(tmp_path / "g.npy"), res.outputs["out"].astype(bool))
    data = np.load(tmp_path / "d.npy")
    for node in ("grid", "ev"):  # NIR's to_event puts events at step starts k*dt: binned back exactly
        arrays, _ = E.load_inputs(theirs, {node: (6,)}, 1e-3)
        assert np.array_equal(arrays[node], data * 1.0)


# ----------------------------------------------------------------------------- bad inputs
def _ev(fields, n=3):
    return np.zeros(n, [(f, d) for f, d in fields])


BAD_EVENTS = [
    ("no field t", _ev([("x", "<i2"), ("y", "<i2")]), "t"),
    ("no field x", _ev([("y", "<i2"), ("t", "<i8")]), "x"),
    ("float x", _ev([("x", "<f4"), ("t", "<i8")]), "x"),
    ("string t", None, "t"),
    ("negative t", None, "t"),
    ("nan t", None, "t"),
    ("x beyond sensor", None, "x"),
    ("y beyond sensor", None, "y"),
    ("negative y", None, "y"),
    ("p beyond sensor", None, "p"),
    ("not structured", np.zeros((3, 4)), "events"),
]


def _bad(name):
    base = np.zeros(3, [("x", "<i2"), ("y", "<i2"), ("t", "<f8"), ("p", "<i2")])
    if name == "string t":
        e = np.zeros(3, [("x", "<i2"), ("t", "S4")])
    elif name == "negative t":
        e = base.copy()
        e["t"][1] = -5
    elif name == "nan t":
        e = base.copy()
        e["t"][2] = np.nan
    elif name == "x beyond sensor":
        e = base.copy()
        e["x"][0] = 8
    elif name == "y beyond sensor":
        e = base.copy()
        e["y"][0] = 8
    elif name == "negative y":
        e = base.copy()
        e["y"][0] = -1
    else:
        e = base.copy()
        e["p"][0] = 1
    return e


@pytest.mark.parametrize("name, events, field", BAD_EVENTS, ids=[b[0] for b in BAD_EVENTS])
def test_bad_events_are_refused_naming_the_field(name, events, field):
    ev = _bad(name) if events is None else events
    with pytest.raises(InputDataError) as exc:
        E.bin_events([ev], (1, 8, 8), width=1000, steps=4)
    assert exc.value.parameter == field, str(exc.value)
    assert exc.value.node == "input"


def test_bad_options_and_files_are_refused(tmp_path):
    ev = camera_events(0, 10, 8, 8, 1, 1000)
    for kw, param in [
        ({"width": 0}, "bin_width"),
        ({"width": 1, "mode": "sum"}, "bin_mode"),
        ({"width": 1, "steps": 0}, "steps"),
        ({"width": 1, "sensor_size": (8, 8, 2)}, "sensor_size"),
        ({"width": 1, "polarity": "merge", "sensor_size": (4, 8, 2)}, "polarity"),
    ]:
        with pytest.raises(InputDataError) as exc:
            E.bin_events([ev], (1, 8, 8), **kw)
        assert exc.value.parameter == param
    with pytest.raises(InputDataError, match="no events"):
        E.bin_events([ev[:0]], (1, 8, 8), width=1)
    with pytest.raises(InputDataError, match="analog"):
        E.grid_to_events(np.full((1, 2, 3), 0.5), width=1)
    # a dense .npz with event options; event lists for a two-input model; an event file with a gap
    np.savez(tmp_path / "dense.npz", input=np.zeros((1, 4, 1, 8, 8)))
    with pytest.raises(InputDataError, match="bin_ms=1"):
        E.load_inputs(tmp_path / "dense.npz", {"input": (1, 8, 8)}, 1.0, E.EventOptions(bin_ms=1))
    np.savez(tmp_path / "ev.npz", arr_0=ev, arr_2=ev)
    with pytest.raises(InputDataError, match="without gaps"):
        E.load_inputs(tmp_path / "ev.npz", {"input": (1, 8, 8)}, 1.0, E.EventOptions(bin_ms=1))
    with pytest.raises(InputDataError, match="one input"):
        E.load_inputs(tmp_path / "ev.npz", {"a": (1,), "b": (1,)}, 1.0)
    # dt in steps: event lists need --bin-ms
    np.save(tmp_path / "one.npy", ev)
    with pytest.raises(InputDataError) as exc:
        E.load_inputs(tmp_path / "one.npy", {"input": (1, 8, 8)}, 1.0)
    assert exc.value.parameter == "bin_ms"
    # a NIR graph file is not NIRData; NIRData lacking the input's node
    with pytest.raises(InputDataError, match="not NIRData"):
        E.load_inputs(REPO / "models/default/default.nir", {"input": (16,)}, 1e-3)
    E.write_nirdata(
        tmp_path / "d.h5", {"other": {"spikes": E.TimeGriddedData(np.zeros((1, 2, 3)), 1e-3)}}, what="x"
    )
    with pytest.raises(InputDataError, match="no node for input"):
        E.load_inputs(tmp_path / "d.h5", {"input": (3,)}, 1e-3)


@pytest.mark.parametrize(
    "extra, needle",
    [
        ([], "parameter 'x'"),  # x = 9 beyond the inferred 8x8 sensor
        (["--bin-mode", "sum"], "usage error"),
        (["--sensor-size", "8,8"], "--sensor-size"),
    ],
)
def test_cli_refuses_bad_event_input_in_one_line(tmp_path, capsys, extra, needle):
    ev = camera_events(0, 10, 8, 8, 1, 1000)
    ev["x"][3] = 9
    np.save(tmp_path / "bad.npy", ev)
    m = str(model_path("digits_cnn_sinabs"))
    rc = main(
        [
            "simulate",
            m,
            "-i",
            str(tmp_path / "bad.npy"),
            "-o",
            str(tmp_path / "o.npz"),
            "--bin-ms",
            "1",
            *extra,
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o.npz").exists()


def test_cli_dense_input_with_event_options_is_one_line(tmp_path, capsys):
    inputs, _ = load_test_set("digits_cnn_sinabs", 2)
    np.savez(tmp_path / "d.npz", **inputs)
    m = str(model_path("digits_cnn_sinabs"))
    rc = main(["simulate", m, "-i", str(tmp_path / "d.npz"), "-o", str(tmp_path / "o.npz"), "--bin-ms", "1"])
    err = capsys.readouterr().err
    assert (
        rc == 2
        and err.startswith("input error:")
        and "--bin-ms" in err
        and len(err.strip().splitlines()) == 1
    )


def test_cli_run_and_validate_on_digit_events_match_the_dense_set(tmp_path, capsys):
    """run and validate on the bundled CNN digits as events (--bin-ms 1) give what the dense set gives;
    run --save-nirdata writes the outputs that --output holds."""
    from neurocompile.models.digits_events import main as digits_main

    n = 10
    assert digits_main(["digits_cnn_sinabs", "-o", str(tmp_path / "ev.npz"), "--samples", str(n)]) == 0
    inputs, labels = load_test_set("digits_cnn_sinabs", n)
    np.savez(tmp_path / "dense.npz", input=inputs["input"], labels=labels)
    prog = tmp_path / "cnn.ncp"
    compile_zoo("digits_cnn_sinabs", target_names()[0]).save(prog)
    T = str(inputs["input"].shape[1])
    ev_args = ["-i", str(tmp_path / "ev.npz"), "--bin-ms", "1", "--steps", T]
    rc = main(
        ["run", str(prog), *ev_args, "-o", str(tmp_path / "a.npz"), "--save-nirdata", str(tmp_path / "a.h5")]
    )
    assert rc == 0
    assert main(["run", str(prog), "-i", str(tmp_path / "dense.npz"), "-o", str(tmp_path / "b.npz")]) == 0
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert np.array_equal(a["output"], b["output"]) and a["output"].sum() > 0
    back = E.read_nirdata(tmp_path / "a.h5")
    grid, _ = E.load_inputs(tmp_path / "a.h5", {"output": a["output"].shape[2:]}, 1.0)
    assert set(back) == {"output"} and np.array_equal(grid["output"], a["output"])
    capsys.readouterr()
    model = str(model_path("digits_cnn_sinabs"))
    assert main(["validate", model, str(prog), *ev_args, "--labels", "labels", "--json", "-q"]) in (0, 1)
    va = json.loads(capsys.readouterr().out)
    assert main(
        [
            "validate",
            model,
            str(prog),
            "-i",
            str(tmp_path / "dense.npz"),
            "--labels",
            "labels",
            "--json",
            "-q",
        ]
    ) in (0, 1)
    vb = json.loads(capsys.readouterr().out)
    for d in (va, vb):
        d.pop("energy", None)
    assert va == vb
