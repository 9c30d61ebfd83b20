"""The numba emulator against sPyNNaker 1!7.4.1's binaries, tick for tick, on random networks.

Usage::

    python -m neurocompile.targets.spinnaker.binary.compare [--seeds 100] [--steps 60] [--doc PAGE]

For each seed, :func:`random_network` builds a spinnaker Program directly (``Population`` /
``Projection`` of the schema, integer ``w16``, delays in ticks, pinned ring-buffer shifts) and
random input spikes. All Programs are mapped in one sPyNNaker virtual-board run, whose data-spec
writer produces every core's regions (:mod:`.dsg`); each Program then runs on the binaries
(:mod:`.run`) and on the emulator (``targets/spinnaker/emulator``, the same Program object), and
V (s16.15 integers) and spikes are compared for every neuron at every tick. ``--doc`` rewrites the
``<!-- binary-compare -->`` block of a Markdown page with the summary table (the test checks it).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from neurocompile.program import OutputSpec, Population, Program, Projection

#: delays stay below 16 ticks: no delay-extension core (their relayed keys are not routed here)
MAX_DELAY = 15
DOC_BLOCK = "binary-compare"


def _lif(name: str, kind: str, size: int, rng: np.random.Generator) -> Population:
    params = {
        "cm": float(rng.choice([0.5, 1.0, 2.0])),
        "tau_m": float(rng.choice([5.0, 10.0, 20.0, 40.0])),
        "v_rest": -65.0,
        "v_reset": float(rng.choice([-70.0, -65.0])),
        "v_thresh": float(rng.choice([-55.0, -50.0])),
        "tau_refrac": float(rng.choice([0.1, 1.0, 2.0, 5.0])),
        "i_offset": np.round(rng.uniform(0.0, 1.2, size), 3),
        "v_init": np.round(rng.uniform(-70.0, -52.0, size), 2),
        "ring_buffer_shifts": [int(rng.integers(0, 7)), int(rng.integers(0, 7))],
        "neurons_per_core": 256,
    }
    if kind == "if_curr_exp":
        params.update(tau_syn_E=float(rng.choice([2.0, 5.0])), tau_syn_I=float(rng.choice([5.0, 10.0])))
    return Population(name, kind, (size,), params)


def _projection(name, pre, post, rng, p, receptor, max_nA):
    i, j = np.nonzero(rng.random((pre.size, post.size)) < p)
    shift = post.params["ring_buffer_shifts"][0 if receptor == "excitatory" else 1]
    w_nA = rng.uniform(0.05, max_nA, i.size)
    w16 = np.clip(np.rint(w_nA * 2.0 ** (15 - shift)), 1, 0xFFFF).astype(np.int64)
    return Projection(
        name,
        pre.name,
        post.name,
        "from_list",
        {
            "pre": i.astype(np.int64),
            "post": j.astype(np.int64),
            "w16": w16,
            "delays": rng.integers(1, MAX_DELAY + 1, i.size).astype(np.int64),
            "receptor": receptor,
        },
    )


def random_network(seed: int, steps: int) -> tuple[Program, dict[str, np.ndarray]]:
    """Spike source -> LIF (exc + inh) [-> LIF], optional recurrent inhibition; one input sample."""
    rng = np.random.default_rng(seed)
    prog = Program(target="spinnaker", semantics={"tick_ms": 1.0, "dt": 1.0, "hop_delay": 1})
    src = Population("src", "spike_source", (int(rng.integers(1, 16)),))
    prog.populations["src"] = src
    prog.inputs["input"] = "src"
    kind = "if_curr_delta" if rng.random() < 0.2 else "if_curr_exp"
    h = _lif("h", kind, int(rng.integers(1, 24)), rng)
    prog.populations["h"] = h
    for rec, top in (("excitatory", 6.0), ("inhibitory", 3.0)):
        q = _projection(f"src_h_{rec[:3]}", src, h, rng, float(rng.uniform(0.2, 0.6)), rec, top)
        if q.params["pre"].size:
            prog.projections[q.name] = q
    last = h
    if rng.random() < 0.4:
        q = _projection("h_h", h, h, rng, 0.2, "inhibitory", 2.0)
        if q.params["pre"].size:
            prog.projections["h_h"] = q
    if rng.random() < 0.6:
        o = _lif("o", "if_curr_exp", int(rng.integers(1, 12)), rng)
        prog.populations["o"] = o
        q = _projection("h_o", h, o, rng, 0.5, "excitatory", 8.0)
        if q.params["pre"].size:
            prog.projections["h_o"] = q
            last = o
        else:
            del prog.populations["o"]
    prog.outputs["output"] = OutputSpec(last.name, "spikes")
    rate = float(rng.uniform(0.05, 0.3))
    x = (rng.random((1, steps, src.size)) < rate).astype(np.uint8)
    return prog, {"input": x}


@dataclass
class NetworkResult:
    seed: int
    neurons: int
    synapses: int
    ticks: int
    binaries: dict
    spikes_binary: int
    spikes_emulator: int
    packets: int
    v_mismatches: int
    spike_mismatches: int
    first_mismatch: str = ""

    @property
    def ok(self) -> bool:
        return not self.v_mismatches and not self.spike_mismatches


@dataclass
class Summary:
    networks: list[NetworkResult] = field(default_factory=list)
    dsg_s: float = 0.0
    binary_s: float = 0.0
    emulator_s: float = 0.0

    def table(self) -> str:
        n = self.networks
        kinds: dict[str, int] = {}
        for r in n:
            for b in set(r.binaries.values()):
                kinds[b] = kinds.get(b, 0) + 1
        rows = [
            ("networks (seeds)", f"{len(n)} (0..{len(n) - 1})"),
            ("networks equal, V and spikes, every tick", str(sum(r.ok for r in n))),
            ("ticks per network", str(n[0].ticks if n else 0)),
            ("neurons compared", str(sum(r.neurons for r in n))),
            ("neuron-ticks compared (V and spike)", str(sum(r.neurons * r.ticks for r in n))),
            ("synapses", str(sum(r.synapses for r in n))),
            (
                "spikes (binaries / emulator)",
                f"{sum(r.spikes_binary for r in n)} / {sum(r.spikes_emulator for r in n)}",
            ),
            ("multicast packets delivered", str(sum(r.packets for r in n))),
            ("binaries run", ", ".join(f"{k} ({v} networks)" for k, v in sorted(kinds.items()))),
        ]
        w = max(len(a) for a, _ in rows)
        lines = [f"| {'quantity':<{w}} | value |", f"|{'-' * (w + 2)}|-------|"]
        lines += [f"| {a:<{w}} | {b} |" for a, b in rows]
        return "\n".join(lines)


def compare_one(
    seed: int, prog: Program, inputs, ds, steps: int, prefix: str
) -> tuple[NetworkResult, float, float]:
    from neurocompile.targets.spinnaker.emulator.run import run_program

    from .run import run_binaries

    t0 = time.perf_counter()
    br = run_binaries(ds, prog, {k: v[0] for k, v in inputs.items()}, steps, prefix=prefix)
    t1 = time.perf_counter()
    neurons = [n for n, p in prog.populations.items() if p.kind != "spike_source"]
    with warnings.catch_warnings():  # int32 wraps / ring-buffer saturation: compared, not reported
        warnings.simplefilter("ignore", RuntimeWarning)
        res = run_program(prog, inputs, record=[(n, o) for n in neurons for o in ("v", "spikes")])
    t2 = time.perf_counter()
    vm = sm = sb = se = 0
    first = ""
    for n in neurons:
        ev = np.rint(np.asarray(res.recordings[f"{n}.v"])[0] * 32768).astype(np.int64)
        es = np.asarray(res.recordings[f"{n}.spikes"])[0].astype(np.uint8)
        bv, bs = br.v[n], br.spikes[n]
        dv, ds_ = np.argwhere(ev != bv), np.argwhere(es != bs)
        vm += len(dv)
        sm += len(ds_)
        sb += int(bs.sum())
        se += int(es.sum())
        if (len(dv) or len(ds_)) and not first:
            t, i = (dv if len(dv) else ds_)[0]
            first = (
                f"{n}[{i}] tick {t}: binary V {bv[t, i]} spike {bs[t, i]}, "
                f"emulator V {ev[t, i]} spike {es[t, i]}"
            )
    r = NetworkResult(
        seed,
        sum(prog.populations[n].size for n in neurons),
        int(sum(q.params["pre"].size for q in prog.projections.values())),
        steps,
        br.binaries,
        sb,
        se,
        br.packets,
        vm,
        sm,
        first,
    )
    return r, t1 - t0, t2 - t1


def compare(seeds, steps: int = 60) -> Summary:
    from .dsg import generate

    nets = [random_network(s, steps) for s in seeds]
    t0 = time.perf_counter()
    ds = generate([p for p, _ in nets], [x for _, x in nets], steps)
    summary = Summary(dsg_s=time.perf_counter() - t0)
    multi = len(nets) > 1
    for i, (seed, (prog, x)) in enumerate(zip(seeds, nets)):
        r, tb, te = compare_one(seed, prog, x, ds, steps, f"n{i}_" if multi else "")
        summary.networks.append(r)
        summary.binary_s += tb
        summary.emulator_s += te
    return summary


def rewrite_doc(page: Path, table: str) -> bool:
    """Replace the ``<!-- binary-compare -->`` ... ``<!-- /binary-compare -->`` block; True if changed."""
    text = page.read_text()
    pat = re.compile(rf"(<!-- {DOC_BLOCK} -->\n).*?(<!-- /{DOC_BLOCK} -->)", re.S)
    new = pat.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text)
    if new != text:
        page.write_text(new)
    return new != text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=100, help="seeds 0..N-1")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--doc", type=Path, default=None, help="Markdown page whose block to rewrite")
    args = ap.parse_args(argv)
    s = compare(range(args.seeds), args.steps)
    print(s.table())
    print(
        f"timings: sPyNNaker data spec {s.dsg_s:.1f} s, binaries {s.binary_s:.1f} s, "
        f"emulator {s.emulator_s:.1f} s"
    )
    for r in s.networks:
        if not r.ok:
            print(
                f"seed {r.seed}: {r.v_mismatches} V and {r.spike_mismatches} spike mismatches; "
                f"{r.first_mismatch}"
            )
    if args.doc is not None:
        rewrite_doc(args.doc, s.table())
    return 0 if all(r.ok for r in s.networks) else 1


__all__ = ["random_network", "compare", "Summary", "NetworkResult", "main", "asdict"]

if __name__ == "__main__":
    sys.exit(main())
