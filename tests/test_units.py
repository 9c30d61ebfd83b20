"""Units of a run's recordings (issue 15 item 2): model units by default, raw chip numbers on request.

For each target a compiled NIR LIF graph (4 inputs -> 3 LIF neurons, tau = 8 dt, forward Euler, so
the decay is 7/8 on both chips) is run on the emulator with ``POP.v`` recorded. In model units it
must track the float reference (``neurocompile.simulate(..., hop_delay=1)``) within a bound derived
from the resolution the run's ``__meta__`` states (``units[POP.v]["step"]``, one raw unit in model
units) and the Program's weight quantization, accumulated over the leak:

    |v_chip - v_ref| <= (n_pre * dw / 2 + k * step + |a_chip - a| * max|v_ref|) / (1 - a)

with ``dw`` one weight LSB in model v units (Loihi 2: ``2^(6 + weight_exp) * scale``; SpiNNaker:
the u scale over the receptor's ``weight_scales``, w16 per nA), ``k`` the rounded products per
update (Loihi 2: the decay, 1; SpiNNaker: ``R*I`` and ``exp_TC*(alpha - V)``, 2) and ``a_chip``
the chip's decay (``targets/loihi2/units.py``, ``targets/spinnaker/units.py``). SpiNNaker records
v before the tick's update, so its v at t is compared with the reference at t-1.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import neurocompile as nc
from neurocompile.errors import InputDataError
from neurocompile.ir import Graph, Node
from neurocompile.target import run_program

DT, TAU, N_PRE, N = 1e-3, 8e-3, 4, 3
A = 1.0 - DT / TAU  # forward Euler decay of the float reference


def _graph(seed=0, reset="zero"):
    rng = np.random.default_rng(seed)
    lif = {
        "tau": np.full(N, TAU),
        "r": np.ones(N),
        "v_leak": np.zeros(N),
        "v_threshold": np.ones(N),
        "v_reset": np.zeros(N),
    }
    nodes = {
        "x": Node("x", "Input", {"shape": (N_PRE,)}),
        "fc": Node("fc", "Linear", {"weight": rng.uniform(0.3, 0.9, (N, N_PRE))}),
        "lif": Node("lif", "LIF", lif),
        "o": Node("o", "Output", {"shape": (N,)}),
    }
    return nc.load(Graph(nodes=nodes, edges=[("x", "fc"), ("fc", "lif"), ("lif", "o")]))


def _inputs(seed=1, batch=2, steps=80):
    rng = np.random.default_rng(seed)
    return {"x": (rng.random((batch, steps, N_PRE)) < 0.4).astype(np.float64)}


def _weight_lsb(prog, units):
    """One weight LSB in model v units, from the Program and the run's stated scales."""
    if prog.target == "loihi2":
        (proj,) = prog.projections.values()
        return 2.0 ** (6 + int(proj.params["weight_exp"])) * units["lif.v"]["scale"]
    q = prog.quantization["populations"]["lif"]
    return units["lif.u"]["scale"] / float(q["weight_scales"][0])  # excitatory receptor


def _chip_decay(prog):
    q = prog.quantization["populations"]["lif"]
    return float(q["decay_v_int"] if prog.target == "loihi2" else q["a_chip"])


@pytest.fixture(scope="module")
def reference():
    return nc.simulate(_graph(), _inputs(), dt=DT, hop_delay=1, reset="zero", record="lif.v")


@pytest.fixture(scope="module", params=["loihi2", "spinnaker"])
def compiled(request):
    return nc.compile(_graph(), target=request.param, dt=DT, reset="zero")


def test_model_units_track_the_float_reference(compiled, reference):
    prog = compiled
    res = prog.run(_inputs(), record="lif.v,lif.u")
    meta = res.units["lif.v"]
    assert meta["unit"] == "model" and meta["scale"] > 0 and meta["raw_unit"]
    v, vref = res.recordings["lif.v"], reference.recordings["lif.v"]
    lag = 1 if prog.target == "spinnaker" else 0  # sPyNNaker records v before the tick's update
    if lag:
        v, vref = v[:, lag:], vref[:, :-lag]
    rounded_products = 1 if prog.target == "loihi2" else 2
    bound = (
        N_PRE * _weight_lsb(prog, res.units) / 2
        + rounded_products * meta["step"]
        + abs(_chip_decay(prog) - A) * np.abs(vref).max()
    ) / (1.0 - A)
    err = np.abs(v - vref).max()
    assert np.abs(vref).max() > 20 * bound, "the graph must drive v well above the bound"
    assert err <= bound, (prog.target, err, bound, meta)
    # spike outputs are what they were, and agree with the reference on this graph
    np.testing.assert_array_equal(res.outputs["o"], prog.run(_inputs(), raw=True).outputs["o"])
    np.testing.assert_array_equal(res.outputs["o"], reference.outputs["o"])


def test_raw_returns_the_chip_numbers(compiled):
    prog = compiled
    x = _inputs()
    if prog.target == "loihi2":
        from neurocompile.targets.loihi2.emulator.run import run_program as backend_run
    else:
        from neurocompile.targets.spinnaker.emulator.run import run_program as backend_run
    old = backend_run(prog, x, record="lif.v,lif.u")  # the backend's own numbers, as before
    raw = prog.run(x, record="lif.v,lif.u", raw=True)
    same = run_program(prog, x, record="lif.v,lif.u", units="raw")
    model = prog.run(x, record="lif.v,lif.u")
    for key in ("lif.v", "lif.u"):
        assert raw.recordings[key].dtype == old.recordings[key].dtype
        np.testing.assert_array_equal(raw.recordings[key], old.recordings[key])
        np.testing.assert_array_equal(same.recordings[key], old.recordings[key])
        assert raw.units[key]["unit"] == raw.units[key]["raw_unit"] != "model"
        scale = model.units[key]["scale"]
        np.testing.assert_array_equal(model.recordings[key], old.recordings[key].astype(np.float64) * scale)
    if prog.target == "loihi2":
        assert raw.recordings["lif.v"].dtype.kind == "i" and np.abs(raw.recordings["lif.v"]).max() > 1000


def test_meta_carries_unit_scale_and_time(compiled, tmp_path):
    res = compiled.run(_inputs(), record="lif.v,lif.spikes")
    res.save(tmp_path / "out.npz")
    with np.load(tmp_path / "out.npz") as f:
        meta = json.loads(str(f["__meta__"]))
    q = compiled.quantization["populations"]["lif"]
    assert meta["units"]["lif.v"]["unit"] == "model"
    assert meta["units"]["lif.v"]["scale"] == q["scale"]
    assert "lif.spikes" not in meta["units"] and "o" not in meta["units"]  # spikes have no unit
    assert meta["time"] == {"dt": DT, "dt_unit": "s", "rate_unit": "Hz"}
    spikes = res.recordings["lif.spikes"]
    assert spikes.sum() > 0
    assert meta["rates"]["lif.spikes"] == pytest.approx(spikes.mean() / DT)


def test_rates_per_step_when_dt_is_one():
    from neurocompile.data import RunResult, rate_unit, time_meta

    assert rate_unit(1.0) == "per step" and rate_unit(1e-3) == "Hz" and rate_unit(None) == "per step"
    assert time_meta(1.0) == {"dt": 1.0, "dt_unit": "step", "rate_unit": "per step"}
    z = np.zeros((1, 4, 2))
    z[0, 1, 0] = 1
    res = RunResult(outputs={"o": z}, semantics={"dt": 1.0})
    assert res.meta()["rates"] == {"o": 1 / 8}


def test_unknown_units_is_a_typed_error(compiled):
    with pytest.raises(InputDataError, match="units"):
        compiled.run(_inputs(), units="volts")


def test_spinnaker_meta_says_reset_zero_when_subtract_was_asked(tmp_path):
    from neurocompile.errors import UnsupportedError

    # compile now refuses reset by subtraction (issue 15 item 6, tests/test_reset_intent.py) ...
    with pytest.raises(UnsupportedError) as ei:
        nc.compile(_graph(), target="spinnaker", dt=DT, reset="subtract")
    assert ei.value.parameter == "reset"
    # ... a Program written before that (reset "subtract" recorded, reset to 0 on the chip) still says so
    sub = nc.compile(_graph(), target="spinnaker", dt=DT, reset="zero")
    sub.semantics["reset"] = "subtract"
    res = sub.run(_inputs())
    assert res.semantics["reset"] == "zero" and res.semantics["reset_requested"] == "subtract"
    res.save(tmp_path / "out.npz")
    with np.load(tmp_path / "out.npz") as f:
        assert json.loads(str(f["__meta__"]))["semantics"]["reset"] == "zero"
    # it did reset to zero: the same spikes as the Program compiled with reset zero
    zero = nc.compile(_graph(), target="spinnaker", dt=DT, reset="zero").run(_inputs())
    np.testing.assert_array_equal(res.outputs["o"], zero.outputs["o"])
    assert zero.semantics["reset"] == "zero" and "reset_requested" not in zero.semantics


def test_cli_run_raw(compiled, tmp_path):
    from neurocompile.cli.main import main as cli_main

    compiled.save(tmp_path / "p.ncp")
    np.savez(tmp_path / "in.npz", **_inputs())
    got = {}
    for flag in ([], ["--raw"]):
        out = tmp_path / f"out{len(flag)}.npz"
        args = ["run", str(tmp_path / "p.ncp"), "-i", str(tmp_path / "in.npz"), "-o", str(out)]
        assert cli_main(args + ["--record", "lif.v"] + flag) == 0
        with np.load(out) as f:
            got[bool(flag)] = (f["lif.v"], json.loads(str(f["__meta__"]))["units"]["lif.v"])
    (v_model, m_model), (v_raw, m_raw) = got[False], got[True]
    assert m_model["unit"] == "model" and m_raw["unit"] == m_raw["raw_unit"]
    np.testing.assert_array_equal(v_model, v_raw.astype(np.float64) * m_model["scale"])
