"""The ``spinnaker`` emulator profile vs the facts of docs/reference/spinnaker.md §2.4-§2.8.

Expected values are the reference note's worked example (v = -65, -65, -65, -60.5804, -52.7578;
spikes at 4, 7, 10, 14, 20), the timing rule (a spike at t0 with delay d is visible in v[t0+d+1]),
and float closed forms of the LIF (ΔV ≈ (1 - e^{-dt/τ}) R w / dt for a delta synapse).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurocompile.errors import NumericOverflowError, RangeError
from neurocompile.program import Program
from neurocompile.targets.spinnaker.builder import SpiNNakerBuilder

LIF = dict(
    cm=1.0,
    tau_m=20.0,
    v_rest=-65.0,
    v_reset=-65.0,
    v_thresh=-50.0,
    tau_refrac=2.0,
    i_offset=0.0,
    v_init=-65.0,
)


def _one(kind="exp", w16=5120, delay=1, shifts=(5, 0), n_src=1, receptor="excitatory", **kw):
    b = SpiNNakerBuilder(1.0)
    b.spike_source("src", n_src)
    params = {**LIF, **kw}
    if kind == "exp":
        b.if_curr_exp("lif", 1, tau_syn_E=5.0, tau_syn_I=5.0, ring_buffer_shifts=list(shifts), **params)
    else:
        b.if_curr_delta("lif", 1, ring_buffer_shifts=list(shifts), **params)
    b.from_list(
        "src",
        "lif",
        pre_idx=np.arange(n_src),
        post_idx=np.zeros(n_src, int),
        w16=[w16] * n_src,
        delays=delay,
        receptor=receptor,
    )
    return b.build({"o": ("lif", "spikes")})


def test_section_2_8_single_neuron_example():
    p = _one()
    x = np.zeros((1, 30, 1))
    x[0, 1:11, 0] = 1
    r = p.run({"src": x}, record="lif.v")
    v = r.recordings["lif.v"][0, :, 0]
    np.testing.assert_allclose(v[:5], [-65, -65, -65, -60.5804, -52.7578], atol=5e-5)
    assert np.nonzero(r.outputs["o"][0, :, 0])[0].tolist() == [4, 7, 10, 14, 20]
    assert r.fidelity == "bit-exact" and "7.4.1" in r.reference


@pytest.mark.parametrize("t0,d", [(0, 1), (3, 1), (2, 5), (7, 16)], ids=lambda v: str(v))
def test_delay_timing(t0, d):
    p = _one(delay=d)
    x = np.zeros((1, t0 + d + 4, 1))
    x[0, t0, 0] = 1
    v = p.run({"src": x}, record="lif.v").recordings["lif.v"][0, :, 0]
    first = int(np.nonzero(v != -65.0)[0][0])
    assert first == t0 + d + 1, f"t0={t0} d={d}: v first changes at {first}"


def test_ring_buffer_saturates_at_0xffff():
    # two 40000 entries in one slot saturate to 65535: the same V as one synapse of 65535
    two = _one(kind="delta", w16=40000, n_src=2, shifts=(0, 0), v_thresh=100.0)
    one = _one(kind="delta", w16=65535, n_src=1, shifts=(0, 0), v_thresh=100.0)
    x2 = np.zeros((1, 6, 2))
    x2[0, 1, :] = 1
    x1 = np.zeros((1, 6, 1))
    x1[0, 1, 0] = 1
    r2 = two.run({"src": x2}, record="lif.v")
    v2 = r2.recordings["lif.v"][0, :, 0]
    v1 = one.run({"src": x1}, record="lif.v").recordings["lif.v"][0, :, 0]
    np.testing.assert_array_equal(v2, v1)
    assert any("saturated" in w for w in r2.warnings)
    unsat = _one(kind="delta", w16=30000, n_src=2, shifts=(0, 0), v_thresh=100.0)
    v3 = unsat.run({"src": x2}, record="lif.v").recordings["lif.v"][0, :, 0]
    assert v3[3] < v1[3]  # 60000 < 65535


def test_refractory_ticks_and_threshold_ge():
    # constant drive far above threshold: spike, then T_refract = ceil(tau_refrac/dt) held ticks
    for tau_refrac, period in ((2.0, 3), (4.5, 6), (0.0, 1)):
        b2 = SpiNNakerBuilder(1.0)
        b2.spike_source("s", 1)
        b2.if_curr_delta("lif", 1, **{**LIF, "tau_refrac": tau_refrac, "i_offset": 1000.0})
        p = b2.build({"o": ("lif", "spikes")})
        s = np.nonzero(p.run({"s": np.zeros((1, 20, 1))}).outputs["o"][0, :, 0])[0]
        assert np.all(np.diff(s) == period), f"tau_refrac={tau_refrac}: {s}"
    # V == v_thresh spikes (>=): v_init at threshold, no input -> spike at tick 0 (V moves toward rest)
    b = SpiNNakerBuilder(1.0)
    b.spike_source("s", 1)
    b.if_curr_delta("lif", 1, **{**LIF, "v_rest": -50.0, "v_init": -50.0})
    assert b.build({"o": ("lif", "spikes")}).run({"s": np.zeros((1, 3, 1))}).outputs["o"][0, 0, 0] == 1


def test_delta_vs_exp_synapse():
    x = np.zeros((1, 12, 1))
    x[0, 1, 0] = 1
    w = 2.0  # nA, w16 = 2 * 2**(15 - 5)
    vd = _one(kind="delta", w16=int(w * 1024)).run({"src": x}, record="lif.v").recordings["lif.v"][0, :, 0]
    ve = _one(kind="exp", w16=int(w * 1024)).run({"src": x}, record="lif.v").recordings["lif.v"][0, :, 0]
    a = math.exp(-1 / 20)
    # delta: one jump of (1 - a) R w / dt at tick 2 (visible in v[3]), then a pure leak
    assert abs((vd[3] + 65) - (1 - a) * 20 * w) < 1e-3
    assert abs((vd[5] + 65) - (vd[3] + 65) * a * a) < 1e-3
    # exp: the current lasts, V keeps rising for a few ticks and ends higher than delta's
    assert ve[4] > ve[3] > -65 and ve[6] > vd[6]
    init = 5 * (1 - math.exp(-1 / 5))
    assert abs((ve[3] + 65) - (1 - a) * 20 * w * init) < 1e-3


def test_inhibitory_receptor_lowers_v():
    x = np.zeros((1, 6, 1))
    x[0, 1, 0] = 1
    v = (
        _one(kind="delta", w16=2048, receptor="inhibitory")
        .run({"src": x}, record="lif.v")
        .recordings["lif.v"]
    )
    assert v[0, 3, 0] < -65.0


def test_batch_equals_samples_and_u_recorded():
    p = _one()
    rng = np.random.default_rng(7)
    x = (rng.random((4, 40, 1)) < 0.4).astype(float)
    rb = p.run({"src": x}, record="lif.v,lif.u")
    for i in range(4):
        ri = p.run({"src": x[i : i + 1]}, record="lif.v,lif.u")
        np.testing.assert_array_equal(
            ri.recordings["lif.v"][0], rb.recordings["lif.v"][i], err_msg=f"sample {i}"
        )
        np.testing.assert_array_equal(ri.outputs["o"][0], rb.outputs["o"][i])
    assert rb.recordings["lif.u"].shape == (4, 40, 1) and rb.recordings["lif.u"].max() > 0


def test_strict_raises_on_int32_wrap():
    b = SpiNNakerBuilder(1.0)
    b.spike_source("s", 1)
    b.if_curr_delta("lif", 1, **{**LIF, "i_offset": 30000.0, "v_thresh": 30000.0})  # I*R = 600000 mV
    p = b.build({"o": ("lif", "spikes")})
    with pytest.warns(RuntimeWarning, match="wrapped"):
        p.run({"s": np.zeros((1, 3, 1))})
    with pytest.raises(NumericOverflowError):
        p.run({"s": np.zeros((1, 3, 1))}, strict=True)


def test_validation_and_round_trip(tmp_path):
    with pytest.raises(RangeError, match="w16"):
        _one(w16=70000)
    with pytest.raises(RangeError, match="delays"):
        _one(delay=0)
    p = _one()
    p.save(tmp_path / "a.ncp")
    q = Program.load(tmp_path / "a.ncp")
    assert q.to_bytes() == p.to_bytes()
    x = np.zeros((1, 10, 1))
    x[0, 1:5, 0] = 1
    np.testing.assert_array_equal(q.run({"src": x}).outputs["o"], p.run({"src": x}).outputs["o"])
