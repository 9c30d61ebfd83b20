"""Loihi 2 cores of networks with per-neuron time constants (issue 10 item 4).

The issue's examples: snnTorch-style ``learn_beta`` LIF layers (one beta per neuron) feeding a
readout with one beta (``tests/per_neuron_graphs.example_network``): 16 inputs -> 100 -> 100 -> 10
(210 neurons) and 16 -> 50 -> 10 (60 neurons). Per network: the cores its compiled Program takes
(one population per node with per-neuron du/dv), the cores of the same network with one beta per
layer, and what the lowering did before (one population per distinct quantized (du, dv), each on
its own core: the number of such populations, ``lower.plan_populations`` with every node split).

    .venv/bin/python benchmarks/per_neuron_cores.py [--write | --check]

``--write`` regenerates the block ``<!-- figures:per-neuron-cores -->`` of
docs/targets/loihi2-placement.md, ``--check`` compares (exit 1 when stale); tests/test_per_neuron.py
runs the check. Not timed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from per_neuron_graphs import DT, cores, example_network  # noqa: E402

import neurocompile as nc  # noqa: E402

DOC = ROOT / "docs" / "targets" / "loihi2-placement.md"
MARK = "per-neuron-cores"
EXAMPLES = {"210 neurons (16-100-100-10)": (100, 100), "60 neurons (16-50-10)": (50,)}


def split_populations(graph) -> int:
    """LIF populations of the old layout: one per distinct quantized (du, dv) of every node (the
    lowering's own decay quantization)."""
    import numpy as np

    from neurocompile.netlist import build_netlist
    from neurocompile.semantics import resolve_semantics
    from neurocompile.targets.loihi2.lower import plan_populations

    sem = resolve_semantics(graph, dt=DT, reset="zero", hop_delay=1)
    layout = plan_populations(build_netlist(graph, sem), sem.dt, sem.discretization)
    return sum(len(np.unique(np.stack([c["du"], c["dv"]], 1), axis=0)) for c in layout.coef.values())


def measure() -> list[dict]:
    rows = []
    for name, hidden in EXAMPLES.items():
        g = example_network(hidden)
        prog = nc.compile(g, target="loihi2", dt=DT, reset="zero")
        shared = nc.compile(example_network(hidden, shared=True), target="loihi2", dt=DT, reset="zero")
        rows.append(
            {
                "network": name,
                "cores": cores(prog),
                "cores_one_tau": cores(shared),
                "split_populations": split_populations(g),
            }
        )
    return rows


def doc_block(rows: list[dict]) -> str:
    lines = [
        "| network | cores (per-neuron du/dv) | cores, one beta per layer "
        "| before: one population (core) per distinct decay |",
        "|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['network']} | {r['cores']} | {r['cores_one_tau']} | {r['split_populations']} |")
    return "\n".join(lines)


def _replace(text: str, block: str) -> str:
    start, end = f"<!-- figures:{MARK} -->", "<!-- /figures -->"
    a = text.index(start) + len(start)
    b = text.index(end, a)
    return text[:a] + "\n" + block + "\n" + text[b:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    block = doc_block(measure())
    if not (args.write or args.check):
        print(block)
        return 0
    text = DOC.read_text()
    new = _replace(text, block)
    if args.check:
        if new != text:
            print(f"{DOC} is stale: run python benchmarks/per_neuron_cores.py --write")
            return 1
        return 0
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
