"""Graphs with per-neuron parameters (issue 10 item 4), shared by ``tests/test_per_neuron.py`` and
``benchmarks/per_neuron_cores.py``.

What snnTorch (``learn_beta``, tensor beta), rockpool and norse training leave behind: every
neuron of a layer has its own time constant, threshold and leak. :func:`random_graph` draws a
small two-layer network of LIF / CubaLIF / IF nodes with every neuron parameter drawn per neuron;
:func:`layer_graph` one layer with all-distinct or one shared time constant (the core-count
bound); :func:`example_network` the issue's 210- and 60-neuron examples.
"""

from __future__ import annotations

import numpy as np

import neurocompile as nc
from neurocompile.ir import Graph, Node

#: graph step (s); time constants are drawn in [TAU_LO, TAU_HI] (log-uniform), i.e. 2..50 steps
DT = 1e-3
TAU_LO, TAU_HI = 2e-3, 5e-2
#: seeds of the random family, fixed before any run
SEEDS = (0, 1, 2, 3, 4, 5, 6, 7)


def _tau(rng, n):
    return np.exp(rng.uniform(np.log(TAU_LO), np.log(TAU_HI), n))


def neuron(rng, name: str, kind: str, n: int) -> Node:
    """A neuron node of ``kind`` with every parameter drawn per neuron."""
    p = {
        "r": rng.uniform(0.5, 2.0, n),
        "v_threshold": rng.uniform(0.5, 2.0, n),
        "v_reset": np.zeros(n),
    }
    if kind == "LIF":
        p.update(tau=_tau(rng, n), v_leak=rng.normal(0.0, 0.1, n))
    elif kind == "CubaLIF":
        p.update(tau_mem=_tau(rng, n), tau_syn=_tau(rng, n), v_leak=rng.normal(0.0, 0.1, n), w_in=np.ones(n))
    elif kind != "IF":
        raise ValueError(kind)
    return Node(name, kind, p)


def random_graph(seed: int):
    """Input -> Affine -> n1 (LIF | CubaLIF | IF, optionally recurrent) -> Affine -> n2 (LIF |
    CubaLIF); Outputs ``h`` (n1 spikes) and ``o`` (n2 spikes). Returns (graph, sizes)."""
    rng = np.random.default_rng(seed)
    n_in, n1, n2 = (int(x) for x in rng.integers(4, 16, 3))
    k1 = ("LIF", "CubaLIF", "IF")[seed % 3]
    k2 = ("LIF", "CubaLIF")[(seed // 3) % 2]
    nodes = {
        "x": Node("x", "Input", {"shape": (n_in,)}),
        "fc1": Node(
            "fc1",
            "Affine",
            {
                "weight": rng.normal(0.4, 1.0, (n1, n_in)) * 2.5 / np.sqrt(n_in),
                "bias": rng.normal(0, 0.05, n1),
            },
        ),
        "n1": neuron(rng, "n1", k1, n1),
        "fc2": Node(
            "fc2",
            "Affine",
            {"weight": rng.normal(0.4, 1.0, (n2, n1)) * 2.5 / np.sqrt(n1), "bias": rng.normal(0, 0.05, n2)},
        ),
        "n2": neuron(rng, "n2", k2, n2),
        "h": Node("h", "Output", {"shape": (n1,)}),
        "o": Node("o", "Output", {"shape": (n2,)}),
    }
    edges = [("x", "fc1"), ("fc1", "n1"), ("n1", "fc2"), ("fc2", "n2"), ("n1", "h"), ("n2", "o")]
    if seed % 2:
        nodes["rec"] = Node("rec", "Linear", {"weight": rng.normal(0, 0.5, (n1, n1)) / np.sqrt(n1)})
        edges += [("n1", "rec"), ("rec", "n1")]
    return nc.load(Graph(nodes=nodes, edges=edges)), (n_in, n1, n2)


def inputs(seed: int, n_in: int, batch: int = 2, steps: int = 60) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(10_000 + seed)
    return {"x": (rng.random((batch, steps, n_in)) < 0.25).astype(np.float64)}


def layer_graph(n: int, distinct: bool, kind: str = "LIF", n_in: int = 32, seed: int = 0):
    """One layer of ``n`` neurons fed by ``n_in`` inputs; ``distinct``: every neuron its own time
    constants (log-uniform, so nearly every neuron quantizes to its own (du, dv)), else one."""
    rng = np.random.default_rng(seed)
    node = neuron(rng, "n", kind, n)
    if not distinct:
        for key in ("tau", "tau_mem", "tau_syn"):
            if key in node.params:
                node.params[key] = np.full(n, float(node.params[key][0]))
    nodes = {
        "x": Node("x", "Input", {"shape": (n_in,)}),
        "fc": Node("fc", "Affine", {"weight": rng.normal(0.3, 1.0, (n, n_in)), "bias": np.zeros(n)}),
        "n": node,
        "o": Node("o", "Output", {"shape": (n,)}),
    }
    return nc.load(Graph(nodes=nodes, edges=[("x", "fc"), ("fc", "n"), ("n", "o")]))


def example_network(
    hidden: tuple[int, ...], n_out: int = 10, n_in: int = 16, seed: int = 0, shared: bool = False
):
    """The issue's examples: snnTorch-style ``learn_beta`` LIF hidden layers (one beta per neuron)
    and a readout layer with one shared beta (so that the Output reads an unsplit node, which the
    old lowering required). ``(100, 100)`` gives 210 neurons, ``(50,)`` 60. ``shared``: the same
    network with one beta per layer (the first neuron's)."""
    rng = np.random.default_rng(seed)
    nodes = {"x": Node("x", "Input", {"shape": (n_in,)})}
    edges = []
    prev, n_prev = "x", n_in
    for i, n in enumerate((*hidden, n_out)):
        fc, name = f"fc{i}", f"l{i}"
        nodes[fc] = Node(
            fc,
            "Affine",
            {"weight": rng.normal(0.3, 1.0, (n, n_prev)) * 2 / np.sqrt(n_prev), "bias": np.zeros(n)},
        )
        node = neuron(rng, name, "LIF", n)
        node.params["v_threshold"] = np.ones(n)
        node.params["r"] = np.ones(n)
        node.params["v_leak"] = np.zeros(n)
        if i == len(hidden):
            node.params["tau"] = np.full(n, 1e-2)
        elif shared:
            node.params["tau"] = np.full(n, float(node.params["tau"][0]))
        nodes[name] = node
        edges += [(prev, fc), (fc, name)]
        prev, n_prev = name, n
    nodes["o"] = Node("o", "Output", {"shape": (n_out,)})
    edges.append((prev, "o"))
    return nc.load(Graph(nodes=nodes, edges=edges))


def cores(program) -> int:
    """Cores the placement of a compiled loihi2 Program uses."""
    return int(program.placement["cores_used"])
