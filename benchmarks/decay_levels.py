"""What ``--decay-levels K`` costs in fidelity (Loihi 2, issue 10 item 4).

Every neuron keeps its own time constants by default (one population per node with per-neuron
du/dv, no extra cores). ``decay_levels=K`` clusters each node's time constants into K levels
(``targets/loihi2/lower.py: cluster_time_constants``) for users who want fewer distinct decays.
This script compiles the per-neuron graphs of ``tests/per_neuron_graphs.py`` (the random family,
seeds 0-7, and one 200-neuron LIF / CubaLIF layer with all-distinct time constants) with K = 1,
2, 4, 8, 16 and without
clustering, runs the emulator and scores the output spikes against the float reference of the
ORIGINAL graph (hop_delay 1) with :func:`neurocompile.compare.spike_agreement` (F1, within +-1
step), the metric ``validate`` reports.

    .venv/bin/python benchmarks/decay_levels.py [--seeds 0-7] [--steps 100] [--batch 8]

Not timed; prints a table.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from per_neuron_graphs import DT, inputs, layer_graph, random_graph  # noqa: E402

import neurocompile as nc  # noqa: E402
from neurocompile.compare import spike_agreement  # noqa: E402

LEVELS = (1, 2, 4, 8, 16, None)


def _f1(graph, x, outputs, levels) -> float:
    kw = {} if levels is None else {"decay_levels": levels}
    prog = nc.compile(graph, target="loihi2", dt=DT, reset="zero", **kw)
    ref = nc.simulate(graph, x, dt=DT, reset="zero", hop_delay=1).outputs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = prog.run(x, backend="emulator").outputs
    return float(np.mean([spike_agreement(ref[k], got[k])["f1"] for k in outputs]))


def measure(seeds, steps: int, batch: int) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    per_seed = {k: [] for k in LEVELS}
    for seed in seeds:
        g, (n_in, _, _) = random_graph(seed)
        x = inputs(seed, n_in, batch=batch, steps=steps)
        for k in LEVELS:
            per_seed[k].append(_f1(g, x, ("h", "o"), k))
    rows[f"random graphs, seeds {seeds[0]}-{seeds[-1]} (4-15 neurons per node)"] = {
        k: float(np.mean(v)) for k, v in per_seed.items()
    }
    rng = np.random.default_rng(0)
    x = {"x": (rng.random((batch, steps, 32)) < 0.1).astype(np.float64)}
    for kind in ("LIF", "CubaLIF"):
        g = layer_graph(200, True, kind)
        rows[f"one {kind} layer, 200 neurons, every tau its own"] = {k: _f1(g, x, ("o",), k) for k in LEVELS}
    return rows


def table(rows: dict[str, dict]) -> str:
    head = "| graphs | " + " | ".join("own taus" if k is None else f"K = {k}" for k in LEVELS) + " |"
    lines = [head, "|---|" + "---|" * len(LEVELS)]
    for name, r in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{r[k]:.3f}" for k in LEVELS) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-7")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args(argv)
    a, _, b = args.seeds.partition("-")
    seeds = list(range(int(a), int(b or a) + 1))
    print("output spike F1 against the float reference of the original graph (hop_delay 1)")
    print(table(measure(seeds, args.steps, args.batch)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
