"""On-chip learning on a 1000 x 1000 plastic projection: emulator vs Lava 0.10.0 (fixed_pt), in one run.

    .venv/bin/python benchmarks/bench_learning.py [--rule stdp|rstdp|mult_stdp|eprop] [--steps 500]
                                                  [--lava-steps 60]

Rules (``RULES``; all t_epoch 1, EXCITATORY, weights 0..63, input 2 % Poisson):

* ``stdp``: additive pair STDP (separable: :mod:`targets.loihi2.emulator.separable`), LIF post
  whose spikes are the bAPs;
* ``rstdp``: reward-modulated STDP (library ``rstdp``: eligibility in tag 1 with a ``u*t`` decay,
  ``dw = lr*u*t*y2``) on a ``lif_3f`` whose reward input (y2) is a graded pulse of 32 to every
  neuron every 20th step;
* ``mult_stdp``: multiplicative pair STDP (``(w_max - w)`` / ``(w - w_min)`` factors), LIF post;
* ``eprop``: the library ``eprop`` rule (``dt = elig*u*x1*y1/2^7 - u*t/tau_e``,
  ``dw = lr*u*t*(y2 - y3)``) as a user builds it (``models/learning_signals.py``'s network, wider):
  ``inp`` -> 1000 hidden ``lif_3f`` (``hid``: pseudo-derivative y1, signed learning signal y2/y3)
  -> 10 error ``lif_3f`` (``err``: ``feedback_alignment(layer="output")``, graded targets 0..63,
  sends y2 - y3) -> feedback projection (random weights) back into ``hid``'s third factor. The
  timed projection ``syn`` is ``inp -> hid``; ``w_out`` (1000 x 10) learns too. It runs on the path
  ``Program.run`` takes: the fused kernel, learning signals included.

The w/d/t rules run in :mod:`targets.loihi2.emulator.synaptic`. Lava runs in the Lava
interpreter (``lava_runner`` in-process there, via ``run.run_lava``'s subprocess): its rate is
measured over ``--lava-steps`` steps after its first step (compile, process spawn: reported
separately), so it is a steady-state rate. The emulator (``Program.run``, fused kernel) is timed
after a JIT warm-up: end to end over ``--steps`` (validation, plan, PCG64 draws, result arrays
included) and steady state (the marginal cost of ``--steps`` more steps: runs of N and 2N steps,
difference), each by wall clock and by CPU time (the machine is shared; the load average is
printed; the rows say how many numba threads the emulator had, numba's threading layer and
``OMP_WAIT_POLICY`` (the emulator sets ``passive`` unless the environment sets it: idle OpenMP
threads sleep instead of spinning, which on a loaded machine made 2 threads many times slower than
one; ``targets/loihi2/emulator/arith.py``): the w/d/t kernel runs its one-pass chain rows across
them, Lava its processes; the same ``--steps`` on one thread too).
Bit-exactness in the same run: output spikes every step and the final learned weights and tag_1 of
the common stretch (the emulator re-runs the first ``--lava-steps`` steps). Goal (issue 6, issue 13
item 5): >= 50x Lava's steps per second. ``main(quick)`` gives ``benchmarks/run.py`` one row per
rule (quick: 200 x 200, 40 steps, Lava over 8).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))


RULES = ("stdp", "rstdp", "mult_stdp", "eprop")
#: input populations besides ``inp`` per rule
_REWARD = ("rstdp",)


def rule_of(kind: str):
    from neurocompile.learning import eprop, rstdp, stdp_pair

    if kind == "stdp":
        return stdp_pair(A_plus=4.0, A_minus=3.0, tau_plus=10, tau_minus=20)
    if kind == "mult_stdp":
        return stdp_pair(
            A_plus=0.25,
            A_minus=0.25,
            tau_plus=10,
            tau_minus=20,
            weight_dependence="multiplicative",
            w_min=0,
            w_max=255,
        )
    if kind == "rstdp":
        return rstdp(lr=0.25, A_plus=4.0, A_minus=3.0, tau_plus=10, tau_minus=20, tau_e=40, name="syn")
    if kind == "eprop":
        return eprop(lr=1 / 64, tau_pre=10, tau_e=20, elig=16.0, name="syn")
    raise ValueError(f"unknown rule {kind!r}; one of {', '.join(RULES)}")


def program(n: int = 1000, seed: int = 0, rule: str = "stdp"):
    from neurocompile.targets.loihi2.builder import Loihi2Builder

    rng = np.random.default_rng(seed)
    r = rule_of(rule)
    b = Loihi2Builder()
    b.input("inp", n)
    if rule == "eprop":
        from neurocompile.learning import feedback_alignment

        out_rule = feedback_alignment(lr=1 / 64, tau_pre=10, layer="output", tau_out=10, name="w_out")
        b.input("target", 10, num_message_bits=8)
        b.lif_3f("hid", n, du=4095, dv=512, vth=400, rule=r)
        b.lif_3f("err", 10, du=4095, dv=512, vth=400, rule=out_rule, reward="target")
        b.learning_dense(
            "inp",
            "hid",
            rng.integers(0, 64, size=(n, n)),
            r,
            rng_seed=5,
            sign_mode=2,
            weight_exp=-2,
            name="syn",
        )
        w_out = rng.integers(-32, 33, size=(10, n))
        b.learning_dense("hid", "err", w_out, out_rule, rng_seed=6, sign_mode=1, weight_exp=-4, name="w_out")
        b.feedback("err", "hid", rng.integers(-64, 65, size=(n, 10)), weight_exp=-6, name="fb")
        return b.build(outputs={"y": ("hid", "spikes")})
    if rule in _REWARD:
        b.input("reward", n, num_message_bits=8)
        b.lif_3f("out", n, du=4095, dv=512, vth=400, rule=r, reward="reward")
    else:
        b.lif("out", n, du=4095, dv=512, vth=400)
    b.learning_dense(
        "inp",
        "out",
        rng.integers(0, 64, size=(n, n)),
        r,
        rng_seed=5,
        sign_mode=2,
        weight_exp=-2,
        name="syn",
    )
    return b.build(outputs={"y": ("out", "spikes")})


def inputs(steps: int, n: int = 1000, seed: int = 1, rule: str = "stdp"):
    rng = np.random.default_rng(seed)
    d = {"inp": (rng.random((1, steps, n)) < 0.02).astype(np.int8)}
    if rule == "rstdp":
        r = np.zeros((1, steps, n), np.int16)
        r[:, 19::20] = 32
        d["reward"] = r
    elif rule == "eprop":
        d["target"] = rng.integers(0, 64, (1, steps, 10)).astype(np.int16)
    return d


LAVA_WORKER = r"""
import sys, time, numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.monitor.process import Monitor
from neurocompile.program import Program
from neurocompile.data import load_npz
from neurocompile.targets.loihi2.lava_runner import build_lava_network, prepare_inputs
prog = Program.load(sys.argv[1]); steps = int(sys.argv[4])
pop_data, _, _ = prepare_inputs(prog, load_npz(sys.argv[2]))
procs = build_lava_network(prog, {k: v[0] for k, v in pop_data.items()})
post = prog.projections["syn"].post
mon = Monitor(); mon.probe(procs[post].s_out, steps)
root, cfg = procs[post], Loihi2SimCfg(select_tag="fixed_pt")
t0 = time.perf_counter(); root.run(condition=RunSteps(num_steps=1), run_cfg=cfg)
t1 = time.perf_counter(); root.run(condition=RunSteps(num_steps=steps - 1), run_cfg=cfg)
t2 = time.perf_counter()
spk = np.asarray(mon.get_data()[root.name]["s_out"]).astype(np.int64)
w = np.asarray(procs["syn"].weights.get()).astype(np.int64)
t1v = np.asarray(procs["syn"].tag_1.get()).astype(np.int64)
root.stop()
np.savez(sys.argv[3], spikes=spk, weights=w, tag_1=t1v, seconds=t2 - t1, first_step_s=t1 - t0)
"""


def run_lava(prog, inp, steps: int) -> dict:
    from neurocompile.targets.loihi2.run import lava_python

    with tempfile.TemporaryDirectory() as d:
        p, i, o, w = (os.path.join(d, f) for f in ("p.ncp", "in.npz", "out.npz", "worker.py"))
        prog.save(p)
        np.savez(i, **{k: v[:, :steps] for k, v in inp.items()})
        Path(w).write_text(LAVA_WORKER)
        subprocess.run([str(lava_python()), w, p, i, o, str(steps)], check=True, cwd=REPO)
        z = np.load(o)
        return {k: z[k] for k in z.files}


def measure(steps: int = 500, lava_steps: int = 60, n: int = 1000, rule: str = "stdp") -> dict:
    """Emulator figures, then Lava's and the bit-exactness checks (``lava_error``: Lava unavailable)."""
    from common import lava_unavailable

    prog = program(n, rule=rule)
    inp = inputs(max(2 * steps, lava_steps), n, rule=rule)
    # emulator: warm-up (JIT) then timed, N and 2N steps (best of 2 each: shared machine)
    prog.run({k: v[:, :5] for k, v in inp.items()})

    def timed(n):
        best = (1e9, 1e9)
        for _ in range(2):
            t, cpu = time.perf_counter(), time.process_time()
            prog.run({k: v[:, :n] for k, v in inp.items()})
            best = min(best, (time.perf_counter() - t, time.process_time() - cpu))
        return best

    emu_s, emu_cpu = timed(steps)
    emu2_s, emu2_cpu = timed(2 * steps)
    import numba

    threads = numba.get_num_threads()
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel region ran (a rule without one)
        layer = "none"
    numba.set_num_threads(1)  # the same run on one numba thread (the chain rows' split switched off)
    try:
        one_s, one_cpu = timed(steps)
    finally:
        numba.set_num_threads(threads)
    emu_rate = steps / emu_s
    steady_rate = steps / max(emu2_s - emu_s, 1e-9)
    steady_cpu = steps / max(emu2_cpu - emu_cpu, 1e-9)
    ref = prog.run({k: v[:, :lava_steps] for k, v in inp.items()})
    out = dict(
        rule=rule,
        emulator_steps_per_s=round(emu_rate, 1),
        emulator_cpu_steps_per_s=round(steps / emu_cpu, 1),
        emulator_steady_steps_per_s=round(steady_rate, 1),
        emulator_steady_cpu_steps_per_s=round(steady_cpu, 1),
        speedup_vs_lava_idle_19=round(emu_rate / 19.0, 1),
        speedup_cpu_vs_lava_idle_19=round(steps / emu_cpu / 19.0, 1),
        n=n,
        steps=steps,
        lava_steps=lava_steps,
        load_avg=os.getloadavg()[0],
        numba_threads=threads,
        threading_layer=layer,
        omp_wait_policy=os.environ.get("OMP_WAIT_POLICY", ""),
        emulator_1thread_steps_per_s=round(steps / one_s, 1),
        emulator_1thread_cpu_steps_per_s=round(steps / one_cpu, 1),
        output_spikes=int(ref.outputs["y"].sum()),
        weights_changed=int(
            (ref.recordings["syn.weights"][0] != prog.projections["syn"].params["weights"]).sum()
        ),
        warnings=list(ref.warnings),
    )
    out["lava_error"] = lava_unavailable()
    if out["lava_error"]:
        return out
    lava = run_lava(prog, inp, lava_steps)
    # Lava: steady state after a 1-step warm-up (compile + process spawn reported separately)
    lava_rate = (lava_steps - 1) / float(lava["seconds"])
    spikes_ok = np.array_equal(
        ref.outputs["y"][0].reshape(lava_steps, -1), lava["spikes"].reshape(lava_steps, -1)
    )
    w_ok = np.array_equal(ref.recordings["syn.weights"][0], lava["weights"]) and np.array_equal(
        ref.recordings["syn.tag_1_final"][0], lava["tag_1"]
    )
    out.update(
        lava_steps_per_s=round(lava_rate, 2),
        lava_first_step_s=round(float(lava["first_step_s"]), 1),
        speedup=round(emu_rate / lava_rate, 1),
        speedup_steady=round(steady_rate / lava_rate, 1),
        bit_exact_spikes=bool(spikes_ok),
        bit_exact_weights=bool(w_ok),  # and tag_1
    )
    return out


def main(quick: bool = False) -> list:
    """One row per rule for ``benchmarks/run.py``: the emulator end to end against Lava in the same run."""
    from common import Row, ratio

    n, steps, lava_steps = (200, 40, 8) if quick else (1000, 500, 60)
    rows = []
    for rule in RULES:
        m = measure(steps, lava_steps, n, rule)
        ours = m["emulator_steps_per_s"]
        row = Row(
            case=f"{rule} {n}x{n}",
            ours=ours,
            unit="steps/s",
            goal=">= 50x",
            note=f"{steps} steps; steady state {m['emulator_steady_steps_per_s']:,.0f}/s"
            + f"; {m['numba_threads']} numba thread(s) ({m['threading_layer']}"
            + (f", OMP_WAIT_POLICY={m['omp_wait_policy']}" if m["omp_wait_policy"] else "")
            + f"), on 1: {m['emulator_1thread_steps_per_s']:,.0f}/s"
            + (
                f"; {m['speedup_vs_lava_idle_19']}x Lava's idle ~19/s (docs figure)"
                if rule == "stdp" and not quick
                else ""
            )
            + (
                "; library eprop, learning signals from a 10-neuron error population (fused kernel)"
                if rule == "eprop"
                else ""
            ),
            detail=m,
        )
        rows.append(row)
        if m["lava_error"]:
            row.reference = f"Lava 0.10.0 fixed_pt: unavailable ({m['lava_error']})"
            continue
        row.reference = f"Lava 0.10.0 fixed_pt (live, {lava_steps} steps)"
        row.ref_value = m["lava_steps_per_s"]
        row.ratio = ratio(ours, m["lava_steps_per_s"])
        row.met = row.ratio >= 50
        row.checks = {
            "bit-exact spikes": m["bit_exact_spikes"],
            "bit-exact weights, tag_1": m["bit_exact_weights"],
        }
    return rows


def cli(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rule", default="stdp", choices=RULES)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--lava-steps", type=int, default=60)
    ap.add_argument("--json", default="")
    a = ap.parse_args(argv)
    out = measure(a.steps, a.lava_steps, rule=a.rule)
    print(json.dumps(out, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    return 0 if out.get("bit_exact_spikes") and out.get("bit_exact_weights") else 1


if __name__ == "__main__":
    sys.exit(cli())
