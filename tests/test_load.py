"""``neurocompile.load``: every nir 1.0.x file era, nir objects, nesting, frameworks, shapes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurocompile import load
from neurocompile.errors import GraphError, ModelLoadError
from neurocompile.ir import Graph
from neurocompile.load import load_graph
from neurocompile.shapes import infer_shapes

sys.path.insert(0, str(Path(__file__).parent))
import bad_models as B  # noqa: E402


# ---------------------------------------------------------------------------- paper files
def test_lif_norse(paper_data):
    g = load(paper_data / "01_lif" / "lif_norse.nir")
    assert g.nir_version == "0.1.1" and g.source.endswith("lif_norse.nir")
    assert {n: x.kind for n, x in g.nodes.items()} == {
        "input": "Input",
        "0": "Affine",
        "1": "LIF",
        "output": "Output",
    }
    assert sorted(g.edges) == sorted([("input", "0"), ("0", "1"), ("1", "output")])
    lif = g.nodes["1"]
    # values as in docs/reference/nir.md §3 (tau = 2.5 ms, R = 1, v_leak = 0, theta = 0.1)
    for key, val in {"tau": 2.5e-3, "r": 1.0, "v_leak": 0.0, "v_threshold": 0.1}.items():
        assert lif.params[key].dtype == np.float64
        np.testing.assert_allclose(lif.params[key], [val], rtol=1e-6)
    assert "v_reset" not in lif.params and g.legacy_reset == ("1",)
    assert g.nodes["input"].params["shape"] == (1,) and g.metadata_dt() is None


def test_cnn_sinabs_shapes(paper_data):
    g = load(paper_data / "02_cnn" / "cnn_sinabs.nir")
    assert len(g.nodes) == 15 and len(g.edges) == 14
    assert g.nodes["input"].output_shape == (2, 34, 34)
    # layer by layer, from the PyTorch formulas by hand: conv 2->16 k5 s2 p1 on 34: (34+2-5)//2+1 = 16
    expected = {
        "0": (16, 16, 16),
        "1": (16, 16, 16),
        "2": (16, 16, 16),
        "3": (16, 16, 16),
        "4": (16, 8, 8),
        "5": (8, 8, 8),
        "6": (8, 8, 8),
        "7": (8, 4, 4),
        "8": (128,),
        "9": (256,),
        "10": (256,),
        "11": (10,),
        "12": (10,),
        "output": (10,),
    }
    assert {n: g.nodes[n].output_shape for n in expected} == expected
    assert g.nodes["0"].params["stride"] == (2, 2) and g.nodes["0"].params["padding"] == (1, 1)
    assert g.nodes["4"].params["kernel_size"] == (2, 2)
    assert g.nodes["8"].params["start_dim"] == 0 and g.nodes["8"].params["input_shape"] == (8, 4, 4)
    assert set(g.legacy_reset) == {"1", "3", "6", "10", "12"}


def test_cnn_sinabs_shapes_match_torch(paper_data):
    """The same layers run by real torch give the shapes shape inference predicts."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    g = load(paper_data / "02_cnn" / "cnn_sinabs.nir")
    x = torch.zeros(1, 2, 34, 34, dtype=torch.float64)
    for name in ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"]:
        node = g.nodes[name]
        p = node.params
        if node.kind == "Conv2d":
            x = F.conv2d(
                x, torch.tensor(p["weight"]), stride=p["stride"], padding=p["padding"], dilation=p["dilation"]
            )
        elif node.kind == "SumPool2d":
            x = F.avg_pool2d(x, p["kernel_size"], p["stride"], p["padding"])
        elif node.kind == "Flatten":
            x = torch.flatten(x, p["start_dim"] + 1, p["end_dim"])
        elif node.kind == "Affine":
            x = F.linear(x, torch.tensor(p["weight"]))
        assert tuple(x.shape[1:]) == node.output_shape, name


@pytest.mark.parametrize(
    "name, hidden, kind",
    [
        ("braille_noDelay_bias_zero.nir", 38, "Affine"),
        ("braille_noDelay_noBias_subtract.nir", 40, "Linear"),
    ],
)
def test_braille_graphs(paper_data, name, hidden, kind):
    g = load(paper_data / "03_rnn" / name)
    assert g.nodes["lif1.lif"].kind == "CubaLIF" and g.nodes["lif1.w_rec"].kind == kind
    # the recurrent loop is present
    assert ("lif1.lif", "lif1.w_rec") in g.edges and ("lif1.w_rec", "lif1.lif") in g.edges
    assert g.nodes["lif1.lif"].output_shape == (hidden,) and g.nodes["lif1.w_rec"].output_shape == (hidden,)
    assert g.nodes["output"].output_shape == (7,) and g.nodes["input"].output_shape == (12,)
    assert set(g.legacy_reset) == {"lif1.lif", "lif2"}
    assert infer_shapes(g) == []


def test_rockpool_output_batch_time_dims_repaired(paper_data):
    """rockpool writes its (batch, time) dims into the Output type: (1, 1, 1) for 1 neuron. The
    loader reads it as (1,) and says so (ingest-repair), instead of a stale-shape problem."""
    g = load(paper_data / "01_lif" / "lif_rockpool.nir")
    assert infer_shapes(g) == []
    assert g.nodes["output"].params["shape"] == (1,)
    assert g.nodes["output"].output_shape == (1,)  # what actually arrives
    ((code, node, msg),) = g.load_problems
    assert code == "ingest-repair" and node == "output" and "(1, 1, 1)" in msg


@pytest.mark.parametrize(
    "name", ["braille_noDelay_bias_zero_subgraph.nir", "braille_noDelay_noBias_subtract_subgraph.nir"]
)
def test_broken_braille_subgraph_raises_clean_error(paper_data, name):
    with pytest.raises(GraphError) as err:
        load(paper_data / "03_rnn" / "extras" / name)
    assert err.value.node == "lif1.lif"
    assert "'lif1.lif'" in str(err.value) and "edge" in str(err.value)
    # the permissive loader (used by check) still gives the graph
    g = load_graph(paper_data / "03_rnn" / "extras" / name)
    assert "lif1.lif1" in g.nodes and "lif1.input" not in g.nodes


# ---------------------------------------------------------------------------- unreadable
def test_unreadable_inputs(tmp_path):
    with pytest.raises(ModelLoadError, match="not found.*nope.nir"):
        load(tmp_path / "nope.nir")
    txt = tmp_path / "t.nir"
    txt.write_text("hello")
    with pytest.raises(ModelLoadError, match="t.nir"):
        load(txt)
    with pytest.raises(ModelLoadError, match="no 'node' group"):
        load(B._write_no_node(tmp_path / "nonode.nir"))
    with pytest.raises(ModelLoadError, match="directory"):
        load(tmp_path)
    with pytest.raises(ModelLoadError, match="cannot load an object"):
        load(3.5)


# ---------------------------------------------------------------------------- eras
def test_newer_era_file(tmp_path):
    """A nir 1.0.8-style file: v_reset present, CubaLI, str (not bytes) types, metadata."""
    g = B.lif_graph()
    g["nodes"]["li"] = {
        "type": "CubaLI",
        "tau_syn": np.full(2, 2e-3),
        "tau_mem": np.full(2, 1e-2),
        "r": np.ones(2),
        "v_leak": np.zeros(2),
        "w_in": np.ones(2),
        "metadata": {"origin": "hand"},
    }
    g["nodes"]["out2"] = {"type": "Output", "shape": np.array([2])}
    g["edges"] += [("lif", "li"), ("li", "out2")]
    g["metadata"]["note"] = "written by hand"
    path = B.write_nir(tmp_path / "new.nir", g, version="1.0.8", bytes_strings=False)
    with h5py.File(path) as f:
        assert f["node/nodes/lif/type"].dtype.kind == "O"  # really a str dataset
    graph = load(path)
    assert graph.nir_version == "1.0.8" and graph.legacy_reset == ()
    np.testing.assert_array_equal(graph.nodes["lif"].params["v_reset"], np.zeros(2))
    assert graph.nodes["li"].kind == "CubaLI" and graph.nodes["li"].metadata == {"origin": "hand"}
    assert graph.nodes["li"].output_shape == (2,)
    assert graph.metadata_dt() == 1e-3 and graph.metadata["note"] == "written by hand"


def test_nir_package_roundtrip(tmp_path):
    """A file written by the installed nir (1.0.4 here) loads like the object itself."""
    nir = pytest.importorskip("nir")
    rng = np.random.default_rng(0)
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(np.array([2, 6, 6])),
            "c": nir.Conv2d(
                input_shape=(6, 6),
                weight=rng.normal(size=(3, 2, 3, 3)),
                stride=1,
                padding=1,
                dilation=1,
                groups=1,
                bias=rng.normal(size=3),
            ),
            "p": nir.SumPool2d(
                kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])
            ),
            "f": nir.Flatten(input_type={"input": np.array([3, 3, 3])}, start_dim=0),
            "a": nir.Affine(rng.normal(size=(4, 27)), rng.normal(size=4)),
            "n": nir.CubaLIF(
                tau_syn=np.full(4, 2e-3),
                tau_mem=np.full(4, 1e-2),
                r=np.ones(4),
                v_leak=np.zeros(4),
                v_threshold=np.ones(4),
                w_in=np.full(4, 2.0),
            ),
            "out": nir.Output(np.array([4])),
        },
        edges=[("in", "c"), ("c", "p"), ("p", "f"), ("f", "a"), ("a", "n"), ("n", "out")],
    )
    nir.write(tmp_path / "g.nir", graph)
    from_file, from_obj = load(tmp_path / "g.nir"), load(graph)
    assert from_file.nir_version == nir.version
    assert set(from_file.nodes) == set(from_obj.nodes) and sorted(from_file.edges) == sorted(from_obj.edges)
    for name, node in from_obj.nodes.items():
        other = from_file.nodes[name]
        assert other.kind == node.kind and other.output_shape == node.output_shape
        assert set(other.params) == set(node.params), name
        for key, val in node.params.items():
            if isinstance(val, np.ndarray):
                np.testing.assert_array_equal(other.params[key], val)
            else:
                assert other.params[key] == val, (name, key)
    assert from_obj.nodes["c"].params["stride"] == (1, 1)  # int -> pair
    assert from_obj.nodes["n"].output_shape == (4,) and from_obj.nodes["f"].output_shape == (27,)
    assert from_obj.legacy_reset == ("n",)  # nir 1.0.4 objects have no v_reset


# ---------------------------------------------------------------------------- nesting
def _lif_raw(n: int) -> dict:
    return {
        "type": "LIF",
        "tau": np.full(n, 1e-2),
        "r": np.ones(n),
        "v_leak": np.zeros(n),
        "v_threshold": np.ones(n),
        "v_reset": np.zeros(n),
    }


def test_nested_subgraphs_flatten_with_dotted_names(tmp_path):
    """outer -> mid (a subgraph) -> inner (a subgraph of mid), with a recurrent loop inside."""
    inner = {
        "type": "NIRGraph",
        "nodes": {
            "i": {"type": "Input", "shape": np.array([2])},
            "lif": _lif_raw(2),
            "rec": {"type": "Linear", "weight": np.eye(2)},
            "o": {"type": "Output", "shape": np.array([2])},
        },
        "edges": [("i", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "o")],
    }
    mid = {
        "type": "NIRGraph",
        "nodes": {
            "x": {"type": "Input", "shape": np.array([3])},
            "fc": {"type": "Linear", "weight": np.ones((2, 3))},
            "inner": inner,
            "y": {"type": "Output", "shape": np.array([2])},
        },
        "edges": [("x", "fc"), ("fc", "inner"), ("inner", "y")],
    }
    top = {
        "type": "NIRGraph",
        "nodes": {
            "in": {"type": "Input", "shape": np.array([3])},
            "mid": mid,
            "out": {"type": "Output", "shape": np.array([2])},
        },
        "edges": [("in", "mid"), ("mid", "out")],
    }
    g = load(B.write_nir(tmp_path / "nested.nir", top, version="0.2.0"))
    assert set(g.nodes) == {"in", "mid.fc", "mid.inner.lif", "mid.inner.rec", "out"}
    assert sorted(g.edges) == sorted(
        [
            ("in", "mid.fc"),
            ("mid.fc", "mid.inner.lif"),
            ("mid.inner.lif", "mid.inner.rec"),
            ("mid.inner.rec", "mid.inner.lif"),
            ("mid.inner.lif", "out"),
        ]
    )
    assert g.nodes["mid.inner.lif"].output_shape == (2,) and infer_shapes(g) == []


def test_nested_nir_objects_and_direct_addressing():
    nir = pytest.importorskip("nir")
    sub = nir.NIRGraph(
        nodes={"a": nir.Input(np.array([2])), "s": nir.Scale(np.ones(2)), "b": nir.Output(np.array([2]))},
        edges=[("a", "s"), ("s", "b")],
    )
    passthrough = nir.NIRGraph(
        nodes={"a": nir.Input(np.array([2])), "b": nir.Output(np.array([2]))}, edges=[("a", "b")]
    )
    g = nir.NIRGraph(
        nodes={
            "in": nir.Input(np.array([2])),
            "G": sub,
            "P": passthrough,
            "t": nir.Threshold(np.ones(2)),
            "out": nir.Output(np.array([2])),
        },
        edges=[("in", "G"), ("G", "P"), ("P", "t"), ("in", "G.s"), ("t", "out")],
    )
    graph = load(g)
    assert set(graph.nodes) == {"in", "G.s", "t", "out"}
    # the passthrough subgraph P disappears: G.s feeds t directly; "G.s" addressed from outside works
    assert sorted(graph.edges) == sorted([("in", "G.s"), ("G.s", "t"), ("in", "G.s"), ("t", "out")])


# ---------------------------------------------------------------------------- shape inference vs torch
@pytest.mark.parametrize("seed", range(12), ids=lambda s: f"seed={s}")
def test_conv_pool_flatten_shapes_match_torch(seed):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(seed)
    cin, cout = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    k = tuple(int(v) for v in rng.integers(1, 4, size=2))
    s = tuple(int(v) for v in rng.integers(1, 3, size=2))
    d = tuple(int(v) for v in rng.integers(1, 3, size=2))
    pad = (
        "same"
        if seed % 4 == 0
        else ("valid" if seed % 4 == 1 else tuple(int(v) for v in rng.integers(0, 3, size=2)))
    )
    if pad == "same":
        s = (1, 1)  # torch refuses 'same' with stride > 1
    hw = tuple(int(v) for v in rng.integers(9, 16, size=2))
    pk = int(rng.integers(1, 3))
    start, end = [(0, -1), (1, 2), (-2, -1), (0, 1)][seed % 4]
    raw = {
        "type": "NIRGraph",
        "nodes": {
            "in": {"type": "Input", "shape": np.array([cin, *hw])},
            "c": {
                "type": "Conv2d",
                "weight": np.zeros((cout, cin, *k)),
                "bias": np.zeros(cout),
                "stride": np.array(s),
                "padding": pad if isinstance(pad, str) else np.array(pad),
                "dilation": np.array(d),
                "groups": 1,
            },
            "p": {"type": "AvgPool2d", "kernel_size": np.array([pk, pk]), "padding": np.array([0, 0])},
            "f": {"type": "Flatten", "start_dim": start, "end_dim": end},
            "out": {"type": "Output", "shape": np.array([1])},
        },
        "edges": [("in", "c"), ("c", "p"), ("p", "f"), ("f", "out")],
    }
    g = load(raw_graph(raw))
    x = torch.zeros(1, cin, *hw)
    y = F.conv2d(x, torch.zeros(cout, cin, *k), stride=s, padding=pad, dilation=d)
    assert g.nodes["c"].output_shape == tuple(y.shape[1:]), f"seed={seed}"
    y = F.avg_pool2d(y, pk)  # stride defaults to kernel, as in the loader
    assert g.nodes["p"].output_shape == tuple(y.shape[1:]), f"seed={seed}"
    # NIR counts Flatten dims without batch: torch dim = NIR dim + 1 for non-negative dims
    y = torch.flatten(y, start + 1 if start >= 0 else start, end + 1 if end >= 0 else end)
    assert g.nodes["f"].output_shape == tuple(y.shape[1:]), f"seed={seed}"


@pytest.mark.parametrize("seed", range(6), ids=lambda s: f"seed={s}")
def test_conv1d_shapes_match_torch(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(100 + seed)
    cin, cout, k, s, d, p, n = (
        int(v)
        for v in (
            rng.integers(1, 4),
            rng.integers(1, 4),
            rng.integers(1, 5),
            rng.integers(1, 4),
            rng.integers(1, 3),
            rng.integers(0, 3),
            rng.integers(12, 20),
        )
    )
    raw = {
        "type": "NIRGraph",
        "nodes": {
            "in": {"type": "Input", "shape": np.array([cin, n])},
            "c": {
                "type": "Conv1d",
                "weight": np.zeros((cout, cin, k)),
                "bias": np.zeros(cout),
                "stride": s,
                "padding": p,
                "dilation": d,
                "groups": 1,
                "input_shape": n,
            },
            "out": {"type": "Output", "shape": np.array([1])},
        },
        "edges": [("in", "c"), ("c", "out")],
    }
    g = load(raw_graph(raw))
    y = torch.nn.functional.conv1d(
        torch.zeros(1, cin, n), torch.zeros(cout, cin, k), stride=s, padding=p, dilation=d
    )
    assert g.nodes["c"].output_shape == tuple(y.shape[1:]), f"seed={seed}"
    assert g.nodes["c"].params["stride"] == (s,) and g.nodes["c"].params["input_shape"] == (n,)


def raw_graph(raw: dict) -> Graph:
    from neurocompile.load import _build_graph

    return _build_graph(raw, source="<test>", nir_version=None)


def test_scalar_neuron_params_broadcast():
    raw = {
        "type": "NIRGraph",
        "nodes": {
            "in": {"type": "Input", "shape": np.array([5])},
            "lif": {
                "type": "LIF",
                "tau": np.array(1e-2),
                "r": np.array(1.0),
                "v_leak": np.array(0.0),
                "v_threshold": np.array(1.0),
            },
            "out": {"type": "Output", "shape": np.array([5])},
        },
        "edges": [("in", "lif"), ("lif", "out")],
    }
    g = load(raw_graph(raw))
    assert g.nodes["lif"].output_shape == (5,) and infer_shapes(g) == []


# ---------------------------------------------------------------------------- frameworks
def test_norse_module():
    torch = pytest.importorskip("torch")
    nt = pytest.importorskip("norse.torch")
    torch.manual_seed(0)
    cell = nt.LIFBoxCell()
    model = nt.SequentialState(torch.nn.Linear(3, 4), cell)
    g = load(model, torch.zeros(1, 3))
    assert g.conventions["framework"] == "norse" and g.conventions["dt"] == 1e-3
    assert "norse#411" in g.conventions["export_tau_bug"]
    assert g.nodes["input"].output_shape == (3,) and g.nodes["output"].output_shape == (4,)
    kinds = sorted(n.kind for n in g.nodes.values())
    assert kinds == ["Affine", "Input", "LIF", "Output"]
    lif = next(n for n in g.nodes.values() if n.kind == "LIF")
    # norse#411: the exported tau is dt / tau_mem_inv = dt * tau, not tau
    expected = 1e-3 / float(cell.p.tau_mem_inv)
    np.testing.assert_allclose(lif.params["tau"], expected, rtol=1e-6)
    assert lif.output_shape == (4,)
    aff = next(n for n in g.nodes.values() if n.kind == "Affine")
    np.testing.assert_allclose(aff.params["weight"], model[0].weight.detach().numpy(), rtol=1e-6)


def test_sinabs_module():
    torch = pytest.importorskip("torch")
    sl = pytest.importorskip("sinabs.layers")
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 4),
        sl.LIFSqueeze(tau_mem=5.0, batch_size=1),
        torch.nn.Linear(4, 2),
        sl.IAFSqueeze(batch_size=1),
    )
    g = load(model, torch.zeros(1, 3))
    c = g.conventions
    assert (c["framework"], c["tau_unit"], c["dt"], c["reset"], c["threshold"]) == (
        "sinabs",
        "steps",
        1.0,
        "subtract",
        ">=",
    )
    assert "MultiSpike" in c["spike_fn"]
    lif = next(n for n in g.nodes.values() if n.kind == "LIF")
    np.testing.assert_allclose(lif.params["tau"], 5.0)  # in steps, as sinabs stores it
    assert lif.output_shape == (4,)
    assert g.nodes["output"].output_shape == (2,) and infer_shapes(g) == []


def test_module_errors():
    torch = pytest.importorskip("torch")
    pytest.importorskip("sinabs")
    sl = pytest.importorskip("sinabs.layers")
    with pytest.raises(ModelLoadError, match="sample_input|sample input"):
        load(torch.nn.Sequential(torch.nn.Linear(3, 4), sl.IAFSqueeze(batch_size=1)))
    with pytest.raises(ModelLoadError, match="framework"):
        load(torch.nn.Linear(3, 4), torch.zeros(1, 3))


# ---------------------------------------------------------------------------- property test
_NEURONS = {
    "LIF": ("tau", "r", "v_leak", "v_threshold"),
    "IF": ("r", "v_threshold"),
    "LI": ("tau", "r", "v_leak"),
    "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "w_in"),
    "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak", "w_in"),
    "I": ("r",),
}


@st.composite
def chain_graphs(draw):
    """Input -> (weight layer -> neuron)* -> Output with random sizes and parameters."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n_layers = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 6)) for _ in range(n_layers + 1)]
    nodes = {"input": {"type": "Input", "shape": np.array([sizes[0]])}}
    edges, prev, legacy = [], "input", set()
    for i in range(n_layers):
        wname, nname = f"w{i}", f"layer{i}.n"
        kind = draw(st.sampled_from(["Affine", "Linear"]))
        w = {
            "type": kind,
            "weight": rng.normal(size=(sizes[i + 1], sizes[i])).astype(draw(st.sampled_from(["f4", "f8"]))),
        }
        if kind == "Affine":
            w["bias"] = rng.normal(size=sizes[i + 1])
        nkind = draw(st.sampled_from(sorted(_NEURONS)))
        neuron = {"type": nkind}
        for key in _NEURONS[nkind]:
            neuron[key] = rng.uniform(1e-3, 2.0, size=sizes[i + 1])
        if nkind in ("IF", "LIF", "CubaLIF"):
            if draw(st.booleans()):
                neuron["v_reset"] = rng.normal(size=sizes[i + 1])
            else:
                legacy.add(nname)
        nodes[wname], nodes[nname] = w, neuron
        edges += [(prev, wname), (wname, nname)]
        prev = nname
    nodes["output"] = {"type": "Output", "shape": np.array([sizes[-1]])}
    edges.append((prev, "output"))
    version = draw(st.sampled_from(["0.1.1", "0.2.0", "1.0.4", "1.0.8"]))
    bytes_strings = draw(st.booleans())
    return {"type": "NIRGraph", "nodes": nodes, "edges": edges}, version, bytes_strings, legacy, sizes, seed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chain_graphs())
def test_random_graphs_roundtrip(tmp_path, case):
    raw, version, bytes_strings, legacy, sizes, seed = case
    path = B.write_nir(tmp_path / "r.nir", raw, version=version, bytes_strings=bytes_strings)
    g = load(path)
    msg = f"seed={seed} version={version}"
    assert g.nir_version == version, msg
    assert set(g.nodes) == set(raw["nodes"]), msg
    assert sorted(g.edges) == sorted(raw["edges"]), msg
    assert set(g.legacy_reset) == legacy, msg
    for name, rn in raw["nodes"].items():
        node = g.nodes[name]
        assert node.kind == rn["type"], msg
        for key, val in rn.items():
            if key == "type":
                continue
            if key == "shape":
                assert node.params[key] == tuple(int(v) for v in val), msg
            else:
                assert node.params[key].dtype == np.float64, msg
                np.testing.assert_array_equal(
                    node.params[key], np.asarray(val, dtype=np.float64), err_msg=msg
                )
    assert g.nodes["output"].output_shape == (sizes[-1],) and infer_shapes(g) == [], msg


# ---------------------------------------------------------------------------- core without torch
def test_core_loads_without_torch_or_nir(paper_data):
    code = (
        "import sys, neurocompile; g = neurocompile.load(sys.argv[1]); "
        "assert len(g.nodes) == 15; "
        "assert 'torch' not in sys.modules and 'nir' not in sys.modules, sorted(sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(paper_data / "02_cnn" / "cnn_sinabs.nir")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------- malformed root fields
@pytest.mark.parametrize("value", [1.5, 7, np.arange(2)])
def test_root_type_not_a_string_is_refused(tmp_path, value):
    path = B.write_nir(tmp_path / "ok.nir", B.lif_graph())
    with h5py.File(path, "a") as f:
        del f["node/type"]
        f.create_dataset("node/type", data=value)
    with pytest.raises(ModelLoadError, match="root group's 'type'.*not a node type name") as err:
        load(path)
    assert err.value.parameter == "type" and "NIRGraph" in err.value.expected


@pytest.mark.parametrize(
    "value, described",
    [(np.arange(3), "an int64 array of shape \\(3,\\)"), (1.5, "a float64 scalar"), (None, "an HDF5 group")],
)
def test_version_not_a_string_is_refused(tmp_path, value, described):
    path = B.write_nir(tmp_path / "ok.nir", B.lif_graph())
    with h5py.File(path, "a") as f:
        del f["version"]
        if value is None:
            f.create_group("version")
        else:
            f.create_dataset("version", data=value)
    with pytest.raises(ModelLoadError, match=f"'version' field is {described}") as err:
        load(path)
    assert err.value.parameter == "version"


def test_version_string_forms_still_load(tmp_path):
    for i, version in enumerate(["1.0.8", b"0.2.0"]):
        g = load(B.write_nir(tmp_path / f"v{i}.nir", B.lif_graph(), version=version))
        assert g.nir_version == ("1.0.8" if i == 0 else "0.2.0")
    path = B.write_nir(tmp_path / "none.nir", B.lif_graph(), version=None)
    assert load(path).nir_version is None
