"""Learning signals on Lava 0.10.0: small feedback-alignment and e-prop Programs of
``models/learning_signals.py`` (same builders as the trained networks, fewer hidden neurons) run on
Lava (our LIF3F ProcessModel: pseudo-derivative, signed third factor, error port; graded Dense
feedback into a_third_factor_in) and on the emulator (also a late epoch of ``EPROP``: the readout
alone, learning once per 7 steps); every recorded variable agrees at every step (spikes, v, learned
weights, tag 1, the traces x1, y1, y2, y3) and in the final weights, also with the hidden layer's
dithered learning-signal rounding (``signal_shift``/``signal_lsb``).
One Lava run for all the Programs (Lava start-up dominates)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("lava")

from neurocompile.models.learning_signals import (  # noqa: E402
    EPROP,
    EPROP_PLAIN,
    EPROP_SMALL_TAG,
    FA,
    init_weights,
    program,
)
from neurocompile.targets.loihi2.lava_runner import Job, run_jobs  # noqa: E402

pytestmark = pytest.mark.lava

STEPS = 200  # every case changes w_in (the frozen one: w_out) within these steps (asserted below)


def _case(cfg, n_in, seed, epoch=0):
    prog = program(cfg, n_in, init_weights(cfg, n_in), epoch)
    rng = np.random.default_rng(seed)
    inp = (rng.random((STEPS, n_in)) < 0.4).astype(np.int64)
    tgt = np.zeros((STEPS, 10), np.int64)
    for k in range(0, STEPS, 10):
        tgt[k : k + 8, rng.integers(10)] = cfg.target
    learn = [n for n, p in prog.projections.items() if p.kind == "learning_dense"]
    needs = [("hid", "spikes"), ("out", "spikes"), ("hid", "v"), ("out", "v")]
    needs += [(n, v) for n in learn for v in ("w", "tag_1", "x1", "y1", "y2", "y3")]
    return prog, {"inp": inp, "target": tgt}, needs, learn


def test_fa_and_eprop_programs_bit_exact_with_lava():
    cases = [
        _case(replace(FA, n_hid=8), 64, 0),
        # target payload 96 (EPROP's is 48): large enough errors that w_in changes within 200 steps
        _case(replace(EPROP_PLAIN, n_hid=8, target=96), 8, 1),  # no signal rounding
        _case(replace(EPROP_SMALL_TAG, n_hid=8, target=96), 8, 2),  # dithered signal rounding, 6 extra bits
        _case(replace(EPROP, n_hid=8, target=96), 8, 3),  # EPROP: eligibility x 64, 12 extra bits
        # EPROP's epoch 9: the hidden layer frozen, the readout learns once per 7 steps (out_epochs);
        # threshold 2 (EPROP's 64): 8 hidden neurons on random weights make the outputs spike (y3 > 0)
        _case(replace(EPROP, n_hid=8, target=96, vth_out=2), 8, 4, epoch=9),
    ]
    assert cases[-1][0].projections["w_out"].params["t_epoch"] == 7
    lava = run_jobs([Job(p, d, STEPS, needs) for p, d, needs, _ in cases])
    for (prog, data, needs, learn), got in zip(cases, lava):
        emu = prog.run({k: v[None] for k, v in data.items()}, record=[f"{n}.{v}" for n, v in needs])
        rec = emu.recordings
        # not vacuous: hidden spikes, a pseudo-derivative, both signs of the learning signal, learning
        assert rec["hid.spikes"].sum() > 0
        moving = "w_in" if "w_in" in learn else "w_out"  # the hidden layer learns, or (frozen) the readout
        assert rec[f"{moving}.y2"].max() > 0 and rec[f"{moving}.y3"].max() > 0, moving
        assert not np.array_equal(rec[f"{moving}.w"][0][-1], prog.projections[moving].params["weights"]), (
            moving
        )
        if moving == "w_in":
            assert rec["w_in.y1"].max() > 0
        for n, v in needs:
            a = got[(n, v)].reshape(STEPS, -1)
            b = rec[f"{n}.{v}"][0].reshape(STEPS, -1)
            if not np.array_equal(a, b):
                t = int(np.argwhere((a != b).any(axis=1))[0][0])
                raise AssertionError(
                    f"{prog.projections['w_in'].params['dw']}: {n}.{v} differs first at step {t + 1}"
                )
        for n in learn:
            assert np.array_equal(got[(n, "final_weights")], rec[f"{n}.weights"][0]), n
