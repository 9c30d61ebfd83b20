"""Graph sanity before work (issue 17, item 3): one malformed graph per class.

Each class is a ``check`` error finding (its code, documented in docs/check.md) and the first
typed error of ``compile`` (both targets) and ``simulate``: the graph is refused by the same
SANITY rules (``neurocompile.check.refuse_malformed``) before any numeric pass, so no numpy
warning (cast, overflow, divide by zero, complex) ever reaches the user.
"""

from __future__ import annotations

import copy
import sys
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

import neurocompile as nc
from neurocompile.check import SANITY, check
from neurocompile.errors import (
    GraphError,
    NeurocompileError,
    ParameterError,
    ResourceError,
    SemanticsError,
)
from neurocompile.ir import ELEMENT_LIMIT

sys.path.insert(0, str(Path(__file__).parent))
import bad_models as B  # noqa: E402

TARGETS = ("loihi2", "spinnaker")


def _mod(base, fn):
    g = copy.deepcopy(base())
    fn(g)
    return g


def _set(node, **params):
    return lambda g: g["nodes"][node].update(params)


def _pop_node(node):
    def fn(g):
        g["nodes"].pop(node)
        g["edges"] = [e for e in g["edges"] if node not in e]

    return fn


def _meta_dt(value):
    return lambda g: g["metadata"].__setitem__("dt", value)


def _empty(g):
    g["nodes"], g["edges"] = {}, []


def _big_if(g):
    n = 10**8  # an IF of 1e8 neurons (scalar parameters broadcast to the Input's shape)
    g["nodes"]["in"]["shape"] = np.array([n])
    g["nodes"]["fc"] = {"type": "Scale", "scale": np.array(1.0)}
    g["nodes"]["lif"] = {
        "type": "IF",
        "r": np.array(1.0),
        "v_threshold": np.array(1.0),
        "v_reset": np.array(0.0),
    }
    g["nodes"]["out"]["shape"] = np.array([n])


def _collide(g):
    """A node literally named 'sub.lif' beside a subgraph 'sub' holding a node 'lif'."""
    lif = g["nodes"].pop("lif")
    g["nodes"]["sub.lif"] = lif
    g["nodes"]["sub"] = {
        "type": "NIRGraph",
        "nodes": {
            "i": {"type": "Input", "shape": np.array([2])},
            "lif": dict(lif),
            "o": {"type": "Output", "shape": np.array([2])},
        },
        "edges": [("i", "lif"), ("lif", "o")],
    }
    g["edges"] = [("in", "fc"), ("fc", "sub.lif"), ("sub.lif", "out")]


#: name -> (base graph, modification, finding code, typed error class)
CLASSES = {
    "nan": (B.lif_graph, _set("fc", weight=np.array([[np.nan, 1, 1], [1, 1, 1]])), "nan-inf", ParameterError),
    "inf": (B.lif_graph, _set("lif", v_threshold=np.array([1.0, np.inf])), "nan-inf", ParameterError),
    "complex": (B.lif_graph, _set("fc", weight=np.full((2, 3), 0.5 + 1j)), "param-complex", ParameterError),
    "str-number": (B.lif_graph, _set("lif", v_threshold="1.0"), "param-not-numeric", ParameterError),
    "bytes-number": (
        B.lif_graph,
        _set("lif", v_threshold=np.bytes_(b"abc")),
        "param-not-numeric",
        ParameterError,
    ),
    "huge-weight": (
        B.lif_graph,
        _set("fc", weight=np.full((2, 3), 1e300)),
        "param-magnitude",
        ParameterError,
    ),
    "huge-leak": (B.lif_graph, _set("lif", v_leak=np.full(2, -1e39)), "param-magnitude", ParameterError),
    "missing-threshold": (
        B.lif_graph,
        lambda g: g["nodes"]["lif"].pop("v_threshold"),
        "param-missing",
        ParameterError,
    ),
    "no-input": (B.lif_graph, _pop_node("in"), "no-input", GraphError),
    "no-output": (B.lif_graph, _pop_node("out"), "no-output", GraphError),
    "no-nodes": (B.lif_graph, _empty, "empty-graph", GraphError),
    "bias-length": (B.lif_graph, _set("fc", bias=np.zeros(3)), "param-shape", ParameterError),
    "pool-stride-0": (B.conv_graph, _set("pool", stride=np.array([0, 0])), "param-shape", ParameterError),
    "pool-kernel-too-big": (
        B.conv_graph,
        _set("pool", kernel_size=np.array([20, 20]), stride=np.array([1, 1])),
        "shape-mismatch",
        GraphError,
    ),
    "weight-3d": (B.lif_graph, _set("fc", weight=np.ones((2, 3, 1))), "param-shape", ParameterError),
    "name-collision": (B.lif_graph, _collide, "name-collision", GraphError),
    "dt-string": (B.lif_graph, _meta_dt("fast"), "metadata-dt", SemanticsError),
    "dt-array": (B.lif_graph, _meta_dt(np.array([1e-3, 2e-3])), "metadata-dt", SemanticsError),
    "dt-complex": (B.lif_graph, _meta_dt(np.complex128(1e-3)), "metadata-dt", SemanticsError),
    "if-1e8": (B.lif_graph, _big_if, "size-limit", ResourceError),
    "tiny-tau": (B.lif_graph, _set("lif", tau=np.full(2, 1e-300)), "tau-dt-ratio", ParameterError),
    "denormal-tau": (B.lif_graph, _set("lif", tau=np.full(2, 5e-324)), "tau-dt-ratio", ParameterError),
}


def _input_shape(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            g = nc.load(path)
        except NeurocompileError:
            return (3,)
    s = g.nodes["in"].params.get("shape") if "in" in g.nodes else None
    return s if isinstance(s, tuple) and np.prod(s) < 1000 else (3,)


def _assert_refused(path, code, cls, node_ok=True):
    """check has ``code`` as an error; compile (both targets) and simulate raise ``cls``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = check(path)
        assert code in [f.code for f in report.findings if f.severity == "error"], report.as_dict()
        assert "internal-error" not in report.codes
        for target in TARGETS:
            report_t = check(path, target=target)
            assert code in report_t.codes and "internal-error" not in report_t.codes
            with pytest.raises(cls) as ei:
                nc.compile(path, target)
            assert "\n" not in ei.value.one_line()
        shape = _input_shape(path)
        with pytest.raises(cls):
            nc.simulate(nc.load(path), {"in": np.ones((1, 4, *shape))})


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_malformed_graph_is_refused(tmp_path, name):
    base, fn, code, cls = CLASSES[name]
    assert code in SANITY
    path = B.write_nir(tmp_path / f"{name}.nir", _mod(base, fn))
    _assert_refused(path, code, cls)


def test_affine_beyond_limit_is_not_read(tmp_path):
    """An Affine of 2 x 2e8 (a dataset never written: the file is tiny) is refused unread."""
    path = B.write_nir(tmp_path / "big.nir", B.lif_graph())
    with h5py.File(path, "a") as f:
        del f["node/nodes/fc/weight"]
        f["node/nodes/fc"].create_dataset("weight", shape=(2, 2 * 10**8), dtype="f8")
    assert path.stat().st_size < 10**6
    g = nc.load(path)
    w = g.nodes["fc"].params["weight"]
    assert w.shape == (2, 2 * 10**8) and w.size > ELEMENT_LIMIT and w.strides == (0, 0)
    _assert_refused(path, "size-limit", ResourceError)
    f = check(path).by_code("size-limit")[0]
    assert f.node == "fc" and "67,108,864" in f.message and "2**26" in f.message


def test_cli_prints_one_typed_line(tmp_path, capsys):
    from neurocompile.cli.main import main

    path = B.write_nir(tmp_path / "c.nir", _mod(B.lif_graph, _set("fc", weight=np.full((2, 3), 0.5 + 1j))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rc = main(["compile", str(path), "--target", "loihi2", "-o", str(tmp_path / "p.json")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "complex" in err, err


def test_given_dt_overrides_bad_metadata_dt(tmp_path):
    path = B.write_nir(tmp_path / "d.nir", _mod(B.lif_graph, _meta_dt("fast")))
    report = check(path, dt=1e-3)
    assert [(f.code, f.severity) for f in report.findings] == [("metadata-dt", "warning")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nc.simulate(nc.load(path), {"in": np.ones((1, 3, 3))}, dt=1e-3)


def test_loihi2_refuses_a_decay_it_cannot_quantize(tmp_path):
    """dt/tau = 1e17 is inside float32 but round(4096 dt/tau) leaves int64: a typed refusal."""
    path = B.write_nir(tmp_path / "t.nir", _mod(B.lif_graph, _set("lif", tau=np.full(2, 1e-20))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "loihi2-decay-range" in check(path, target="loihi2").codes
        with pytest.raises(ParameterError) as ei:
            nc.compile(path, "loihi2")
        assert ei.value.node == "lif" and ei.value.parameter == "tau"
        with pytest.raises(NeurocompileError):
            nc.compile(path, "spinnaker")


def test_reference_overflow_is_typed(tmp_path):
    """An unstable forward-Euler LI readout (dt/tau = 1e30) overflows float64: a typed error naming it."""
    g = B.lif_graph()
    g["nodes"]["lif"] = {"type": "LI", "tau": np.full(2, 1e-33), "r": np.ones(2), "v_leak": np.zeros(2)}
    path = B.write_nir(tmp_path / "li.nir", g)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NeurocompileError) as ei:
            nc.simulate(nc.load(path), {"in": np.ones((1, 20, 3))})
    assert ei.value.node == "lif"


def test_long_linear_chain(tmp_path):
    """10,000 nodes in a line: no RecursionError in load, check, compile or simulate."""
    n = 10_000
    nodes = {"in": {"type": "Input", "shape": np.array([2])}}
    edges, prev = [], "in"
    for i in range(n - 1):
        nodes[f"s{i}"] = {"type": "Scale", "scale": np.ones(2)}
        edges.append((prev, f"s{i}"))
        prev = f"s{i}"
    nodes["spk"] = {"type": "IF", "r": np.ones(2), "v_threshold": np.ones(2), "v_reset": np.zeros(2)}
    nodes["out"] = {"type": "Output", "shape": np.array([2])}
    edges += [(prev, "spk"), ("spk", "out")]
    path = B.write_nir(
        tmp_path / "chain.nir", {"type": "NIRGraph", "nodes": nodes, "edges": edges, "metadata": {"dt": 1.0}}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = nc.load(path)
        assert not check(g).has_errors
        nc.compile(g, "loihi2")
        res = nc.simulate(g, {"in": np.ones((1, 3, 2))})
    assert res.outputs["out"].shape == (1, 3, 2)


def _cuba(w_in):
    def fn(g):
        g["nodes"]["lif"] = {
            "type": "CubaLIF",
            "tau_mem": np.full(2, 1e-2),
            "tau_syn": np.full(2, 1e-2),
            "r": np.ones(2),
            "v_leak": np.zeros(2),
            "v_threshold": np.ones(2),
            "v_reset": np.zeros(2),
            "w_in": np.full(2, w_in),
        }

    return fn


@pytest.mark.parametrize(
    "target, weight, refused",
    [
        # Loihi 2: |w| x gain / v_threshold <= 255 << 8 = 65280 (gain dt/tau = 0.1)
        ("loihi2", 6.5e5, False),
        ("loihi2", 6.6e5, True),
        ("loihi2", 1e30, True),
        # SpiNNaker: worst-case input per tick (3 x 0.1 x w thresholds) <= 16384 x leak x 2**15
        ("spinnaker", 1e8, False),
        ("spinnaker", 1e9, True),
        ("spinnaker", 1e30, True),
    ],
)
def test_weight_beyond_chip_range_is_refused(tmp_path, target, weight, refused):
    """Weights the float model runs but a chip cannot express against the threshold (issue 17):
    check --target and compile refuse them naming the weight node and the limit."""
    path = B.write_nir(tmp_path / "w.nir", _mod(B.lif_graph, _set("fc", weight=np.full((2, 3), weight))))
    code = f"{target}-weight-range"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not check(path).has_errors  # representable in float64: only the chips refuse
        report = check(path, target=target)
        assert (code in [f.code for f in report.findings if f.severity == "error"]) == refused, (
            report.as_dict()
        )
        if not refused:
            nc.compile(path, target)
            return
        with pytest.raises(ParameterError) as ei:
            nc.compile(path, target)
    assert ei.value.node == "fc" and ei.value.parameter == "weight"
    assert ("65280" if target == "loihi2" else "s16.15") in str(ei.value)
    assert report.by_code(code)[0].node == "fc"


def test_spinnaker_refuses_a_synapse_beyond_the_ring_buffer(tmp_path):
    """w_in = 1e6 makes a 0.5 weight 3.4e5 nA: above 65535 nA (16-bit weight << shift 15)."""
    g = _mod(B.lif_graph, _cuba(1e6))
    path = B.write_nir(tmp_path / "c.nir", g)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ParameterError, match="65535 nA") as ei:
            nc.compile(path, "spinnaker")
        assert ei.value.node == "fc" and ei.value.parameter == "weight"
        nc.compile(B.write_nir(tmp_path / "ok.nir", _mod(B.lif_graph, _cuba(1.0))), "spinnaker")


def test_numpy_padding_in_a_graph_built_in_memory_is_a_finding_not_a_crash():
    """A Graph built in Python may carry numpy arrays where the loader gives tuples: the shape rule
    reports them instead of raising numpy's ambiguous-truth ValueError."""
    import neurocompile
    from neurocompile.ir import Graph, Node

    conv = {
        "weight": np.full((2, 1, 3, 3), 0.1),
        "bias": np.zeros(2),
        "stride": (1, 1),
        "padding": np.array([1, 1]),
        "dilation": (1, 1),
        "groups": 1,
        "input_shape": (4, 4),
    }
    g = Graph(
        nodes={
            "in": Node("in", "Input", {"shape": (1, 4, 4)}),
            "conv": Node("conv", "Conv2d", conv),
            "spk": Node("spk", "IF", {"r": np.ones((2, 4, 4)), "v_threshold": np.ones((2, 4, 4))}),
            "out": Node("out", "Output", {"shape": (2, 4, 4)}),
        },
        edges=[("in", "conv"), ("conv", "spk"), ("spk", "out")],
        metadata={"dt": 1.0},
    )
    rep = neurocompile.check(g)
    assert rep.readable and not any(f.code == "internal-error" for f in rep.findings)
