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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurocompile.program import OutputSpec, Population, Program, Projection
from neurocompile.targets.spinnaker import spec

#: delays stay below 16 ticks: no delay-extension core (their relayed keys are not routed here)
MAX_DELAY = 15
DOC_BLOCK = "binary-compare"
DOC_BLOCK_STDP = "binary-compare-stdp"
DOC_BLOCK_SPLIT = "binary-compare-split"
DOC_BLOCK_MULTICORE = "binary-compare-multicore"
DOC_BLOCK_SPLIT_STDP = "binary-compare-split-stdp"


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


def random_network(seed: int, steps: int, tick_ms: float = 1.0) -> tuple[Program, dict[str, np.ndarray]]:
    """Spike source -> LIF (exc + inh) [-> LIF], optional recurrent inhibition; one input sample.
    Below a 1 ms tick sPyNNaker maps each neuron population with incoming synapses on a split pair
    (``*_neuron.aplx`` + ``synapses.aplx``)."""
    rng = np.random.default_rng(seed)
    prog = Program(target="spinnaker", semantics={"tick_ms": tick_ms, "dt": tick_ms, "hop_delay": 1})
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


#: the STDP variants the lowering maps (targets/spinnaker/spec.py STDP_BINARIES): (post kind, block)
STDP_VARIANTS = (
    ("if_curr_exp", "spike_pair", "additive"),
    ("if_curr_exp", "spike_pair", "multiplicative"),
    ("if_curr_exp", "pfister_triplet", "additive_triplet"),
    ("if_curr_delta", "spike_pair", "additive"),
)


def _plasticity(timing: str, weight: str, rng: np.random.Generator) -> dict:
    block = {
        "timing": timing,
        "weight": weight,
        "tau_plus": float(rng.choice([10.0, 16.7, 20.0])),
        "tau_minus": float(rng.choice([12.0, 20.0, 33.7])),
        "w_min": 0.0,
        "w_max": float(rng.choice([1.0, 1.5, 2.0])),
    }
    if weight == "multiplicative":
        block.update(A_plus=float(rng.choice([0.05, 0.1, 0.2])), A_minus=float(rng.choice([0.05, 0.12])))
    else:
        block.update(A_plus=float(rng.choice([0.02, 0.05, 0.1])), A_minus=float(rng.choice([0.02, 0.06])))
    if timing == "pfister_triplet":
        block.update(tau_x=float(rng.choice([50.0, 101.0])), tau_y=float(rng.choice([100.0, 125.0])))
        block.update(A3_plus=float(rng.choice([0.005, 0.01])), A3_minus=float(rng.choice([0.0, 0.002])))
    return block


def random_stdp_network(
    seed: int, steps: int, variant: int, tick_ms: float = 1.0
) -> tuple[Program, dict[str, np.ndarray]]:
    """Spike source "pre" -> LIF "post" through an STDP projection (variant ``STDP_VARIANTS[variant]``,
    random parameters, weights and delays 1-10) plus a static "drive" source that makes the post
    neurons spike (so both potentiation and depression happen), built with ``SpiNNakerBuilder``."""
    from neurocompile.targets.spinnaker.builder import SpiNNakerBuilder

    kind, timing, weight = STDP_VARIANTS[variant]
    rng = np.random.default_rng(seed)
    n_pre, n_post = int(rng.integers(2, 12)), int(rng.integers(1, 8))
    shift = int(rng.integers(3, 6))
    b = SpiNNakerBuilder(tick_ms)
    b.spike_source("pre", n_pre)
    b.spike_source("drive", n_post)
    neuron = b.if_curr_exp if kind == "if_curr_exp" else b.if_curr_delta
    extra = {"tau_syn_E": float(rng.choice([1.0, 2.0, 5.0]))} if kind == "if_curr_exp" else {}
    neuron(
        "post",
        n_post,
        ring_buffer_shifts=[shift, 2],
        tau_refrac=float(rng.choice([1.0, 2.0])),
        i_offset=np.round(rng.uniform(0.0, 0.8, n_post), 3),
        **extra,
    )
    b.from_list(
        "drive",
        "post",
        pre_idx=np.arange(n_post),
        post_idx=np.arange(n_post),
        w16=np.full(n_post, 0xFFFF),
        delays=1,
    )
    pi, qi = np.nonzero(rng.random((n_pre, n_post)) < 0.6)
    if pi.size == 0:
        pi, qi = np.array([0]), np.array([0])
    block = _plasticity(timing, weight, rng)
    w_hi = int(block["w_max"] * 2.0 ** (15 - shift))
    b.stdp(
        "pre",
        "post",
        pre_idx=pi,
        post_idx=qi,
        w16=rng.integers(0, w_hi + 1, pi.size),
        delays=rng.integers(1, 11, pi.size),
        plasticity=block,
        name="plastic",
    )
    prog = b.build({"out": ("post", "spikes")})
    x = {
        "pre": (rng.random((1, steps, n_pre)) < float(rng.uniform(0.05, 0.25))).astype(np.uint8),
        "drive": (rng.random((1, steps, n_post)) < float(rng.uniform(0.03, 0.12))).astype(np.uint8),
    }
    return prog, x


def ring_size_plastic_synapses(prog: Program) -> int:
    """Plastic synapses whose delay equals their post core's ring-buffer size.

    sPyNNaker 1!7.4.1 gives a post population ``2 ** get_n_bits(max incoming delay)`` delay slots
    (``PopulationVertex.max_delay_steps_incoming``, capped by ``2 ** (14 - atom bits - type
    bits)``: :func:`.spec.incoming_delay_slots`), so a maximum delay that is a power of two d >= 2
    gets exactly d slots and ``log_max_delay = log2 d``. The static row code still delivers delay d
    (slot ``(t + d) & (d - 1)`` is read again at ``t + d``), but the STDP binaries mask the plastic
    synapse's delay to ``d & (d - 1) = 0``: its input never reaches the ring buffer and its STDP
    window uses dendritic delay 0 (:func:`.spec.stdp_row_delay`; the emulator models both, and the
    window's delay 0 is what makes the final weights of seeds 24 and 27 equal)."""
    out = 0
    for post in prog.populations.values():
        incoming = [q for q in prog.projections.values() if q.post == post.name and q.params["delays"].size]
        if not incoming:
            continue
        max_d = max(int(np.max(q.params["delays"])) for q in incoming)
        atoms = min(post.size, int(post.params.get("neurons_per_core", 256)))
        for q in incoming:
            if q.kind == "stdp":
                d = np.asarray(q.params["delays"], np.int64)
                out += int(np.count_nonzero(spec.stdp_row_delay(d, max_d, atoms) == 0))
    return out


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
    #: STDP: final plastic weights read from the binaries' synaptic rows vs the emulator's
    weights_compared: int = 0
    weight_mismatches: int = 0
    weights_changed: int = 0  # synapses whose final weight differs from the initial one
    #: plastic synapses the STDP binaries drop (:func:`ring_size_plastic_synapses`)
    ring_size_plastic: int = 0
    cores: int = 0  # emulated cores (neuron, synapse or combined)

    @property
    def ok(self) -> bool:
        return not self.v_mismatches and not self.spike_mismatches and not self.weight_mismatches


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
        seeds = [r.seed for r in n]
        rows = [
            ("networks (seeds)", f"{len(n)} ({min(seeds, default=0)}..{max(seeds, default=0)})"),
            ("networks equal at every tick", str(sum(r.ok for r in n))),
            ("ticks per network", str(n[0].ticks if n else 0)),
            ("neurons compared", str(sum(r.neurons for r in n))),
            ("neuron-ticks compared (V and spike)", str(sum(r.neurons * r.ticks for r in n))),
            ("synapses", str(sum(r.synapses for r in n))),
            (
                "spikes (binaries / emulator)",
                f"{sum(r.spikes_binary for r in n)} / {sum(r.spikes_emulator for r in n)}",
            ),
            ("multicast packets delivered", str(sum(r.packets for r in n))),
            (
                "emulated cores: total (most in one network)",
                f"{sum(r.cores for r in n)} ({max((r.cores for r in n), default=0)})",
            ),
        ]
        if any(r.weights_compared for r in n):
            hit = [r for r in n if r.ring_size_plastic]
            rows.insert(
                2,
                (
                    "networks with a plastic synapse whose delay = ring-buffer size (equal)",
                    f"{len(hit)} ({sum(r.ok for r in hit)})",
                ),
            )
            rows.insert(
                3,
                (
                    "networks without one (equal at every tick)",
                    f"{len(n) - len(hit)} ({sum(r.ok for r in n if not r.ring_size_plastic)})",
                ),
            )
            rows.append(
                (
                    "final plastic weights compared (changed by STDP)",
                    f"{sum(r.weights_compared for r in n)} ({sum(r.weights_changed for r in n)})",
                )
            )
            rows.append(
                ("plastic weights equal", str(sum(r.weights_compared - r.weight_mismatches for r in n)))
            )
        rows.append(("binaries run", ", ".join(f"{k} ({v} networks)" for k, v in sorted(kinds.items()))))
        w = max(len(a) for a, _ in rows)
        lines = [f"| {'quantity':<{w}} | value |", f"|{'-' * (w + 2)}|-------|"]
        lines += [f"| {a:<{w}} | {b} |" for a, b in rows]
        return "\n".join(lines)


def compare_one(
    seed: int, prog: Program, inputs, ds, steps: int, prefix: str
) -> tuple[NetworkResult, float, float]:
    """Run one Program on the binaries (regions from ``ds``, labels with ``prefix``) and on the
    emulator; count V, spike and (STDP) final-weight mismatches."""
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
    wc = wm = wch = 0
    for name, q in prog.projections.items():
        if q.kind != "stdp":
            continue
        emu = np.asarray(res.recordings[f"{name}.weights"])[0]
        got = br.plastic.get(q.post, {})
        keys = zip(q.params["pre"], q.params["post"], q.params["delays"])
        binw = np.array([got.get((q.pre, int(a), int(b), int(d)), -1) for a, b, d in keys], dtype=np.int64)
        wc += emu.size
        bad = np.nonzero(binw != emu)[0]
        wm += bad.size
        wch += int(np.count_nonzero(emu != np.asarray(q.params["w16"])))
        if bad.size and not first:
            k = int(bad[0])
            first = f"{name} synapse {k}: binary w16 {binw[k]}, emulator w16 {emu[k]}"
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
        wc,
        wm,
        wch,
        ring_size_plastic_synapses(prog),
        br.cores,
    )
    return r, t1 - t0, t2 - t1


SPLIT_TICK_MS = 0.1


MULTICORE_NEURONS_PER_CORE = 4


def multicore_network(seed: int, steps: int) -> tuple[Program, dict[str, np.ndarray]]:
    """:func:`random_network` with 4 neurons per core: every neuron population spans several cores
    (each its own key; the post cores' population tables match the pre population's keys with a
    core mask)."""
    prog, x = random_network(seed, steps)
    for pop in prog.populations.values():
        if pop.kind != "spike_source":
            pop.params["neurons_per_core"] = MULTICORE_NEURONS_PER_CORE
    return prog, x


def networks(seeds, stdp_seeds, steps: int, multicore_seeds=()) -> list[tuple[str, int, Program, dict]]:
    """``("static", seed, program, inputs)`` for :func:`random_network`, ``("stdp", ...)`` for
    :func:`random_stdp_network` (variant ``seed % 4``) and ``("multicore", ...)`` for
    :func:`multicore_network` (seed + 1000)."""
    out = [("static", s, *random_network(s, steps)) for s in seeds]
    out += [("stdp", s, *random_stdp_network(s, steps, s % len(STDP_VARIANTS))) for s in stdp_seeds]
    out += [("multicore", 1000 + s, *multicore_network(1000 + s, steps)) for s in multicore_seeds]
    return out


def split_networks(seeds, steps: int, stdp_seeds=()) -> list[tuple[str, int, Program, dict]]:
    """``("split", seed, ...)``: :func:`random_network` at a 0.1 ms tick (split neuron/synapse cores),
    and ``("split_stdp", seed, ...)``: :func:`random_stdp_network` at 0.1 ms (``synapses_stdp_*``
    cores); a separate sPyNNaker run, as one run has one timestep."""
    out = [("split", s, *random_network(s, steps, SPLIT_TICK_MS)) for s in seeds]
    out += [
        ("split_stdp", s, *random_stdp_network(s, steps, s % len(STDP_VARIANTS), SPLIT_TICK_MS))
        for s in stdp_seeds
    ]
    return out


def compare(
    seeds, stdp_seeds=(), steps: int = 60, split_seeds=(), split_stdp_seeds=(), multicore_seeds=()
) -> dict[str, Summary]:
    """Static, STDP and multi-core networks mapped in one sPyNNaker run, split-core networks (0.1 ms)
    in a second; returns a :class:`Summary` per group."""
    from .dsg import generate

    out = {g: Summary() for g in ("static", "stdp", "multicore", "split", "split_stdp")}
    first = networks(seeds, stdp_seeds, steps, multicore_seeds)
    for nets in (first, split_networks(split_seeds, steps, split_stdp_seeds)):
        if not nets:
            continue
        t0 = time.perf_counter()
        ds = generate([p for _, _, p, _ in nets], [x for _, _, _, x in nets], steps)
        dsg_s = time.perf_counter() - t0
        for i, (group, seed, prog, x) in enumerate(nets):
            r, tb, te = compare_one(seed, prog, x, ds, steps, f"n{i}_" if len(nets) > 1 else "")
            out[group].networks.append(r)
            out[group].dsg_s = dsg_s
            out[group].binary_s += tb
            out[group].emulator_s += te
    return out


def rewrite_doc(page: Path, block: str, table: str) -> bool:
    """Replace the ``<!-- block -->`` ... ``<!-- /block -->`` block; True if the page changed."""
    text = page.read_text()
    pat = re.compile(rf"(<!-- {block} -->\n).*?(<!-- /{block} -->)", re.S)
    new = pat.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text)
    if new != text:
        page.write_text(new)
    return new != text


def doc_block(page: Path, block: str) -> str:
    text = page.read_text()
    return text.split(f"<!-- {block} -->\n", 1)[1].split(f"<!-- /{block} -->")[0].strip()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=100, help="static networks: seeds 0..N-1")
    ap.add_argument("--stdp-seeds", type=int, default=40, help="STDP networks: seeds 0..M-1")
    ap.add_argument("--split-seeds", type=int, default=30, help="0.1 ms split-core networks: seeds 0..K-1")
    ap.add_argument("--split-stdp-seeds", type=int, default=20, help="0.1 ms STDP networks: seeds 0..L-1")
    ap.add_argument("--multicore-seeds", type=int, default=10, help="4 neurons per core: seeds 0..J-1")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--doc", type=Path, default=None, help="Markdown page whose blocks to rewrite")
    args = ap.parse_args(argv)
    res = compare(
        range(args.seeds),
        range(args.stdp_seeds),
        args.steps,
        range(args.split_seeds),
        range(args.split_stdp_seeds),
        range(args.multicore_seeds),
    )
    ok = True
    groups = (
        ("static", DOC_BLOCK),
        ("stdp", DOC_BLOCK_STDP),
        ("multicore", DOC_BLOCK_MULTICORE),
        ("split", DOC_BLOCK_SPLIT),
        ("split_stdp", DOC_BLOCK_SPLIT_STDP),
    )
    for group, block in groups:
        s = res[group]
        if not s.networks:
            continue
        print(f"{group}:")
        print(s.table())
        print(f"timings: binaries {s.binary_s:.1f} s, emulator {s.emulator_s:.1f} s")
        for r in s.networks:
            if not r.ok:
                ok = False
                print(
                    f"{group} seed {r.seed}: {r.v_mismatches} V, {r.spike_mismatches} spike and "
                    f"{r.weight_mismatches} weight mismatches; {r.first_mismatch}"
                )
        if args.doc is not None:
            rewrite_doc(args.doc, block, s.table())
    print(f"sPyNNaker data spec: {res['static'].dsg_s:.1f} s (1 ms), {res['split'].dsg_s:.1f} s (0.1 ms)")
    return 0 if ok else 1


__all__ = [
    "random_network",
    "random_stdp_network",
    "compare",
    "compare_one",
    "Summary",
    "NetworkResult",
    "main",
]

if __name__ == "__main__":
    sys.exit(main())
