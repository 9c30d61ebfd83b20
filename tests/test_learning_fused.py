"""The fused learning kernel (whole step loop in one numba function) equals the per-step
reference loop of the emulator on random rule programs (every term kind, t_epoch 1..8, all sign
modes, fractional impulses, tau 0) and on the three-factor choice demo. The reference loop itself
is checked against Lava in test_learning_lava_diff.py / test_learning_demos.py."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from learning_cases import random_inputs, random_learning_program  # noqa: E402

from neurocompile.learning import demos as D  # noqa: E402
from neurocompile.targets.emulator.learning import run_learning_entry  # noqa: E402


def _same(prog, inp, record):
    a = run_learning_entry(prog, inp, record, fused=False)
    b = run_learning_entry(prog, inp, record, fused=True)
    assert a.recordings.keys() == b.recordings.keys()
    for k in a.recordings:
        assert np.array_equal(a.recordings[k], b.recordings[k]), k


@pytest.mark.parametrize("seed", range(12), ids=lambda s: f"seed{s}")
def test_fused_equals_reference_random_rules(seed):
    prog, _ = random_learning_program(seed)
    _same(prog, random_inputs(seed, prog, 50), "h.spikes,h.v,h.u")


def test_fused_equals_reference_three_factor():
    x, r, _ = D.choice_data(3, 40)
    _same(D.choice_program(3), {"inp": x[None], "reward": r[None]}, "out.spikes,out.v,out.u")
