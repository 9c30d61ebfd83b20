"""Writers of small ``.nir`` files, valid and malformed, by hand with h5py.

The layout is the one every nir 1.0.x era writes: a dataset ``version`` and a group
``node`` holding the graph (``type``, ``nodes/<name>/...``, ``edges`` (N x 2 strings),
optional ``metadata``). Files are written without the ``nir`` package so that any era
(and any mistake) can be produced.

:data:`CASES` is the malformed corpus used by ``tests/test_check.py``: each case writes one
file and names the exact ``(code, node)`` findings ``check`` must return (all of them: the
base graphs below have no finding at all).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import h5py
import numpy as np

# ---------------------------------------------------------------------------- writer


def write_nir(
    path: Path, graph: dict[str, Any], version: str | bytes = "1.0.8", *, bytes_strings: bool = True
) -> Path:
    """Write ``graph`` (nested dict: ``type``, params, ``nodes``, ``edges``, ``metadata``).

    ``bytes_strings`` writes ``type`` as fixed bytes (old files) instead of a variable-length
    str dataset (newer h5py writers); edges are always variable-length strings.
    """
    with h5py.File(path, "w") as f:
        if version is not None:
            f.create_dataset("version", data=version)
        _write_group(f.create_group("node"), graph, bytes_strings)
    return Path(path)


def _write_group(group: h5py.Group, d: dict[str, Any], bytes_strings: bool) -> None:
    for key, val in d.items():
        if isinstance(val, dict):
            _write_group(group.create_group(str(key)), val, bytes_strings)
        elif key == "edges":
            arr = (
                np.array([[str(a), str(b)] for a, b in val], dtype=object).reshape(-1, 2)
                if len(val)
                else np.zeros((0, 2), dtype=object)
            )
            group.create_dataset(key, data=arr, dtype=h5py.string_dtype())
        elif isinstance(val, str):
            if bytes_strings:
                group.create_dataset(key, data=np.bytes_(val))
            else:
                group.create_dataset(key, data=val, dtype=h5py.string_dtype())
        else:
            group.create_dataset(key, data=val)


# ---------------------------------------------------------------------------- base graphs
def lif_graph() -> dict[str, Any]:
    """Input(3) -> Affine(2x3) -> LIF(2, with v_reset) -> Output(2), dt = 1e-3 in metadata.

    ``check`` finds nothing in it (no legacy reset, dt present, everything consistent).
    """
    return {
        "type": "NIRGraph",
        "nodes": {
            "in": {"type": "Input", "shape": np.array([3])},
            "fc": {"type": "Affine", "weight": np.full((2, 3), 0.5), "bias": np.zeros(2)},
            "lif": {
                "type": "LIF",
                "tau": np.full(2, 1e-2),
                "r": np.ones(2),
                "v_leak": np.zeros(2),
                "v_threshold": np.ones(2),
                "v_reset": np.zeros(2),
            },
            "out": {"type": "Output", "shape": np.array([2])},
        },
        "edges": [("in", "fc"), ("fc", "lif"), ("lif", "out")],
        "metadata": {"dt": 1e-3},
    }


def conv_graph() -> dict[str, Any]:
    """Input(2,8,8) -> Conv2d(4,2,3,3 s1 p1) -> IF(4,8,8) -> SumPool2d(2) -> Flatten -> Output(64)."""
    return {
        "type": "NIRGraph",
        "nodes": {
            "in": {"type": "Input", "shape": np.array([2, 8, 8])},
            "conv": {
                "type": "Conv2d",
                "weight": np.full((4, 2, 3, 3), 0.1),
                "bias": np.zeros(4),
                "stride": np.array([1, 1]),
                "padding": np.array([1, 1]),
                "dilation": np.array([1, 1]),
                "groups": 1,
                "input_shape": np.array([8, 8]),
            },
            "spk": {
                "type": "IF",
                "r": np.ones((4, 8, 8)),
                "v_threshold": np.ones((4, 8, 8)),
                "v_reset": np.zeros((4, 8, 8)),
            },
            "pool": {
                "type": "SumPool2d",
                "kernel_size": np.array([2, 2]),
                "stride": np.array([2, 2]),
                "padding": np.array([0, 0]),
            },
            "flat": {"type": "Flatten", "start_dim": 0, "end_dim": -1, "input_type": np.array([4, 4, 4])},
            "out": {"type": "Output", "shape": np.array([64])},
        },
        "edges": [("in", "conv"), ("conv", "spk"), ("spk", "pool"), ("pool", "flat"), ("flat", "out")],
        "metadata": {"dt": 1.0},
    }


# ---------------------------------------------------------------------------- corpus
@dataclass
class Case:
    """One malformed model: ``make(path)`` writes it; ``expected`` are all its findings."""

    name: str
    make: Callable[[Path], Path]
    expected: set[tuple[str, str | None]]
    check_kw: dict[str, Any] = field(default_factory=dict)
    readable: bool = True


def _mod(
    base: Callable[[], dict], fn: Callable[[dict], None], version: str = "1.0.8"
) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        g = copy.deepcopy(base())
        fn(g)
        return write_nir(path, g, version)

    return make


def _set(node: str, **params: Any) -> Callable[[dict], None]:
    def fn(g: dict) -> None:
        g["nodes"][node].update(params)

    return fn


def _drop(node: str, key: str) -> Callable[[dict], None]:
    def fn(g: dict) -> None:
        del g["nodes"][node][key]

    return fn


def _set_meta(**meta: Any) -> Callable[[dict], None]:
    def fn(g: dict) -> None:
        g["metadata"].update(meta)

    return fn


def _collide(g: dict) -> None:
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


def _remove_node(node: str) -> Callable[[dict], None]:
    def fn(g: dict) -> None:
        del g["nodes"][node]
        g["edges"] = [e for e in g["edges"] if node not in e]

    return fn


def _add(
    nodes: dict[str, dict], edges: list[tuple[str, str]], drop_edges: tuple = ()
) -> Callable[[dict], None]:
    def fn(g: dict) -> None:
        g["nodes"].update(nodes)
        g["edges"] = [e for e in g["edges"] if e not in drop_edges] + list(edges)

    return fn


def _write_text(path: Path) -> Path:
    path.write_text("this is not an HDF5 file\n")
    return path


def _write_no_node(path: Path) -> Path:
    with h5py.File(path, "w") as f:
        f.create_dataset("version", data="1.0.8")
    return path


def _write_truncated(path: Path) -> Path:
    full = write_nir(path.with_suffix(".full.nir"), lif_graph())
    path.write_bytes(full.read_bytes()[:600])
    return path


def _write_bad_edges(path: Path) -> Path:
    g = lif_graph()
    del g["edges"]
    write_nir(path, g)
    with h5py.File(path, "a") as f:
        f["node"].create_dataset(
            "edges", data=np.array([["in", "fc", "lif"]], dtype=object), dtype=h5py.string_dtype()
        )
    return path


def _write_nested_dangling(path: Path) -> Path:
    """Like the NIR paper's broken Braille ``*_subgraph.nir``: an inner edge names a node
    ('lif') that the subgraph calls 'lif1'."""
    g = lif_graph()
    inner_lif = g["nodes"].pop("lif")
    g["nodes"]["sub"] = {
        "type": "NIRGraph",
        "nodes": {
            "input": {"type": "Input", "shape": np.array([2])},
            "lif1": inner_lif,
            "output": {"type": "Output", "shape": np.array([2])},
        },
        "edges": [("input", "lif"), ("lif", "output")],
    }
    g["edges"] = [("in", "fc"), ("fc", "sub"), ("sub", "out")]
    return write_nir(path, g)


def _missing(path: Path) -> Path:
    return path.with_name("does_not_exist.nir")


def _write_onnx_sigmoid(path: Path) -> Path:
    """An ONNX MLP Gemm -> Sigmoid -> Gemm: Sigmoid has no IF equivalent (onnx imported lazily)."""
    from onnx import TensorProto, helper, numpy_helper

    w1, w2 = (
        numpy_helper.from_array(np.ones((3, 2), np.float32), "w1"),
        numpy_helper.from_array(np.ones((2, 3), np.float32), "w2"),
    )
    nodes = [
        helper.make_node("Gemm", ["x", "w1"], ["h"], name="fc1", transB=1),
        helper.make_node("Sigmoid", ["h"], ["s"], name="act1"),
        helper.make_node("Gemm", ["s", "w2"], ["y"], name="fc2", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [w1, w2],
    )
    out = path.with_suffix(".onnx")
    out.write_bytes(helper.make_model(graph).SerializeToString())
    return out


SCALE2 = {"type": "Scale", "scale": np.ones(2)}

CASES: list[Case] = [
    Case("missing-file", _missing, {("unreadable", None)}, readable=False),
    Case("not-hdf5", _write_text, {("unreadable", None)}, readable=False),
    Case("hdf5-without-node", _write_no_node, {("unreadable", None)}, readable=False),
    Case("truncated-hdf5", _write_truncated, {("unreadable", None)}, readable=False),
    Case("edges-not-pairs", _write_bad_edges, {("unreadable", None)}, readable=False),
    Case(
        "unknown-kind",
        _mod(
            lif_graph,
            _add(
                {"soft": {"type": "Softmax", "dim": 0}},
                [("fc", "soft"), ("soft", "lif")],
                drop_edges=(("fc", "lif"),),
            ),
        ),
        {("unsupported-primitive", "soft")},
    ),
    Case(
        "untyped-node",
        _mod(lif_graph, _add({"blob": {"weight": np.ones(2)}}, [("lif", "blob"), ("blob", "out")])),
        {("unsupported-primitive", "blob")},
    ),
    Case("dangling-edge", _mod(lif_graph, _add({}, [("lif", "ghost")])), {("dangling-edge", "ghost")}),
    Case(
        "nested-dangling-edge",
        _write_nested_dangling,
        {
            ("dangling-edge", "sub.lif"),
            ("unreachable-node", "sub.lif1"),
            ("unreachable-node", "fc"),
            ("unreachable-node", "in"),
            ("unreachable-node", "out"),
        },
    ),
    Case("no-input", _mod(lif_graph, _remove_node("in")), {("no-input", None)}),
    Case("no-output", _mod(lif_graph, _remove_node("out")), {("no-output", None)}),
    Case(
        "orphan-node",
        _mod(lif_graph, _add({"orphan": {"type": "Scale", "scale": np.ones(2)}}, [])),
        {("unreachable-node", "orphan")},
    ),
    Case(
        "dead-end",
        _mod(lif_graph, _add({"side": {"type": "Linear", "weight": np.ones((4, 2))}}, [("lif", "side")])),
        {("unreachable-node", "side")},
    ),
    Case(
        "weight-out-mismatch",
        _mod(lif_graph, _set("fc", weight=np.ones((4, 3)), bias=np.zeros(4))),
        {("shape-mismatch", "lif")},
    ),
    Case(
        "stale-output-shape",
        _mod(lif_graph, _set("out", shape=np.array([3]))),
        {("shape-mismatch", "out")},
    ),
    # tolerant ingest (neurocompile.ingest): repaired, and said as an info finding
    Case(
        "output-batch-time-dims",
        _mod(lif_graph, _set("out", shape=np.array([1, 1, 2]))),
        {("ingest-repair", "out")},
    ),
    Case(
        "input-batch-dim",
        _mod(lif_graph, _set("in", shape=np.array([1, 3]))),
        {("ingest-repair", "in")},
    ),
    Case(
        "input-shape-missing",
        _mod(lif_graph, _drop("in", "shape")),
        {("ingest-repair", "in")},
    ),
    Case(
        "identity-node",
        _mod(
            lif_graph,
            _add(
                {"ident": {"type": "Identity"}},
                [("fc", "ident"), ("ident", "lif")],
                drop_edges=(("fc", "lif"),),
            ),
        ),
        {("ingest-repair", "ident")},
    ),
    # framework conventions (neurocompile.frameworks)
    Case(
        "looks-snntorch-exported",
        _mod(lif_graph, _set("lif", tau=np.full(2, 1e-3), r=np.full(2, 10.0))),
        {("framework-unchosen", None)},
    ),
    Case(
        "framework-declared",
        _mod(lif_graph, _set("lif", tau=np.full(2, 1e-3), r=np.full(2, 10.0))),
        {("framework-conventions", None)},
        check_kw={"framework": "snntorch"},
    ),
    Case(
        "summed-inputs-differ",
        _mod(
            lif_graph,
            _add({"fc3": {"type": "Linear", "weight": np.ones((4, 3))}}, [("in", "fc3"), ("fc3", "lif")]),
        ),
        {("shape-mismatch", "lif")},
    ),
    Case(
        "neuron-params-differ", _mod(lif_graph, _set("lif", tau=np.full(3, 1e-2))), {("param-shape", "lif")}
    ),
    Case("weight-3d", _mod(lif_graph, _set("fc", weight=np.ones((1, 2, 3)))), {("param-shape", "fc")}),
    Case("bias-length", _mod(lif_graph, _set("fc", bias=np.zeros(3))), {("param-shape", "fc")}),
    Case("param-missing", _mod(lif_graph, _drop("lif", "tau")), {("param-missing", "lif")}),
    Case(
        "nan-weight",
        _mod(lif_graph, _set("fc", weight=np.array([[0.5, np.nan, 0.5], [0.5, 0.5, 0.5]]))),
        {("nan-inf", "fc")},
    ),
    Case(
        "inf-threshold",
        _mod(lif_graph, _set("lif", v_threshold=np.array([1.0, np.inf]))),
        {("nan-inf", "lif")},
    ),
    Case("zero-tau", _mod(lif_graph, _set("lif", tau=np.array([1e-2, 0.0]))), {("nonpositive-tau", "lif")}),
    Case("negative-r", _mod(lif_graph, _set("lif", r=np.array([1.0, -1.0]))), {("nonpositive-r", "lif")}),
    Case(
        "zero-threshold",
        _mod(lif_graph, _set("lif", v_threshold=np.zeros(2))),
        {("threshold-nonpositive", "lif")},
    ),
    Case("no-dt", _mod(lif_graph, lambda g: g.pop("metadata")), {("missing-dt", None)}),
    Case(
        "negative-dt", _mod(lif_graph, lambda g: g["metadata"].update(dt=-1e-3)), {("nonpositive-dt", None)}
    ),
    Case("given-dt-zero", _mod(lif_graph, lambda g: None), {("nonpositive-dt", None)}, check_kw={"dt": 0.0}),
    Case(
        "legacy-reset", _mod(lif_graph, _drop("lif", "v_reset"), version="0.2.0"), {("legacy-reset", "lif")}
    ),
    Case(
        "reset-override",
        _mod(lif_graph, lambda g: None),
        {("reset-override", "lif")},
        check_kw={"reset": "subtract"},
    ),
    Case(
        "unknown-reset",
        _mod(lif_graph, lambda g: None),
        {("unknown-reset", None)},
        check_kw={"reset": "soft"},
    ),
    Case("tau-in-steps", _mod(lif_graph, _set("lif", tau=np.full(2, 20.0))), {("sinabs-tau-steps", "lif")}),
    Case("tau-below-dt", _mod(lif_graph, _set("lif", tau=np.full(2, 1e-5))), {("norse-tau-export", "lif")}),
    Case(
        "delay-fraction",
        _mod(
            lif_graph,
            _add(
                {"d": {"type": "Delay", "delay": np.array([1.5e-3, 1e-3])}},
                [("lif", "d"), ("d", "out")],
                drop_edges=(("lif", "out"),),
            ),
        ),
        {("delay-not-integer-steps", "d")},
    ),
    Case(
        "delay-negative",
        _mod(
            lif_graph,
            _add(
                {"d": {"type": "Delay", "delay": np.array([-1e-3, 0.0])}},
                [("lif", "d"), ("d", "out")],
                drop_edges=(("lif", "out"),),
            ),
        ),
        {("negative-delay", "d")},
    ),
    Case(
        "stateless-cycle",
        _mod(
            lif_graph,
            _add(
                {"s1": dict(SCALE2), "s2": dict(SCALE2)},
                [("lif", "s1"), ("s1", "s2"), ("s2", "s1"), ("s1", "out")],
                drop_edges=(("lif", "out"),),
            ),
        ),
        {("cycle-without-neuron", "s1")},
    ),
    Case("duplicate-edge", _mod(lif_graph, _add({}, [("fc", "lif")])), {("duplicate-edge", "lif")}),
    Case(
        "conv-channels", _mod(conv_graph, _set("in", shape=np.array([3, 8, 8]))), {("shape-mismatch", "conv")}
    ),
    Case(
        "conv-too-small",
        _mod(
            conv_graph,
            lambda g: (
                _set("conv", padding=np.array([0, 0]), input_shape=np.array([2, 2]))(g),
                _set("in", shape=np.array([2, 2, 2]))(g),
            ),
        ),
        {("shape-mismatch", "conv")},
    ),
    Case(
        "conv-zero-stride", _mod(conv_graph, _set("conv", stride=np.array([0, 0]))), {("param-shape", "conv")}
    ),
    Case(
        "pool-on-vector",
        _mod(
            conv_graph,
            _add(
                {
                    "pool2": {
                        "type": "AvgPool2d",
                        "kernel_size": np.array([2, 2]),
                        "stride": np.array([2, 2]),
                        "padding": np.array([0, 0]),
                    }
                },
                [("flat", "pool2"), ("pool2", "out")],
                drop_edges=(("flat", "out"),),
            ),
        ),
        {("shape-mismatch", "pool2")},
    ),
    Case("flatten-dims", _mod(conv_graph, _set("flat", start_dim=5)), {("shape-mismatch", "flat")}),
    Case(
        "unknown-target",
        _mod(lif_graph, lambda g: None),
        {("unknown-target", None)},
        check_kw={"target": "truenorth"},
    ),
    Case("onnx-sigmoid", _write_onnx_sigmoid, {("unsupported-onnx-op", "act1"), ("legacy-reset", "if0")}),
    # graph sanity (issue 17; tests/test_graph_sanity.py checks compile/simulate refuse them)
    Case("no-nodes", _mod(lif_graph, lambda g: g.update(nodes={}, edges=[])), {("empty-graph", None)}),
    Case("name-collision", _mod(lif_graph, _collide), {("name-collision", "sub.lif")}),
    Case("metadata-dt-string", _mod(lif_graph, _set_meta(dt="fast")), {("metadata-dt", None)}),
    Case(
        "complex-weight",
        _mod(lif_graph, _set("fc", weight=np.full((2, 3), 0.5 + 1j))),
        {("param-complex", "fc")},
    ),
    Case("string-threshold", _mod(lif_graph, _set("lif", v_threshold="1.0")), {("param-not-numeric", "lif")}),
    Case(
        "huge-weight", _mod(lif_graph, _set("fc", weight=np.full((2, 3), 1e300))), {("param-magnitude", "fc")}
    ),
    Case(
        "tiny-tau",
        _mod(lif_graph, _set("lif", tau=np.full(2, 1e-300))),
        {("tau-dt-ratio", "lif"), ("norse-tau-export", "lif")},
    ),
    Case(
        "if-1e8-neurons",
        _mod(
            lif_graph,
            lambda g: (
                _set("in", shape=np.array([10**8]))(g),
                _set("out", shape=np.array([10**8]))(g),
                g["nodes"].update(
                    fc={"type": "Scale", "scale": np.array(1.0)},
                    lif={
                        "type": "IF",
                        "r": np.array(1.0),
                        "v_threshold": np.array(1.0),
                        "v_reset": np.array(0.0),
                    },
                ),
            ),
        ),
        {("size-limit", n) for n in ("in", "fc", "lif", "out")},
    ),
]
