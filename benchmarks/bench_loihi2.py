"""Emulator vs Lava 0.10.0 (fixed_pt, CPU) on the same loihi2 Programs, in one run.

Cases (issue 3; loihi2.md §6 measured Lava at ~1150, ~170 and ~1150 steps/s):
  dense      1000-input x 1000-LIF Dense, 10 % input activity, single sample, 1000 steps (goal >= 30x)
  chain      input(256) -> ten 256-LIF layers (Dense), single sample, 1000 steps (goal >= 100x)
  dense_b64  the dense network at batch 64, per sample-step (goal >= 100x); Lava runs samples one
             after another, so its per-sample-step rate is its single-sample rate (the dense row).
Lava runs in the Lava interpreter as a subprocess (``lava_bench_worker.py``); its rate is the
steady state after a 1-step warm-up (compile + process spawn reported separately), with one
Monitor on the output spikes. The emulator is timed after a JIT warm-up, recording the output
spikes. Bit-exactness is checked in the same run: output spikes at every step and the final u, v
of every LIF population (for dense_b64: its sample 0, which is the dense input, and its last
sample against a second emulator run of that sample alone). Without a Lava interpreter the rows
carry the emulator's figures and say that Lava is unavailable. Quick: 50 steps, batch 4.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Row, lava_unavailable, ratio  # noqa: E402

STEPS = 1000
RATE = 0.1


def _lif(name, n, du, dv, vth):
    from neurocompile.program import Population

    z = np.zeros(n, np.int64)
    return Population(
        name, "lif", (n,), {"du": du, "dv": dv, "vth": vth, "bias_mant": z, "bias_exp": z.copy()}
    )


def dense_program(rng):
    from neurocompile.program import OutputSpec, Population, Program, Projection

    prog = Program(target="loihi2")
    prog.populations["inp"] = Population("inp", "input", (1000,), {"num_message_bits": 0})
    prog.populations["lif"] = _lif("lif", 1000, du=2048, dv=512, vth=40)
    prog.projections["w"] = Projection(
        "w",
        "inp",
        "lif",
        "dense",
        {
            "weights": rng.integers(-8, 10, size=(1000, 1000)).astype(np.int64),
            "weight_exp": 0,
            "num_weight_bits": 8,
            "sign_mode": 1,
            "num_message_bits": 0,
        },
    )
    prog.inputs["x"] = "inp"
    prog.outputs["y"] = OutputSpec("lif", "spikes")
    return prog


def chain_program(rng, layers=10, n=256):
    from neurocompile.program import OutputSpec, Population, Program, Projection

    prog = Program(target="loihi2")
    prog.populations["inp"] = Population("inp", "input", (n,), {"num_message_bits": 0})
    pre = "inp"
    for k in range(layers):
        name = f"l{k}"
        prog.populations[name] = _lif(name, n, du=2048, dv=512, vth=60)
        prog.projections[f"w{k}"] = Projection(
            f"w{k}",
            pre,
            name,
            "dense",
            {
                "weights": rng.integers(-26, 26, size=(n, n)).astype(np.int64),
                "weight_exp": 0,
                "num_weight_bits": 8,
                "sign_mode": 1,
                "num_message_bits": 0,
            },
        )
        pre = name
    prog.inputs["x"] = "inp"
    prog.outputs["y"] = OutputSpec(pre, "spikes")
    return prog


def _emulate(prog, x, record=()):
    from neurocompile.targets.loihi2.emulator.run import run_program

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return run_program(prog, {"x": x}, record=record)


def _timed_emulator(prog, x, repeats=3):
    _emulate(prog, x[:, :5])  # JIT warm-up
    best, res = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = _emulate(prog, x)
        best = min(best, time.perf_counter() - t0)
    return best, res


def _bit_exact(prog, x, lava: dict, sample: int = 0) -> bool:
    lifs = [n for n, p in prog.populations.items() if p.kind != "input"]
    emu = _emulate(prog, x[sample : sample + 1], record=[f"{n}.{o}" for n in lifs for o in ("u", "v")])
    ok = np.array_equal(
        np.asarray(emu.outputs["y"][0], np.int64).reshape(lava["spikes"].shape), lava["spikes"]
    )
    for n in lifs:
        ok &= np.array_equal(
            np.asarray(emu.recordings[f"{n}.u"][0, -1], np.int64).ravel(), lava[f"{n}.u"].ravel()
        )
        ok &= np.array_equal(
            np.asarray(emu.recordings[f"{n}.v"][0, -1], np.int64).ravel(), lava[f"{n}.v"].ravel()
        )
    return bool(ok)


def _run_lava(cases: dict, tmp: str) -> dict:
    from neurocompile.targets.loihi2.run import lava_python

    spec = {"cases": []}
    for name, (prog, x) in cases.items():
        p, i, o = (os.path.join(tmp, f"{name}.{ext}") for ext in ("ncp", "in.npz", "out.npz"))
        prog.save(p)
        np.savez(i, x=x)
        spec["cases"].append({"name": name, "program": p, "inputs": i, "out": o, "steps": int(x.shape[1])})
    spec_path = os.path.join(tmp, "spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    proc = subprocess.run(
        [str(lava_python()), str(HERE / "lava_bench_worker.py"), spec_path],
        capture_output=True,
        text=True,
        cwd=tmp,
    )
    if proc.returncode != 0:
        raise RuntimeError("Lava worker failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1])
    out = {}
    for c in spec["cases"]:
        with np.load(c["out"]) as f:
            out[c["name"]] = {k: f[k] for k in f.files}
    return out


def main(quick: bool = False) -> list[Row]:
    steps, batch = (50, 4) if quick else (STEPS, 64)
    rng = np.random.default_rng(0)
    dense, chain = dense_program(rng), chain_program(rng)
    x_dense = (rng.random((batch, steps, 1000)) < RATE).astype(np.int64)
    x_chain = (rng.random((1, steps, 256)) < RATE).astype(np.int64)
    why = lava_unavailable()
    lava = {}
    if why is None:
        with tempfile.TemporaryDirectory(prefix="bench-loihi2-") as tmp:
            lava = _run_lava({"dense": (dense, x_dense[:1]), "chain": (chain, x_chain)}, tmp)
    reference = f"Lava 0.10.0 fixed_pt: unavailable ({why})" if why else "Lava 0.10.0 fixed_pt (live)"

    rows = []
    lava_rates = {}
    for name, prog, x, goal in (("dense", dense, x_dense[:1], 30), ("chain", chain, x_chain, 100)):
        t, res = _timed_emulator(prog, x)
        emu_rate = steps / t
        row = Row(
            case=name,
            ours=emu_rate,
            unit="steps/s",
            reference=reference,
            goal=f">= {goal}x",
            note=f"{steps} steps; {int(np.asarray(res.outputs['y']).sum())} output spikes",
        )
        if name in lava:
            lv = lava[name]
            lava_rates[name] = (int(lv["steps"]) - 1) / float(lv["rest_s"])
            row.ref_value, row.ratio = lava_rates[name], ratio(emu_rate, lava_rates[name])
            row.met = row.ratio >= goal
            row.checks = {"bit-exact": _bit_exact(prog, x, lv)}
            row.note += f"; Lava compile+spawn+1st step {float(lv['first_step_s']):.2f} s"
        rows.append(row)
    t, res = _timed_emulator(dense, x_dense, repeats=2)
    emu_rate = x_dense.shape[0] * steps / t
    # every sample but 0: the batched run equals an independent single-sample run
    solo = _emulate(dense, x_dense[-1:])
    checks = {"batch == single": bool(np.array_equal(res.outputs["y"][-1], solo.outputs["y"][0]))}
    row = Row(
        case=f"dense_b{batch}",
        ours=emu_rate,
        unit="steps/s",
        reference=reference,
        goal=">= 100x",
        checks=checks,
        note=f"per sample-step, {steps} steps; Lava rate = its single-sample rate",
    )
    if "dense" in lava:
        # sample 0 of the batch is the dense input: compare the batched run with Lava directly
        row.checks["bit-exact"] = bool(
            np.array_equal(
                np.asarray(res.outputs["y"][0], np.int64).reshape(lava["dense"]["spikes"].shape),
                lava["dense"]["spikes"],
            )
        )
        row.ref_value, row.ratio = lava_rates["dense"], ratio(emu_rate, lava_rates["dense"])
        row.met = row.ratio >= 100
    rows.append(row)
    return rows


if __name__ == "__main__":
    from run import print_table

    print_table([{**r.as_dict(), "bench": "loihi2"} for r in main("--quick" in sys.argv)])
