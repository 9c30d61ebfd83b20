"""Compile at chip scale (issue 14 item 2): 1M neurons, ~100M synapses, for loihi2 and spinnaker.

    python benchmarks/bench_compile.py [--quick] [--case affine|conv] [--target loihi2|spinnaker]
                                       [--size blocks=100 --size side=30 ...]

The graphs are built as :class:`neurocompile.ir.Graph` objects directly and normalized by
``neurocompile.load(graph)`` (no NIR file: ``compile`` takes a Graph); the ``load`` pass of the
compile therefore measures nothing here (a Graph is passed through).
Weights are seeded (``numpy.random.default_rng``), so a size always gives the same graph.

* ``affine``: B parallel blocks of 100 neurons per layer. NIR's Affine holds a dense ``(out, in)``
  matrix (a 100k x 100k one is 80 GB) and the graph sanity rules take a 1-D input only, so every
  block is its own ``Affine (100 x 100)`` + ``LIF (100,)`` pair, fed by one block of the layer
  before (block j of layer i by block (j + 1) % B of layer i - 1, layer 0 by its own ``Input``):
  fan-in 100, seeded N(0.2, 1) * 2/10 weights, an ``Output`` per last block. Full size: B = 1000,
  10 layers: 22,000 nodes, 1,000,000 LIF neurons, 100,000,000 synapses (800 MB of float64 NIR
  weights in the graph itself).
* ``conv``: ``Input (C, H, W)`` then ``LAYERS`` x (``Conv2d`` C->C, 3 x 3, stride 1, padding 1 +
  ``IF``). Full size: C = 12, 96 x 96, 9 layers: 995,328 IF neurons, 12*12*9 taps per output
  position (fan-in 108, less at the borders): 106,007,616 synapses.

Each (case, target) compiles in its own subprocess (``compile(..., profile=True)``): its wall time,
its peak RSS (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` seen by the parent; it includes
building the graph, which is reported apart as ``build_graph_s``) and the (wall) seconds of every
pass; beside them the CPU seconds of compile and save (``time.process_time``) and the 1-minute load
average at the start: on a shared machine the wall time grows with the load, the CPU time much less.
``ours`` is compile + ``Program.to_bytes()`` (the CLI's save, without the disk write; it deflates the
members in ``program.COMPRESS_THREADS`` threads, recorded as ``compress_threads``, so its wall time
can be below its CPU time on an idle machine); the note's
synapse count is the Program's stored synapses (Loihi 2 splits a mixed-sign dense block into an
``.exc`` and an ``.inh`` dense projection: 2 x 100 x 100 stored per block). ``lower.rules`` includes
the analysis passes the rules run (``lower.plan_*`` / ``lower.synapse_weights``...).
Goal (issue 14): < 60 s and < 8 GiB each. ``quick`` runs the same code at B = 20 / 12 x 16 x 16
and 3 layers (seconds); its goals are not judged.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Row  # noqa: E402

GOAL_S = 60.0
GOAL_GIB = 8.0
SIZES = {
    # case: (full, quick) keyword arguments of the generator
    "affine": ({"blocks": 1000, "width": 100, "layers": 10}, {"blocks": 20, "width": 100, "layers": 3}),
    "conv": ({"channels": 12, "side": 96, "layers": 9}, {"channels": 12, "side": 16, "layers": 3}),
}
TARGETS = ("loihi2", "spinnaker")


def affine_stack(blocks: int, width: int, layers: int, seed: int = 0):
    """``blocks`` parallel chains: block j of layer i is ``Affine (width x width)`` + ``LIF (width,)``
    fed by block (j + 1) % blocks of layer i - 1 (layer 0: by Input j); Output j after the last layer."""
    import neurocompile as nc
    from neurocompile.ir import Graph, Node

    rng = np.random.default_rng(seed)
    nodes, edges = {}, []
    prev = []
    for j in range(blocks):
        nodes[f"x{j}"] = Node(f"x{j}", "Input", {"shape": (width,)})
        prev.append(f"x{j}")
    lif = {
        "tau": np.full(width, 0.01),
        "r": np.ones(width),
        "v_leak": np.zeros(width),
        "v_threshold": np.ones(width),
        "v_reset": np.zeros(width),
    }
    for i in range(layers):
        cur = []
        for j in range(blocks):
            fc, n = f"fc{i}_{j}", f"lif{i}_{j}"
            w = rng.normal(0.2, 1.0, (width, width)) * 2.0 / np.sqrt(width)
            nodes[fc] = Node(fc, "Affine", {"weight": w, "bias": rng.normal(0, 0.02, width)})
            nodes[n] = Node(n, "LIF", {k: v.copy() for k, v in lif.items()})
            edges += [(prev[(j + 1) % blocks], fc), (fc, n)]
            cur.append(n)
        prev = cur
    for j, n in enumerate(prev):
        nodes[f"o{j}"] = Node(f"o{j}", "Output", {"shape": (width,)})
        edges.append((n, f"o{j}"))
    return nc.load(Graph(nodes=nodes, edges=edges, source=f"bench_compile affine {blocks}x{width}x{layers}"))


def conv_stack(channels: int, side: int, layers: int, seed: int = 0):
    """``Input (C, side, side)`` -> layers x (Conv2d C->C 3x3 pad 1 + IF)."""
    import neurocompile as nc
    from neurocompile.ir import Graph, Node

    rng = np.random.default_rng(seed)
    shape = (channels, side, side)
    nodes = {"x": Node("x", "Input", {"shape": shape})}
    edges = []
    prev = "x"
    fan_in = channels * 9
    for i in range(layers):
        cv, n = f"conv{i}", f"if{i}"
        w = rng.normal(0.1, 1.0, (channels, channels, 3, 3)) * 2.0 / np.sqrt(fan_in)
        nodes[cv] = Node(
            cv,
            "Conv2d",
            {
                "weight": w,
                "bias": rng.normal(0, 0.02, channels),
                "stride": (1, 1),
                "padding": (1, 1),
                "dilation": (1, 1),
                "groups": 1,
                "input_shape": (side, side),
            },
        )
        nodes[n] = Node(
            n, "IF", {"r": np.ones(shape), "v_threshold": np.ones(shape), "v_reset": np.zeros(shape)}
        )
        edges += [(prev, cv), (cv, n)]
        prev = n
    nodes["o"] = Node("o", "Output", {"shape": shape})
    edges.append((prev, "o"))
    return nc.load(
        Graph(nodes=nodes, edges=edges, source=f"bench_compile conv {channels}x{side}x{side}x{layers}")
    )


def build(case: str, quick: bool, size: dict | None = None):
    kw = {**SIZES[case][1 if quick else 0], **(size or {})}
    return affine_stack(**kw) if case == "affine" else conv_stack(**kw)


def _child(case: str, target: str, quick: bool, out: str, size: dict | None = None) -> None:
    """In its own process: build the graph, compile it with profile=True, write the figures."""
    import neurocompile as nc

    t0 = time.perf_counter()
    g = build(case, quick, size)
    t_graph = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    prog = nc.compile(g, target, dt=1e-3, profile=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    timing = dict(prog.provenance["timing_s"])
    t0, c0 = time.perf_counter(), time.process_time()
    blob = prog.to_bytes()
    timing["save"] = time.perf_counter() - t0
    save_cpu = time.process_time() - c0
    from neurocompile.program import COMPRESS_THREADS, counts

    c = counts(prog)
    with open(out, "w") as f:
        json.dump(
            {
                "build_graph_s": t_graph,
                "compile_s": wall,
                "save_s": timing["save"],
                "compile_cpu_s": cpu,
                "save_cpu_s": save_cpu,
                "timing_s": timing,
                "neurons": c.neurons,
                "synapses": c.synapses,
                "program_bytes": len(blob),
                "cores": (prog.placement or {}).get("cores_used"),
                "compress_threads": COMPRESS_THREADS,
            },
            f,
        )


def _size_args(size: dict | None) -> list[str]:
    return [a for k, v in (size or {}).items() for a in ("--size", f"{k}={v}")]


def _wrap(case: str, target: str, quick: bool, out: str, size: dict | None = None) -> None:
    """A fresh process whose only child is the compile: its RUSAGE_CHILDREN peak is that child's."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", case, target, out]
    cmd += (["--quick"] if quick else []) + _size_args(size)
    t0 = time.perf_counter()
    load0 = os.getloadavg()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    res = {}
    if proc.returncode == 0 and os.path.exists(out):
        with open(out) as f:
            res = json.load(f)
    res["status"] = "ok" if proc.returncode == 0 else f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
    res["process_wall_s"] = wall
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    res["process_cpu_s"] = ru.ru_utime + ru.ru_stime  # the whole child: graph build, compile, save
    res["peak_rss_gib"] = ru.ru_maxrss / 2**20  # KiB on Linux
    res["load_average"] = [list(load0), list(os.getloadavg())]  # (1, 5, 15 min) at start and end
    with open(out, "w") as f:
        json.dump(res, f)


def measure(
    case: str, target: str, quick: bool, timeout: float | None = None, size: dict | None = None
) -> dict:
    """One (case, target) compiled in a subprocess: its figures, ``peak_rss_gib`` and ``status``."""
    with tempfile.TemporaryDirectory(prefix="bench-compile-") as tmp:
        out = os.path.join(tmp, "res.json")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--wrap", case, target, out]
        cmd += (["--quick"] if quick else []) + _size_args(size)
        try:
            subprocess.run(cmd, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"status": f"timed out after {timeout:.0f} s", "peak_rss_gib": None}
        if not os.path.exists(out):
            return {"status": "no result", "peak_rss_gib": None}
        with open(out) as f:
            return json.load(f)


def slowest(timing: dict, k: int = 3) -> str:
    """The k slowest passes (a nested pass is counted in its parent too: ``lower`` holds ``lower.*``)."""
    leaf = {n: s for n, s in timing.items() if n != "lower"}
    return ", ".join(f"{n} {s:.1f}s" for n, s in sorted(leaf.items(), key=lambda kv: -kv[1])[:k])


def main(
    quick: bool = False, cases=("affine", "conv"), targets=TARGETS, size: dict | None = None
) -> list[Row]:
    """Every (case, target); ``size`` overrides the generator's keyword arguments (e.g.
    ``{"blocks": 100}``) for a smaller run while developing: such a run's goals are not judged."""
    rows = []
    for case in cases:
        sz = {k: v for k, v in (size or {}).items() if k in SIZES[case][0]}
        for target in targets:
            r = measure(case, target, quick, timeout=None if not quick else 120, size=sz)
            ok = r["status"] == "ok"
            t = r.get("compile_s", 0.0) + r.get("save_s", 0.0)
            rss = r["peak_rss_gib"]
            cpu = r.get("compile_cpu_s", 0.0) + r.get("save_cpu_s", 0.0)
            full = not quick and all(SIZES[case][0][k] == v for k, v in sz.items())
            met = None if not full or not ok else bool(t < GOAL_S and rss < GOAL_GIB)
            rows.append(
                Row(
                    case=f"compile {case} -> {target}" + (f" {sz}" if sz else ""),
                    ours=round(t, 2) if ok else None,
                    unit="s",
                    reference="none (goal only)",
                    goal=f"< {GOAL_S:.0f} s and < {GOAL_GIB:.0f} GiB peak RSS (full size)",
                    met=met,
                    note=(
                        f"{r.get('neurons', 0):,} neurons, {r.get('synapses', 0):,} synapses; "
                        f"peak RSS {rss:.2f} GiB; CPU {cpu:.1f} s; "
                        f"load {r['load_average'][0][0]:.1f}; slowest: {slowest(r.get('timing_s', {}))}"
                        if ok
                        else r["status"]
                    ),
                    detail=r,
                )
            )
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--child", nargs=3, metavar=("CASE", "TARGET", "OUT"))
    ap.add_argument("--wrap", nargs=3, metavar=("CASE", "TARGET", "OUT"))
    ap.add_argument("--case", action="append", choices=list(SIZES))
    ap.add_argument("--target", action="append", choices=list(TARGETS))
    ap.add_argument(
        "--size",
        action="append",
        metavar="KEY=N",
        help="override a generator size (blocks, width, layers; channels, side, layers), e.g. "
        "--size blocks=100 for a tenth of the affine case; the goal is then not judged",
    )
    ns = ap.parse_args()
    size = {k: int(v) for k, v in (a.split("=", 1) for a in ns.size or [])}
    if ns.child:
        _child(ns.child[0], ns.child[1], ns.quick, ns.child[2], size)
        sys.exit(0)
    if ns.wrap:
        _wrap(ns.wrap[0], ns.wrap[1], ns.quick, ns.wrap[2], size)
        sys.exit(0)
    for row in main(ns.quick, tuple(ns.case or SIZES), tuple(ns.target or TARGETS), size):
        print(json.dumps(row.as_dict(), default=str))
