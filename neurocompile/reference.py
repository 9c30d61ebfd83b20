"""Float reference simulator: numpy, float64, batch x time, every supported primitive.

``simulate(graph, inputs, dt=..., discretization=..., reset=..., hop_delay=..., record=...)``
runs a :class:`~neurocompile.ir.Graph` on ``{input_name: (batch, time, *shape)}`` arrays and
returns a :class:`~neurocompile.data.RunResult` (backend ``reference``, fidelity ``float``).
It is the golden model every compiled Program is compared against.

Timing (``docs/semantics.md``):

* ``hop_delay=0`` (framework convention, nirtorch/norse/sinabs): nodes are evaluated in a
  topological order in one step. Edges that close a cycle -- the back-edges of a
  deterministic depth-first search from the Input nodes (in node order, successors in edge
  order) -- read their source's value of the *previous* step (zeros at t = 0).
* ``hop_delay=1`` (chip convention, Lava Dense->LIF, SpiNNaker projections): every edge whose
  source is an Input or a neuron node and whose destination is not an Output delivers the
  source's value of step t-1. Cycles then need no special rule; a cycle without any neuron
  is a :class:`GraphError`.

The simulator implements NIR semantics only. Framework conventions (norse ignores ``r``,
sinabs counts τ in steps, ...) are expressed as explicit graph translations in
:mod:`neurocompile.conventions`, never as hidden switches here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from . import reference_ops as ops
from .data import FIDELITY_FLOAT, RunResult, check_inputs, parse_record
from .errors import GraphError, InputDataError, NumericOverflowError, UnsupportedError
from .ir import PRIMITIVES, Graph, Node
from .semantics import Semantics, resolve_semantics
from .shapes import infer_shapes as infer_graph_shapes

Shape = tuple[int, ...]

BACKEND = "reference"


# ----------------------------------------------------------------------------- graph order
def _dfs_order(names: list[str], roots: list[str], succ: dict[str, list[tuple[int, str]]]):
    """Iterative DFS from ``roots`` then from every unvisited node (both in node order).

    Returns (reverse postorder, set of back-edge indices).
    """
    WHITE, GRAY, BLACK = 0, 1, 2
    color = {n: WHITE for n in names}
    post: list[str] = []
    back: set[int] = set()
    for root in list(roots) + [n for n in names if n not in roots]:
        if color[root] != WHITE:
            continue
        color[root] = GRAY
        stack = [(root, iter(succ[root]))]
        while stack:
            node, it = stack[-1]
            for idx, child in it:
                if color[child] == GRAY:
                    back.add(idx)
                elif color[child] == WHITE:
                    color[child] = GRAY
                    stack.append((child, iter(succ[child])))
                    break
            else:
                stack.pop()
                color[node] = BLACK
                post.append(node)
    return post[::-1], back


def execution_order(graph: Graph, hop_delay: int = 0) -> tuple[list[str], set[int]]:
    """The evaluation order of one step and the indices of edges read from the previous step.

    See the module docstring for the rule of each ``hop_delay``.
    """
    names = list(graph.nodes)
    for idx, (s, d) in enumerate(graph.edges):
        for end in (s, d):
            if end not in graph.nodes:
                raise GraphError(
                    f"edge {s} -> {d} refers to an unknown node",
                    node=end,
                    parameter="edges",
                    expected="edges between nodes of the graph",
                )
    roots = graph.inputs
    if hop_delay == 0:
        succ = {n: [] for n in names}
        for idx, (s, d) in enumerate(graph.edges):
            succ[s].append((idx, d))
        return _dfs_order(names, roots, succ)
    delayed = set()
    for idx, (s, d) in enumerate(graph.edges):
        src, dst = graph.nodes[s], graph.nodes[d]
        if (src.kind == "Input" or src.is_neuron) and dst.kind != "Output":
            delayed.add(idx)
    succ = {n: [] for n in names}
    for idx, (s, d) in enumerate(graph.edges):
        if idx not in delayed:
            succ[s].append((idx, d))
    order, back = _dfs_order(names, roots, succ)
    if back:
        s, d = graph.edges[min(back)]
        raise GraphError(
            f"the cycle through edge {s} -> {d} contains no neuron, so with hop_delay=1 it has "
            "no delay and cannot be evaluated",
            node=d,
            parameter="edges",
            expected="every cycle to pass through a neuron node",
        )
    return order, delayed


# ----------------------------------------------------------------------------- shapes
def node_shapes(graph: Graph) -> tuple[dict[str, Shape], dict[str, Shape]]:
    """(input shape, output shape) of every node, from :func:`neurocompile.shapes.infer_shapes`.

    The first inconsistency (the same ones ``check`` lists as ``shape-mismatch``) is raised as
    a :class:`GraphError`; so is a node whose shape cannot be inferred at all. A stale
    *declared* Output shape is not an error here: the shape that arrives is what is output.
    """
    problems = [p for p in infer_graph_shapes(graph) if not p.declared_only]
    if problems:
        p = problems[0]
        raise GraphError(
            p.message,
            node=p.node,
            parameter="shape",
            expected="consistent shapes (run `neurocompile check` to list every problem)",
        )
    inn: dict[str, Shape] = {}
    out: dict[str, Shape] = {}
    for name, node in graph.nodes.items():
        if node.output_shape is None or (node.kind != "Input" and node.input_shape is None):
            raise GraphError(
                "the shape of this node cannot be inferred (unusable parameters or no input)",
                node=name,
                parameter="shape",
                expected="parameters `neurocompile check` accepts",
            )
        out[name] = tuple(int(s) for s in node.output_shape)
        inn[name] = tuple(
            int(s) for s in (node.input_shape if node.input_shape is not None else node.output_shape)
        )
    return inn, out


# ----------------------------------------------------------------------------- plan
@dataclass
class _Step:
    name: str
    kind: str
    #: (source name, read previous step?) for every incoming edge
    sources: list[tuple[str, bool]]
    in_shape: Shape
    out_shape: Shape
    fn: Callable[[np.ndarray], np.ndarray] | None = None
    state: Any = None  # Neuron or DelayLine


@dataclass
class Plan:
    """A precomputed execution plan for one graph and one set of semantics."""

    semantics: Semantics
    steps: list[_Step]
    #: nodes whose previous-step value some edge reads
    delayed_sources: list[str]
    input_shapes: dict[str, Shape]
    output_shapes: dict[str, Shape]
    neurons: dict[str, ops.Neuron] = field(default_factory=dict)


def _make_fn(node: Node, in_shape: Shape) -> Callable[[np.ndarray], np.ndarray] | None:
    k = node.kind
    if k in ("Output",):
        return None
    if k in ("Affine", "Linear"):
        wt = np.ascontiguousarray(ops._array(node, "weight").T)
        if k == "Affine" and node.params.get("bias") is not None:
            b = ops._array(node, "bias")
            return lambda x: x @ wt + b
        return lambda x: x @ wt
    if k == "Scale":
        s = ops._array(node, "scale")
        return lambda x: x * s
    if k == "Conv1d":
        return ops.make_conv(node, in_shape, 1)
    if k == "Conv2d":
        return ops.make_conv(node, in_shape, 2)
    if k in ("SumPool2d", "AvgPool2d"):
        return ops.make_pool(node, in_shape, average=(k == "AvgPool2d"))
    if k == "Flatten":
        out = tuple(int(d) for d in node.output_shape)
        return lambda x: x.reshape((x.shape[0],) + out)
    if k == "Threshold":
        th = ops._array(node, "threshold")
        return lambda x: (x > th).astype(np.float64)
    raise UnsupportedError(
        f"primitive {k!r} is not supported by the reference simulator",
        node=node.name,
        parameter="type",
        expected=", ".join(PRIMITIVES),
    )


def build_plan(graph: Graph, semantics: Semantics) -> Plan:
    """Order the nodes, infer shapes, and precompute each node's kernel."""
    for node in graph.nodes.values():
        if node.kind not in PRIMITIVES:
            raise UnsupportedError(
                f"primitive {node.kind!r} is not supported by the reference simulator",
                node=node.name,
                parameter="type",
                expected=", ".join(PRIMITIVES),
            )
        if node.kind == "Input" and graph.predecessors(node.name):
            raise GraphError(
                "an Input node has incoming edges",
                node=node.name,
                parameter="edges",
                expected="no edge into an Input",
            )
    order, delayed = execution_order(graph, semantics.hop_delay)
    inn, out = node_shapes(graph)
    legacy = set(graph.legacy_reset)
    steps: list[_Step] = []
    neurons: dict[str, ops.Neuron] = {}
    delayed_sources: list[str] = []
    for name in order:
        node = graph.nodes[name]
        sources = []
        for idx, (s, d) in enumerate(graph.edges):
            if d == name:
                prev = idx in delayed
                sources.append((s, prev))
                if prev and s not in delayed_sources:
                    delayed_sources.append(s)
        step = _Step(name, node.kind, sources, inn[name], out[name])
        if node.is_neuron:
            step.state = ops.Neuron(
                node,
                out[name],
                semantics.dt,
                semantics.discretization,
                semantics.reset,
                legacy=name in legacy,
            )
            neurons[name] = step.state
        elif node.kind == "Delay":
            step.state = ops.DelayLine(ops.delay_steps(node, semantics.dt, out[name]), out[name])
        elif node.kind != "Input":
            step.fn = _make_fn(node, inn[name])
        steps.append(step)
    return Plan(
        semantics=semantics,
        steps=steps,
        delayed_sources=delayed_sources,
        input_shapes={n: out[n] for n in graph.inputs},
        output_shapes={n: out[n] for n in graph.outputs},
        neurons=neurons,
    )


def _record_items(graph: Graph, plan: Plan, record: Any) -> list[tuple[str, str]]:
    items = parse_record(record)
    for node, obs in items:
        if node not in graph.nodes:
            raise InputDataError(
                f"cannot record '{node}.{obs}': no such node",
                node=node,
                parameter="record",
                expected="a node of the graph",
            )
        neuron = plan.neurons.get(node)
        have = neuron.observables if neuron is not None else ()
        if obs not in have:
            kind = graph.nodes[node].kind
            raise InputDataError(
                f"a {kind} node has no observable '{obs}'",
                node=node,
                parameter="record",
                expected=("one of " + ", ".join(have))
                if have
                else "a neuron node (v, u for Cuba*, spikes for spiking)",
            )
    return items


def simulate(
    graph: Graph,
    inputs: Mapping[str, np.ndarray],
    *,
    dt: float | None = None,
    discretization: str = "forward",
    reset: str = "file",
    hop_delay: int = 0,
    record: Iterable[Any] | str | None = (),
) -> RunResult:
    """Run ``graph`` on ``inputs`` ({Input name: (batch, time, *shape)}) in float64.

    ``record`` takes ``"NODE.v"``-style strings (or ``(node, observable)`` pairs): ``v`` for
    every neuron (after reset), ``u`` (synaptic current) for CubaLI/CubaLIF, ``spikes`` for
    IF/LIF/CubaLIF. Raises :class:`SemanticsError` (dt, legacy reset), :class:`InputDataError`
    (inputs, record names), :class:`GraphError`/:class:`ParameterError` for bad graphs. The public
    ``neurocompile.simulate`` (:func:`neurocompile.compiler.simulate`) first applies ``check``'s graph
    sanity rules.
    """
    sem = resolve_semantics(graph, dt=dt, discretization=discretization, reset=reset, hop_delay=hop_delay)
    plan = build_plan(graph, sem)
    items = _record_items(graph, plan, record)
    arrays, batch, steps = check_inputs(inputs, plan.input_shapes)
    return run_plan(plan, arrays, batch, steps, items)


def run_plan(
    plan: Plan, arrays: Mapping[str, np.ndarray], batch: int, n_steps: int, items: list[tuple[str, str]] = ()
) -> RunResult:
    """Execute a :class:`Plan` on validated float64 inputs."""
    for st in plan.steps:
        if st.state is not None:
            st.state.init(batch)
    outputs = {n: np.zeros((batch, n_steps, *s)) for n, s in plan.output_shapes.items()}
    recs = {f"{n}.{o}": np.zeros((batch, n_steps, *plan.neurons[n].shape)) for n, o in items}
    rec_list = [(plan.neurons[n], o, recs[f"{n}.{o}"]) for n, o in items]
    prev: dict[str, np.ndarray] = {}
    for st in plan.steps:
        if st.name in plan.delayed_sources:
            prev[st.name] = np.zeros((batch, *st.out_shape))
    cur: dict[str, np.ndarray] = {}
    zero_in = {
        st.name: np.zeros((batch, *st.in_shape)) for st in plan.steps if not st.sources and st.kind != "Input"
    }
    obs_attr = {"v": "v", "u": "u", "spikes": "z"}
    where: list = [0, None]  # (step, node) being evaluated, for the error of a numeric fault
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            _run_steps(plan, arrays, n_steps, outputs, prev, cur, zero_in, rec_list, obs_attr, where)
    except FloatingPointError as exc:
        t, st = where
        raise NumericOverflowError(
            f"the float reference overflowed at step {t} ({exc}): the state grows beyond float64 "
            "(an unstable decay, dt/tau > 2 under forward Euler, or huge weights)",
            node=st,
            expected="parameters whose simulation stays finite",
        ) from None
    return RunResult(
        outputs=outputs,
        recordings=recs,
        backend=BACKEND,
        fidelity=FIDELITY_FLOAT,
        semantics=plan.semantics.as_dict(),
    )


def _run_steps(plan, arrays, n_steps, outputs, prev, cur, zero_in, rec_list, obs_attr, where) -> None:
    """The time loop of :func:`run_plan` (under ``np.errstate`` raising there)."""
    for t in range(n_steps):
        where[0] = t
        for st in plan.steps:
            where[1] = st.name
            if st.kind == "Input":
                cur[st.name] = arrays[st.name][:, t]
                continue
            srcs = st.sources
            if not srcs:
                x = zero_in[st.name]
            else:
                s, p = srcs[0]
                x = prev[s] if p else cur[s]
                for s, p in srcs[1:]:
                    x = x + (prev[s] if p else cur[s])
            if st.state is not None:
                y = st.state.step(x)
            elif st.fn is not None:
                y = st.fn(x)
            else:
                y = x
            cur[st.name] = y
            if st.kind == "Output":
                outputs[st.name][:, t] = y
        for name in plan.delayed_sources:
            prev[name] = cur[name]
        for neuron, obs, arr in rec_list:
            arr[:, t] = getattr(neuron, obs_attr[obs])


__all__ = ["simulate", "build_plan", "run_plan", "execution_order", "node_shapes", "Plan"]
