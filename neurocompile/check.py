"""``check``: every problem of a model at once, as findings; never raises.

Each design rule is a small named function registered with :func:`rule` under its finding
code; :func:`check` loads the model (without raising) and runs them all. The codes, their
severity and an example each are documented in ``docs/check.md``.

``target`` is recorded in the report; with a target, the ``rules`` of the registered
:class:`~neurocompile.target.Target` run after the generic ones (:func:`target_rules`); an
unknown target name is an error finding.

The same target rules guard the target's ``lower``: a rule is ``fn(ctx) -> Iterable[Finding]`` on
a :class:`Context` that carries the graph, dt, the resolved ``semantics`` and the ``netlist``
(both built lazily, once; ``None`` when they cannot be, e.g. without dt), the learning rules and
the compile ``options`` (``reset``, ``calibration``, target options; empty in ``check``, where no
reset is chosen yet). ``check --target`` lists every finding; ``lower`` starts with
:func:`enforce`, which raises the first error finding as the typed error it carries
(:attr:`Finding.error`, made by :func:`refusal`). :meth:`Context.memo` lets rules and ``lower``
share the results of the lowering's analysis passes, so nothing is computed twice.

Knowingly heuristic: the framework-convention hints (``sinabs-tau-steps``,
``norse-tau-export``) guess from magnitudes unless the graph was loaded from the framework
module itself (``Graph.conventions``), in which case they are certain.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from .errors import GraphError, NeurocompileError, ParameterError, ResourceError, SemanticsError
from .findings import Finding
from .ir import (
    ELEMENT_LIMIT,
    FLOAT32_MAX,
    NEURON_ARRAY_PARAMS,
    NEURON_KINDS,
    PRIMITIVES,
    SPIKING_KINDS,
    TAU_PARAMS,
    Graph,
    Node,
)
from .jsonable import jsonable
from .target import get_target, target_names

__all__ = [
    "Finding",
    "CheckReport",
    "FindingGroup",
    "group_findings",
    "Context",
    "check",
    "rule",
    "RULES",
    "target_rules",
    "enforce",
    "refusal",
    "lower_context",
    "SEVERITIES",
    "TAU_PARAMS",
    "NORSE_TINY_TAU",
    "SANITY",
    "sanity_findings",
    "refuse_malformed",
    "ResetEffect",
    "reset_effect",
    "reset_rule",
    "value_reset_effect",
]

SEVERITIES = ("error", "warning", "info")

#: Time-constant parameters.

#: Without a dt, a time constant below this (in seconds, the NIR paper's unit) is suspicious:
#: the paper's graphs use dt = 1e-4 and norse 1.1.0 exports tau = dt*tau (1e-5 for 10 ms).
NORSE_TINY_TAU = 1e-4


@dataclass(frozen=True)
class CheckReport:
    """All findings for one model. ``readable`` is False when the model could not be loaded."""

    findings: tuple[Finding, ...]
    source: str
    readable: bool = True
    target: str | None = None
    dt: float | None = None
    nir_version: str | None = None
    conventions: dict[str, Any] = field(default_factory=dict)
    #: the ``.npz`` keys a run reads and writes: ``inputs: in (batch, time, 64); outputs: ...``
    #: (``None`` when the model could not be read or its ports not inferred)
    io: str | None = field(default=None, compare=False)

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def by_code(self, code: str) -> list[Finding]:
        return [f for f in self.findings if f.code == code]

    def count(self, severity: str) -> int:
        return sum(f.severity == severity for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "readable": self.readable,
            "target": self.target,
            "dt": self.dt,
            "nir_version": self.nir_version,
            "conventions": jsonable(self.conventions),
            "has_errors": self.has_errors,
            "counts": {s: self.count(s) for s in SEVERITIES},
            "findings": [f.as_dict() for f in self.findings],
        }

    def as_json(self) -> dict[str, Any]:
        """The ``check --json`` document: :meth:`as_dict` with ``schema_version`` and ``kind``."""
        from .summary import SCHEMA_VERSION

        return {"schema_version": SCHEMA_VERSION, "kind": "check", **self.as_dict()}

    def to_text(self, wording: Callable[[str], str] = str) -> str:
        """Findings grouped by code (:func:`group_findings`): one header per code with its severity
        and message (a template when the nodes differ only in numbers), then the nodes. ``wording``
        rewrites each message (the CLI passes its flag wording)."""
        head = f"{self.source}  (nir {self.nir_version or '?'}"
        head += f", target {self.target}" if self.target else ""
        head += f", dt {self.dt:g})" if self.dt is not None else ")"
        if not self.findings:
            return f"{head}: no findings"
        lines = [head]
        for g in group_findings(self.findings):
            lines += g.text_lines(wording)
        lines.append(
            f"{self.count('error')} error(s), {self.count('warning')} warning(s), {self.count('info')} info"
            f" in {len(group_findings(self.findings))} code(s)"
        )
        return "\n".join(lines)


_TOKEN = re.compile(r"(\s+)")


@dataclass(frozen=True)
class FindingGroup:
    """The findings of one code and severity: ``template`` is their message with the parts that
    differ between nodes replaced by ``<1>``, ``<2>``, ... (``values`` per node, in ``nodes``
    order); when the messages differ in shape, ``template`` is None and ``messages`` has each."""

    code: str
    severity: str
    nodes: tuple[str | None, ...]
    template: str | None
    values: tuple[tuple[str, ...], ...] = ()
    messages: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "nodes": list(self.nodes),
            "template": self.template,
            "values": [list(v) for v in self.values],
            "messages": list(self.messages),
        }

    def text_lines(self, wording: Callable[[str], str] = str, indent: str = "") -> list[str]:
        n = len(self.nodes)
        count = f" ({n} nodes)" if n > 1 else (f" (node {self.nodes[0]})" if self.nodes[0] else "")
        if self.template is None:
            out = [f"{indent}{self.severity} {self.code}{count}:"]
            return out + [
                f"{indent}  {node or '-'}: {wording(m)}" for node, m in zip(self.nodes, self.messages)
            ]
        out = [f"{indent}{self.severity} {self.code}{count}: {wording(self.template)}"]
        if n > 1 and not any(self.values):
            out.append(f"{indent}  nodes: {', '.join(str(x or '-') for x in self.nodes)}")
        elif n > 1:
            for node, vals in zip(self.nodes, self.values):
                shown = ", ".join(f"<{i + 1}> = {v}" for i, v in enumerate(vals))
                out.append(f"{indent}  {node or '-'}: {shown}")
        return out


def _natural(name: Any) -> tuple:
    parts = re.split(r"(\d+)", str(name))
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in parts if t != "")


def _template(messages: list[str]) -> tuple[str | None, list[tuple[str, ...]]]:
    """A template of ``messages`` (differing tokens replaced by ``<k>``) and the values per message;
    ``(None, [])`` when their token counts differ."""
    toks = [_TOKEN.split(m) for m in messages]
    if len({len(t) for t in toks}) != 1:
        return None, []
    out: list[str] = []
    values: list[list[str]] = [[] for _ in messages]
    k = 0
    for column in zip(*toks):
        if len(set(column)) == 1:
            out.append(column[0])
            continue
        pre = _common_prefix(list(column))
        suf = _common_prefix([c[len(pre) :][::-1] for c in column])[::-1]
        k += 1
        out.append(f"{pre}<{k}>{suf}")
        for i, c in enumerate(column):
            values[i].append(c[len(pre) : len(c) - len(suf)])
    if k > 4:  # more differs than a few numbers: not one message
        return None, []
    return "".join(out), [tuple(v) for v in values]


def _common_prefix(xs: list[str]) -> str:
    n = 0
    while all(len(x) > n and x[n] == xs[0][n] for x in xs):
        n += 1
    return xs[0][:n]


def group_findings(findings: Iterable[Finding | Any]) -> list[FindingGroup]:
    """Findings (``Finding`` or their ``as_dict()``) grouped by (severity, code), in order of first
    appearance, nodes in natural order (``pop2`` before ``pop10``)."""
    groups: dict[tuple[str, str], list[tuple[str | None, str]]] = {}
    for f in findings:
        d = f.as_dict() if hasattr(f, "as_dict") else dict(f)
        groups.setdefault((str(d.get("severity")), str(d.get("code"))), []).append(
            (d.get("node"), str(d.get("message")))
        )
    out = []
    for (sev, code), items in groups.items():
        items = sorted(items, key=lambda it: _natural(it[0] or ""))
        nodes = tuple(n for n, _ in items)
        msgs = [m for _, m in items]
        if len(set(msgs)) == 1:
            out.append(FindingGroup(code, sev, nodes, msgs[0], tuple(() for _ in msgs)))
            continue
        template, values = _template(msgs)
        out.append(FindingGroup(code, sev, nodes, template, tuple(values), () if template else tuple(msgs)))
    return out


# ---------------------------------------------------------------------------- registry
_UNSET: Any = object()


@dataclass
class _Ctx:
    """What a rule sees (see the module docstring); ``check`` and :func:`lower_context` make one."""

    graph: Graph
    dt: float | None  # dt given by the user (may be invalid)
    target: str | None = None
    shape_problems: list = field(default_factory=list)
    learning: dict | None = None  # {NIR weight node: LearningRule} from --learning (issue 6)
    options: dict = field(default_factory=dict)  # compile options: reset, calibration, target options
    _semantics: Any = field(default=_UNSET, repr=False)
    _netlist: Any = field(default=_UNSET, repr=False)
    netlist_error: Any = field(default=None, repr=False)  # the typed error that stopped build_netlist
    lowering: bool = False  # made by lower_context (compile), not by check
    _memo: dict = field(default_factory=dict, repr=False)

    @property
    def effective_dt(self) -> float | None:
        dt = self.dt if self.dt is not None else self.graph.metadata_dt()
        if dt is None or not math.isfinite(dt) or dt <= 0:
            return None
        return dt

    @property
    def reset(self) -> str | None:
        """The reset option of the compile (``None`` in ``check``: not chosen yet)."""
        return self.options.get("reset")

    @property
    def semantics(self) -> Any:
        """Resolved semantics (``hop_delay=1``) or ``None`` (no valid dt, shape problems). In
        ``check`` (no reset chosen) the file's reset is used, or reset to zero where the file leaves
        it open (``legacy-reset`` already asks the user to choose)."""
        if self._semantics is _UNSET:
            self._resolve()
        return self._semantics

    @property
    def netlist(self) -> Any:
        """The :class:`~neurocompile.netlist.Netlist`, built once; ``None`` without semantics or when
        the build refuses the graph (its typed error is kept in :attr:`netlist_error`)."""
        if self._netlist is _UNSET:
            self._resolve()
        return self._netlist

    def _resolve(self) -> None:
        from .netlist import build_netlist
        from .semantics import resolve_semantics

        self._netlist = None
        if self._semantics is _UNSET:
            self._semantics = None
            dt = self.effective_dt
            if dt is None or self.shape_problems or self.malformed:
                return
            disc = self.options.get("discretization", "forward")
            resets = (
                (self.reset,)
                if self.reset is not None
                else (("file", "zero") if self.graph.legacy_reset else ("file",))
            )
            for reset in resets:
                try:
                    self._semantics = resolve_semantics(
                        self.graph, dt=dt, discretization=disc, reset=reset, hop_delay=1
                    )
                    self._netlist = build_netlist(self.graph, self._semantics)
                    self.netlist_error = None
                    return
                except NeurocompileError as exc:
                    self.netlist_error = exc
            return
        if self._semantics is not None:
            try:
                self._netlist = build_netlist(self.graph, self._semantics)
            except NeurocompileError as exc:
                self.netlist_error = exc

    @property
    def malformed(self) -> bool:
        """True when a graph-sanity rule (:data:`SANITY`) refuses the graph: no netlist is built
        from it (its numeric passes would compute on NaN, huge or missing values)."""
        return self.memo(
            "sanity.malformed",
            lambda: any(f.error is not None for code in SANITY for f in RULES[code](self)),
        )

    def memo(self, key: Any, fn: Callable[[], Any]) -> Any:
        """``fn()`` computed once per context (shared by the rules and the lowering's passes)."""
        if key not in self._memo:
            self._memo[key] = fn()
        return self._memo[key]


#: the rule context, public name
Context = _Ctx


Rule = Callable[[_Ctx], Iterable[Finding]]

#: code -> rule function, in the order they run (and findings appear).
RULES: dict[str, Rule] = {}


def rule(code: str) -> Callable[[Rule], Rule]:
    def deco(fn: Rule) -> Rule:
        RULES[code] = fn
        fn.code = code  # type: ignore[attr-defined]
        return fn

    return deco


def _f(code: str, severity: str, node: str | None, message: str) -> Finding:
    return Finding(code, severity, node, " ".join(message.split()))


def refusal(code: str, error: NeurocompileError) -> Finding:
    """An error finding that ``lower`` raises as ``error`` (same class, node and message)."""
    msg = error.message + (f" (expected {error.expected})" if error.expected else "")
    return Finding(code, "error", error.node, " ".join(msg.split()), error=error)


def enforce(rules: Iterable[Rule], ctx: _Ctx) -> list[Finding]:
    """Run ``rules`` in order and raise the first error finding as its typed error
    (:attr:`Finding.error`; an :class:`~neurocompile.errors.UnsupportedError` when it carries
    none). Returns the findings when there is no error. ``lower`` starts with this."""
    from .errors import UnsupportedError

    out: list[Finding] = []
    for fn in rules:
        for f in fn(ctx):
            if f.severity == "error":
                raise f.error if f.error is not None else UnsupportedError(f.message, node=f.node)
            out.append(f)
    return out


def lower_context(
    netlist: Any, *, graph: Any = None, semantics: Any = None, learning: Any = None, **options: Any
) -> _Ctx:
    """The rule context of a ``lower`` call: its netlist, semantics, learning rules (normalized:
    an unreadable rule raises its typed error here) and options (``reset``, ``calibration``, ...)."""
    from .learning.attach import normalize

    sem = semantics if semantics is not None else netlist.semantics
    g = graph if graph is not None else Graph(nodes={}, edges=[])
    if "reset" not in options and sem is not None:
        options["reset"] = getattr(sem, "reset", None)
    return _Ctx(
        graph=g,
        dt=float(sem.dt),
        learning=normalize(learning),
        options=dict(options),
        _semantics=sem,
        _netlist=netlist,
        lowering=True,
    )


# ---------------------------------------------------------------------------- helpers
def _arrays(node: Node) -> Iterator[tuple[str, np.ndarray]]:
    """Real numeric array parameters (not those beyond the element limit: ``size-limit``)."""
    for k, v in node.params.items():
        if isinstance(v, np.ndarray) and v.dtype.kind in "fiu" and v.size <= ELEMENT_LIMIT:
            yield k, v


def _float_param(node: Node, key: str) -> np.ndarray | None:
    v = node.params.get(key)
    if isinstance(v, np.ndarray) and v.dtype.kind in "fiu" and v.size <= ELEMENT_LIMIT:
        return v.astype(np.float64, copy=False)
    return None


def _refuse(code: str, cls: type, node: str | None, message: str, *, parameter: str | None = None) -> Finding:
    """An error finding carrying the typed error ``compile``/``simulate`` raise for it."""
    msg = " ".join(message.split())
    return Finding(code, "error", node, msg, error=cls(msg, node=node, parameter=parameter))


#: Parameters that must be real numbers (float64 arrays after loading).
_NUMERIC_PARAMS = NEURON_ARRAY_PARAMS | {"weight", "bias", "scale", "threshold", "delay"}


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _reachable(graph: Graph, starts: list[str], forward: bool) -> set[str]:
    adj: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for s, d in graph.edges:
        if s in adj and d in adj:
            (adj[s] if forward else adj[d]).append(d if forward else s)
    seen = set(starts)
    stack = list(starts)
    while stack:
        n = stack.pop()
        for m in adj[n]:
            if m not in seen:
                seen.add(m)
                stack.append(m)
    return seen


def _sccs(graph: Graph) -> list[list[str]]:
    """Strongly connected components (iterative Tarjan), in node insertion order."""
    adj: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for s, d in graph.edges:
        if s in adj and d in adj:
            adj[s].append(d)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in graph.nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            recurse = False
            for j in range(i, len(adj[v])):
                w = adj[v][j]
                if w not in index:
                    work.append((v, j + 1))
                    work.append((w, 0))
                    recurse = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if recurse:
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
    return out


# ---------------------------------------------------------------------------- rules: structure
@rule("unsupported-primitive")
def _unsupported(ctx: _Ctx) -> Iterator[Finding]:
    for node in ctx.graph.nodes.values():
        if node.kind not in PRIMITIVES and not node.kind.startswith("onnx:"):  # onnx: see unsupported-onnx-op
            what = "has no type" if node.kind.startswith("<") else f"is of kind '{node.kind}'"
            yield _f(
                "unsupported-primitive",
                "error",
                node.name,
                f"node '{node.name}' {what}, which neurocompile does not support "
                f"(supported: {', '.join(PRIMITIVES)})",
            )


@rule("unsupported-onnx-op")
def _unsupported_onnx(ctx: _Ctx) -> Iterator[Finding]:
    """ONNX operators the ANN->SNN frontend cannot convert (neurocompile.onnx_frontend)."""
    for u in ctx.graph.conventions.get("onnx_unsupported", []):
        yield _f(
            "unsupported-onnx-op",
            "error",
            u["node"],
            f"ONNX operator {u['op']} (ONNX node '{u['node']}') cannot be converted: {u['reason']}",
        )


@rule("dangling-edge")
def _dangling(ctx: _Ctx) -> Iterator[Finding]:
    from .load import dangling_edges

    for (src, dst), missing in dangling_edges(ctx.graph):
        hint = ""
        if "." in missing:
            prefix = missing.rsplit(".", 1)[0] + "."
            siblings = [n for n in ctx.graph.nodes if n.startswith(prefix) and "." not in n[len(prefix) :]]
            if siblings:
                hint = f" (subgraph '{prefix[:-1]}' has: {', '.join(siblings)})"
        yield _f(
            "dangling-edge",
            "error",
            missing,
            f"edge ('{src}', '{dst}') refers to node '{missing}', which does not exist{hint}",
        )


@rule("duplicate-edge")
def _duplicate(ctx: _Ctx) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    for e in ctx.graph.edges:
        if e in seen:
            yield _f(
                "duplicate-edge",
                "warning",
                e[1],
                f"edge ('{e[0]}', '{e[1]}') appears more than once; its input is summed once "
                f"per copy (nir >= 1.0.5 rejects duplicate edges)",
            )
        seen.add(e)


@rule("empty-graph")
def _empty(ctx: _Ctx) -> Iterator[Finding]:
    if not ctx.graph.nodes:
        yield _refuse("empty-graph", GraphError, None, "the graph has no nodes at all")


@rule("name-collision")
def _collision(ctx: _Ctx) -> Iterator[Finding]:
    for code, node, message in ctx.graph.load_problems:
        if code == "name-collision":
            yield _refuse(code, GraphError, node, message)


@rule("no-input")
def _no_input(ctx: _Ctx) -> Iterator[Finding]:
    if ctx.graph.nodes and not ctx.graph.inputs:
        yield _refuse("no-input", GraphError, None, "the graph has no Input node, so it cannot receive data")


@rule("no-output")
def _no_output(ctx: _Ctx) -> Iterator[Finding]:
    if ctx.graph.nodes and not ctx.graph.outputs:
        yield _refuse(
            "no-output", GraphError, None, "the graph has no Output node, so nothing can be read from it"
        )


@rule("unreachable-node")
def _unreachable(ctx: _Ctx) -> Iterator[Finding]:
    g = ctx.graph
    if not g.inputs:
        return  # no-input already says it
    fed = _reachable(g, g.inputs, forward=True)
    useful = _reachable(g, g.outputs, forward=False) if g.outputs else set(g.nodes)
    for name, node in g.nodes.items():
        if name not in fed and node.kind != "Input":
            yield _f(
                "unreachable-node",
                "warning",
                name,
                f"{node.kind} '{name}' is not reachable from any Input: it never receives data",
            )
        elif name not in useful and node.kind != "Output":
            yield _f(
                "unreachable-node",
                "warning",
                name,
                f"{node.kind} '{name}' reaches no Output: its result is never read",
            )


@rule("cycle-without-neuron")
def _algebraic_cycle(ctx: _Ctx) -> Iterator[Finding]:
    g = ctx.graph
    self_loops = {s for s, d in g.edges if s == d and s in g.nodes}
    for comp in _sccs(g):
        if len(comp) == 1 and comp[0] not in self_loops:
            continue
        if any(g.nodes[n].is_neuron or g.nodes[n].kind == "Delay" for n in comp):
            continue
        names = sorted(comp)
        yield _f(
            "cycle-without-neuron",
            "error",
            names[0],
            f"the cycle through {', '.join(repr(n) for n in names)} contains no neuron or Delay: "
            f"its output depends on itself within one step and cannot be simulated",
        )


@rule("shape-mismatch")
def _shapes(ctx: _Ctx) -> Iterator[Finding]:
    for node, message, declared in ctx.shape_problems:
        if declared:  # a stale declared Output shape: reported, harmless for execution
            yield _f("shape-mismatch", "error", node, message)
        else:
            yield _refuse("shape-mismatch", GraphError, node, message, parameter="shape")


# ---------------------------------------------------------------------------- rules: parameters
@rule("param-missing")
def _missing(ctx: _Ctx) -> Iterator[Finding]:
    for node in ctx.graph.nodes.values():
        spec = PRIMITIVES.get(node.kind)
        if spec is None:
            continue
        for key in spec[0]:
            if node.params.get(key) is None:
                yield _refuse(
                    "param-missing",
                    ParameterError,
                    node.name,
                    f"{node.kind} '{node.name}' has no parameter '{key}' (required: {', '.join(spec[0])})",
                    parameter=key,
                )


def _param_shape_problems(node: Node) -> Iterator[str]:
    from .shapes import param_shape

    k, p = node.kind, node.params
    for key, val in p.items():
        if key in _NUMERIC_PARAMS:
            continue  # param-not-numeric / param-complex
        if key in PRIMITIVES.get(k, ((), {}))[0] or key in PRIMITIVES.get(k, ((), {}))[1]:
            if isinstance(val, np.ndarray) and val.dtype.kind not in "fiub":
                yield f"parameter '{key}' is not numeric (dtype {val.dtype})"
            elif isinstance(val, str) and key not in ("padding",):
                yield f"parameter '{key}' is the string {val!r}, not a number"
    if k in NEURON_KINDS:
        shapes = {key: tuple(v.shape) for key, v in _arrays(node)}
        numeric = all(
            isinstance(v, np.ndarray) and v.dtype.kind in "fiu" for v in p.values() if v is not None
        )
        if shapes and numeric and param_shape(node) is None:
            desc = ", ".join(f"{key} {s}" for key, s in shapes.items())
            yield f"neuron parameters have different shapes: {desc} (all must match; w_in may broadcast)"
    elif k in ("Affine", "Linear"):
        w = _float_param(node, "weight")
        if w is not None and w.ndim != 2:
            yield f"weight has shape {tuple(w.shape)} (expected 2-D (out, in))"
        b = _float_param(node, "bias")
        if (
            k == "Affine"
            and w is not None
            and w.ndim == 2
            and b is not None
            and tuple(b.shape) != (w.shape[0],)
        ):
            yield (
                f"bias has shape {tuple(b.shape)} (expected ({w.shape[0]},), "
                f"one per output of weight {tuple(w.shape)})"
            )
    elif k in ("Conv1d", "Conv2d"):
        nsp = 1 if k == "Conv1d" else 2
        w = _float_param(node, "weight")
        if w is not None and w.ndim != nsp + 2:
            yield f"weight has shape {tuple(w.shape)} (expected {nsp + 2}-D (C_out, C_in/groups, kernel...))"
        b = _float_param(node, "bias")
        if w is not None and b is not None and w.ndim == nsp + 2 and tuple(b.shape) != (w.shape[0],):
            yield f"bias has shape {tuple(b.shape)} (expected ({w.shape[0]},))"
        groups = p.get("groups")
        if not isinstance(groups, int) or groups < 1:
            yield f"groups={groups!r} (expected a positive integer)"
        elif w is not None and w.ndim == nsp + 2 and w.shape[0] % groups:
            yield f"C_out={w.shape[0]} is not divisible by groups={groups}"
        for key in ("stride", "dilation"):
            v = p.get(key)
            if not (isinstance(v, tuple) and len(v) == nsp and all(isinstance(e, int) and e > 0 for e in v)):
                yield f"{key}={v!r} (expected {nsp} positive integer(s))"
        pad = p.get("padding")
        if not (
            (isinstance(pad, str) and pad in ("same", "valid"))
            or (
                isinstance(pad, tuple) and len(pad) == nsp and all(isinstance(e, int) and e >= 0 for e in pad)
            )
        ):
            yield f"padding={pad!r} (expected 'same', 'valid' or {nsp} non-negative integer(s))"
        ish = p.get("input_shape")
        if ish is not None and not (isinstance(ish, tuple) and len(ish) == nsp and all(e > 0 for e in ish)):
            yield f"input_shape={ish!r} (expected {nsp} positive integer(s), the spatial input size)"
    elif k in ("SumPool2d", "AvgPool2d"):
        for key, lo in (("kernel_size", 1), ("stride", 1), ("padding", 0)):
            v = p.get(key)
            if v is not None and not (
                isinstance(v, tuple) and len(v) == 2 and all(isinstance(e, int) and e >= lo for e in v)
            ):
                yield f"{key}={v!r} (expected a pair of integers >= {lo})"
    elif k in ("Input", "Output"):
        s = p.get("shape")
        if s is not None and not (isinstance(s, tuple) and all(isinstance(e, int) and e > 0 for e in s)):
            yield f"shape={s!r} (expected a tuple of positive integers)"
    elif k == "Flatten":
        for key in ("start_dim", "end_dim"):
            if not isinstance(p.get(key), int):
                yield f"{key}={p.get(key)!r} (expected an integer)"


@rule("param-shape")
def _param_shape(ctx: _Ctx) -> Iterator[Finding]:
    for node in ctx.graph.nodes.values():
        if node.kind not in PRIMITIVES:
            continue
        for msg in _param_shape_problems(node):
            yield _refuse("param-shape", ParameterError, node.name, f"{node.kind} '{node.name}': {msg}")


def _numeric_values(node: Node) -> Iterator[tuple[str, Any]]:
    """The (key, value) of the parameters of a known primitive that must be real numbers."""
    if node.kind in PRIMITIVES:
        for key, val in node.params.items():
            if key in _NUMERIC_PARAMS and val is not None:
                yield key, val


@rule("param-not-numeric")
def _not_numeric(ctx: _Ctx) -> Iterator[Finding]:
    for node in ctx.graph.nodes.values():
        for key, val in _numeric_values(node):
            if isinstance(val, np.ndarray) and val.dtype.kind in "fiubc":
                continue
            if isinstance(val, (str, bytes)):
                what = f"the {type(val).__name__} {val[:40]!r}"
            elif isinstance(val, np.ndarray):
                what = (
                    f"an array of shape {val.shape} and dtype {val.dtype} "
                    f"({'objects or strings' if val.dtype.kind in 'OUS' else 'compound records'})"
                )
            else:
                what = f"a {type(val).__name__}"
            yield _refuse(
                "param-not-numeric",
                ParameterError,
                node.name,
                f"{node.kind} '{node.name}': parameter '{key}' is {what}, not an array of real numbers",
                parameter=key,
            )


@rule("param-complex")
def _complex(ctx: _Ctx) -> Iterator[Finding]:
    for node in ctx.graph.nodes.values():
        for key, val in _numeric_values(node):
            if isinstance(val, np.ndarray) and val.dtype.kind == "c":
                yield _refuse(
                    "param-complex",
                    ParameterError,
                    node.name,
                    f"{node.kind} '{node.name}': parameter '{key}' is complex (dtype {val.dtype}); "
                    "neuron parameters and weights are real numbers (the imaginary part is not dropped)",
                    parameter=key,
                )


@rule("nan-inf")
def _nan_inf(ctx: _Ctx) -> Iterator[Finding]:
    for node in ctx.graph.nodes.values():
        for key, v in _arrays(node):
            bad = ~np.isfinite(v.astype(np.float64, copy=False))
            if bad.any():
                idx = tuple(int(i) for i in np.argwhere(bad)[0])
                yield _refuse(
                    "nan-inf",
                    ParameterError,
                    node.name,
                    f"parameter '{key}' has {int(bad.sum())} non-finite value(s), first "
                    f"{v[idx] if idx else v.item()} at index {idx}",
                    parameter=key,
                )


@rule("param-magnitude")
def _magnitude(ctx: _Ctx) -> Iterator[Finding]:
    for node in ctx.graph.nodes.values():
        for key, v in _arrays(node):
            a = np.abs(v.astype(np.float64, copy=False))
            with np.errstate(invalid="ignore"):
                bad = np.isfinite(a) & (a > FLOAT32_MAX)
            if bad.any():
                yield _refuse(
                    "param-magnitude",
                    ParameterError,
                    node.name,
                    f"parameter '{key}' has {int(bad.sum())} value(s) of magnitude beyond float32's "
                    f"{_fmt(FLOAT32_MAX)} (largest {_fmt(float(a[bad].max()))}): scaling it overflows",
                    parameter=key,
                )


def _elements(shape: Any) -> int:
    return math.prod(int(d) for d in shape) if isinstance(shape, tuple) else 0


def _node_sizes(node: Node) -> Iterator[tuple[str, int, Any]]:
    """(what, elements, shape) of every array a node's simulation or netlist would hold."""
    for key, v in node.params.items():
        if isinstance(v, np.ndarray):
            yield f"parameter '{key}'", int(v.size), tuple(v.shape)
    shape = node.params.get("shape") if node.kind in ("Input", "Output") else None
    for what, sh in (("its input", node.input_shape), ("its output", node.output_shape), ("shape", shape)):
        if isinstance(sh, tuple) and all(isinstance(d, int) for d in sh):
            yield what, _elements(sh), sh
    w = node.params.get("weight")
    if node.kind in ("Conv1d", "Conv2d") and isinstance(w, np.ndarray) and node.output_shape:
        nnz = _elements(tuple(node.output_shape)) * _elements(tuple(w.shape[1:]))
        yield "its connection matrix (output elements x kernel)", nnz, None


@rule("size-limit")
def _size_limit(ctx: _Ctx) -> Iterator[Finding]:
    for node in ctx.graph.nodes.values():
        for what, n, shape in _node_sizes(node):
            if n > ELEMENT_LIMIT:
                yield _refuse(
                    "size-limit",
                    ResourceError,
                    node.name,
                    f"{node.kind} '{node.name}': {what} has {n:,} elements"
                    + (f" (shape {shape})" if shape is not None else "")
                    + f", more than neurocompile's limit of {ELEMENT_LIMIT:,} elements per array "
                    f"(2**{ELEMENT_LIMIT.bit_length() - 1}, {ELEMENT_LIMIT * 8 // 2**20} MiB of float64); "
                    "nothing was allocated",
                )
                break


def _positive_rule(code: str, keys: tuple[str, ...], severity: str, why: str) -> Rule:
    def fn(ctx: _Ctx) -> Iterator[Finding]:
        for node in ctx.graph.nodes.values():
            if not node.is_neuron:
                continue
            for key in keys:
                v = _float_param(node, key)
                if v is None or v.size == 0:
                    continue
                with np.errstate(invalid="ignore"):
                    bad = v <= 0
                if bad.any():
                    yield _f(
                        code,
                        severity,
                        node.name,
                        f"parameter '{key}' has {int(bad.sum())} value(s) <= 0 "
                        f"(min {_fmt(float(np.nanmin(v)))}): {why}",
                    )

    fn.__name__ = "_" + code.replace("-", "_")
    return fn


rule("nonpositive-tau")(
    _positive_rule(
        "nonpositive-tau",
        TAU_PARAMS,
        "error",
        "a time constant must be > 0 (tau = 0 divides by zero, tau < 0 makes the state grow)",
    )
)
rule("nonpositive-r")(
    _positive_rule(
        "nonpositive-r",
        ("r",),
        "warning",
        "r = 0 disconnects the neuron's input, r < 0 inverts it; legal but rarely intended",
    )
)


@rule("threshold-nonpositive")
def _threshold(ctx: _Ctx) -> Iterator[Finding]:
    for node in ctx.graph.nodes.values():
        key = (
            "v_threshold"
            if node.kind in SPIKING_KINDS
            else ("threshold" if node.kind == "Threshold" else None)
        )
        v = _float_param(node, key) if key else None
        if v is None or v.size == 0:
            continue
        with np.errstate(invalid="ignore"):
            bad = v <= 0
        if bad.any():
            yield _f(
                "threshold-nonpositive",
                "warning",
                node.name,
                f"parameter '{key}' has {int(bad.sum())} value(s) <= 0 (min {_fmt(float(np.nanmin(v)))}): "
                f"a resting value of 0 already satisfies v > threshold, so the node fires without input",
            )


# ---------------------------------------------------------------------------- rules: time and semantics
def _needs_dt(g: Graph) -> bool:
    return any(n.is_neuron or n.kind == "Delay" for n in g.nodes.values())


@rule("nonpositive-dt")
def _bad_dt(ctx: _Ctx) -> Iterator[Finding]:
    for origin, dt in (("given", ctx.dt), ("in the graph metadata", ctx.graph.metadata_dt())):
        if dt is None:
            continue
        if not math.isfinite(dt) or dt <= 0:
            yield _f("nonpositive-dt", "error", None, f"dt = {dt} {origin} is not a positive finite number")
        if origin == "given":
            break  # a given dt overrides the metadata one


@rule("metadata-dt")
def _metadata_dt(ctx: _Ctx) -> Iterator[Finding]:
    why = ctx.graph.metadata_dt_problem()
    if why is None:
        return
    if ctx.dt is None:
        yield _refuse(
            "metadata-dt",
            SemanticsError,
            None,
            f"{why}: the graph's time step cannot be read (store dt as one number, or pass dt=DT)",
            parameter="dt",
        )
    else:
        yield _f("metadata-dt", "warning", None, f"{why}; ignored, the given dt = {ctx.dt} is used")


@rule("tau-dt-ratio")
def _tau_dt_ratio(ctx: _Ctx) -> Iterator[Finding]:
    dt = ctx.effective_dt
    if dt is None:
        return
    for node, key, v in _taus(ctx.graph):
        pos = v[v > 0]
        if pos.size and float(pos.min()) < dt / FLOAT32_MAX:
            lo = float(pos.min())
            ratio = dt / lo
            yield _refuse(
                "tau-dt-ratio",
                ParameterError,
                node.name,
                f"'{key}' = {_fmt(lo)} with dt = {_fmt(dt)} gives dt/{key} = {_fmt(ratio)}, beyond "
                f"float32's {_fmt(FLOAT32_MAX)}: the decay cannot be computed (a unit error?)",
                parameter=key,
            )


@rule("missing-dt")
def _missing_dt(ctx: _Ctx) -> Iterator[Finding]:
    g = ctx.graph
    from .frameworks import resolve

    if (
        ctx.dt is not None
        or resolve(g) is not None
        or g.metadata_dt() is not None
        or g.metadata_dt_problem() is not None
        or not _needs_dt(g)
    ):
        return
    conv_dt = g.conventions.get("dt")
    hint = (
        f" The graph was exported by {g.conventions.get('framework')} with dt = {conv_dt}: use dt={conv_dt}."
        if conv_dt is not None
        else " Use seconds for graphs in seconds such as the NIR paper's (e.g. 1e-4), 1 for sinabs exports."
    )
    yield _f(
        "missing-dt",
        "warning",
        None,
        "the graph metadata carries no dt and none was given: simulate/compile will need dt=DT." + hint,
    )


@rule("ingest-repair")
def _ingest_repair(ctx: _Ctx) -> Iterator[Finding]:
    """What the loader repaired (:mod:`neurocompile.ingest`): never silent."""
    for code, node, message in ctx.graph.load_problems:
        if code == "ingest-repair":
            yield _f(code, "info", node, message)


@rule("framework-unchosen")
def _framework_unchosen(ctx: _Ctx) -> Iterator[Finding]:
    """A graph that looks exported by a framework whose conventions nobody chose."""
    from .frameworks import looks_like, resolve

    g = ctx.graph
    if ctx.lowering or g.conventions.get("framework_declared") or g.conventions.get("framework"):
        return
    if resolve(g) is not None:
        return
    fw, why = looks_like(g)
    if fw:
        yield _f(
            "framework-unchosen",
            "warning",
            None,
            f"the graph looks exported by {fw} ({why}) but no framework was chosen: NIR semantics as "
            f'written differ from what {fw} computes; pass framework="{fw}" (or framework="nir" to '
            "keep NIR semantics)",
        )


@rule("framework-conventions")
def _framework_conventions_rule(ctx: _Ctx) -> Iterator[Finding]:
    """The framework whose conventions apply, and what its translation rewrites (or cannot)."""
    from .frameworks import apply, describe, resolve

    g = ctx.graph
    if ctx.lowering:
        return
    fw = resolve(g)
    if fw is None:
        return
    try:
        _, sem, tr = apply(g, fw, reset=ctx.reset or "file")
    except NeurocompileError as exc:
        yield Finding("framework-conventions", "error", exc.node, " ".join(str(exc).split()))
        return
    except Exception as exc:  # noqa: BLE001 - malformed parameters (their own findings say which)
        yield Finding(
            "framework-conventions",
            "error",
            None,
            f"{fw}'s conventions cannot be applied to this graph ({type(exc).__name__}: {exc})",
        )
        return
    what = "; ".join(tr.notes) if tr.notes else "nothing rewritten"
    msg = (
        f"framework {describe(g, fw)}: simulate/compile run what {fw} computes (dt={sem['dt']:g}, "
        f"{sem['discretization']}, reset {sem['reset']}); {what}"
    )
    if tr.unmodelled:
        msg += "; not modelled: " + "; ".join(tr.unmodelled)
    yield _f("framework-conventions", "info", None, msg)


@rule("legacy-reset")
def _legacy_reset(ctx: _Ctx) -> Iterator[Finding]:
    g = ctx.graph
    fw, reset = g.conventions.get("framework"), g.conventions.get("reset")
    for name in g.legacy_reset:
        if fw and reset:
            msg = (
                f"no v_reset (exported through nir {g.nir_version}, which has none); {fw} resets by "
                f'{reset}: pass reset="{reset}"'
            )
        else:
            msg = (
                f"no v_reset: the file (nir version {g.nir_version}) predates v_reset, when reset meant "
                f'subtraction (v <- v - v_threshold). Pass reset="subtract" (as the graph was defined) '
                f'or reset="zero" (how nir >= 1.0.5 reads it); reset="file" is refused'
            )
        yield _f("legacy-reset", "warning", name, msg)


@rule("reset-override")
def _reset_override(ctx: _Ctx) -> Iterator[Finding]:
    """A chosen reset other than the file's (only when one is chosen: ``check(..., reset=)``)."""
    from .semantics import RESETS, reset_override_findings

    if ctx.reset is None:
        return
    if ctx.reset not in RESETS:
        yield _refuse(
            "unknown-reset",
            SemanticsError,
            None,
            f"unknown reset {ctx.reset!r} (expected {' or '.join(RESETS)})",
            parameter="reset",
        )
        return
    yield from reset_override_findings(ctx.graph, ctx.reset)


def _taus(g: Graph) -> Iterator[tuple[Node, str, np.ndarray]]:
    for node in g.nodes.values():
        if node.is_neuron:
            for key in TAU_PARAMS:
                v = _float_param(node, key)
                if v is not None and v.size and np.isfinite(v).all():
                    yield node, key, v


@rule("sinabs-tau-steps")
def _sinabs_tau(ctx: _Ctx) -> Iterator[Finding]:
    g = ctx.graph
    if g.conventions.get("framework") == "sinabs":
        for node, key, v in _taus(g):
            yield _f(
                "sinabs-tau-steps",
                "info",
                node.name,
                f"'{key}' (e.g. {_fmt(float(v.reshape(-1)[0]))}) is in time steps (sinabs export): "
                f"simulate with dt=1",
            )
        return
    dt = ctx.effective_dt
    for node, key, v in _taus(g):
        big = float(v.min()) >= 1.0
        if not big:
            continue
        if dt is not None and dt < 1.0:
            yield _f(
                "sinabs-tau-steps",
                "warning",
                node.name,
                f"'{key}' = {_fmt(float(v.min()))} with dt = {_fmt(dt)} is "
                f"{_fmt(float(v.min()) / dt)} steps; "
                f"if this graph comes from sinabs its tau is in time steps: use dt=1",
            )
        elif dt is None:
            yield _f(
                "sinabs-tau-steps",
                "info",
                node.name,
                f"'{key}' = {_fmt(float(v.min()))} looks like a number of time steps (sinabs convention), "
                f"not seconds: if so, use dt=1",
            )


@rule("norse-tau-export")
def _norse_tau(ctx: _Ctx) -> Iterator[Finding]:
    g = ctx.graph
    conv = g.conventions
    if conv.get("framework") == "norse":
        edt = conv.get("dt")
        for node, key, v in _taus(g):
            yield _f(
                "norse-tau-export",
                "warning",
                node.name,
                f"'{key}' = {_fmt(float(v.reshape(-1)[0]))} was exported by norse 1.1.0, which writes "
                f"dt*tau instead of tau (norse#411, export dt = {edt}): the intended tau is "
                f"{_fmt(float(v.reshape(-1)[0]) / edt) if edt else '?'}",
            )
        return
    dt = ctx.effective_dt
    limit = dt if dt is not None else NORSE_TINY_TAU
    for node, key, v in _taus(g):
        lo = float(v.min())
        if 0 < lo < limit:
            what = (
                f"smaller than dt = {_fmt(dt)} (forward Euler decay 1 - dt/tau < 0)"
                if dt is not None
                else f"suspiciously small (< {_fmt(NORSE_TINY_TAU)} s)"
            )
            yield _f(
                "norse-tau-export",
                "warning",
                node.name,
                f"'{key}' = {_fmt(lo)} is {what}; graphs exported by norse 1.1.0 carry dt*tau "
                f"instead of tau (norse#411), e.g. 1e-5 for 10 ms at dt = 1e-3",
            )


@rule("negative-delay")
def _negative_delay(ctx: _Ctx) -> Iterator[Finding]:
    for node in ctx.graph.nodes.values():
        v = _float_param(node, "delay") if node.kind == "Delay" else None
        if v is not None and v.size and (v < 0).any():
            yield _f(
                "negative-delay",
                "error",
                node.name,
                f"delay has {int((v < 0).sum())} negative value(s) (min {_fmt(float(v.min()))}): "
                "a delay cannot look ahead",
            )


@rule("delay-not-integer-steps")
def _delay_steps(ctx: _Ctx) -> Iterator[Finding]:
    dt = ctx.effective_dt
    if dt is None:
        return
    for node in ctx.graph.nodes.values():
        v = _float_param(node, "delay") if node.kind == "Delay" else None
        if v is None or not v.size or not np.isfinite(v).all():
            continue
        steps = v / dt
        off = np.abs(steps - np.round(steps)) > 1e-6 * np.maximum(1.0, np.abs(steps))
        if off.any():
            i = int(np.argmax(off.reshape(-1)))
            yield _f(
                "delay-not-integer-steps",
                "warning",
                node.name,
                f"delay {_fmt(float(v.reshape(-1)[i]))} is {_fmt(float(steps.reshape(-1)[i]))} steps of dt = "
                f"{_fmt(dt)} ({int(off.sum())} value(s) not whole steps); it will be rounded",
            )


def _learning_node(ctx: _Ctx) -> Iterator[Finding]:
    """Each learning rule names a weight node (Linear, Affine, Conv) of the graph."""
    weights = sorted(
        n for n, node in ctx.graph.nodes.items() if node.kind in ("Linear", "Affine", "Conv1d", "Conv2d")
    )
    for node, r in (ctx.learning or {}).items():
        if node not in weights:
            what = (
                "is not in the graph" if node not in ctx.graph.nodes else f"is a {ctx.graph.nodes[node].kind}"
            )
            yield _f(
                "learning-node",
                "error",
                node,
                f"learning rule '{r.name}' names '{node}', which {what}; rules attach to weight nodes: "
                + (", ".join(weights) or "none in this graph"),
            )


@rule("unknown-target")
def _unknown_target(ctx: _Ctx) -> Iterator[Finding]:
    if ctx.target is not None and ctx.target not in target_names():
        yield _f(
            "unknown-target",
            "error",
            None,
            f"target '{ctx.target}' is not known (expected {' or '.join(target_names())})",
        )


# ---------------------------------------------------------------------------- graph sanity
#: The rules whose error findings make ``compile`` and ``simulate`` refuse the graph before any
#: work (:func:`refuse_malformed`), in the order they are tried.
SANITY = (
    "empty-graph",
    "name-collision",
    "no-input",
    "no-output",
    "param-missing",
    "param-not-numeric",
    "param-complex",
    "param-shape",
    "size-limit",
    "nan-inf",
    "param-magnitude",
    "shape-mismatch",
    "metadata-dt",
    "tau-dt-ratio",
)


def sanity_findings(graph: Graph, dt: Any = None) -> list[Finding]:
    """The findings of the :data:`SANITY` rules on ``graph`` (``dt``: the given one, or None).
    The same rules run in ``check``; here they guard ``compile`` and ``simulate``."""
    from .shapes import infer_shapes

    try:
        dt_val = None if dt is None else float(dt)
    except (TypeError, ValueError):
        dt_val = None  # resolve_semantics reports it
    ctx = _Ctx(graph=graph, dt=dt_val, shape_problems=list(infer_shapes(graph)))
    return [f for code in SANITY for f in RULES[code](ctx)]


def refuse_malformed(graph: Graph, dt: Any = None) -> None:
    """Raise the typed error of the first :data:`SANITY` error finding (``compile`` and
    ``simulate`` call this first, so a malformed graph never reaches a numeric pass)."""
    for f in sanity_findings(graph, dt):
        if f.error is not None:
            raise f.error


# ---------------------------------------------------------------------------- reset intent
#: The probe of :func:`reset_effect`: Bernoulli(PROBE_RATE) spikes on every Input (its own shape),
#: seed PROBE_SEED, PROBE_STEPS steps, batch PROBE_BATCH.
PROBE_RATE, PROBE_SEED, PROBE_STEPS, PROBE_BATCH = 0.1, 0, 100, 8
#: Bounds of one probe run, counted before it starts (never timed): synaptic multiply-adds plus neuron
#: updates, and recorded neuron-steps (memory). Beyond them the batch drops to 1, then the steps (not
#: below PROBE_MIN_STEPS); beyond that the effect is reported as not measured.
PROBE_OPS, PROBE_STATES, PROBE_MIN_STEPS = 1e8, 2e6, 20
_RESET_WORDS = {"subtract": "by subtraction", "value": "to the file's v_reset", "zero": "to zero"}


@dataclass(frozen=True)
class ResetEffect:
    """Spike counts per spiking group of the float netlist (chip timing, hop delay 1) on the probe,
    with the groups of ``changed`` reset ``frm`` (``"subtract"`` or ``"value"``) vs reset to zero."""

    frm: str
    changed: tuple[str, ...]
    counts: tuple[tuple[str, float, float], ...]  # (group, spikes with frm, spikes with zero)
    steps: int
    batch: int
    not_measured: str | None = None

    @property
    def text(self) -> str:
        if self.not_measured is not None:
            return f"(effect of reset to zero on this graph not measured: {self.not_measured})"
        parts = []
        for name, a, z in self.counts[:12]:
            pct = f"{100.0 * (z - a) / a:+.1f}% " if a > 0 else ""
            parts.append(f"{name} {pct}({a:.0f} -> {z:.0f} spikes)")
        more = f", and {len(self.counts) - 12} more layers" if len(self.counts) > 12 else ""
        return (
            f"Measured on this graph (float reference, chip timing; probe: Bernoulli({PROBE_RATE}) input "
            f"spikes, seed {PROBE_SEED}, {self.steps} steps, batch {self.batch}), reset to zero instead of "
            f"{_RESET_WORDS[self.frm]} changes the spike count per spiking layer by: "
            + ", ".join(parts)
            + more
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.frm,
            "changed": list(self.changed),
            "steps": self.steps,
            "batch": self.batch,
            "counts": {n: {self.frm: a, "zero": z} for n, a, z in self.counts},
            "not_measured": self.not_measured,
        }


def _probe_size(netlist: Any) -> tuple[int, int, str | None]:
    """``(batch, steps, why not)`` of the probe within :data:`PROBE_OPS` and :data:`PROBE_STATES`."""
    neurons = sum(g.size for g in netlist.groups.values())
    ops = sum(int(np.size(c.weight)) for c in netlist.connections) + neurons
    batch, steps = PROBE_BATCH, PROBE_STEPS
    if ops * batch * steps > PROBE_OPS or neurons * batch * steps > PROBE_STATES:
        batch = 1
    steps = int(min(steps, PROBE_OPS // max(ops, 1), PROBE_STATES // max(neurons, 1)))
    if steps < PROBE_MIN_STEPS:
        return (
            0,
            0,
            (
                f"{ops:,} synapses and neurons per step; {PROBE_MIN_STEPS} probe steps would exceed the "
                f"bound of {PROBE_OPS:.0e} operations"
            ),
        )
    return batch, steps, None


def reset_effect(netlist: Any, semantics: Any, changed: Iterable[str], frm: str = "subtract") -> ResetEffect:
    """The effect on spike counts of resetting the groups ``changed`` to zero instead of ``frm``:
    the float netlist (:func:`~neurocompile.netlist.simulate_netlist`, the graph's float semantics
    with chip timing) run twice on one deterministic probe (see :data:`PROBE_RATE`), every spiking
    group counted. Bounded before it runs (:data:`PROBE_OPS`); a run that fails is reported, not
    raised."""
    from dataclasses import replace

    from .netlist import simulate_netlist

    changed = tuple(changed)
    batch, steps, why = _probe_size(netlist)
    if why is not None:
        return ResetEffect(frm, changed, (), 0, 0, why)
    spiking = tuple(n for n, g in netlist.groups.items() if g.spiking)
    rng = np.random.default_rng(PROBE_SEED)
    probe = {
        k: (rng.random((batch, steps, *tuple(shape))) < PROBE_RATE).astype(np.float64)
        for k, shape in netlist.inputs.items()
    }

    def run(mode: str) -> dict[str, float]:
        groups = {n: (replace(g, reset=mode) if n in changed else g) for n, g in netlist.groups.items()}
        res = simulate_netlist(replace(netlist, groups=groups), probe, semantics, record=spiking)
        return {n: float(res.recordings[f"{n}.spikes"].sum()) for n in spiking}

    try:
        with np.errstate(all="ignore"):
            a, z = run(frm), run("zero")
    except Exception as exc:  # noqa: BLE001 - the finding stands without the measurement
        return ResetEffect(frm, changed, (), steps, batch, f"{type(exc).__name__}: {exc}")
    return ResetEffect(frm, changed, tuple((n, a[n], z[n]) for n in spiking), steps, batch)


def _ctx_effect(ctx: _Ctx, changed: tuple[str, ...], frm: str) -> ResetEffect:
    return ctx.memo(
        ("reset-effect", frm, changed), lambda: reset_effect(ctx.netlist, ctx.semantics, changed, frm)
    )


def _named(names: list[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:6])
    return shown + (f" and {len(names) - 6} more" if len(names) > 6 else "")


def reset_rule(ctx: _Ctx, *, code: str, chip: str, why: str) -> Iterator[Finding]:
    """Reset by subtraction on a target that cannot lower it, the same on every such target.

    ``chip`` names the target, ``why`` says what its neuron does instead (with its reference). In
    ``check`` without a chosen reset, one ``code`` warning per spiking node of a legacy file. With a
    reset chosen (compile, or ``check(..., reset=)``): spiking groups that reset by subtraction are
    refused (``code``, :class:`UnsupportedError` on ``reset``, expected ``reset="zero"``, its message
    carrying the measured effect of :func:`reset_effect`); under ``reset="zero"`` the groups a legacy
    file defines with subtraction give one ``reset-approximated`` info with the same measurement."""
    from .errors import UnsupportedError

    if ctx.reset is None:
        legacy = set(ctx.graph.legacy_reset)
        for node in ctx.graph.nodes.values():
            if node.kind in SPIKING_KINDS and node.name in legacy:
                yield _f(
                    code,
                    "warning",
                    node.name,
                    f"defined with reset by subtraction (the file predates v_reset), which {chip} cannot "
                    f'do: {why}. Compile refuses reset="subtract"; compile with reset="zero" to accept '
                    "the approximation (its measured effect is reported)",
                )
    nl = ctx.netlist
    if nl is None:
        return
    sub = [g.name for g in nl.groups.values() if g.spiking and g.reset == "subtract"]
    if sub:
        eff = _ctx_effect(ctx, tuple(sub), "subtract")
        yield refusal(
            code,
            UnsupportedError(
                f"reset by subtraction ({_named(sub)}) cannot be lowered to {chip}: {why}. Offer: "
                f'compile with reset="zero" to accept the approximation. {eff.text}',
                node=sub[0],
                parameter="reset",
                expected='reset="zero"',
            ),
        )
    if ctx.reset == "zero":
        leg = [g.name for g in nl.groups.values() if g.spiking and g.legacy]
        if leg:
            eff = _ctx_effect(ctx, tuple(leg), "subtract")
            yield _f(
                "reset-approximated",
                "info",
                leg[0],
                f"{_named(leg)} defined with reset by subtraction (the file predates v_reset), which "
                f'{chip} cannot do: {why}. Compiled with reset to zero as requested (reset="zero"). '
                f"{eff.text}",
            )


def value_reset_effect(ctx: _Ctx, groups: list[str]) -> str:
    """The measured effect (text) of resetting ``groups`` to zero instead of to their ``v_reset``."""
    return _ctx_effect(ctx, tuple(groups), "value").text


# ---------------------------------------------------------------------------- driver
def target_rules(target: str | None) -> list[Rule]:
    """The rules of a registered target (its ``rules`` hook); none for no or an unknown target."""
    if target is None or target not in target_names():
        return []
    return list(get_target(target).rule_list())


def check(
    model: Any,
    *,
    target: str | None = None,
    dt: float | None = None,
    learning: Any = None,
    reset: str | None = None,
    **load_kw: Any,
) -> CheckReport:
    """Load ``model`` (anything :func:`neurocompile.load` accepts) and report every finding.

    ``reset`` (``"file"``, ``"zero"``, ``"subtract"``; default: not chosen yet) checks the model as
    ``compile(..., reset=reset)`` would build it: ``reset-override`` when it overrides the file's
    reset, and the target's reset rules as ``compile`` enforces them. ``framework`` (a keyword passed
    on to :func:`neurocompile.load`: ``"snntorch"``, ``"rockpool"``, ``"spikingjelly"``, ``"norse"``,
    ``"sinabs"``, ``"nir"``) declares whose conventions apply: ``framework-conventions`` then says
    what its translation rewrites; without it, ``framework-unchosen`` warns about a graph that looks
    framework-exported.

    Never raises: an unreadable model gives one ``unreadable`` finding and ``readable=False``;
    a rule that fails unexpectedly gives an ``internal-error`` finding.
    """
    from .load import load_graph
    from .shapes import infer_shapes

    source = (
        str(model)
        if isinstance(model, (str,)) or hasattr(model, "__fspath__")
        else f"<{type(model).__name__}>"
    )
    dt_val: float | None
    try:
        dt_val = None if dt is None else float(dt)
    except (TypeError, ValueError):
        dt_val = float("nan")
    try:
        graph = load_graph(model, **load_kw)
        problems = infer_shapes(graph)
    except NeurocompileError as exc:
        return CheckReport(
            (Finding("unreadable", "error", exc.node, " ".join(str(exc).split())),),
            source=source,
            readable=False,
            target=target,
            dt=dt_val,
        )
    except Exception as exc:  # never raise: a loader bug is still reported as a finding
        return CheckReport(
            (
                Finding(
                    "unreadable",
                    "error",
                    None,
                    f"cannot load {source}: {type(exc).__name__}: {' '.join(str(exc).split())}",
                ),
            ),
            source=source,
            readable=False,
            target=target,
            dt=dt_val,
        )
    ctx = _Ctx(graph=graph, dt=dt_val, target=target, shape_problems=list(problems))
    pre: list[Finding] = []
    if reset is not None:
        ctx.options["reset"] = reset
    if learning is not None:
        from .learning.attach import normalize

        try:
            ctx.learning = normalize(learning)
        except NeurocompileError as exc:
            pre.append(Finding("learning-rules", "error", exc.node, " ".join(str(exc).split())))
        pre.extend(_learning_node(ctx))
    rules: list[Rule] = list(RULES.values()) + target_rules(target)
    findings: list[Finding] = list(pre)
    for fn in rules:
        try:
            findings.extend(fn(ctx))
        except Exception as exc:
            findings.append(
                Finding(
                    "internal-error",
                    "error",
                    None,
                    f"rule {getattr(fn, 'code', fn.__name__)} failed: {type(exc).__name__}: {exc}",
                )
            )
    return CheckReport(
        tuple(findings),
        source=graph.source,
        readable=True,
        target=target,
        dt=dt_val,
        nir_version=graph.nir_version,
        conventions=dict(graph.conventions),
        io=_io_line(graph),
    )


def _io_line(graph: Graph) -> str | None:
    from .summary import io_line, model_ports

    try:
        return io_line(*model_ports(graph))
    except Exception:  # noqa: BLE001 - a malformed graph has its findings; the ports line is extra
        return None
