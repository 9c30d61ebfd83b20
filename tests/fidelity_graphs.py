"""Random graph families for the Loihi 2 quantization-fidelity test and benchmark.

Shared by ``tests/test_compile_loihi2.py`` and ``benchmarks/quant_fidelity.py`` so the numbers
the benchmark reports are the ones the test asserts on. Both score a Program with
:func:`neurocompile.compare.spike_agreement` (two-sided: F1 of precision and recall within one
step), the metric ``validate`` reports.
"""

from __future__ import annotations

import numpy as np

import neurocompile as nc
from neurocompile.ir import Graph, Node


def events(rng, batch, steps, shape, lo=0.03, hi=0.3):
    """Poisson-like binary input: per (sample, neuron) a rate in [lo, hi), i.i.d. per step."""
    rates = rng.uniform(lo, hi, size=(batch, 1, *shape))
    return (rng.random((batch, steps, *shape)) < rates).astype(np.float64)


def _lif(rng, n, kind="LIF", tau=(5e-3, 2e-2), th=1.0):
    p = {"r": np.ones(n), "v_leak": np.zeros(n), "v_threshold": np.full(n, th), "v_reset": np.zeros(n)}
    if kind == "LIF":
        p["tau"] = np.full(n, rng.uniform(*tau))
    else:
        p["tau_mem"] = np.full(n, rng.uniform(*tau))
        p["tau_syn"] = np.full(n, rng.uniform(2e-3, 5e-3))
    return Node("", kind, p)


def legacy_stack(rng, sizes, kind="LIF", recurrent=False, gain=2.5):
    """The previous helper's stacks: i.i.d. N(0.3, 1) * gain / sqrt(fan-in) weights."""
    nodes = {"x": Node("x", "Input", {"shape": (sizes[0],)})}
    edges = []
    prev = "x"
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        fc, n = f"fc{i}", f"n{i}"
        nodes[fc] = Node(
            fc,
            "Affine",
            {"weight": rng.normal(0.3, 1.0, (b, a)) * gain / np.sqrt(a), "bias": rng.normal(0, 0.02, b)},
        )
        nn = _lif(rng, b, kind)
        nn.name = n
        nodes[n] = nn
        edges += [(prev, fc), (fc, n)]
        if recurrent:
            nodes[f"rec{i}"] = Node(f"rec{i}", "Linear", {"weight": rng.normal(0, 0.5, (b, b)) / np.sqrt(b)})
            edges += [(n, f"rec{i}"), (f"rec{i}", n)]
        prev = n
    nodes["o"] = Node("o", "Output", {"shape": (sizes[-1],)})
    edges.append((prev, "o"))
    return nc.load(Graph(nodes=nodes, edges=edges))


def legacy_conv(rng):
    nodes = {
        "x": Node("x", "Input", {"shape": (2, 12, 12)}),
        "c1": Node(
            "c1",
            "Conv2d",
            {
                "weight": rng.normal(0.2, 1, (6, 2, 3, 3)) * 0.9,
                "stride": (1, 1),
                "padding": (1, 1),
                "dilation": (1, 1),
                "groups": 1,
            },
        ),
        "n1": Node(
            "n1",
            "IF",
            {
                "r": np.ones((6, 12, 12)),
                "v_threshold": np.ones((6, 12, 12)),
                "v_reset": np.zeros((6, 12, 12)),
            },
        ),
        "p1": Node("p1", "SumPool2d", {"kernel_size": (2, 2), "stride": (2, 2), "padding": (0, 0)}),
        "c2": Node(
            "c2",
            "Conv2d",
            {
                "weight": rng.normal(0.1, 1, (8, 6, 3, 3)) * 0.5,
                "stride": (1, 1),
                "padding": (0, 0),
                "dilation": (1, 1),
                "groups": 1,
            },
        ),
        "n2": Node(
            "n2",
            "IF",
            {"r": np.ones((8, 4, 4)), "v_threshold": np.ones((8, 4, 4)), "v_reset": np.zeros((8, 4, 4))},
        ),
        "f": Node("f", "Flatten", {"start_dim": 0, "end_dim": -1}),
        "fc": Node("fc", "Linear", {"weight": rng.normal(0.1, 1, (10, 128)) * 0.4}),
        "n3": Node("n3", "IF", {"r": np.ones(10), "v_threshold": np.ones(10), "v_reset": np.zeros(10)}),
        "o": Node("o", "Output", {"shape": (10,)}),
    }
    edges = [
        ("x", "c1"),
        ("c1", "n1"),
        ("n1", "p1"),
        ("p1", "c2"),
        ("c2", "n2"),
        ("n2", "f"),
        ("f", "fc"),
        ("fc", "n3"),
        ("n3", "o"),
    ]
    return nc.load(Graph(nodes=nodes, edges=edges))


def legacy_case(family, rng):
    """(graph, dt, input) exactly as the previous test drew them."""
    if family == "affine-lif":
        g, dt, shape = legacy_stack(rng, [64, 100, 10], gain=8.0), 1e-3, (64,)
    elif family == "conv-if":
        g, dt, shape = legacy_conv(rng), 1.0, (2, 12, 12)
    else:
        g, dt, shape = legacy_stack(rng, [40, 60, 10], kind="CubaLIF", recurrent=True, gain=10.0), 1e-3, (40,)
    return g, dt, events(rng, 8, 80, shape, 0.05, 0.2)


def layer_rates(graph, x, dt):
    """Mean spike rate per spiking neuron node of the float reference (hop_delay 1)."""
    from neurocompile.netlist import build_netlist, simulate_netlist
    from neurocompile.semantics import resolve_semantics

    net = build_netlist(graph, resolve_semantics(graph, dt=dt, hop_delay=1))
    names = tuple(n for n, g in net.groups.items() if g.spiking)
    rec = simulate_netlist(net, {"x": x}, record=names).recordings
    return [float(rec[f"{n}.spikes"].mean()) for n in names]


def perturb(graph, rng, rel):
    """A copy of ``graph`` whose weight tensors are multiplied by 1 + rel * N(0, 1) elementwise."""
    nodes = {}
    for name, node in graph.nodes.items():
        p = dict(node.params)
        if "weight" in p and node.kind in ("Affine", "Linear", "Conv1d", "Conv2d"):
            w = np.asarray(p["weight"], dtype=np.float64)
            p["weight"] = w * (1 + rel * rng.normal(size=w.shape))
        nodes[name] = Node(name, node.kind, p)
    return nc.load(Graph(nodes=nodes, edges=list(graph.edges)))


# ----------------------------------------------------------------------------- the trained-like regime
#: Trained-like regime (what the fidelity test claims output F1 >= 0.95 for): sparse, strong synapses as
#: trained SNNs have them. Each neuron gets a random DENSITY = 10 % of its layer's inputs
#: (fan-in ~6 from 64, ~10 from 100, ~4 from 40 plus 60 dense weak recurrent synapses), weights
#: ~ N(MU, 1) * gain / sqrt(density * fan-in) with MU = 0.2 (mostly excitatory, ~40 % inhibitory),
#: so one input spike moves v by 0.4-1.6 thresholds (g = dt/tau = 0.05-0.2): neurons are
#: input-driven, not balanced on a knife edge. Hidden and output rates 6-21 % per step for
#: inputs at 5-20 %. Measured (``benchmarks/quant_fidelity.py``, the tables of
#: docs/targets/loihi2-compiler.md): a 0.5 % random float-weight change alone moves the output F1
#: about as far from 1 as quantization does here, and far below 0.95 on some seeds of the dense
#: N(0.3, 1) * 8/sqrt(fan-in) stacks of ``legacy_case`` (chaotic: no 8-bit code can promise 0.95
#: there).
MU = 0.2
DENSITY = 0.1
STACK = dict(sizes=(64, 100, 10), gains=(20.0, 20.0), tau=(5e-3, 2e-2), dt=1e-3, density=DENSITY)
RECURRENT = dict(
    sizes=(40, 60, 10), gains=(20.0, 20.0), rec_gain=0.5, tau=(5e-3, 2e-2), dt=1e-3, density=DENSITY
)


def stack(rng, sizes, gains, kind="LIF", rec_gain=0.0, tau=(5e-3, 2e-2), mu=MU, density=1.0):
    nodes = {"x": Node("x", "Input", {"shape": (sizes[0],)})}
    edges = []
    prev = "x"
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        fc, n = f"fc{i}", f"n{i}"
        w = rng.normal(mu, 1.0, (b, a)) * gains[i] / np.sqrt(density * a)
        w *= rng.random((b, a)) < density
        nodes[fc] = Node(fc, "Affine", {"weight": w, "bias": rng.normal(0, 0.02, b)})
        nn = _lif(rng, b, kind, tau=tau)
        nn.name = n
        nodes[n] = nn
        edges += [(prev, fc), (fc, n)]
        if rec_gain:
            nodes[f"rec{i}"] = Node(
                f"rec{i}", "Linear", {"weight": rng.normal(0, 1.0, (b, b)) * rec_gain / np.sqrt(b)}
            )
            edges += [(n, f"rec{i}"), (f"rec{i}", n)]
        prev = n
    nodes["o"] = Node("o", "Output", {"shape": (sizes[-1],)})
    edges.append((prev, "o"))
    return nc.load(Graph(nodes=nodes, edges=edges))


def make_case(family, rng):
    """(graph, dt, input) of the trained-like regime (see MU, STACK, RECURRENT, legacy_conv)."""
    if family == "affine-lif":
        g, dt, shape = (
            stack(rng, STACK["sizes"], STACK["gains"], tau=STACK["tau"], density=STACK["density"]),
            STACK["dt"],
            (64,),
        )
    elif family == "conv-if":
        g, dt, shape = legacy_conv(rng), 1.0, (2, 12, 12)
    else:
        r = RECURRENT
        g, dt, shape = (
            stack(rng, r["sizes"], r["gains"], "CubaLIF", r["rec_gain"], r["tau"], density=r["density"]),
            r["dt"],
            (40,),
        )
    return g, dt, events(rng, 8, 80, shape, 0.05, 0.2)
