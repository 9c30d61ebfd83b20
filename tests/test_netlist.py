"""The netlist is exact: simulate_netlist == neurocompile.simulate(hop_delay=1) on random graphs
of every primitive (the reference simulator is the independent fact)."""

from __future__ import annotations

import numpy as np
import pytest

import neurocompile as nc
from neurocompile.errors import UnsupportedError
from neurocompile.ir import Graph, Node
from neurocompile.netlist import build_netlist, simulate_netlist
from neurocompile.semantics import resolve_semantics


def _neuron(rng, kind, shape, spiking_th=1.0, v_reset=False):
    n = int(np.prod(shape))

    def arr(lo, hi):
        return rng.uniform(lo, hi, size=n).reshape(shape)

    p = {}
    if kind in ("LIF", "LI"):
        p.update(tau=arr(2e-3, 2e-2), r=arr(0.5, 2.0), v_leak=arr(-0.05, 0.05))
    elif kind in ("CubaLIF", "CubaLI"):
        p.update(
            tau_mem=arr(2e-3, 2e-2),
            tau_syn=arr(1e-3, 1e-2),
            r=arr(0.5, 2.0),
            v_leak=arr(-0.05, 0.05),
            w_in=arr(0.5, 1.5),
        )
    else:  # IF, I
        p.update(r=arr(0.5, 2.0))
    if kind in ("LIF", "IF", "CubaLIF"):
        p["v_threshold"] = arr(0.5, 1.5) * spiking_th
        p["v_reset"] = arr(-0.2, 0.2) if v_reset else np.zeros(shape)
    return p


def _dense_graph(rng, disc_tau_scale=1.0):
    """Two inputs, Affine/Linear/Scale chains, a Delay, two weight layers in a row, recurrence,
    a Threshold on spikes, every neuron kind and LI/CubaLI/I readouts."""
    n_in, h1, h2, h3, o = 6, 10, 8, 7, 4
    nodes = {
        "x": Node("x", "Input", {"shape": (n_in,)}),
        "y": Node("y", "Input", {"shape": (3,)}),
        "fc1": Node(
            "fc1", "Affine", {"weight": rng.normal(0, 3, (h1, n_in)), "bias": rng.normal(0, 0.5, h1)}
        ),
        "fcy": Node("fcy", "Linear", {"weight": rng.normal(0, 3, (h1, 3))}),
        "l1": Node("l1", "LIF", _neuron(rng, "LIF", (h1,))),
        "rec": Node("rec", "Linear", {"weight": rng.normal(0, 1, (h1, h1))}),
        "sc": Node("sc", "Scale", {"scale": rng.uniform(0.5, 2, h1)}),
        "dl": Node("dl", "Delay", {"delay": rng.integers(0, 4, h1) * 1e-3}),
        "fc2": Node("fc2", "Affine", {"weight": rng.normal(0, 2, (h2, h1)), "bias": rng.normal(0, 0.3, h2)}),
        "fc2b": Node("fc2b", "Linear", {"weight": rng.normal(0, 1, (h2, h2))}),
        "l2": Node("l2", "CubaLIF", _neuron(rng, "CubaLIF", (h2,))),
        "th": Node("th", "Threshold", {"threshold": rng.choice([-0.5, 0.5, 2.0], size=h2)}),
        "fc3": Node("fc3", "Linear", {"weight": rng.normal(0, 2, (h3, h2))}),
        "l3": Node("l3", "IF", _neuron(rng, "IF", (h3,))),
        "fc4": Node("fc4", "Affine", {"weight": rng.normal(0, 1, (o, h3)), "bias": rng.normal(0, 0.1, o)}),
        "r_li": Node("r_li", "LI", _neuron(rng, "LI", (o,))),
        "fc5": Node("fc5", "Linear", {"weight": rng.normal(0, 1, (o, h2))}),
        "r_cli": Node("r_cli", "CubaLI", _neuron(rng, "CubaLI", (o,))),
        "fc6": Node("fc6", "Linear", {"weight": rng.normal(0, 1, (o, h1))}),
        "r_i": Node("r_i", "I", _neuron(rng, "I", (o,))),
        "o_li": Node("o_li", "Output", {"shape": (o,)}),
        "o_cli": Node("o_cli", "Output", {"shape": (o,)}),
        "o_i": Node("o_i", "Output", {"shape": (o,)}),
        "o_s": Node("o_s", "Output", {"shape": (h3,)}),
        "o_l1": Node("o_l1", "Output", {"shape": (h1,)}),
    }
    edges = [
        ("x", "fc1"),
        ("y", "fcy"),
        ("fc1", "l1"),
        ("fcy", "l1"),
        ("l1", "rec"),
        ("rec", "l1"),
        ("l1", "sc"),
        ("sc", "dl"),
        ("dl", "fc2"),
        ("fc2", "fc2b"),
        ("fc2b", "l2"),
        ("l2", "th"),
        ("th", "fc3"),
        ("fc3", "l3"),
        ("l3", "fc4"),
        ("fc4", "r_li"),
        ("l2", "fc5"),
        ("fc5", "r_cli"),
        ("l1", "fc6"),
        ("fc6", "r_i"),
        ("r_li", "o_li"),
        ("r_cli", "o_cli"),
        ("r_i", "o_i"),
        ("l3", "o_s"),
        ("l1", "o_l1"),
    ]
    return nc.load(Graph(nodes=nodes, edges=edges))


def _conv_graph(rng):
    """Conv2d (stride, padding, groups), SumPool2d, AvgPool2d, Flatten, Conv1d."""
    nodes = {
        "x": Node("x", "Input", {"shape": (2, 9, 9)}),
        "c1": Node(
            "c1",
            "Conv2d",
            {
                "weight": rng.normal(0, 1.5, (4, 1, 3, 3)),
                "bias": rng.normal(0, 0.2, 4),
                "stride": (1, 1),
                "padding": (1, 1),
                "dilation": (1, 1),
                "groups": 2,
            },
        ),
        "n1": Node("n1", "IF", _neuron(rng, "IF", (4, 9, 9))),
        "p1": Node("p1", "SumPool2d", {"kernel_size": (2, 2), "stride": (2, 2), "padding": (0, 0)}),
        "c2": Node(
            "c2",
            "Conv2d",
            {
                "weight": rng.normal(0, 1, (3, 4, 2, 2)),
                "stride": (2, 1),
                "padding": (1, 0),
                "dilation": (1, 1),
                "groups": 1,
            },
        ),
        "n2": Node("n2", "LIF", _neuron(rng, "LIF", (3, 3, 3))),
        "p2": Node("p2", "AvgPool2d", {"kernel_size": (2, 2), "stride": (1, 1), "padding": (1, 1)}),
        "f": Node("f", "Flatten", {"start_dim": 0, "end_dim": -1}),
        "fc": Node("fc", "Affine", {"weight": rng.normal(0, 2, (5, 48)), "bias": rng.normal(0, 0.1, 5)}),
        "n3": Node("n3", "LIF", _neuron(rng, "LIF", (5,))),
        "z": Node("z", "Input", {"shape": (2, 12)}),
        "c3": Node(
            "c3",
            "Conv1d",
            {
                "weight": rng.normal(0, 2, (3, 2, 3)),
                "bias": rng.normal(0, 0.1, 3),
                "stride": (2,),
                "padding": (1,),
                "dilation": (2,),
                "groups": 1,
            },
        ),
        "n4": Node("n4", "CubaLIF", _neuron(rng, "CubaLIF", (3, 5))),
        "o1": Node("o1", "Output", {"shape": (5,)}),
        "o2": Node("o2", "Output", {"shape": (3, 5)}),
    }
    edges = [
        ("x", "c1"),
        ("c1", "n1"),
        ("n1", "p1"),
        ("p1", "c2"),
        ("c2", "n2"),
        ("n2", "p2"),
        ("p2", "f"),
        ("f", "fc"),
        ("fc", "n3"),
        ("n3", "o1"),
        ("z", "c3"),
        ("c3", "n4"),
        ("n4", "o2"),
    ]
    return nc.load(Graph(nodes=nodes, edges=edges))


CASES = [
    (seed, disc, reset)
    for seed in range(4)
    for disc, reset in (("forward", "zero"), ("exponential", "subtract"), ("forward", "file"))
]


@pytest.mark.parametrize("family", ["dense", "conv"])
@pytest.mark.parametrize("seed,disc,reset", CASES, ids=[f"seed{s}-{d}-{r}" for s, d, r in CASES])
def test_netlist_matches_reference_hop_delay_1(family, seed, disc, reset):
    rng = np.random.default_rng(seed)
    g = _dense_graph(rng) if family == "dense" else _conv_graph(rng)
    if reset == "file":
        for node in g.nodes.values():
            if node.kind in ("LIF", "IF", "CubaLIF"):
                node.params["v_reset"] = rng.uniform(-0.2, 0.2, size=np.shape(node.params["v_threshold"]))
    dt = 1e-3
    sem = resolve_semantics(g, dt=dt, discretization=disc, reset=reset, hop_delay=1)
    nl = build_netlist(g, sem)
    ins = {k: (rng.random((3, 40, *s)) < 0.3).astype(float) for k, s in nl.inputs.items()}
    ref = nc.simulate(g, ins, dt=dt, discretization=disc, reset=reset, hop_delay=1)
    got = simulate_netlist(nl, ins)
    assert set(got.outputs) == set(ref.outputs)
    total = 0.0
    for k in ref.outputs:
        np.testing.assert_allclose(
            got.outputs[k],
            ref.outputs[k],
            rtol=1e-9,
            atol=1e-9,
            err_msg=f"output {k}, seed {seed}, {family}, {disc}, {reset}",
        )
        total += float(np.abs(ref.outputs[k]).sum())
    assert total > 0, f"degenerate case (no activity), seed {seed}"


def test_netlist_structure_and_findings():
    g = _dense_graph(np.random.default_rng(0))
    nl = build_netlist(g, resolve_semantics(g, dt=1e-3, reset="zero", hop_delay=1))
    assert set(nl.groups) == {"l1", "l2", "l3", "r_li", "r_cli", "r_i"}
    names = {c.name for c in nl.connections}
    # two inputs into one neuron -> two connections; recurrence -> a self connection
    assert {"x->l1", "y->l1", "l1->l1", "l1->l2"} <= names
    c = next(c for c in nl.connections if c.name == "l1->l2")
    assert c.sources == ["sc", "dl", "fc2", "fc2b"]
    assert c.delay.max() <= 3 and c.delay.min() >= 0
    assert nl.outputs["o_li"] == ("r_li", "v") and nl.outputs["o_s"] == ("l3", "spikes")
    codes = {f.code for f in nl.findings}
    assert "weight-layers-composed" in codes  # fc2 -> fc2b
    assert "bias-through-delay" not in codes  # the Delay comes before fc2's bias
    assert nl.node_map["fc1"] == ["x->l1"] and nl.node_map["l1"] == ["l1"]


def test_conv_synapse_count_matches_independent_count():
    """3x3 'same' conv on 5x5 with 1 in/1 out channel: interior 9 taps, edges 6, corners 4."""
    w = np.arange(1, 10, dtype=float).reshape(1, 1, 3, 3)
    g = nc.load(
        Graph(
            nodes={
                "x": Node("x", "Input", {"shape": (1, 5, 5)}),
                "c": Node(
                    "c",
                    "Conv2d",
                    {"weight": w, "stride": (1, 1), "padding": (1, 1), "dilation": (1, 1), "groups": 1},
                ),
                "n": Node(
                    "n",
                    "IF",
                    {
                        "r": np.ones((1, 5, 5)),
                        "v_threshold": np.ones((1, 5, 5)),
                        "v_reset": np.zeros((1, 5, 5)),
                    },
                ),
                "o": Node("o", "Output", {"shape": (1, 5, 5)}),
            },
            edges=[("x", "c"), ("c", "n"), ("n", "o")],
        )
    )
    nl = build_netlist(g, resolve_semantics(g, dt=1.0, hop_delay=1))
    (c,) = nl.connections
    assert c.n_synapses == 9 * 9 + 4 * 3 * 6 + 4 * 4
    # centre output (2,2) from input (1,1) uses the top-left tap w[0,0] = 1 (cross-correlation)
    m = c.matrix(25, 25).toarray()
    assert m[12, 6] == 1.0 and m[12, 18] == 9.0


def test_threshold_on_non_spike_source_is_refused():
    g = nc.load(
        Graph(
            nodes={
                "x": Node("x", "Input", {"shape": (3,)}),
                "a": Node("a", "Linear", {"weight": np.eye(3)}),
                "t": Node("t", "Threshold", {"threshold": np.full(3, 0.5)}),
                "n": Node("n", "IF", {"r": np.ones(3), "v_threshold": np.ones(3), "v_reset": np.zeros(3)}),
                "o": Node("o", "Output", {"shape": (3,)}),
            },
            edges=[("x", "a"), ("a", "t"), ("t", "n"), ("n", "o")],
        )
    )
    with pytest.raises(UnsupportedError) as ei:
        build_netlist(g, resolve_semantics(g, dt=1.0, hop_delay=1))
    assert ei.value.node == "t"


def test_paper_graphs_exact(paper_data):
    rng = np.random.default_rng(7)
    for f, dt in (("02_cnn/cnn_sinabs.nir", 1.0), ("03_rnn/braille_noDelay_bias_zero.nir", 1e-4)):
        g = nc.load(paper_data / f)
        sem = resolve_semantics(g, dt=dt, reset="zero", hop_delay=1)
        nl = build_netlist(g, sem)
        assert {f.code for f in nl.findings} == {"legacy-reset-zero"}
        ins = {k: (rng.random((2, 25, *s)) < 0.2).astype(float) for k, s in nl.inputs.items()}
        ref = nc.simulate(g, ins, dt=dt, reset="zero", hop_delay=1)
        got = simulate_netlist(nl, ins)
        for k in ref.outputs:
            assert np.array_equal(got.outputs[k], ref.outputs[k]), f
