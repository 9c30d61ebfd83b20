"""SpiNNaker emulator speed (issue 14 item 1): the event-driven kernels against the simple ones, one run.

Cases (IF_curr_exp, defaults of PyNN, 1 ms ticks, 10 % Bernoulli spike-source input, delay 1):

* ``dense``: 1000 spike sources -> 1000 LIF, all to all (1M synapses), one sample, 1000 ticks;
* ``dense_b64``: the same at batch 64 (per sample-tick, ``prange`` over the samples on every core);
* ``chip``: one chip's worth, 4,608 spike sources -> 4,608 LIF (18 cores x 256), p = 0.2 (about
  4.2M synapses), one sample;
* ``stdp``: 1000 -> 1000 all-to-all pair-additive STDP projection (sPyNNaker's deferred rule), one
  sample.

Every case runs the fast kernels (``engine.run_sample`` / ``run_batch``, ``stdp.run_sample_stdp``)
and the simple reference kernels that they replaced (``targets/spinnaker/emulator/reference.py``,
``run_program(reference=True)``) on the same Program and input in this process, and checks the
outputs, recordings and overflow flags are identical (the ``bit-exact`` check). The ratio columns:
fast / reference in this run (the goal: >= 50x) and, for ``chip``, fast / the real chip's 1,000
ticks per second (goal >= 5x real time). ``dense_b64`` states the per-sample-tick rate over the
``dense`` single-sample rate of the same run, both wall clock (goal >= 1.8x on 2 cores); its note
gives the rate per CPU second, the cores busy on average (CPU / wall), numba's thread count and
threading layer, and the same batch on one numba thread (on a shared machine the wall ratio shows the
load as much as the scaling; equal CPU per sample-tick on 1 and N threads shows the split costs
nothing, so an idle machine's wall clock scales with the cores). Rates are
the best of a few repeats of ``run_program`` (plan memoized, so the first call's flattening is not
in them; ``first_s`` in the JSON). The single-sample rows give ticks per CPU second of the process:
the machine is shared (8 engineers on 2 cores), and for one thread that is what an idle machine's
wall clock would show; the wall rates and the 1-minute load average are in the note, and for one
sample the fast kernel's own rate (``kernel alone``: without ``run_program``'s per-call content
digest of the Program, input checks and result conversion). Quick: 100 ticks, batch 8, a
1,152-neuron chip case. The STDP case's rate depends on the post activity: the window's post events
are applied tick by tick from a post-spike log (a vector pass for busy ticks) and rows whose update
is the identity are skipped, so the fast kernel is slowest in the first ~30 ticks (the bursts).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import numba
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Row, ratio  # noqa: E402

REAL_TIME = 1000.0  # ticks per second of the real chip at 1 ms ticks
LIF = dict(cm=1.0, tau_m=20.0, v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0, tau_refrac=2.0)


def feed_forward(n_src: int, n: int, p: float, w16_max: int, seed: int = 0, stdp: bool = False):
    """``n_src`` spike sources -> ``n`` IF_curr_exp, each pair connected with probability ``p``
    (all to all at 1), w16 uniform in [1, w16_max], delay 1, ring-buffer shifts pinned."""
    from neurocompile.targets.spinnaker.builder import SpiNNakerBuilder

    rng = np.random.default_rng(seed)
    b = SpiNNakerBuilder(1.0)
    b.spike_source("src", n_src)
    b.if_curr_exp("lif", n, ring_buffer_shifts=[4, 4], tau_syn_E=5.0, tau_syn_I=5.0, **LIF)
    if p >= 1.0:
        pre = np.repeat(np.arange(n_src), n)
        post = np.tile(np.arange(n), n_src)
    else:
        mask = rng.random((n_src, n)) < p
        pre, post = np.nonzero(mask)
    w16 = rng.integers(1, w16_max, pre.size, endpoint=True)
    kw = dict(pre_idx=pre, post_idx=post, w16=w16, delays=1, name="src_lif")
    if stdp:
        block = dict(
            timing="spike_pair",
            weight="additive",
            tau_plus=16.7,
            tau_minus=33.7,
            A_plus=0.01,
            A_minus=0.012,
            w_min=0.0,
            w_max=float(w16_max) / 2048,
        )
        b.stdp("src", "lif", plasticity=block, **kw)
    else:
        b.from_list("src", "lif", **kw)
    return b.build({"out": ("lif", "spikes")})


def bernoulli(n: int, steps: int, batch: int, rate: float = 0.1, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).random((batch, steps, n)) < rate).astype(np.uint8)


def _run(prog, x, reference: bool, record: bool = False):
    """``run_program`` with the output spikes (timed), or also every v, u and weight (``record``)."""
    from neurocompile.targets.spinnaker.emulator.run import run_program

    rec = [("lif", "v"), ("lif", "u")] if record else []
    if record and prog.projections["src_lif"].kind == "stdp":
        rec.append(("src_lif", "weights"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # saturation is part of the comparison
        return run_program(prog, {"src": x}, record=rec, reference=reference)


def _time(prog, x, reference: bool, repeats: int):
    t0 = time.perf_counter()
    res = _run(prog, x, reference)
    first = time.perf_counter() - t0
    best = best_cpu = float("inf")
    for _ in range(max(repeats, 1)):
        t0, c0 = time.perf_counter(), time.process_time()
        res = _run(prog, x, reference)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return first, best, best_cpu, res


def _same(a, b) -> bool:
    keys = set(a.outputs) | set(a.recordings)
    ok = all(np.array_equal(a.outputs[k], b.outputs[k]) for k in a.outputs)
    ok = ok and all(np.array_equal(a.recordings[k], b.recordings[k]) for k in a.recordings)
    return bool(ok and keys == set(b.outputs) | set(b.recordings) and a.warnings == b.warnings)


def measure(name: str, prog, x, reps: int, ref_reps: int, ref_steps: int | None = None) -> dict:
    """Fast and reference on the same Program; the reference on the first ``ref_steps`` ticks only
    (its rate per tick does not depend on the length; the bit-exact check covers those ticks)."""
    B, T = x.shape[0], x.shape[1]
    first, best, best_cpu, res = _time(prog, x, False, reps)
    xr = x[:, :ref_steps] if ref_steps else x
    rfirst, rbest, rbest_cpu, _ = _time(prog, xr, True, ref_reps)
    exact = _same(_run(prog, xr, False, record=True), _run(prog, xr, True, record=True))
    kernel_cpu = _kernel_cpu(prog, x[0], reps) if B == 1 else None
    one_thread = None
    if B > 1:  # the same batch on one numba thread: the CPU per sample-tick parallelism costs
        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            one_thread = _time(prog, x, False, reps)[1:3]
        finally:
            numba.set_num_threads(threads)
    n_syn = sum(int(q.params["w16"].size) for q in prog.projections.values())
    out_spikes = float(np.asarray(res.outputs["out"]).sum()) / (B * T)
    return dict(
        name=name,
        rate=B * T / best,
        rate_cpu=B * T / best_cpu,
        ref_rate=B * xr.shape[1] / rbest,
        ref_rate_cpu=B * xr.shape[1] / rbest_cpu,
        exact=exact,
        first_s=first,
        synapses=n_syn,
        events_per_s=float(x.sum()) / x.shape[2] * n_syn / best if n_syn else 0.0,
        out_spikes_per_tick=out_spikes,
        ticks=T,
        batch=B,
        ref_ticks=xr.shape[1],
        kernel_rate_cpu=T / kernel_cpu if kernel_cpu else None,
        load_avg_1min=os.getloadavg()[0],
        threads=numba.get_num_threads(),
        rate_1thread=B * T / one_thread[0] if one_thread else None,
        rate_cpu_1thread=B * T / one_thread[1] if one_thread else None,
        threading_layer=_threading_layer(),
    )


def _threading_layer() -> str:
    """numba's threading layer (``omp``, ``tbb``, ``workqueue``), known once a parallel kernel ran."""
    try:
        return numba.threading_layer()
    except ValueError:  # no parallel kernel has run in this process
        return "not started"


def _kernel_cpu(prog, x, reps: int) -> float:
    """CPU seconds of the fast kernel alone on one sample (the memoized plan, output spikes recorded):
    what ``run_program`` adds on top is the per-call content digest of the Program (plan memo),
    the input checks and the conversion of the results."""
    from neurocompile.targets.spinnaker.emulator.engine import Outputs, Recorded, run_sample
    from neurocompile.targets.spinnaker.emulator.run import plan_for
    from neurocompile.targets.spinnaker.emulator.stdp import StdpPlan, Weights, run_sample_stdp

    planned = plan_for(prog)
    plan = planned.plan if isinstance(planned, StdpPlan) else planned
    net = planned.network()
    T, NL = x.shape[0], plan.NL
    none, every = np.zeros(0, np.int64), np.arange(NL)
    best = float("inf")
    for _ in range(max(reps, 1)):
        out = Outputs(
            np.zeros((T, 0), np.int64),
            np.zeros((T, 0), np.int64),
            np.zeros((T, NL), np.uint8),
            np.zeros((net.NP, 2), np.int64),
        )
        c0 = time.process_time()
        if isinstance(planned, StdpPlan):
            w = Weights(planned.w0.copy(), np.zeros((1, 1), np.int64), False)
            run_sample_stdp(x, T, net, Recorded(none, none, every), out, planned.plastic(), w)
        else:
            run_sample(x, T, net, Recorded(none, none, every), out)
        best = min(best, time.process_time() - c0)
    return best


def main(quick: bool = False) -> list[Row]:
    T = 100 if quick else 1000
    batch = 8 if quick else 64
    n_chip = 1152 if quick else 4608
    reps = 1 if quick else 5
    dense = feed_forward(1000, 1000, 1.0, 40)
    ref_t = (lambda n: None) if quick else (lambda n: n)  # reference kernels: fewer ticks (slow)
    cases = [
        measure("dense", dense, bernoulli(1000, T, 1), reps, 2, ref_t(200)),
        measure("dense_b64", dense, bernoulli(1000, T, batch), min(reps, 3), 1, ref_t(50)),
        measure("chip", feed_forward(n_chip, n_chip, 0.2, 100), bernoulli(n_chip, T, 1), reps, 1, ref_t(50)),
        measure(
            "stdp", feed_forward(1000, 1000, 1.0, 40, stdp=True), bernoulli(1000, T, 1), reps, 1, ref_t(100)
        ),
    ]
    by = {c["name"]: c for c in cases}
    rows = []
    for c in cases:
        name, single = c["name"], c["batch"] == 1
        case = {
            "dense": "1000->1000 all-to-all 10 %",
            "dense_b64": f"1000->1000 all-to-all 10 %, batch {c['batch']}",
            "chip": f"one chip: {n_chip}->{n_chip} p=0.2 10 %",
            "stdp": "1000x1000 STDP (pair, additive) 10 %",
        }[name]
        # one thread: the rate per CPU second (the machine is shared; wall in the note); batch: wall
        rate, ref_rate = (c["rate_cpu"], c["ref_rate_cpu"]) if single else (c["rate"], c["ref_rate"])
        note = (
            f"{c['ticks']} ticks, batch {c['batch']}; wall {c['rate']:,.0f}/s, reference wall "
            f"{c['ref_rate']:,.0f}/s ({c['ref_ticks']} ticks); {c['events_per_s'] / 1e6:,.0f} M syn. "
            f"events/s (wall); load {c['load_avg_1min']:.1f}"
        )
        if c["kernel_rate_cpu"]:
            note += (
                f"; kernel alone {c['kernel_rate_cpu']:,.0f} ticks/CPU-s "
                f"({c['kernel_rate_cpu'] / c['ref_rate_cpu']:.0f}x the reference per CPU s)"
            )
        row = Row(
            case=case,
            ours=rate,
            unit="ticks/CPU-s" if single else "sample-ticks/s",
            reference="previous kernels (reference.py), same run",
            ref_value=ref_rate,
            ratio=ratio(rate, ref_rate),
            goal=">= 50x",
            met=rate / ref_rate >= 50,
            checks={"bit-exact vs reference": c["exact"]},
            note=note,
            detail=c,
        )
        if name == "dense_b64":
            one = by["dense"]["rate"]
            row.reference, row.ref_value = "dense, one sample, wall, same run", one
            row.ratio = ratio(rate, one)
            row.goal = f">= 1.8x on {os.cpu_count()} cores"
            row.met = rate / one >= 1.8
            row.note += (
                f"; {rate / c['ref_rate']:.0f}x the previous batch kernel (wall); "
                f"{c['rate_cpu']:,.0f} per CPU s, i.e. {rate / c['rate_cpu']:.2f} cores busy on average; "
                f"numba: {c['threads']} threads ({c['threading_layer']} layer); on 1 thread "
                f"{c['rate_1thread']:,.0f}/s wall, {c['rate_cpu_1thread']:,.0f} per CPU s (CPU per "
                f"sample-tick {c['threads']} threads / 1: {c['rate_cpu_1thread'] / c['rate_cpu']:.2f})"
            )
        if name == "chip":
            row.reference, row.ref_value = "the real chip (1 ms ticks, real time)", REAL_TIME
            row.ratio = ratio(rate, REAL_TIME)
            row.goal = ">= 5x real time"
            row.met = rate / REAL_TIME >= 5
            row.note += f"; {rate / ref_rate:.0f}x the previous kernels per CPU s"
        rows.append(row)
    return rows


if __name__ == "__main__":
    from run import print_table

    print_table([{**r.as_dict(), "bench": "spinnaker_emulator"} for r in main("--quick" in sys.argv)])
