"""Emulator speed on the issue-3 networks (emulator only; ``bench_loihi2.py`` adds live Lava).

Cases (``loihi2_nets.py``, 1000 steps, 10 % Bernoulli input):
* ``dense``: 1000 -> Dense(1000 x 1000) -> LIF(1000), one sample;
* ``chain``: 256 -> 10 x [Dense(256 x 256) -> LIF(256)], one sample;
* ``dense_b64``: the dense net at batch 64, per sample-step.

``first_s`` is the first call of a Program (flattening + numba load from the on-disk cache);
``steps_per_s`` is the best of a few repeated ``run_program`` calls (Lava's own figures are
likewise timed after a warm-up step that includes its compile and process spawn). The ratio
uses the Lava figures of ``docs/reference/loihi2.md`` §6 (1150, 170, 1150 steps/s on this kind of
machine); ``bench_loihi2.py`` measures Lava live on the same machine. Spike counts are printed
so that a regression in activity (not speed) is visible. ``steps_per_cpu_s`` divides by the
process CPU time (all threads): on a shared, loaded machine it is the steadier figure; the
1-minute load average is printed for the same reason (2 cores here). Quick: 100 steps, one
timed repeat, batch 8 instead of 64.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Row, ratio  # noqa: E402
from loihi2_nets import bernoulli_inputs, chain_net, dense_net  # noqa: E402

STEPS = 1000
LAVA_NOTE = {"dense": 1150.0, "chain": 170.0, "dense_b64": 1150.0}
GOAL = {"dense": 30, "chain": 100, "dense_b64": 100}


def _time(prog, x, repeats: int) -> tuple[float, float, float, object]:
    from neurocompile.targets.loihi2.emulator.run import run_program

    t0 = time.perf_counter()
    res = run_program(prog, {"x": x})
    first = time.perf_counter() - t0
    best = best_cpu = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        res = run_program(prog, {"x": x})
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return first, best, best_cpu, res


def main(quick: bool = False) -> list[Row]:
    steps, batch, reps = (100, 8, 1) if quick else (STEPS, 64, None)
    rows = []
    cases = [
        ("dense", dense_net(), bernoulli_inputs(1000, steps, batch=1), reps or 7),
        ("chain", chain_net(), bernoulli_inputs(256, steps, batch=1), reps or 7),
        ("dense_b64", dense_net(), bernoulli_inputs(1000, steps, batch=batch), reps or 3),
    ]
    for name, prog, x, reps in cases:
        first, best, best_cpu, res = _time(prog, x, reps)
        rate = x.shape[0] * steps / best
        rows.append(
            Row(
                case=name if x.shape[0] in (1, 64) else f"dense_b{x.shape[0]}",
                ours=rate,
                unit="steps/s",
                reference="Lava 0.10.0 (docs figure, not live)",
                ref_value=LAVA_NOTE[name],
                ratio=ratio(rate, LAVA_NOTE[name]),
                goal=f">= {GOAL[name]}x",
                met=rate / LAVA_NOTE[name] >= GOAL[name],
                note=f"{steps} steps, batch {x.shape[0]}; {x.shape[0] * steps / best_cpu:,.0f} per CPU s",
                detail={
                    "steps_per_cpu_s": x.shape[0] * steps / best_cpu,
                    "first_s": first,
                    "out_spikes_per_sample_step": float(np.asarray(res.outputs["y"]).sum())
                    / (x.shape[0] * steps),
                    "steps": steps,
                    "batch": int(x.shape[0]),
                    "load_avg_1min": os.getloadavg()[0],
                },
            )
        )
    return rows


if __name__ == "__main__":
    from run import print_table

    print_table([{**r.as_dict(), "bench": "emulator"} for r in main("--quick" in sys.argv)])
