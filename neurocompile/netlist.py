"""The target-independent netlist: neuron groups joined by explicit float synapses.

``build_netlist(graph, semantics)`` turns a flat :class:`~neurocompile.ir.Graph` into
:class:`Netlist`: one :class:`NeuronGroup` per NIR neuron node and COO
:class:`Connection` s from spike sources (NIR ``Input`` nodes and neuron groups) to groups.
Every chain of structural nodes (Affine, Linear, Scale, Conv1d, Conv2d, SumPool2d,
AvgPool2d, Flatten, Delay, and Threshold where it can be expressed) between a spike source
and a neuron node is composed into explicit synapses:

* each structural node is a sparse linear operator (conv and pooling are expanded to their
  explicit taps, duplicates summed); operators are composed by sparse matrix products, so two
  weight layers in a row become one exact (denser) layer, reported as the info finding
  ``weight-layers-composed``;
* ``Delay`` nodes add per-element delays; a synapse's ``delay`` is the sum of the Delay steps
  on its path. The one step every hop takes under ``hop_delay=1`` is *not* included: targets
  add their own per-hop timing;
* Affine / Conv biases are propagated through the rest of the chain and folded into
  ``NeuronGroup.bias`` (added to the group's input ``x`` every step). A bias that passes
  through a Delay node reaches the neuron only after the delay in the reference; here it is
  applied from step 0 (finding ``bias-through-delay``, knowingly approximate);
* ``Threshold`` is expressed only on a spiking group's 0/1 output: ``threshold`` in [0, 1) is
  the identity, >= 1 silences the element, < 0 is a constant 1 (a bias). Anything else raises
  :class:`UnsupportedError`.

Several paths from one source into one neuron node are merged into one connection (entries
with equal (pre, post, delay) summed), so a group gets one connection per source.
``Output`` nodes must be fed directly by a neuron or Input node.

The netlist is exact: :func:`simulate_netlist` reproduces ``neurocompile.simulate(graph,
..., hop_delay=1)`` spike for spike (tests/test_netlist.py), except for the
``bias-through-delay`` case above.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import scipy.sparse as sp

from . import reference_ops as ops
from .data import FIDELITY_FLOAT, RunResult, check_inputs
from .errors import GraphError, UnsupportedError
from .findings import Finding
from .ir import NEURON_KINDS, SPIKING_KINDS, TAU_PARAMS, Graph, Node
from .reference import node_shapes
from .semantics import Semantics, legacy_reset_error, reset_override_findings

Shape = tuple[int, ...]

#: Structural primitives that carry weights (composition of two of them is reported).
WEIGHT_KINDS = frozenset({"Affine", "Linear", "Conv1d", "Conv2d"})
#: Structural primitives folded into connections.
STRUCTURAL_KINDS = frozenset(
    {
        "Affine",
        "Linear",
        "Scale",
        "Conv1d",
        "Conv2d",
        "SumPool2d",
        "AvgPool2d",
        "Flatten",
        "Delay",
        "Threshold",
    }
)
#: Neuron parameters copied into a group (those present on the node).
GROUP_PARAMS = ("tau", "tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "v_reset", "w_in")


# ----------------------------------------------------------------------------- objects
@dataclass
class NeuronGroup:
    """One NIR neuron node. ``params`` are float64 arrays of shape ``(size,)``.

    ``bias`` is a constant added to the group's input ``x`` every step (same units as the
    synaptic input). ``reset`` is ``"zero"``, ``"subtract"`` or ``"value"`` (``v <- v_reset``)
    for spiking groups, ``None`` otherwise. ``legacy`` marks a file that predates ``v_reset``.
    """

    name: str
    kind: str
    shape: Shape
    params: dict[str, np.ndarray]
    bias: np.ndarray
    reset: str | None
    spiking: bool
    legacy: bool = False

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    def param(self, key: str, default: float | None = None) -> np.ndarray | None:
        if key in self.params:
            return self.params[key]
        if default is None:
            return None
        return np.full(self.size, float(default))


@dataclass
class Connection:
    """COO float synapses ``pre[pre_idx] -> post[post_idx]`` with ``weight`` and ``delay`` (steps).

    ``pre`` is an Input name or a group name, ``post`` a group name; indices are flat C-order.
    ``sources`` lists the NIR nodes folded into this connection. A connection with one delay holds
    ``delay`` as a read-only broadcast of it (chip-scale netlists: 8 bytes less per synapse).
    """

    name: str
    pre: str
    post: str
    pre_idx: np.ndarray
    post_idx: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    sources: list[str]

    @property
    def n_synapses(self) -> int:
        return int(self.weight.size)

    def max_delay(self) -> int:
        return int(self.delay.max(initial=0))

    def matrix(self, n_post: int, n_pre: int, delay: int | None = None) -> sp.csr_matrix:
        """Dense-equivalent sparse matrix (post x pre), of the synapses with ``delay`` (all if None)."""
        m = slice(None) if delay is None else (self.delay == delay)
        return sp.csr_matrix((self.weight[m], (self.post_idx[m], self.pre_idx[m])), shape=(n_post, n_pre))


@dataclass
class Netlist:
    inputs: dict[str, Shape]
    groups: dict[str, NeuronGroup]
    connections: list[Connection]
    outputs: dict[str, tuple[str, str]]
    findings: list[Finding]
    node_map: dict[str, list[str]]
    semantics: Semantics

    def size_of(self, name: str) -> int:
        if name in self.groups:
            return self.groups[name].size
        return int(np.prod(self.inputs[name], dtype=np.int64)) if self.inputs[name] else 1

    def shape_of(self, name: str) -> Shape:
        return self.groups[name].shape if name in self.groups else self.inputs[name]

    def incoming(self, group: str) -> list[Connection]:
        """The connections into ``group`` (a scan of all connections: per group in a loop, use
        :meth:`incoming_index`, built in one pass)."""
        return [c for c in self.connections if c.post == group]

    def incoming_index(self) -> dict[str, list[Connection]]:
        """``{group: incoming(group)}`` for every group, in one pass (same order as :meth:`incoming`)."""
        index: dict[str, list[Connection]] = {g: [] for g in self.groups}
        for c in self.connections:
            index.setdefault(c.post, []).append(c)
        return index

    def outgoing(self, name: str) -> list[Connection]:
        return [c for c in self.connections if c.pre == name]


# ----------------------------------------------------------------------------- operators
def _size(shape: Shape) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


def _affine_matrix(node: Node, in_shape: Shape) -> tuple[sp.csr_matrix, np.ndarray | None]:
    w = ops._array(node, "weight")
    w = np.atleast_2d(w)
    prefix = _size(in_shape[:-1])
    if prefix != 1:
        mat = sp.kron(sp.identity(prefix, format="csr"), sp.csr_matrix(w), format="csr")
    else:
        mat = _dense_csr(w)
    bias = None
    if node.kind == "Affine" and node.params.get("bias") is not None:
        b = ops._array(node, "bias")
        out_shape = tuple(in_shape[:-1]) + (w.shape[0],)
        bias = np.broadcast_to(b, out_shape).reshape(-1).astype(np.float64)
    return mat, bias


def _dense_csr(w: np.ndarray) -> sp.csr_matrix:
    """``scipy.sparse.csr_matrix(w)`` of a dense 2-D float64 matrix (its nonzeros row by row, canonical)
    built directly: scipy goes through a COO copy, a cost per matrix that thousands of small Affine
    blocks add up (issue 14 item 2)."""
    n_out, n_in = w.shape
    flat = w.reshape(-1)
    ix = np.int32 if flat.size <= np.iinfo(np.int32).max else np.int64
    if flat.all():
        data = flat.copy()
        indices = np.tile(np.arange(n_in, dtype=ix), n_out)
        indptr = np.arange(0, flat.size + 1, n_in, dtype=ix) if n_in else np.zeros(n_out + 1, ix)
    else:
        nz = np.flatnonzero(flat)
        data = flat[nz]
        indices = (nz % n_in).astype(ix)
        indptr = np.zeros(n_out + 1, dtype=ix)
        np.cumsum(np.bincount(nz // n_in, minlength=n_out), out=indptr[1:])
    mat = sp.csr_matrix((data, indices, indptr), shape=(n_out, n_in))
    mat.has_canonical_format = True
    return mat


def _conv_matrix(node: Node, in_shape: Shape, nd: int) -> tuple[sp.csr_matrix, np.ndarray | None, Shape]:
    """The conv as a canonical CSR matrix (rows: outputs, sorted columns: inputs, no duplicates).

    The taps are laid out on a broadcast grid ``(co, *o, ci, *k)``: flattened row-major, that is
    the output index and then, for one output, the input index in increasing order (the input
    position grows with ``ci`` and every kernel offset), so the CSR arrays come out without a
    sort; only the full-size index and weight arrays are materialized (issue 14 item 2)."""
    w, stride, dilation, groups, pads, out_shape = ops._conv_geometry(node, in_shape, nd)
    cout, cin_g = w.shape[:2]
    kernel = tuple(w.shape[2:])
    out_sp = tuple(out_shape[1:])
    in_sp = tuple(in_shape[1:])
    rank = 2 + 2 * nd

    def on(a: np.ndarray, axis: int) -> np.ndarray:  # a 1-D array along one axis of the grid
        shape = [1] * rank
        shape[axis] = a.size
        return a.reshape(shape)

    co_ax, ci_ax = 0, 1 + nd
    in_strides = [int(np.prod(in_sp[d + 1 :], dtype=np.int64)) for d in range(nd)]
    n_out, n_in = _size(out_shape), _size(in_shape)
    # the index dtype scipy gives the matrix (int32 when the shape fits): no conversion copy
    ix = np.int32 if max(n_out, n_in) <= np.iinfo(np.int32).max else np.int64
    chan = on(np.arange(cin_g, dtype=ix), ci_ax) + on(
        (np.arange(cout, dtype=ix) // (cout // groups)) * cin_g, co_ax
    )
    in_idx = chan * _size(in_sp)
    valid = np.ones((1,) * rank, dtype=bool)
    for d in range(nd):
        o = on(np.arange(out_sp[d], dtype=ix) * stride[d] - pads[d][0], 1 + d)
        p = o + on(np.arange(kernel[d], dtype=ix) * dilation[d], 2 + nd + d)
        valid = valid & (p >= 0) & (p < in_sp[d])
        in_idx = in_idx + p * in_strides[d]
    grid = (cout,) + out_sp + (cin_g,) + kernel
    valid = np.broadcast_to(valid, grid)
    taps = cin_g * _size(kernel)
    counts = valid.reshape(n_out, taps).sum(axis=1, dtype=np.int64)
    indptr = np.zeros(n_out + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    wgrid = w.reshape((cout,) + (1,) * nd + (cin_g,) + kernel)
    data = np.broadcast_to(wgrid, grid)[valid]
    indices = np.broadcast_to(in_idx, grid)[valid]
    del valid
    if indptr[-1] > np.iinfo(ix).max:  # more taps than the index dtype counts
        ix = np.int64
    mat = sp.csr_matrix((data, indices.astype(ix, copy=False), indptr.astype(ix)), shape=(n_out, n_in))
    mat.has_canonical_format = True
    bias = node.params.get("bias")
    b = None
    if bias is not None:
        bb = np.asarray(bias, dtype=np.float64).reshape(-1)
        b = np.broadcast_to(bb.reshape((-1,) + (1,) * nd) if bb.size == cout else bb[0], out_shape)
        b = b.reshape(-1).astype(np.float64)
    return mat, b, tuple(out_shape)


def _pool_matrix(node: Node, in_shape: Shape, average: bool) -> tuple[sp.csr_matrix, Shape]:
    k, s, p, out_shape = ops._pool_geometry(node, in_shape)
    c = in_shape[0]
    grids = np.meshgrid(
        np.arange(c),
        np.arange(k[0]),
        np.arange(k[1]),
        np.arange(out_shape[1]),
        np.arange(out_shape[2]),
        indexing="ij",
    )
    ch, kh, kw, oh, ow = (g.reshape(-1) for g in grids)
    ih = oh * s[0] - p[0] + kh
    iw = ow * s[1] - p[1] + kw
    valid = (ih >= 0) & (ih < in_shape[1]) & (iw >= 0) & (iw < in_shape[2])
    val = np.full(int(valid.sum()), 1.0 / (k[0] * k[1]) if average else 1.0)
    in_flat = np.ravel_multi_index((ch[valid], ih[valid], iw[valid]), in_shape)
    out_flat = np.ravel_multi_index((ch[valid], oh[valid], ow[valid]), out_shape)
    mat = sp.csr_matrix((val, (out_flat, in_flat)), shape=(_size(out_shape), _size(in_shape)))
    return mat, tuple(out_shape)


@dataclass
class _Expr:
    """A node's output as ``sum_src sum_d M[src][d] @ src[t - 1 - d] + bias``."""

    terms: dict[str, dict[int, sp.csr_matrix]] = field(default_factory=dict)
    bias: dict[int, np.ndarray] = field(default_factory=dict)
    nodes: list[str] = field(default_factory=list)  # structural nodes folded
    weight_layers: int = 0
    identity: bool = False  # a source's own output (one term, delay 0, the identity matrix)

    def add(self, other: "_Expr") -> None:
        for src, by_d in other.terms.items():
            mine = self.terms.setdefault(src, {})
            for d, m in by_d.items():
                mine[d] = mine[d] + m if d in mine else m
        for d, b in other.bias.items():
            self.bias[d] = self.bias[d] + b if d in self.bias else b
        if other.nodes:  # ordered union, linear (a long chain folds thousands of nodes)
            self.nodes[:] = dict.fromkeys(self.nodes + other.nodes)
        self.weight_layers = max(self.weight_layers, other.weight_layers)

    def apply(self, mat: sp.csr_matrix, bias: np.ndarray | None) -> "_Expr":
        out = _Expr(nodes=list(self.nodes), weight_layers=self.weight_layers)
        if self.identity:  # mat @ I is mat in float64 without explicit zeros: no sparse product
            ((src, by_d),) = self.terms.items()
            m = mat.tocsr().astype(np.float64, copy=False)
            if not m.data.all():
                m.eliminate_zeros()  # in place: ``mat`` is the caller's fresh operator
            out.terms = {src: {0: m}}
        else:
            out.terms = {s: {d: (mat @ m).tocsr() for d, m in by_d.items()} for s, by_d in self.terms.items()}
        out.bias = {d: mat @ b for d, b in self.bias.items()}
        if bias is not None:
            out.bias[0] = out.bias[0] + bias if 0 in out.bias else bias.copy()
        return out


# ----------------------------------------------------------------------------- builder
class _Builder:
    def __init__(self, graph: Graph, semantics: Semantics):
        self.g = graph
        self.sem = semantics
        self.inn, self.out = node_shapes(graph)
        self.memo: dict[str, _Expr] = {}
        self.visiting: set[str] = set()
        self.findings: list[Finding] = []
        self.spiking = {n for n, node in graph.nodes.items() if node.kind in SPIKING_KINDS}
        self.preds: dict[str, list[str]] = {n: [] for n in graph.nodes}
        for s, d in graph.edges:
            if d in self.preds:
                self.preds[d].append(s)

    def identity(self, name: str) -> _Expr:
        n = _size(self.out[name])
        return _Expr(terms={name: {0: sp.identity(n, format="csr", dtype=np.float64)}}, identity=True)

    def input_expr(self, name: str) -> _Expr:
        """Sum of the values arriving at node ``name``'s input."""
        expr = _Expr()
        for p in self.preds[name]:
            v = self.value(p)
            if v.identity and len(self.preds[name]) == 1:
                return v  # a fresh identity, kept marked for apply's fast path
            expr.add(v)
        return expr

    def _folded(self, name: str) -> bool:
        node = self.g.nodes.get(name)
        return node is not None and node.kind in STRUCTURAL_KINDS and name not in self.memo

    def _warm(self, name: str) -> None:
        """Fold the structural ancestors of ``name`` deepest first (an iterative post-order), so
        that :meth:`value` never recurses more than one level: a chain of 10,000 structural nodes
        raises no RecursionError. A cycle is left to :meth:`value`, which reports it."""
        order: list[str] = []
        state: dict[str, int] = {name: 0}
        stack = [(name, iter(self.preds[name]))]
        while stack:
            n, it = stack[-1]
            for p in it:
                if self._folded(p) and p not in state:
                    state[p] = 0
                    stack.append((p, iter(self.preds[p])))
                    break
            else:
                stack.pop()
                order.append(n)
        for n in order[:-1]:
            self.value(n)

    def value(self, name: str) -> _Expr:
        node = self.g.nodes[name]
        if node.kind == "Input" or node.kind in NEURON_KINDS:
            return self.identity(name)
        if node.kind == "Output":
            raise UnsupportedError(
                "an Output node feeds another node",
                node=name,
                parameter="edges",
                expected="Output nodes without successors",
            )
        if name in self.memo:
            return self.memo[name]
        if name in self.visiting:
            raise GraphError(
                "a cycle of structural nodes contains no neuron, so it has no delay",
                node=name,
                parameter="edges",
                expected="every cycle to pass through a neuron node",
            )
        if node.kind not in STRUCTURAL_KINDS:
            raise UnsupportedError(
                f"primitive {node.kind!r} cannot be folded into a connection",
                node=name,
                parameter="type",
                expected=", ".join(sorted(STRUCTURAL_KINDS)),
            )
        if not self.visiting:
            self._warm(name)
        self.visiting.add(name)
        try:
            res = self._structural(node, self.input_expr(name))
        finally:
            self.visiting.discard(name)
        if name not in res.nodes:
            res.nodes.append(name)
        self.memo[name] = res
        return res

    def _structural(self, node: Node, x: _Expr) -> _Expr:
        k, name = node.kind, node.name
        in_shape = self.inn[name]
        if k in ("Affine", "Linear"):
            mat, bias = _affine_matrix(node, in_shape)
            y = x.apply(mat, bias)
            y.weight_layers += 1
            return y
        if k in ("Conv1d", "Conv2d"):
            mat, bias, _ = _conv_matrix(node, in_shape, 1 if k == "Conv1d" else 2)
            y = x.apply(mat, bias)
            y.weight_layers += 1
            return y
        if k in ("SumPool2d", "AvgPool2d"):
            mat, _ = _pool_matrix(node, in_shape, average=(k == "AvgPool2d"))
            return x.apply(mat, None)
        if k == "Flatten":
            return x.apply(sp.identity(_size(in_shape), format="csr"), None)
        if k == "Scale":
            s = np.broadcast_to(ops._array(node, "scale"), in_shape).reshape(-1)
            return x.apply(sp.diags(s, format="csr"), None)
        if k == "Delay":
            steps = ops.delay_steps(node, self.sem.dt, self.out[name]).reshape(-1)
            y = _Expr(nodes=list(x.nodes), weight_layers=x.weight_layers)
            for k_ in np.unique(steps):
                mask = sp.diags((steps == k_).astype(np.float64), format="csr")
                part = _Expr(
                    terms={
                        s: {d + int(k_): (mask @ m).tocsr() for d, m in by_d.items()}
                        for s, by_d in x.terms.items()
                    },
                    bias={d + int(k_): mask @ b for d, b in x.bias.items()},
                )
                y.add(part)
            return y
        if k == "Threshold":
            return self._threshold(node, x)
        raise UnsupportedError(f"primitive {k!r} cannot be folded", node=name, parameter="type")

    def _threshold(self, node: Node, x: _Expr) -> _Expr:
        name = node.name
        n = _size(self.inn[name])
        ok = len(x.terms) == 1 and not x.bias and x.weight_layers == 0
        if ok:
            ((src, by_d),) = x.terms.items()
            ident = sp.identity(n, format="csr")
            ok = (
                src in self.spiking
                and list(by_d) == [0]
                and by_d[0].shape == ident.shape
                and (by_d[0] != ident).nnz == 0
            )
        if not ok:
            raise UnsupportedError(
                "a Threshold can be compiled only directly on a spiking neuron's 0/1 output",
                node=name,
                parameter="threshold",
                expected="Threshold fed by one IF/LIF/CubaLIF node",
            )
        th = np.broadcast_to(ops._array(node, "threshold"), self.out[name]).reshape(-1)
        keep = ((th >= 0) & (th < 1)).astype(np.float64)
        ones = (th < 0).astype(np.float64)
        y = x.apply(sp.diags(keep, format="csr"), ones if ones.any() else None)
        return y

    # ------------------------------------------------------------------ groups
    def group(self, node: Node, legacy: bool) -> NeuronGroup:
        shape = self.out[node.name]
        size = _size(shape)
        params = {}
        for key in GROUP_PARAMS:
            if node.params.get(key) is not None:
                params[key] = (
                    np.broadcast_to(ops._array(node, key), shape).reshape(-1).astype(np.float64).copy()
                )
        for key in TAU_PARAMS:
            if key in params and np.any(params[key] <= 0):
                from .errors import ParameterError

                raise ParameterError(
                    f"has values <= 0 (min {params[key].min()})",
                    node=node.name,
                    parameter=key,
                    expected="time constants > 0",
                )
        spiking = node.kind in SPIKING_KINDS
        reset = None
        if spiking:
            mode = self.sem.reset
            if mode == "file":
                if legacy:
                    raise legacy_reset_error(node.name)
                vr = params.get("v_reset")
                reset = "zero" if vr is None or not np.any(vr) else "value"
                if vr is None:
                    params["v_reset"] = np.zeros(size)
            else:
                reset = mode
                if legacy and mode == "zero":
                    self.findings.append(
                        Finding(
                            "legacy-reset-zero",
                            "warning",
                            node.name,
                            "defined with reset by subtraction (file predates v_reset); "
                            "compiled with reset to zero",
                        )
                    )
        return NeuronGroup(
            name=node.name,
            kind=node.kind,
            shape=shape,
            params=params,
            bias=np.zeros(size),
            reset=reset,
            spiking=spiking,
            legacy=legacy,
        )


def build_netlist(graph: Graph, semantics: Semantics) -> Netlist:
    """Compose ``graph`` into groups and explicit synapses (see the module docstring)."""
    b = _Builder(graph, semantics)
    legacy = set(graph.legacy_reset)
    b.findings.extend(reset_override_findings(graph, semantics.reset))  # the file's reset overridden
    inputs = {n: b.out[n] for n in graph.inputs}
    groups: dict[str, NeuronGroup] = {}
    node_map: dict[str, list[str]] = {}
    for name, node in graph.nodes.items():
        if node.kind == "Input":
            node_map[name] = [name]
        elif node.kind in NEURON_KINDS:
            groups[name] = b.group(node, name in legacy)
            node_map[name] = [name]
    connections: list[Connection] = []
    for gname, grp in groups.items():
        if b.inn[gname] != b.out[gname] and _size(b.inn[gname]) != grp.size:
            raise GraphError(
                f"input shape {b.inn[gname]} does not match neuron shape {grp.shape}",
                node=gname,
                parameter="shape",
                expected=str(grp.shape),
            )
        expr = b.input_expr(gname)
        if expr.weight_layers >= 2:
            b.findings.append(
                Finding(
                    "weight-layers-composed",
                    "info",
                    gname,
                    f"{expr.weight_layers} weight layers without a neuron between them "
                    f"({', '.join(expr.nodes)}) were composed into one exact layer (matrix product)",
                )
            )
        if any(d > 0 and np.any(v) for d, v in expr.bias.items()):
            b.findings.append(
                Finding(
                    "bias-through-delay",
                    "warning",
                    gname,
                    "a bias passes through a Delay node; "
                    "it is applied from the first step instead of after the delay",
                )
            )
        for v in expr.bias.values():
            grp.bias = grp.bias + np.asarray(v, dtype=np.float64).reshape(-1)
        for src, by_d in expr.terms.items():
            pre_l, post_l, w_l, d_l = [], [], [], []
            ordered = len(by_d) == 1  # one canonical CSR: already in (post, pre) order, unique
            for d in sorted(by_d):
                m = by_d[d]
                canonical = isinstance(m, sp.csr_matrix) and m.has_canonical_format
                ordered = ordered and canonical
                # a canonical CSR's COO is already row-major and unique (its arrays are copied below)
                coo = m.tocoo(copy=not canonical)
                if not canonical:
                    coo.sum_duplicates()
                keep = coo.data != 0
                every = bool(keep.all())  # no mask copy when nothing is dropped
                pre_l.append((coo.col if every else coo.col[keep]).astype(np.int64))
                post_l.append((coo.row if every else coo.row[keep]).astype(np.int64))
                w_l.append((coo.data if every else coo.data[keep]).astype(np.float64))
                d_l.append(d)
                del coo, keep
            if len(d_l) == 1:  # one delay: a read-only broadcast of it (no 8 bytes per synapse)
                pre_i, post_i, w = pre_l[0], post_l[0], w_l[0]
                dl = np.broadcast_to(np.array([d_l[0]], dtype=np.int64), pre_i.shape)
            else:
                d_l = [np.full(p.size, d, dtype=np.int64) for p, d in zip(pre_l, d_l)]
                pre_i, post_i = np.concatenate(pre_l), np.concatenate(post_l)
                w, dl = np.concatenate(w_l), np.concatenate(d_l)
            del pre_l, post_l, w_l, d_l
            order = None if ordered else _lexsort3(dl, pre_i, post_i)
            if order is not None:
                pre_i, post_i, w, dl = pre_i[order], post_i[order], w[order], dl[order]
            srcs = [n for n in expr.nodes if _feeds(graph, src, n, b)]
            cname = f"{src}->{gname}"
            connections.append(Connection(cname, src, gname, pre_i, post_i, w, dl, srcs))
            for n in srcs:
                node_map.setdefault(n, [])
                if cname not in node_map[n]:
                    node_map[n].append(cname)
    outputs: dict[str, tuple[str, str]] = {}
    for oname in graph.outputs:
        preds = graph.predecessors(oname)
        if len(preds) != 1 or not (graph.nodes[preds[0]].kind == "Input" or graph.nodes[preds[0]].is_neuron):
            raise UnsupportedError(
                "an Output must be fed directly by exactly one neuron or Input node",
                node=oname,
                parameter="edges",
                expected="one edge from a neuron node into the Output",
            )
        src = preds[0]
        obs = "spikes" if (src in groups and groups[src].spiking) or src in inputs else "v"
        outputs[oname] = (src, obs)
        node_map[oname] = [src]
    for name, node in graph.nodes.items():
        node_map.setdefault(name, [])
    return Netlist(
        inputs=inputs,
        groups=groups,
        connections=connections,
        outputs=outputs,
        findings=list(b.findings),
        node_map=node_map,
        semantics=semantics,
    )


def _lexsort3(dl: np.ndarray, pre: np.ndarray, post: np.ndarray) -> np.ndarray | None:
    """``np.lexsort((dl, pre, post))``, or None when the entries are already in that order (one
    delay: a canonical COO is sorted by row, then column)."""
    if post.size > 1:
        dpost = np.diff(post)
        if np.any(dpost < 0):
            return np.lexsort((dl, pre, post))
        tie = dpost == 0
        if tie.any():
            dpre = np.diff(pre)
            if np.any(dpre[tie] < 0) or np.any(np.diff(dl)[tie & (dpre == 0)] < 0):
                return np.lexsort((dl, pre, post))
    return None


def _feeds(graph: Graph, src: str, node: str, b: _Builder) -> bool:
    """True if structural ``node``'s folded expression depends on ``src``."""
    e = b.memo.get(node)
    return e is not None and src in e.terms


# ----------------------------------------------------------------------------- float simulator
def simulate_netlist(
    netlist: Netlist,
    inputs: Mapping[str, np.ndarray],
    semantics: Semantics | None = None,
    record: tuple[str, ...] = (),
) -> RunResult:
    """Float64 run of a netlist with chip timing (every connection adds 1 + delay steps).

    ``record`` names groups whose ``v``, ``u``, ``spikes`` and input ``x`` (synaptic sum plus
    bias, before the neuron update) are returned as ``G.v``, ``G.u``, ``G.spikes``, ``G.x``.
    """
    sem = semantics or netlist.semantics
    dt, disc = sem.dt, sem.discretization
    arrays, batch, T = check_inputs(inputs, netlist.inputs)
    mats = []
    depth = 1
    for c in netlist.connections:
        n_post, n_pre = netlist.size_of(c.post), netlist.size_of(c.pre)
        for d in np.unique(c.delay):
            mats.append((c.pre, c.post, int(d), c.matrix(n_post, n_pre, int(d)).T.tocsr()))
            depth = max(depth, int(d) + 1)
    hist = {
        n: np.zeros((depth, batch, netlist.size_of(n))) for n in list(netlist.inputs) + list(netlist.groups)
    }
    st = {}
    for g in netlist.groups.values():
        st[g.name] = {
            "v": np.zeros((batch, g.size)),
            "u": np.zeros((batch, g.size)),
            "z": np.zeros((batch, g.size)),
            "c": ops.neuron_coefficients(g.kind, g.params, dt, disc),
        }
    outs = {o: np.zeros((batch, T, *netlist.shape_of(src))) for o, (src, _) in netlist.outputs.items()}
    recs = {}
    for r in record:
        g = netlist.groups[r]
        for ob in ("v", "u", "spikes", "x"):
            recs[f"{r}.{ob}"] = np.zeros((batch, T, *g.shape))
    for t in range(T):
        x = {
            g: np.broadcast_to(netlist.groups[g].bias, (batch, netlist.groups[g].size)).copy()
            for g in netlist.groups
        }
        for pre, post, d, m in mats:
            src = hist[pre][(t - 1 - d) % depth] if t - 1 - d >= 0 else None
            if src is not None:
                x[post] += np.asarray(src @ m)
        for g in netlist.groups.values():
            s = st[g.name]
            v, s["u"] = ops.integrate(g.kind, s["c"], s["v"], s["u"], x[g.name])
            if g.spiking:
                v, s["z"] = ops.fire(v, g.params["v_threshold"], g.reset, g.params.get("v_reset"))
            s["v"] = v
        for n in netlist.inputs:
            hist[n][t % depth] = arrays[n][:, t].reshape(batch, -1)
        for g in netlist.groups.values():
            s = st[g.name]
            hist[g.name][t % depth] = s["z"] if g.spiking else s["v"]
        for o, (src, obs) in netlist.outputs.items():
            outs[o][:, t] = hist[src][t % depth].reshape((batch, *netlist.shape_of(src)))
        for r in record:
            g = netlist.groups[r]
            s = st[r]
            recs[f"{r}.v"][:, t] = s["v"].reshape((batch, *g.shape))
            recs[f"{r}.u"][:, t] = s["u"].reshape((batch, *g.shape))
            recs[f"{r}.spikes"][:, t] = s["z"].reshape((batch, *g.shape))
            recs[f"{r}.x"][:, t] = x[r].reshape((batch, *g.shape))
    return RunResult(
        outputs=outs, recordings=recs, backend="netlist", fidelity=FIDELITY_FLOAT, semantics=sem.as_dict()
    )


__all__ = [
    "NeuronGroup",
    "Connection",
    "Netlist",
    "build_netlist",
    "simulate_netlist",
    "STRUCTURAL_KINDS",
    "WEIGHT_KINDS",
]
