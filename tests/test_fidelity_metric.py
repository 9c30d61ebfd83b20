"""The fidelity metric counts both ways: a Program that fires at every step and one that never
fires both score poorly (issue 12 item 5).

The one metric is :func:`neurocompile.compare.spike_agreement` (``validate``, the quantization
fidelity test, ``benchmarks/quant_fidelity.py`` and the docs' figures use it). A one-sided
"fraction of reference spikes matched within one step" gives 1.0 to a Program that fires at every
step; F1 (precision and recall within one step) and the count correlation do not.

Independent facts the cases rest on: a Loihi 2 LIF fires when ``v > vth << 6`` and ``v`` gains
``bias_mant << bias_exp`` every step (docs/reference/loihi2.md 1.2), so ``vth = 0`` with the
largest positive bias fires at every step whatever the input, and the most negative bias never
fires; the precision of an every-step Program is at most the fraction of (sample, step, neuron)
bins within one step of a reference spike, which the test counts itself.
"""

from __future__ import annotations

import copy
import warnings

import fidelity_graphs as fg
import numpy as np
import pytest

import neurocompile as nc
from neurocompile.compare import correlation, spike_agreement, validate
from neurocompile.errors import InputDataError


def _case():
    g, dt, x = fg.make_case("affine-lif", np.random.default_rng(0))
    prog = nc.compile(g, "loihi2", dt=dt)
    ref = nc.simulate(g, {"x": x}, dt=dt, hop_delay=1).outputs["o"]
    return g, dt, x, prog, ref


def _with_output_bias(prog, mant: int, vth: int):
    """A copy of ``prog`` whose output population has bias ``mant << 7`` and threshold ``vth``."""
    out = copy.deepcopy(prog)
    pop = out.populations[out.outputs["o"].population]
    pop.params["bias_mant"] = np.full_like(np.asarray(pop.params["bias_mant"]), mant)
    pop.params["bias_exp"] = np.full_like(np.asarray(pop.params["bias_exp"]), 7)
    pop.params["vth"] = int(vth)
    return out


def _near_fraction(ref: np.ndarray) -> float:
    """Fraction of bins with a reference spike of the same neuron at t-1, t or t+1 (counted here,
    not by the code under test)."""
    r = ref != 0
    near = r.copy()
    near[:, 1:] |= r[:, :-1]
    near[:, :-1] |= r[:, 1:]
    return float(near.mean())


@pytest.fixture(scope="module")
def case():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _case()


def test_program_firing_at_every_step_scores_poorly(case):
    g, dt, x, prog, ref = case
    loud = _with_output_bias(prog, 4095, 0)
    got = loud.run({"x": x}, backend="emulator").outputs["o"]
    assert got.all(), "the rigged Program should fire at every step"
    m = spike_agreement(ref, got)
    assert m["recall"] == 1.0  # what the old one-sided figure reported: a perfect score
    assert m["precision"] <= _near_fraction(ref) + 1e-12
    assert m["f1"] < 0.5, m
    assert m["count_correlation"] == 0.0  # every count equal: no variance to correlate
    # the quantization-fidelity test's floors (mean 0.95, every seed 0.90) reject it
    assert m["f1"] < 0.90
    # and validate (the same metric, over its padded window) scores it as poorly and fails it
    rep = validate(g, loud, {"x": x}, against="program", both=False)
    assert rep.layer("n1").metrics["f1"] < 0.5 and not rep.passed


def test_program_that_never_fires_scores_poorly(case):
    g, dt, x, prog, ref = case
    silent = _with_output_bias(prog, -4096, int(np.asarray(prog.populations["n1"].params["vth"]).max()))
    got = silent.run({"x": x}, backend="emulator").outputs["o"]
    assert not got.any(), "the rigged Program should never fire"
    m = spike_agreement(ref, got)
    assert m["recall"] == 0.0 and m["f1"] == 0.0 and m["count_correlation"] == 0.0, m
    assert m["spikes_reference"] == int((ref != 0).sum()) > 0 and m["spikes_program"] == 0
    assert not validate(g, silent, {"x": x}, against="program", both=False).passed


def test_compiled_program_scores_well_where_the_rigged_ones_do_not(case):
    """The same metric on the real Program of the same case is high (the contrast that makes the
    two tests above meaningful); its count correlation is the same Pearson correlation."""
    g, dt, x, prog, ref = case
    got = prog.run({"x": x}, backend="emulator").outputs["o"]
    m = spike_agreement(ref, got)
    assert m["f1"] >= 0.90 and m["precision"] >= 0.90 and m["recall"] >= 0.90, m
    assert m["count_correlation"] == pytest.approx(correlation((ref != 0).sum(1), (got != 0).sum(1)))


def test_symmetric_and_shape_checked():
    rng = np.random.default_rng(3)
    a = (rng.random((2, 30, 4)) < 0.2).astype(float)
    b = (rng.random((2, 30, 4)) < 0.3).astype(float)
    ab, ba = spike_agreement(a, b), spike_agreement(b, a)
    assert ab["precision"] == ba["recall"] and ab["recall"] == ba["precision"] and ab["f1"] == ba["f1"]
    assert spike_agreement(np.zeros((1, 5, 2)), np.zeros((1, 5, 2)))["f1"] == 1.0
    with pytest.raises(InputDataError, match="shapes"):
        spike_agreement(a, b[:, :-1])
