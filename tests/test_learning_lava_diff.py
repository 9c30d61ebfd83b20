"""Emulator vs Lava 0.10.0 LearningDense (fixed_pt bit-approximate model), step by step.

Random rules (tests/learning_cases.py) cover every term kind, t_epoch 1..8, all sign modes,
fractional impulses and tau = 0; several rules share one Program and several Programs share
one Lava run (``run_jobs``). Compared at every step: weights, tags, x1, x2, y1..y3, post
spikes; plus the learned state at the end.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

pytest.importorskip("lava")
sys.path.insert(0, os.path.dirname(__file__))

from learning_cases import random_inputs, random_learning_program  # noqa: E402

from neurocompile.targets.loihi2.lava_runner import Job, run_jobs  # noqa: E402

pytestmark = pytest.mark.lava

VARS = ("w", "tag_1", "tag_2", "x1", "x2", "y1", "y2", "y3")
STEPS = 32
N_PROGRAMS = int(os.environ.get("NC_LEARNING_DIFF_PROGRAMS", "34"))  # x 3 rules = 102 random rules
# Programs per Lava run: Lava start-up and compilation dominate, not the steps; each Program is
# several OS processes (Lava runs every process in its own), so this bounds the run's peak memory:
# at 12 the Lava half of `make test` peaked near 20 GB of this 24 GB machine (sampled every 30 s).
PER_RUN = 6


def _compare(seeds):
    jobs, progs = [], []
    for seed in seeds:
        prog, names = random_learning_program(seed)
        inp = random_inputs(seed, prog, STEPS)
        needs = [("h", "spikes")] + [(n, v) for n in names for v in VARS]
        pop_data = {"x": inp["x"][0].astype(np.int64), "z": inp["z"][0].astype(np.int64)}
        jobs.append(Job(prog, pop_data, STEPS, needs))
        progs.append((seed, prog, names, inp, needs))
    lava = run_jobs(jobs)
    for (seed, prog, names, inp, needs), got in zip(progs, lava):
        emu = prog.run(inp, record=[f"{n}.{v}" for n, v in needs])
        for n, v in needs:
            a = got[(n, v)].reshape(STEPS, -1)
            b = emu.recordings[f"{n}.{v}"][0].reshape(STEPS, -1)
            if not np.array_equal(a, b):
                t = int(np.argwhere((a != b).any(axis=1))[0][0])
                raise AssertionError(
                    f"seed {seed}: {n}.{v} differs first at step {t + 1} "
                    f"(rule dw={prog.projections[n].params['dw'] if n in prog.projections else ''})"
                )
        for n in names:
            assert np.array_equal(got[(n, "final_weights")], emu.recordings[f"{n}.weights"][0]), (
                f"seed {seed} {n}"
            )


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range((N_PROGRAMS + PER_RUN - 1) // PER_RUN), ids=lambda c: f"chunk{c}")
def test_random_rules_bit_exact(chunk):
    seeds = list(range(chunk * PER_RUN, min((chunk + 1) * PER_RUN, N_PROGRAMS)))
    _compare(seeds)
