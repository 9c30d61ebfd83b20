"""Framework conventions as a first-class option (``framework=`` / ``--framework``).

A graph exported by a training framework means what that framework computes, which NIR alone
does not say (``docs/semantics.md``). :func:`resolve` decides which framework's conventions
apply to a graph: the one asked for (``framework="snntorch"`` ...; ``"nir"``: none, NIR
semantics as written), else the one a framework module loaded it (``Graph.conventions``), else
one whose exporter left a mark in the file (rockpool's ``to_nir`` names its nodes
``<i>_LIFTorch``, ``<i>_LinearTorch``...). :func:`apply` then returns the graph rewritten by
that framework's translation (:mod:`neurocompile.conventions`) and the simulator options under
which NIR semantics reproduce it. :func:`looks_like` is the weaker evidence ``check`` warns
about (``framework-unchosen``) when no framework was chosen: snnTorch's exporter writes every
neuron with ``r = tau/1e-4``, ``v_leak = 0``, ``v_reset = 0``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .errors import SemanticsError, UnsupportedError
from .ir import ELEMENT_LIMIT, Graph

#: Every accepted ``framework`` value ("nir": NIR semantics as written, no translation).
FRAMEWORKS = ("snntorch", "rockpool", "spikingjelly", "norse", "sinabs", "nir")
#: Frameworks whose conventions are applied without being asked when a module loaded the graph or
#: the file carries the exporter's mark (norse and sinabs graphs keep their earlier behaviour: their
#: conventions are hints in ``check`` and an explicit choice elsewhere).
AUTO = ("snntorch", "rockpool", "spikingjelly")

_ROCKPOOL_NAME = re.compile(r"^\d+_(LIFTorch|LinearTorch|ExpSynTorch|LIFNeuronTorch|LIFBitshiftTorch)$")

__all__ = ["FRAMEWORKS", "declare", "resolve", "apply", "mark", "looks_like", "describe"]


def _check_name(framework: str) -> str:
    fw = str(framework).lower()
    if fw not in FRAMEWORKS:
        raise UnsupportedError(
            f"unknown framework {framework!r}", parameter="framework", expected=" or ".join(FRAMEWORKS)
        )
    return fw


def declare(graph: Graph, framework: str) -> Graph:
    """Record that ``graph`` follows ``framework``'s conventions (a user's choice at load)."""
    graph.conventions["framework_declared"] = _check_name(framework)
    return graph


def mark(graph: Graph) -> tuple[str | None, str]:
    """``(framework, why)`` from an exporter's mark in the graph itself, or ``(None, "")``."""
    names = [n.rsplit(".", 1)[-1] for n, node in graph.nodes.items() if node.kind not in ("Input", "Output")]
    hits = [n for n in names if _ROCKPOOL_NAME.match(n)]
    if hits and len(hits) == len(names):
        return "rockpool", f"node names written by rockpool's to_nir ({', '.join(hits[:3])})"
    return None, ""


def looks_like(graph: Graph) -> tuple[str | None, str]:
    """``(framework, why)``: weaker evidence than :func:`mark` (``check`` warns, nothing is applied)."""
    fw, why = mark(graph)
    if fw:
        return fw, why
    spiking = [n for n in graph.nodes.values() if n.kind in ("LIF", "CubaLIF")]
    if not spiking:
        return None, ""
    dt = 1e-4

    def real(v: Any) -> np.ndarray | None:
        """A real numeric array, or None (malformed parameters are check's other rules' business)."""
        if v is None or isinstance(v, (str, bytes)):
            return None
        try:
            arr = np.asarray(v)
        except Exception:  # noqa: BLE001
            return None
        if arr.dtype.kind not in "biuf" or arr.size > ELEMENT_LIMIT:  # size-limit: never computed on
            return None
        return np.asarray(arr, dtype=float)

    for node in spiking:
        p = node.params
        tau = real(p.get("tau") if node.kind == "LIF" else p.get("tau_mem"))
        r, v_leak, vr = real(p.get("r")), real(p.get("v_leak")), real(p.get("v_reset"))
        if tau is None or r is None or v_leak is None or vr is None:
            return None, ""
        try:
            ok = bool(np.allclose(r * dt, tau, rtol=1e-6, atol=0) and np.all(v_leak == 0) and np.all(vr == 0))
            if node.kind == "CubaLIF":
                w_in, tau_syn = real(p.get("w_in")), real(p.get("tau_syn"))
                ok = (
                    ok
                    and w_in is not None
                    and tau_syn is not None
                    and bool(np.allclose(w_in * dt, tau_syn, rtol=1e-6))
                )
        except (TypeError, ValueError):
            return None, ""
        if not ok:
            return None, ""
    return "snntorch", (
        "every neuron has r = tau/1e-4, v_leak = 0 and v_reset = 0 (w_in = tau_syn/1e-4), "
        "as snnTorch's export_to_nir writes them"
    )


def resolve(graph: Graph, framework: str | None = None) -> str | None:
    """The framework whose conventions apply (None: NIR semantics as written); see the module doc."""
    if framework is not None:
        fw = _check_name(framework)
        return None if fw == "nir" else fw
    conv = graph.conventions or {}
    if conv.get("translated"):
        return None
    declared = conv.get("framework_declared")
    if declared:
        return None if declared == "nir" else declared
    fw = conv.get("framework")
    if fw in AUTO:
        return fw
    fw, _ = mark(graph)
    return fw


def describe(graph: Graph, framework: str | None) -> str:
    """How the framework was chosen, for provenance and messages."""
    conv = graph.conventions or {}
    if framework is None:
        return "none (NIR semantics as written)"
    if conv.get("framework_declared") == framework:
        return f"{framework} (declared)"
    if conv.get("framework") == framework:
        return f"{framework} (read from its modules)"
    fw, why = mark(graph)
    if fw == framework:
        return f"{framework} (detected: {why})"
    return f"{framework} (chosen)"


def apply(
    graph: Graph,
    framework: str | None,
    *,
    dt: float | None = None,
    discretization: str | None = None,
    reset: str = "file",
    form: str = "exact",
) -> tuple[Graph, dict[str, Any], Any]:
    """``(graph, semantics options, Translation | None)`` for ``framework``'s conventions.

    ``framework`` None: the graph unchanged with the options given. Otherwise the translation fixes
    dt (a different ``dt`` is a :class:`SemanticsError`: the framework's parameters already encode
    its step), the discretization and the reset; ``reset`` selects the framework's reset where the
    graph does not record it (snnTorch), ``form="neurons"`` keeps spiking neurons (for the chips).
    """
    from . import conventions as cv

    if framework is None:
        return graph, {"dt": dt, "discretization": discretization or "forward", "reset": reset}, None
    for node in graph.nodes.values():  # a translation copies the graph: never beyond the size limit
        for key, val in node.params.items():
            if isinstance(val, np.ndarray) and val.size > ELEMENT_LIMIT:
                raise UnsupportedError(
                    f"{framework}'s conventions are not applied: '{key}' has {val.size:,} elements",
                    node=node.name,
                    parameter=key,
                    expected=f"arrays of at most {ELEMENT_LIMIT:,} elements (check: size-limit)",
                )
    if framework == "snntorch":
        tr = cv.snntorch_to_nir(graph, reset=reset, form=form)
    elif framework == "rockpool":
        tr = cv.rockpool_to_nir(graph, dt=dt)
    elif framework == "spikingjelly":
        tr = cv.spikingjelly_to_nir(graph, dt=dt, form=form)
    elif framework == "norse":
        ndt = dt if dt is not None else graph.conventions.get("dt", graph.metadata_dt())
        if ndt is None:
            raise SemanticsError(
                "norse graphs run with the dt given to from_nir; pass dt=DT",
                parameter="dt",
                expected="a positive number",
            )
        tr = cv.norse_to_nir(
            graph, dt=float(ndt), reset_method="subtract" if reset == "subtract" else "value"
        )
    elif framework == "sinabs":
        tr = cv.sinabs_to_nir(graph)
    else:  # pragma: no cover - _check_name refused it
        raise UnsupportedError(f"unknown framework {framework!r}", parameter="framework")
    sem = dict(tr.semantics)
    if dt is not None and abs(float(dt) - sem["dt"]) > 1e-9 * sem["dt"]:
        raise SemanticsError(
            f"{framework}'s conventions fix dt = {sem['dt']:g} (its parameters encode that step); "
            f"dt={dt:g} was given",
            parameter="dt",
            expected=f"dt={sem['dt']:g} or no dt",
        )
    if discretization is not None and discretization != sem["discretization"]:
        raise SemanticsError(
            f"{framework}'s conventions fix discretization = {sem['discretization']}; "
            f"{discretization} was given",
            parameter="discretization",
            expected=f"{sem['discretization']} or no discretization",
        )
    g = tr.graph
    g.conventions = dict(graph.conventions)
    g.conventions.update(
        {
            "framework": framework,
            "translated": True,
            "translation": tr.as_dict(),
        }
    )
    sem.pop("hop_delay", None)
    return g, sem, tr
