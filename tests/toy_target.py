"""A toy target, defined entirely inside ``tests/``: the proof that the core names no chip.

"toy" is a float chip with integer-free arithmetic: its Program holds the netlist as it is
(one population per neuron group, one projection per connection, float parameters), its one
backend ``sim`` rebuilds the netlist from the Program and runs it with the core's
:func:`neurocompile.netlist.simulate_netlist`. It has one design rule (at most
:data:`MAX_NEURONS` neurons per population, finding ``toy-too-big``) that both ``check`` and
``lower`` use, a placer (one core per population) and a report section.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from neurocompile.check import Finding
from neurocompile.data import RunResult
from neurocompile.errors import ResourceError
from neurocompile.netlist import Connection, Netlist, NeuronGroup, simulate_netlist
from neurocompile.program import OutputSpec, Population, Program, Projection
from neurocompile.semantics import Semantics
from neurocompile.target import Target

MAX_NEURONS = 256


def too_big(ctx) -> Iterator[Finding]:
    """Every spiking or leaky node of the graph larger than the toy chip's population limit."""
    from neurocompile.ir import NEURON_KINDS
    from neurocompile.reference import node_shapes

    _, out_shapes = node_shapes(ctx.graph)
    for name, node in ctx.graph.nodes.items():
        if node.kind in NEURON_KINDS:
            n = int(np.prod(out_shapes[name], dtype=np.int64))
            if n > MAX_NEURONS:
                yield Finding(
                    "toy-too-big", "error", name, f"{n} neurons exceed the toy chip's {MAX_NEURONS}"
                )


too_big.code = "toy-too-big"  # type: ignore[attr-defined]


def lower(
    netlist: Netlist,
    *,
    graph: Any = None,
    semantics: Semantics | None = None,
    calibration=None,
    learning=None,
    cores: int = 64,
) -> Program:
    for group in netlist.groups.values():
        if group.size > MAX_NEURONS:
            raise ResourceError(
                f"{group.size} neurons exceed the toy chip's {MAX_NEURONS}",
                node=group.name,
                parameter="size",
                expected=f"<= {MAX_NEURONS}",
            )
    sem = semantics or netlist.semantics
    prog = Program(target="toy", semantics=sem.as_dict())
    for name, shape in netlist.inputs.items():
        prog.populations[name] = Population(name, "input", tuple(shape))
        prog.inputs[name] = name
    for g in netlist.groups.values():
        params = {k: np.asarray(v, np.float64) for k, v in g.params.items()}
        params.update(bias=np.asarray(g.bias, np.float64))
        prog.populations[g.name] = Population(g.name, g.kind, tuple(g.shape), params)
        prog.populations[g.name].params["__meta__"] = {"reset": g.reset, "spiking": g.spiking}
    for c in netlist.connections:
        prog.projections[c.name] = Projection(
            c.name,
            c.pre,
            c.post,
            "coo",
            {"pre": c.pre_idx, "post": c.post_idx, "weights": c.weight, "delays": c.delay},
        )
    for key, (pop, obs) in netlist.outputs.items():
        prog.outputs[key] = OutputSpec(pop, obs)
    prog.provenance = {
        "names": {n: [n] for n in netlist.groups} | {c.name: [c.name] for c in netlist.connections},
        "findings": [],
        "cores": cores,
    }
    return prog


class Placement(dict):
    def as_dict(self) -> dict[str, Any]:
        return dict(self)


def place(program: Program, *, write: bool = True) -> Placement:
    """One core per neuron population, all on chip 0."""
    cores = [
        {
            "chip": 0,
            "core": i,
            "population": n,
            "start": 0,
            "stop": q.size,
            "neurons": q.size,
            "synapse_bytes": 0,
        }
        for i, (n, q) in enumerate((n, q) for n, q in program.populations.items() if q.kind != "input")
    ]
    placement = Placement(
        chips=1, cores_used=len(cores), cores=cores, limits={"neurons_per_core": MAX_NEURONS}
    )
    if write:
        program.placement = placement.as_dict()
    return placement


def netlist_of(program: Program) -> Netlist:
    sem = Semantics(**program.semantics)
    groups = {}
    for name, pop in program.populations.items():
        if pop.kind == "input":
            continue
        meta = pop.params["__meta__"]
        params = {k: v for k, v in pop.params.items() if k not in ("bias", "__meta__")}
        groups[name] = NeuronGroup(
            name, pop.kind, pop.shape, params, pop.params["bias"], meta["reset"], meta["spiking"]
        )
    conns = [
        Connection(
            p.name,
            p.pre,
            p.post,
            p.params["pre"],
            p.params["post"],
            p.params["weights"],
            p.params["delays"],
            [p.name],
        )
        for p in program.projections.values()
    ]
    outputs = {k: (o.population, o.observable) for k, o in program.outputs.items()}
    return Netlist(
        inputs={k: program.populations[k].shape for k in program.inputs},
        groups=groups,
        connections=conns,
        outputs=outputs,
        findings=[],
        node_map={},
        semantics=sem,
    )


def run_sim(program: Program, inputs, **options: Any) -> RunResult:
    res = simulate_netlist(netlist_of(program), inputs)
    return RunResult(outputs=res.outputs, backend="sim:toy", fidelity="float", semantics=program.semantics)


def report_section(program: Program) -> dict[str, Any]:
    return {"cores": len(program.placement.get("cores", [])), "limit": MAX_NEURONS}


TARGET = Target(
    name="toy",
    description="a float toy chip defined in tests/",
    lower=lower,
    rules=[too_big],
    place=place,
    backends={"sim": run_sim},
    report_section=report_section,
)
