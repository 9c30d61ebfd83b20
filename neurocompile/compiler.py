"""``neurocompile.compile``: model -> netlist -> target ``lower`` -> Program.

``compile(model, target, dt=..., discretization=..., reset=..., calibration=..., learning=...,
**target_options)`` loads the model (anything :func:`neurocompile.load` takes, or a
:class:`~neurocompile.ir.Graph`), resolves the :class:`~neurocompile.semantics.Semantics`
with ``hop_delay=1`` (chips add one step per synaptic hop), builds the target-independent
:class:`~neurocompile.netlist.Netlist` and calls the ``lower`` hook of the registered target
(:func:`neurocompile.target.get_target`).

A target's ``lower`` has the signature::

    lower(netlist, *, graph, semantics, calibration=None, learning=None, **target_options) -> Program

It returns a Program whose ``provenance`` holds at least ``"names"``: ``{netlist group or
connection name: [population/projection names]}`` and ``"findings"`` (its own lowering
findings as dicts). ``compile`` then fills the common provenance (source, graph hash,
version, options, the NIR node map, netlist findings first) and the target's placement.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import inspect
import json
import os
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from .check import refuse_malformed
from .errors import InputDataError, UnsupportedError
from .ir import Graph
from .netlist import Netlist, build_netlist
from .semantics import resolve_semantics
from .target import get_target

#: the pass timings of the ``compile(..., profile=True)`` running in this context (None: not profiling).
_TIMINGS: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar("nc_timings", default=None)


@contextlib.contextmanager
def timed(name: str) -> Iterator[None]:
    """Time the block as pass ``name`` of the profiled :func:`compile` running (a no-op otherwise).

    Chip lower drivers wrap each of their passes in ``with timed("lower.NAME"):``; seconds add
    up when a name repeats. Nesting is allowed (an outer pass includes its inner ones)."""
    timings = _TIMINGS.get()
    if timings is None:
        yield
        return
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0


@contextlib.contextmanager
def profiling(timings: dict[str, float] | None = None) -> Iterator[dict[str, float]]:
    """Collect the :func:`timed` passes of every compile inside the block into ``timings`` (a new
    dict if None), which is yielded; the CLI adds its own passes (load, save) to the same dict."""
    timings = {} if timings is None else timings
    token = _TIMINGS.set(timings)
    try:
        yield timings
    finally:
        _TIMINGS.reset(token)


def graph_sha256(graph: Graph) -> str:
    """A content hash of the graph: node names, kinds, parameters (values and dtypes) and edges."""
    h = hashlib.sha256()
    for name in sorted(graph.nodes):
        node = graph.nodes[name]
        h.update(f"node\0{name}\0{node.kind}\0".encode())
        for key in sorted(node.params):
            val = node.params[key]
            h.update(f"{key}\0".encode())
            if val is None:
                h.update(b"None")
            elif isinstance(val, np.ndarray) or (np.ndim(val) > 0 and not isinstance(val, (str, bytes))):
                arr = np.ascontiguousarray(np.asarray(val))
                if arr.dtype.kind in "fiub":
                    h.update(f"{arr.dtype.str}{arr.shape}".encode())
                    h.update(arr.tobytes())
                else:
                    h.update(repr(arr.tolist()).encode())
            else:
                h.update(repr(val).encode())
    for s, d in graph.edges:
        h.update(f"edge\0{s}\0{d}\0".encode())
    h.update(f"legacy\0{','.join(graph.legacy_reset)}".encode())
    return h.hexdigest()


def load_calibration(calibration: Any) -> dict[str, np.ndarray] | None:
    """``None``, a mapping of arrays, or a ``.npz`` path -> {input name: float array}."""
    if calibration is None:
        return None
    if isinstance(calibration, Mapping):
        return {
            str(k): np.asarray(v, dtype=np.float64)
            for k, v in calibration.items()
            if not str(k).startswith("__")
        }
    path = Path(calibration)
    if not path.is_file():
        raise InputDataError(
            f"calibration file {path} does not exist",
            parameter="calibration",
            expected="an .npz file of inputs (batch, time, *shape) keyed by Input name",
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: np.asarray(z[k], dtype=np.float64) for k in z.files if not k.startswith("__")}
    except Exception as exc:  # noqa: BLE001 - any unreadable file is an input error
        raise InputDataError(
            f"cannot read calibration file {path}: {exc}", parameter="calibration", expected="an .npz file"
        ) from None


def compose_node_map(netlist: Netlist, names: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """NIR node -> target object names, through the netlist's node map and the lowering's ``names``."""
    out: dict[str, list[str]] = {}
    for nir_node, nl_names in netlist.node_map.items():
        objs: list[str] = []
        for n in nl_names:
            for obj in names.get(n, [n] if n in netlist.inputs else []):
                if obj not in objs:
                    objs.append(obj)
        out[nir_node] = objs
    return out


@contextlib.contextmanager
def no_hugepage_advice() -> Iterator[None]:
    """Inside the block numpy does not ask the kernel for transparent huge pages (``madvise``) for
    its large arrays; restored after. Linux's default ``defrag=madvise`` makes every such allocation
    compact memory in the faulting thread: lowering at chip scale allocates many fresh arrays of
    tens to hundreds of MB, which can then spend more time in the kernel than in numpy (conv -> loihi2
    at a quarter of bench_compile's full size, two runs each way: 4.1 / 3.9 s -> 1.6 / 1.6 s system
    CPU; at full size one pair: the same CPU, wall 57 s -> 40 s at load 4; it depends on how
    fragmented the machine's memory is). Left alone when the user chose with
    ``NUMPY_MADVISE_HUGEPAGE``, or without numpy's switch."""
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # numpy < 2
        try:
            from numpy.core.multiarray import _set_madvise_hugepage
        except ImportError:
            _set_madvise_hugepage = None
    if _set_madvise_hugepage is None or "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        yield
        return
    prev = _set_madvise_hugepage(False)
    try:
        yield
    finally:
        _set_madvise_hugepage(prev)


@no_hugepage_advice()
def compile(  # noqa: A001 - the public name is part of the interface
    model: Any,
    target: str,
    *,
    dt: float | None = None,
    discretization: str = "forward",
    reset: str = "file",
    calibration: Any = None,
    learning: Any = None,
    profile: bool = False,
    framework: str | None = None,
    **target_options: Any,
):
    """Compile ``model`` for ``target`` (a registered target name) and return a Program.

    ``profile=True`` times every pass (load, sanity, semantics, netlist, the target's lower
    passes ``lower.*``, provenance, place; seconds, in order) into ``program.provenance["timing_s"]``
    (wall-clock figures: that Program's bytes differ from run to run; without ``profile`` nothing
    is added). Inside :func:`profiling` the passes go to its dict as well.

    ``framework`` (as in :func:`simulate`): the framework's translation in its ``neurons`` form
    (spiking nodes stay LIF/CubaLIF for the chips; what it approximates is in its notes), its dt,
    discretization and reset; recorded in ``provenance["framework"]`` (name, how it was chosen,
    notes, unmodelled behaviour) and ``provenance["options"]["framework"]``. A graph read from a
    framework module or carrying an exporter's mark gets its framework without being asked.

    Raises :class:`UnsupportedError` for an unknown target or an option the target does not
    take, and the typed errors of loading, semantics and lowering. Runs in
    :func:`no_hugepage_advice`.
    """
    if profile:  # nested in profiling(): its dict gets the passes as well
        with profiling(_TIMINGS.get()) as timings:
            program = compile(
                model,
                target,
                dt=dt,
                discretization=discretization,
                reset=reset,
                calibration=calibration,
                learning=learning,
                framework=framework,
                **target_options,
            )
        program.provenance["timing_s"] = {k: round(v, 6) for k, v in timings.items()}
        return program
    from .frameworks import apply, describe, resolve
    from .load import load

    tgt = get_target(target)
    with timed("load"):
        graph = model if isinstance(model, Graph) else load(model)
    original = graph
    with timed("sanity"):
        refuse_malformed(graph, dt if resolve(graph, framework) is None else None)  # check's SANITY rules
    fw = resolve(graph, framework)
    translation = None
    requested_reset = reset
    if fw is not None:
        with timed("framework"):
            graph, fsem, translation = apply(
                graph,
                fw,
                dt=dt,
                discretization=None if discretization == "forward" else discretization,
                reset=reset,
                form="neurons",
            )
            if fw != "snntorch" and reset != "file":
                fsem["reset"] = reset  # the user's reset replaces the framework's (e.g. zero for a chip)
            dt, discretization, reset = fsem["dt"], fsem["discretization"], fsem["reset"]
    with timed("semantics"):
        sem = resolve_semantics(graph, dt=dt, discretization=discretization, reset=reset, hop_delay=1)
    try:
        lower = tgt.hook("lower")
    except (ImportError, AttributeError) as exc:
        raise UnsupportedError(
            f"target {target!r} has no lowering yet ({exc})",
            parameter="target",
            expected="an implemented target",
        ) from None
    sig = inspect.signature(lower)
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    known = {n for n, p in sig.parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    for key in target_options:
        if not accepts_any and (key not in known or key in ("graph", "semantics", "calibration", "learning")):
            opts = sorted(known - {"graph", "semantics", "calibration", "learning"})
            raise UnsupportedError(
                f"target {target!r} does not take the option {key!r}",
                parameter=key,
                expected=("one of " + ", ".join(opts)) if opts else "no target options",
            )
    with timed("netlist"):
        netlist = build_netlist(graph, sem)
    calib = load_calibration(calibration)
    with timed("lower"):
        program = lower(
            netlist, graph=graph, semantics=sem, calibration=calib, learning=learning, **target_options
        )
    with timed("provenance"):
        provenance = _provenance(
            program, netlist, graph, sem, target, discretization, reset, calibration, learning, target_options
        )
    if fw is not None:
        provenance["options"]["framework"] = fw
        provenance["framework"] = {
            "name": fw,
            "chosen": describe(original, fw),
            "reset": requested_reset,
            "version": original.conventions.get("framework_version"),
            **translation.as_dict(),
        }
    program.provenance = provenance
    placer = tgt.hook("place")
    if placer is not None:
        with timed("place"):
            res = placer(program)  # writes program.placement
        if isinstance(res, dict):
            program.placement = res
    return program


def _provenance(
    program, netlist, graph, sem, target, discretization, reset, calibration, learning, target_options
):
    """The common provenance (see the module docstring), the lowering's own keys after it."""
    from . import __version__

    prov = dict(program.provenance)
    names = prov.pop("names", {})
    lower_findings = list(prov.pop("findings", []))
    options = {
        "target": target,
        "dt": sem.dt,
        "discretization": discretization,
        "reset": reset,
        "calibration": None
        if calibration is None
        else (str(calibration) if not isinstance(calibration, Mapping) else "<inputs>"),
        "learning": None
        if learning is None
        else (str(learning) if isinstance(learning, (str, Path)) else f"<{type(learning).__name__}>"),
    }
    options.update({k: _plain(v) for k, v in target_options.items()})
    provenance = {
        "source": graph.source,
        "graph_sha256": graph_sha256(graph),
        "neurocompile_version": __version__,
        "nir_version": graph.nir_version,
        "options": options,
        "node_map": compose_node_map(netlist, names),
        "findings": [f.as_dict() for f in netlist.findings] + lower_findings,
    }
    provenance.update(prov)
    return provenance


def _plain(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (Path,)):
        return str(v)
    try:
        json.dumps(v)
        return v
    except TypeError:
        return repr(v)


def simulate(
    graph: Graph,
    inputs: Mapping[str, np.ndarray],
    *,
    dt: float | None = None,
    framework: str | None = None,
    **options: Any,
):
    """``neurocompile.simulate``: the float reference (:func:`neurocompile.reference.simulate`, same
    arguments) after the graph sanity rules of ``check`` (the first error refused as a typed error).

    ``framework`` (``"snntorch"``, ``"rockpool"``, ``"spikingjelly"``, ``"norse"``, ``"sinabs"``;
    ``"nir"``: none): run what that framework computes (:func:`neurocompile.frameworks.apply`: the
    graph rewritten by its translation, dt, discretization and reset fixed by it; ``reset`` picks
    snnTorch's reset mechanism where the graph does not record it). Without it, a graph read from an
    snnTorch/rockpool/spikingjelly module or carrying an exporter's mark gets its framework's
    conventions (:func:`neurocompile.frameworks.resolve`). Recorded ``NODE.spikes``/``NODE.v``/``NODE.u``
    of a node the translation rewrote are read from its spike output / membrane (``NODE.mem``) /
    synapse (``NODE.syn``).
    """
    from .frameworks import apply, resolve
    from .reference import simulate as reference_simulate

    fw = resolve(graph, framework)
    if fw is None:
        refuse_malformed(graph, dt)
        return reference_simulate(graph, inputs, dt=dt, **options)
    refuse_malformed(graph, None)  # dt is the framework's (apply checks a given one)
    disc = options.pop("discretization", None)
    tgraph, sem, tr = apply(
        graph,
        fw,
        dt=dt,
        discretization=None if disc == "forward" else disc,
        reset=options.pop("reset", "file"),
    )
    from .data import parse_record

    items = parse_record(options.pop("record", ()))
    keep, extra = [], {}
    for node, obs in items:
        tnode = tgraph.nodes.get(node)
        if tnode is not None and tnode.is_neuron:
            keep.append((node, obs))
        elif obs == "v" and f"{node}.mem" in tgraph.nodes:
            keep.append((f"{node}.mem", "v"))
            extra[f"{node}.mem.v"] = f"{node}.v"
        elif obs == "u" and f"{node}.syn" in tgraph.nodes:  # a CubaLIF split into LI synapse + membrane
            keep.append((f"{node}.syn", "v"))
            extra[f"{node}.syn.v"] = f"{node}.u"
        elif obs == "spikes" and tnode is not None:
            from .ir import Node

            tap = f"__record__.{node}"
            tgraph.nodes[tap] = Node(tap, "Output", {"shape": None})
            tgraph.edges.append((node, tap))
            extra[tap] = f"{node}.spikes"
        else:
            keep.append((node, obs))
    if extra:
        from .shapes import infer_shapes

        infer_shapes(tgraph)
    res = reference_simulate(tgraph, inputs, record=keep, **sem, **options)
    for src, dst in extra.items():
        if src in res.outputs:
            res.recordings[dst] = res.outputs.pop(src)
        elif src in res.recordings:
            res.recordings[dst] = res.recordings.pop(src)
    res.semantics["framework"] = fw
    return res


__all__ = [
    "compile",
    "simulate",
    "timed",
    "profiling",
    "graph_sha256",
    "load_calibration",
    "compose_node_map",
]
