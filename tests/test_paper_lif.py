"""The NIR paper's LIF task (``nir_paper_data/01_lif``) through the reference simulator.

Graph ``lif_norse.nir``: Input -> Affine(w=1) -> LIF(tau=2.5 ms, R=1, v_leak=0, theta=0.1),
a paper-era (legacy, no ``v_reset``) file; dt = 1e-4 s, 1000 steps, the input spikes are
column 0 of ``lif_exact.csv``. Columns of every trace: input spike, membrane v, output spike.

What the recorded traces are (worked out from the data, asserted below):

* ``lif_norse.csv`` is norse's ``LIFBoxCell``: forward Euler with box input (our
  ``forward``), **reset to zero** (norse's LIF import ignores the file and always resets to
  ``v_reset = 0``), v recorded after the reset, float32. So our forward + ``reset="zero"``
  must reproduce the whole trace within float32 tolerance, spike steps included. With
  ``reset="subtract"`` (the paper's definition) the spikes are the same but v differs from
  the first spike on by exactly the subtracted remainder, decaying with the leak.
* ``lif_exact.csv`` is an event-driven exact solver (reset by subtraction). A box input over
  one step integrated exactly is our ``exponential`` discretization, so before the first
  spike they agree to ~1e-9. The solver subtracts θ at the exact crossing time inside the
  step, we subtract it at the end of the step: from the spike on, v_exact - v_ours =
  θ(1 - exp(-Δ/τ)) · exp(-k dt/τ) with 0 < Δ < dt (a pure leak of the reset offset).
"""

from __future__ import annotations

import numpy as np
import pytest

import neurocompile as nc

DT = 1e-4
TAU = 2.5e-3
THETA = 0.1
PAPER_SPIKES = [460, 510, 710, 760]
LAVA_SPIKES = [461, 511, 711, 761]


@pytest.fixture(scope="module")
def lif(paper_data):
    d = paper_data / "01_lif"
    g = nc.load(d / "lif_norse.nir")
    exact = np.loadtxt(d / "lif_exact.csv", delimiter=",")
    norse = np.loadtxt(d / "lif_norse.csv", delimiter=",")
    x = exact[:, 0].reshape(1, -1, 1)
    return g, x, exact, norse


def _run(g, x, **kw):
    res = nc.simulate(g, {"input": x}, dt=DT, record=["1.v"], **kw)
    return np.nonzero(res.outputs["output"][0, :, 0])[0].tolist(), res.recordings["1.v"][0, :, 0], res


def test_paper_spike_steps_hop0_subtract(lif):
    g, x, exact, norse = lif
    assert g.legacy_reset == ("1",)
    assert x.shape == (1, 1000, 1) and int(x.sum()) == 34
    spikes, _, res = _run(g, x, reset="subtract", hop_delay=0)
    assert spikes == PAPER_SPIKES
    assert np.nonzero(exact[:, 2])[0].tolist() == PAPER_SPIKES  # the exact solver's own spikes
    assert res.semantics == {
        "dt": DT,
        "discretization": "forward",
        "reset": "subtract",
        "hop_delay": 0,
        "threshold": "v > v_threshold",
    }


def test_paper_spike_steps_hop1_are_lava_steps(lif, paper_data):
    g, x, _, _ = lif
    spikes, _, _ = _run(g, x, reset="subtract", hop_delay=1)
    assert spikes == LAVA_SPIKES
    loihi = np.loadtxt(paper_data / "01_lif" / "lif_lava_loihi_fixed.csv", delimiter=",")
    assert np.nonzero(loihi[:, 2])[0].tolist() == LAVA_SPIKES  # what the real chip did


def test_legacy_file_reset_needs_a_choice(lif):
    g, x, _, _ = lif
    with pytest.raises(nc.errors.SemanticsError) as e:
        _run(g, x, reset="file")
    assert e.value.node == "1" and e.value.parameter == "v_reset"


def test_norse_trace_forward_reset_zero(lif):
    """norse's trace = forward Euler, reset to zero, v after reset (float32 precision)."""
    g, x, _, norse = lif
    spikes, v, _ = _run(g, x, reset="zero")
    assert spikes == np.nonzero(norse[:, 2])[0].tolist() == PAPER_SPIKES
    np.testing.assert_allclose(v, norse[:, 1], rtol=1e-5, atol=1e-7)
    assert np.all(norse[PAPER_SPIKES, 1] == 0.0)


def test_norse_trace_vs_subtract_reset(lif):
    """With the paper's subtract reset the trace equals norse's before the first spike and
    differs afterwards by the remainder v - θ that subtraction keeps and norse discards."""
    g, x, _, norse = lif
    spikes, v, _ = _run(g, x, reset="subtract")
    assert spikes == PAPER_SPIKES
    first = PAPER_SPIKES[0]
    np.testing.assert_allclose(v[:first], norse[:first, 1], rtol=1e-5, atol=1e-7)
    diff = v[first : PAPER_SPIKES[1]] - norse[first : PAPER_SPIKES[1], 1]
    remainder = diff[0]
    assert 0 < remainder < THETA  # v - θ at the spike step, kept by subtraction
    k = np.arange(diff.size)
    np.testing.assert_allclose(diff, remainder * (1 - DT / TAU) ** k, rtol=1e-4, atol=1e-7)


def test_exact_solver_trace_exponential(lif):
    g, x, exact, _ = lif
    spikes, v, _ = _run(g, x, reset="subtract", discretization="exponential")
    assert spikes == PAPER_SPIKES
    first = PAPER_SPIKES[0]
    np.testing.assert_allclose(v[:first], exact[:first, 1], atol=1e-8)
    # forward Euler differs from the exact solution by its O(dt/τ) error (well above 1e-8):
    _, vf, _ = _run(g, x, reset="subtract")
    assert np.abs(vf[:first] - exact[:first, 1]).max() > 1e-4
    a = np.exp(-DT / TAU)
    for s0, s1 in zip(PAPER_SPIKES, PAPER_SPIKES[1:] + [1000]):
        diff = exact[s0:s1, 1] - v[s0:s1]
        c = diff[0]
        # θ(1 - e^{-Δ/τ}) for a crossing Δ ∈ (0, dt) before the end of the step, plus the
        # (by then e^{-2}-decayed or smaller) offsets of earlier spikes
        assert 0 < c < THETA * (1 - a) + 1e-9, (s0, c)
        np.testing.assert_allclose(diff, c * a ** np.arange(diff.size), atol=1e-8)
