"""Loading models into neurocompile's flat :class:`~neurocompile.ir.Graph`.

``load(x)`` accepts

* a path (``str`` / ``Path``) to a ``.nir`` file of any nir 1.0.x era. The HDF5 is read
  here with h5py, never with ``nir.read`` (nir 1.0.4 knows neither ``v_reset`` nor
  ``CubaLI``, and old files differ: version ``0.1.1`` / ``0.2.0`` / ``1.0.x``, Flatten
  ``input_type``, strings stored as bytes or str);
* a ``nir.NIRGraph`` (or any single ``nir`` node) of any installed nir version, read
  through its dataclass fields;
* a norse or sinabs ``torch.nn.Module`` together with ``sample_input``: the framework's own
  exporter is called (``norse.torch.to_nir`` / ``sinabs.to_nir``) and its conventions are
  recorded in ``Graph.conventions``;
* an snnTorch, rockpool or spikingjelly module with ``sample_input``: read directly, without
  their exporters or the nir package (:mod:`neurocompile.framework_modules`);
* an already loaded :class:`Graph` (returned unchanged).

Normalisation (what downstream passes may rely on):

* node kinds are the NIR type names; unknown kinds are kept as nodes of that kind so that
  ``check`` can report them;
* neuron parameters, ``weight``, ``bias``, ``scale``, ``threshold`` and ``delay`` are
  float64 arrays; ``Input`` / ``Output`` carry ``params["shape"]`` as a tuple of ints;
  ``Flatten`` carries ``start_dim`` / ``end_dim`` ints and ``input_shape`` (the file's
  ``input_type``, a tuple or ``None``);
* ``Conv1d`` / ``Conv2d``: ``stride``, ``dilation`` and integer ``padding`` are tuples with
  one entry per spatial dimension (an int becomes a pair for 2d, a 1-tuple for 1d);
  ``'same'`` / ``'valid'`` padding stays a string; ``groups`` an int; ``input_shape`` (the
  *spatial* input size, as NIR stores it) a tuple or ``None``; ``bias`` ``None`` if absent;
* ``SumPool2d`` / ``AvgPool2d``: ``kernel_size``, ``stride``, ``padding`` are int pairs;
  a missing ``stride`` defaults to ``kernel_size`` (PyTorch's convention);
* spiking nodes (IF, LIF, CubaLIF) without ``v_reset`` get **no** ``v_reset`` and are
  listed in ``Graph.legacy_reset`` (the file predates ``v_reset``; reset then meant
  subtraction; nothing is guessed). ``CubaLI`` / ``CubaLIF`` without ``w_in`` get no
  ``w_in`` (the NIR default, 1, is the simulator's business);
* nested ``NIRGraph`` nodes are flattened with dotted names (``outer.inner``); edges into /
  out of a subgraph are rewired through its ``Input`` / ``Output`` nodes, which are
  dropped. An edge may also address an inner node directly as ``"G.B"``.

Then shapes are inferred (:func:`neurocompile.shapes.infer_shapes`). ``load`` raises
:class:`ModelLoadError` when the input cannot be read at all and :class:`GraphError` when an
edge names a node that does not exist (the graph cannot be interpreted); every other
structural problem (shape mismatch, missing parameter, unsupported primitive) still loads,
for :func:`neurocompile.check` to report. ``check`` itself uses :func:`load_graph`, which
does not raise for dangling edges either.

ONNX models (a ``.onnx`` path or an ``onnx.ModelProto``) are converted to an SNN of IF
neurons by :mod:`neurocompile.onnx_frontend`.

Knowingly incomplete: a node-level ``metadata`` that is not
a flat group is kept as a nested dict as read.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import GraphError, ModelLoadError, UnsupportedError
from .ir import ELEMENT_LIMIT, NEURON_ARRAY_PARAMS, PRIMITIVES, Graph, Node

__all__ = ["load", "load_graph", "dangling_edges", "SPIKING_WITH_RESET"]

#: Kinds whose ``v_reset`` was introduced by NIR PR #129; absent means a legacy file.
SPIKING_WITH_RESET = frozenset({"IF", "LIF", "CubaLIF"})

#: Parameters converted to float64 arrays (besides the neuron parameters).
_FLOAT_ARRAY_PARAMS = frozenset({"weight", "bias", "scale", "threshold", "delay"})

_UNTYPED = "<untyped>"

#: The ``dt`` passed to ``norse.torch.to_nir`` (its default); recorded in Graph.conventions.
NORSE_EXPORT_DT = 1e-3


# ---------------------------------------------------------------------------- public API
def load(
    x: Any,
    sample_input: Any = None,
    *,
    framework: str | None = None,
    calibration: Any = None,
    **onnx_options: Any,
) -> Graph:
    """Load ``x`` (``.nir`` path, ``nir`` graph, norse/sinabs module, ONNX model) into a flat ``Graph``.

    Raises :class:`ModelLoadError` for unreadable input and :class:`GraphError` for an edge
    whose endpoint is not a node. Shapes are inferred; shape problems do not raise (see
    :func:`neurocompile.check`). An ONNX model (``.onnx`` path or ``onnx.ModelProto``) is
    converted to IF neurons by :func:`neurocompile.onnx_frontend.convert` with ``calibration``
    (ANN inputs for threshold balancing) and ``onnx_options`` (``percentile``, ``input_max``);
    its unsupported operators raise :class:`UnsupportedError` naming them all.

    ``framework``: for a module, which framework it comes from (detected from its classes
    otherwise); for a file or ``nir`` object, whose conventions the graph follows
    (``Graph.conventions["framework_declared"]``, used by ``simulate``/``compile``/``check``;
    :mod:`neurocompile.frameworks`). Files and ``nir`` objects are repaired where exporters break
    NIR's rules (:mod:`neurocompile.ingest`; each repair is a ``check`` finding).
    """
    graph = load_graph(x, sample_input, framework=framework, calibration=calibration, **onnx_options)
    if graph.conventions.get("onnx_unsupported"):
        from .onnx_frontend import SUPPORTED_OPS, UnsupportedOp

        ops = [UnsupportedOp(**u) for u in graph.conventions["onnx_unsupported"]]
        raise UnsupportedError(
            f"{len(ops)} unsupported ONNX operator(s): " + "; ".join(u.describe() for u in ops),
            node=ops[0].node,
            parameter="op_type",
            expected="operators among " + ", ".join(SUPPORTED_OPS),
        )
    bad = dangling_edges(graph)
    if bad:
        (src, dst), missing = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise GraphError(
            f"edge ('{src}', '{dst}') in {graph.source} refers to node '{missing}', "
            f"which does not exist{more}",
            node=missing,
            expected="edge endpoints that are nodes of the graph",
        )
    return graph


def load_graph(
    x: Any,
    sample_input: Any = None,
    *,
    framework: str | None = None,
    calibration: Any = None,
    **onnx_options: Any,
) -> Graph:
    """Like :func:`load` but keeps dangling edges and unsupported ONNX ops (for ``check``)."""
    from .onnx_frontend import convert as convert_onnx
    from .onnx_frontend import is_onnx_model
    from .shapes import infer_shapes

    if isinstance(x, Graph):
        graph = x
    elif is_onnx_model(x):
        graph = convert_onnx(x, calibration, strict=False, **onnx_options)
    elif isinstance(x, (str, os.PathLike)):
        graph = _load_path(Path(x))
    elif _is_nir_object(x):
        graph = _build_graph(
            _nir_obj_to_raw(x), source=f"<{type(x).__name__}>", nir_version=_nir_installed_version()
        )
    elif _is_torch_module(x):
        graph = _load_module(x, sample_input, framework)
    else:
        raise ModelLoadError(
            f"cannot load an object of type {type(x).__module__}.{type(x).__name__}",
            expected="a .nir path, a nir.NIRGraph, or a norse/sinabs torch module with sample_input",
        )
    if not isinstance(x, Graph) and graph.conventions.get("framework") != "onnx":
        from .ingest import repair

        repair(graph)
    if framework is not None and not _is_torch_module(x):
        from .frameworks import declare

        declare(graph, framework)
    infer_shapes(graph)
    return graph


def dangling_edges(graph: Graph) -> list[tuple[tuple[str, str], str]]:
    """Edges with an endpoint that is not a node, as ``((src, dst), missing_name)``."""
    out = []
    for src, dst in graph.edges:
        for end in (src, dst):
            if end not in graph.nodes:
                out.append(((src, dst), end))
                break
    return out


# ---------------------------------------------------------------------------- files
def _load_path(path: Path) -> Graph:
    import h5py

    if not path.exists():
        raise ModelLoadError(f"file not found: {path}", expected="an existing .nir file")
    if path.is_dir():
        raise ModelLoadError(f"{path} is a directory", expected="a .nir (HDF5) file")
    try:
        fh = h5py.File(path, "r")
    except Exception as exc:  # h5py raises OSError for non-HDF5, others for truncated files
        raise ModelLoadError(
            f"cannot read {path} as HDF5 ({' '.join(str(exc).split())})", expected="a .nir (HDF5) file"
        ) from None
    try:
        with fh:
            if "node" not in fh or not isinstance(fh["node"], h5py.Group):
                raise ModelLoadError(
                    f"{path} is HDF5 but has no 'node' group, so it is not a NIR file",
                    expected="a .nir file written by nir.write",
                )
            version = None
            if "version" in fh:
                item = fh["version"]
                version = _to_str(item[()]) if isinstance(item, h5py.Dataset) else item
                if not isinstance(version, str):
                    # the version names the file's nir era (legacy reset, messages): never guessed
                    raise ModelLoadError(
                        f"{path}: the 'version' field is {_describe(version)}, not a version string",
                        parameter="version",
                        expected='a string such as "1.0.8", as nir.write stores it',
                    )
            raw = _h5_to_dict(fh["node"])
    except ModelLoadError:
        raise
    except Exception as exc:  # corrupt datasets, unreadable compression filters...
        raise ModelLoadError(
            f"cannot read {path}: {' '.join(str(exc).split())}", expected="a readable .nir file"
        ) from None
    return _build_graph(raw, source=str(path), nir_version=version)


def _h5_to_dict(group: Any) -> dict[str, Any]:
    import h5py

    out: dict[str, Any] = {}
    for key, item in group.items():
        if isinstance(item, h5py.Group):
            out[key] = _h5_to_dict(item)
        elif item.size is not None and item.size > ELEMENT_LIMIT:
            out[key] = _placeholder(item.shape)  # never read: check reports size-limit
        else:
            out[key] = _to_str(item[()])
    return out


def _placeholder(shape: tuple[int, ...]) -> np.ndarray:
    """A read-only float64 array of ``shape`` that takes no memory (zeros, stride 0): stands for
    a dataset or parameter larger than :data:`~neurocompile.ir.ELEMENT_LIMIT`, so that shapes
    are still inferred while ``check`` reports ``size-limit`` and compile/simulate refuse."""
    return np.broadcast_to(np.zeros((), dtype=np.float64), tuple(int(d) for d in shape))


def _to_str(v: Any) -> Any:
    """Decode bytes (scalars and object/bytes arrays) into str; other values unchanged."""
    if isinstance(v, bytes):
        try:
            return v.decode("utf8")
        except UnicodeDecodeError:
            return v
    if isinstance(v, np.ndarray) and (v.dtype.kind == "S" or v.dtype == object):
        if v.ndim == 0:
            return _to_str(v.item())
        return np.array([_to_str(e) for e in v.reshape(-1)], dtype=object).reshape(v.shape)
    return v


def _describe(v: Any) -> str:
    """A short description of a value that should have been a string, for load errors."""
    if isinstance(v, bytes):
        return "bytes that are not UTF-8"
    if isinstance(v, (int, float, complex, np.generic)):
        v = np.asarray(v)
    if isinstance(v, np.ndarray):
        kind = "string" if v.dtype == object else str(v.dtype)
        a = "an" if kind[0] in "aeiou" else "a"
        if v.ndim == 0:
            return f"{a} {kind} scalar ({v.item()!r})"
        return f"{a} {kind} array of shape {v.shape}"
    if type(v).__module__.startswith("h5py"):
        return "an HDF5 group"
    return f"a {type(v).__name__}"


# ---------------------------------------------------------------------------- nir objects
def _is_nir_object(x: Any) -> bool:
    mod = type(x).__module__ or ""
    return mod == "nir" or mod.startswith("nir.")


def _nir_installed_version() -> str | None:
    try:
        import nir

        return str(getattr(nir, "version", None) or getattr(nir, "__version__", None))
    except Exception:  # pragma: no cover - only reached when an object exists without nir
        return None


def _nir_obj_to_raw(obj: Any) -> dict[str, Any]:
    """A nir node object (any nir version) as the same nested dict a file gives."""
    kind = type(obj).__name__
    if kind == "NIRGraph":
        nodes = getattr(obj, "nodes", {}) or {}
        return {
            "type": kind,
            "nodes": {str(k): _nir_obj_to_raw(v) for k, v in nodes.items()},
            "edges": [tuple(e) for e in (getattr(obj, "edges", []) or [])],
            "metadata": dict(getattr(obj, "metadata", {}) or {}),
        }
    raw: dict[str, Any] = {"type": kind}
    if dataclasses.is_dataclass(obj):
        names = [f.name for f in dataclasses.fields(obj)]
    else:
        names = [k for k in vars(obj) if not k.startswith("_")]
    for name in names:
        if name in ("input_type", "output_type"):
            continue
        raw[name] = getattr(obj, name)
    in_t = getattr(obj, "input_type", None) or {}
    out_t = getattr(obj, "output_type", None) or {}
    if kind == "Input":
        raw["shape"] = next(iter(in_t.values()), None) if isinstance(in_t, Mapping) else in_t
    elif kind == "Output":
        raw["shape"] = next(iter(out_t.values()), None) if isinstance(out_t, Mapping) else out_t
    elif kind == "Flatten":
        raw["input_type"] = in_t.get("input") if isinstance(in_t, Mapping) else in_t
    return raw


# ---------------------------------------------------------------------------- flattening
def _build_graph(
    raw: dict[str, Any], *, source: str, nir_version: str | None, conventions: dict[str, Any] | None = None
) -> Graph:
    kind = _to_str(raw.get("type"))
    if kind is not None and not isinstance(kind, str):
        raise ModelLoadError(
            f"{source}: the root group's 'type' field is {_describe(kind)}, not a node type name",
            parameter="type",
            expected='the string "NIRGraph", or a primitive name such as "LIF"',
        )
    if kind != "NIRGraph" and "nodes" not in raw:
        # A file holding a single primitive: wrap it so check can report what is missing.
        name = str(kind or "node").lower()
        raw = {"type": "NIRGraph", "nodes": {name: raw}, "edges": []}
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str]] = []
    boundary: list[str] = []
    problems: list[tuple[str, str | None, str]] = []
    _flatten(raw, "", nodes, edges, boundary, source, problems)
    for b in boundary:
        _bypass(b, nodes, edges)
    legacy = tuple(
        n.name for n in nodes.values() if n.kind in SPIKING_WITH_RESET and "v_reset" not in n.params
    )
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    return Graph(
        nodes=nodes,
        edges=edges,
        metadata=_plain_metadata(metadata),
        source=source,
        nir_version=nir_version,
        legacy_reset=legacy,
        conventions=dict(conventions or {}),
        load_problems=problems,
    )


def _flatten(
    raw: dict[str, Any],
    prefix: str,
    nodes: dict[str, Node],
    edges: list[tuple[str, str]],
    boundary: list[str],
    source: str,
    problems: list[tuple[str, str | None, str]],
) -> None:
    """Add the nodes/edges of graph ``raw`` with names prefixed by ``prefix``.

    Nested graphs are expanded recursively; their Input/Output nodes are added under their
    dotted names and remembered in ``boundary`` so that the caller can bypass them. A dotted
    name that is already taken (a node ``"a.b"`` beside a subgraph ``a`` holding ``b``) is a
    ``name-collision`` problem; the first node keeps the name.
    """
    sub_nodes = raw.get("nodes")
    if not isinstance(sub_nodes, dict):
        sub_nodes = {}
    subgraphs: dict[str, dict[str, Any]] = {}
    for name, child in sub_nodes.items():
        full = prefix + str(name)
        if full in nodes:
            problems.append(
                (
                    "name-collision",
                    full,
                    f"two nodes are named '{full}' once nested graphs are flattened into dotted "
                    f"names; the node '{name}' of graph '{prefix.rstrip('.') or '<root>'}' is "
                    "dropped (rename one of them)",
                )
            )
            continue
        if not isinstance(child, dict):
            nodes[full] = Node(name=full, kind=_UNTYPED, params={"value": child})
            continue
        kind = _to_str(child.get("type"))
        if kind == "NIRGraph" or (kind is None and "nodes" in child):
            subgraphs[str(name)] = child
            _flatten(child, full + ".", nodes, edges, boundary, source, problems)
            for inner, inner_raw in (child.get("nodes") or {}).items():
                if isinstance(inner_raw, dict) and _to_str(inner_raw.get("type")) in ("Input", "Output"):
                    boundary.append(f"{full}.{inner}")
            continue
        nodes[full] = _make_node(full, child)

    for src, dst in _edge_pairs(raw.get("edges"), prefix, source):
        srcs = _resolve_endpoint(src, subgraphs, "Output")
        dsts = _resolve_endpoint(dst, subgraphs, "Input")
        for s in srcs:
            for d in dsts:
                edges.append((prefix + s, prefix + d))


def _resolve_endpoint(name: str, subgraphs: dict[str, dict[str, Any]], boundary_kind: str) -> list[str]:
    """An edge endpoint at one graph level -> names relative to that level.

    ``G`` (a subgraph) becomes its Input (for a destination) or Output (for a source)
    nodes ``G.<io>``; ``G.B`` is kept (it addresses B inside G); anything else unchanged.
    """
    if name in subgraphs:
        inner = subgraphs[name].get("nodes") or {}
        ios = [
            f"{name}.{k}"
            for k, v in inner.items()
            if isinstance(v, dict) and _to_str(v.get("type")) == boundary_kind
        ]
        return ios or [name]  # no boundary node: leave it dangling, check will say so
    return [name]


def _edge_pairs(edges: Any, prefix: str, source: str) -> list[tuple[str, str]]:
    if edges is None:
        return []
    if isinstance(edges, np.ndarray) or isinstance(edges, (list, tuple)):
        arr = np.asarray(_to_str(np.asarray(edges, dtype=object)), dtype=object)
    else:
        raise ModelLoadError(
            f"{source}: graph '{prefix.rstrip('.') or '<root>'}' has edges of type {type(edges).__name__}",
            expected="an N x 2 array of node names",
        )
    if arr.size == 0:
        return []
    if arr.size % 2 != 0 or (arr.ndim >= 2 and arr.shape[-1] != 2):
        raise ModelLoadError(
            f"{source}: edges of graph '{prefix.rstrip('.') or '<root>'}' have shape {arr.shape}",
            expected="an N x 2 array of node names",
        )
    return [(str(_to_str(a)), str(_to_str(b))) for a, b in arr.reshape(-1, 2)]


def _bypass(name: str, nodes: dict[str, Node], edges: list[tuple[str, str]]) -> None:
    """Remove node ``name`` (an inner Input/Output), connecting its predecessors to its successors."""
    preds = [s for s, d in edges if d == name and s != name]
    succs = [d for s, d in edges if s == name and d != name]
    kept = [e for e in edges if name not in e]
    new = [(p, s) for p in preds for s in succs]
    edges[:] = kept + new  # no dedupe: two paths into a node are two summed inputs
    nodes.pop(name, None)


# ---------------------------------------------------------------------------- one node
def _make_node(name: str, raw: dict[str, Any]) -> Node:
    kind = _to_str(raw.get("type"))
    kind = str(kind) if kind is not None else _UNTYPED
    meta = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    params: dict[str, Any] = {}
    for key, val in raw.items():
        if key in ("type", "metadata"):
            continue
        if hasattr(val, "detach") and hasattr(val, "numpy"):  # a torch tensor from an exporter
            val = val.detach().cpu().numpy()
        params[key] = _to_str(val)
    if kind in PRIMITIVES:
        params = _normalize(kind, params)
    return Node(name=name, kind=kind, params=params, metadata=_plain_metadata(meta))


def _as_float_array(v: Any) -> Any:
    """A real numeric value as a float64 array. Anything else is returned as is, without a
    numpy warning, for ``check`` to report: complex values (``param-complex``, never silently
    cast to their real part), strings, bytes and object/compound arrays (``param-not-numeric``,
    even a string such as ``"1.5"``); arrays beyond the element limit become a placeholder of
    their shape (``size-limit``)."""
    if v is None or isinstance(v, (str, bytes)):
        return v
    try:
        arr = np.asarray(v)
    except Exception:  # noqa: BLE001 - ragged sequences and odd objects: check reports them
        return v
    if arr.size > ELEMENT_LIMIT:
        return _placeholder(arr.shape)
    if arr.dtype.kind == "O" and all(
        isinstance(e, (int, float, np.integer, np.floating)) and not isinstance(e, bool)
        for e in arr.reshape(-1)
    ):
        return arr.astype(np.float64)
    if arr.dtype.kind not in "biuf":
        return arr
    return np.array(arr, dtype=np.float64)


def _as_shape(v: Any) -> tuple[int, ...] | None:
    if v is None:
        return None
    if isinstance(v, Mapping):  # a nir 1.0.8-style {"input": shape} dict
        v = next(iter(v.values()), None)
        if v is None:
            return None
    try:
        arr = np.asarray(v)
        if arr.dtype.kind not in "iuf" or arr.ndim > 1:
            return None
        vals = [float(e) for e in arr.reshape(-1)]
        if any(not np.isfinite(e) or e != int(e) for e in vals):
            return None
        return tuple(int(e) for e in vals)
    except (TypeError, ValueError):
        return None


def _as_int(v: Any) -> Any:
    try:
        arr = np.asarray(v)
        if arr.size == 1 and arr.dtype.kind in "iuf" and float(arr.reshape(-1)[0]).is_integer():
            return int(arr.reshape(-1)[0])
    except (TypeError, ValueError):
        pass
    return v


def _as_tuple(v: Any, n: int) -> Any:
    """int or sequence -> n-tuple of ints; strings and odd values are returned unchanged."""
    if isinstance(v, str):
        return v
    try:
        arr = np.asarray(v)
    except (TypeError, ValueError):
        return v
    if arr.dtype.kind not in "iuf":
        return v
    flat = arr.reshape(-1)
    if flat.size == 1:
        flat = np.repeat(flat, n)
    if flat.size != n or any(not float(e).is_integer() for e in flat):
        return v
    return tuple(int(e) for e in flat)


def _normalize(kind: str, p: dict[str, Any]) -> dict[str, Any]:
    for key in list(p):
        if key in NEURON_ARRAY_PARAMS or key in _FLOAT_ARRAY_PARAMS:
            p[key] = _as_float_array(p[key])
    if kind in ("Input", "Output"):
        if "shape" in p:
            shape = _as_shape(p["shape"])
            p["shape"] = shape if shape is not None else p["shape"]
    elif kind in ("Conv1d", "Conv2d"):
        n = 1 if kind == "Conv1d" else 2
        for key in ("stride", "dilation"):
            p[key] = _as_tuple(p.get(key, 1), n)
        pad = p.get("padding", 0)
        p["padding"] = pad if isinstance(pad, str) else _as_tuple(pad, n)
        p["groups"] = _as_int(p.get("groups", 1))
        p.setdefault("bias", None)
        ish = p.get("input_shape")
        if ish is not None:
            shape = _as_shape(ish)
            p["input_shape"] = shape if shape is not None else ish
        else:
            p["input_shape"] = None
    elif kind in ("SumPool2d", "AvgPool2d"):
        if "kernel_size" in p:
            p["kernel_size"] = _as_tuple(p["kernel_size"], 2)
        stride = p.get("stride")
        p["stride"] = _as_tuple(stride, 2) if stride is not None else p.get("kernel_size")
        p["padding"] = _as_tuple(p.get("padding", 0), 2)
    elif kind == "Flatten":
        p["start_dim"] = _as_int(p.get("start_dim", 1))
        p["end_dim"] = _as_int(p.get("end_dim", -1))
        ish = p.pop("input_type", None)
        if p.get("input_shape") is None:
            p["input_shape"] = _as_shape(ish)
    return p


def _plain_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in meta.items():
        if isinstance(v, Mapping):
            out[str(k)] = _plain_metadata(v)
            continue
        v = _to_str(v)
        if isinstance(v, np.ndarray) and v.ndim == 0:
            v = v.item()
        elif isinstance(v, np.generic):
            v = v.item()
        out[str(k)] = v
    return out


# ---------------------------------------------------------------------------- frameworks
def _is_torch_module(x: Any) -> bool:
    for cls in type(x).__mro__:
        if cls.__module__.startswith("torch.nn") and cls.__name__ == "Module":
            return True
    return False


def _detect_framework(module: Any) -> str | None:
    """'norse' or 'sinabs' from the class module paths of the module and its children."""
    mods = [type(module).__module__]
    try:
        mods += [type(m).__module__ for m in module.modules()]
    except Exception:  # pragma: no cover - any nn.Module has modules()
        pass
    for fw in ("sinabs", "norse"):
        if any(m == fw or m.startswith(fw + ".") for m in mods):
            return fw
    return None


def _load_module(module: Any, sample_input: Any, framework: str | None) -> Graph:
    from . import framework_modules

    fw = framework or _detect_framework(module) or framework_modules.detect(module)
    if fw in ("snntorch", "rockpool", "spikingjelly"):
        raw, conventions = framework_modules.read(module, sample_input, fw)
        try:
            version = __import__(fw).__version__
        except Exception:  # noqa: BLE001 - the version is informative only
            version = None
        conventions["framework_version"] = version
        return _build_graph(
            raw, source=f"<{fw} {type(module).__name__}>", nir_version=None, conventions=conventions
        )
    if fw not in ("norse", "sinabs"):
        raise ModelLoadError(
            f"cannot tell which framework the module {type(module).__name__} comes from"
            + (f" (framework={framework!r})" if framework else ""),
            parameter="framework",
            expected="a norse, sinabs, snnTorch, rockpool or spikingjelly module, or framework=NAME",
        )
    if sample_input is None:
        raise ModelLoadError(
            f"loading a {fw} module needs a sample input to trace it",
            parameter="sample_input",
            expected="a torch tensor shaped like one input batch, e.g. torch.zeros(1, n_in)",
        )
    try:
        if fw == "norse":
            import norse.torch

            nir_graph = norse.torch.to_nir(module, sample_input, dt=NORSE_EXPORT_DT)
        else:
            import sinabs

            nir_graph = sinabs.to_nir(module, sample_input)
    except ImportError as exc:
        raise ModelLoadError(
            f"{fw} is not installed ({exc})",
            parameter="framework",
            expected=f"pip install neurocompile[{fw}]",
        ) from None
    except Exception as exc:
        raise ModelLoadError(
            f"{fw}'s exporter failed on {type(module).__name__}: {' '.join(str(exc).split())}",
            expected=f"a module {fw}'s to_nir supports",
        ) from None
    conventions = _framework_conventions(fw, module)
    graph = _build_graph(
        _nir_obj_to_raw(nir_graph),
        source=f"<{fw} {type(module).__name__}>",
        nir_version=_nir_installed_version(),
        conventions=conventions,
    )
    if fw == "norse":
        _strip_norse_batch(graph, sample_input)
    return graph


def _strip_norse_batch(graph: Graph, sample_input: Any) -> None:
    """norse's exporter (nirtorch without ``ignore_dims``) keeps the sample's batch dimension
    in Input/Output shapes; NIR shapes exclude it. Drop it and record that we did."""
    try:
        sample_shape = tuple(int(d) for d in sample_input.shape)
    except (AttributeError, TypeError, ValueError):
        return
    if len(sample_shape) < 2:
        return
    stripped = []
    for node in graph.nodes.values():
        shape = node.params.get("shape")
        if (
            node.kind in ("Input", "Output")
            and isinstance(shape, tuple)
            and len(shape) >= 2
            and shape[0] == sample_shape[0]
            and (node.kind == "Output" or shape == sample_shape)
        ):
            node.params["shape"] = shape[1:]
            stripped.append(node.name)
    if stripped:
        graph.conventions["batch_dim_removed"] = stripped


def _framework_conventions(fw: str, module: Any) -> dict[str, Any]:
    """What the framework's export means (``docs/reference/nir.md`` §2.2)."""
    if fw == "sinabs":
        import sinabs

        spike_fns = sorted(
            {
                type(getattr(m, "spike_fn", None)).__name__
                if not isinstance(getattr(m, "spike_fn", None), type)
                else getattr(m, "spike_fn").__name__
                for m in module.modules()
                if hasattr(m, "spike_fn")
            }
        )
        return {
            "framework": "sinabs",
            "framework_version": getattr(sinabs, "__version__", None),
            "tau_unit": "steps",
            "dt": 1.0,
            "reset": "subtract",
            "threshold": ">=",
            "spike_fn": ",".join(spike_fns) if spike_fns else None,
            "note": "sinabs exports tau in time steps (alpha = exp(-1/tau)); use dt=1. "
            "MultiSpike emits floor(v/theta) spikes per step; r and v_reset are ignored.",
        }
    import norse

    module_dts = sorted(
        {float(m.dt) for m in module.modules() if isinstance(getattr(m, "dt", None), (int, float))}
    )
    return {
        "framework": "norse",
        "framework_version": getattr(norse, "__version__", None),
        # norse.torch.to_nir(module, x) converts time constants with its own dt argument
        # (default 1e-3), whatever dt the cells were built with.
        "dt": NORSE_EXPORT_DT,
        "module_dt": module_dts[0] if len(module_dts) == 1 else (module_dts or None),
        "reset": "zero",
        "threshold": ">",
        "export_tau_bug": "norse#411: norse 1.1.0 exports tau = dt / tau_mem_inv = dt*tau, so a "
        "10 ms time constant appears as 1e-5 at dt=1e-3; the true tau is the "
        "exported value / dt",
    }
