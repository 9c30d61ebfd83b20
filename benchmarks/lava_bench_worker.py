"""Lava side of ``bench_loihi2.py``; executed by the Lava interpreter (.venv-lava), not imported.

    python benchmarks/lava_bench_worker.py SPEC.json

SPEC lists cases ``{"name", "program", "inputs", "steps", "out"}``. For each: build the Program
as stock Lava processes (``lava_runner.build_lava_network``) with one Monitor on the output
population's spikes, run 1 step (compile + process spawn, timed separately), then the remaining
``steps - 1`` steps (timed: the steady-state rate), read the Monitor and the final ``u``/``v`` of
every LIF population, stop, and save them with the timings to ``out`` (.npz).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def run_case(case: dict) -> None:
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.monitor.process import Monitor

    from neurocompile.data import load_npz
    from neurocompile.program import Program
    from neurocompile.targets.loihi2.lava_runner import build_lava_network, prepare_inputs

    prog = Program.load(case["program"])
    pop_data, batch, steps = prepare_inputs(prog, load_npz(case["inputs"]))
    procs = build_lava_network(prog, {k: v[0] for k, v in pop_data.items()})
    out_pop = next(iter(prog.outputs.values())).population
    mon = Monitor()
    mon.probe(procs[out_pop].s_out, steps)
    root = procs[out_pop]
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    t0 = time.perf_counter()
    root.run(condition=RunSteps(num_steps=1), run_cfg=cfg)
    t1 = time.perf_counter()
    root.run(condition=RunSteps(num_steps=steps - 1), run_cfg=cfg)
    t2 = time.perf_counter()
    res = {
        "spikes": np.asarray(mon.get_data()[root.name]["s_out"]).astype(np.int64),
        "first_step_s": np.array(t1 - t0),
        "rest_s": np.array(t2 - t1),
        "steps": np.array(steps),
    }
    for name, pop in prog.populations.items():
        if pop.kind != "input":
            res[f"{name}.u"] = np.asarray(procs[name].u.get()).astype(np.int64)
            res[f"{name}.v"] = np.asarray(procs[name].v.get()).astype(np.int64)
    root.stop()
    np.savez(case["out"], **res)


def main(argv: list[str]) -> int:
    with open(argv[0]) as f:
        spec = json.load(f)
    for case in spec["cases"]:
        run_case(case)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
