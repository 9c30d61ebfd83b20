"""``neurocompile compile MODEL --target TARGET -o PROG``: write a Program for a registered target.

Loads MODEL, calls :func:`neurocompile.compile` with the shared semantic options, saves the
Program (``.ncp``) and prints one summary line (or ``--json``: populations, projections,
findings). Target-specific options (``--tick-ms`` for SpiNNaker, ``--decay-levels`` for Loihi 2)
are passed through only when given; an option the target does not take is a one-line error
(exit 2). On a terminal a progress bar on stderr names the step (load, lower and place, write);
``--quiet`` hides it. ``--profile``
prints the seconds of every pass (load, sanity, netlist, the target's ``lower.*`` passes, place,
save) on stderr after the summary, and stores them in the Program's ``provenance["timing_s"]``
(without ``save``, which happens after; such a Program's bytes differ from run to run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from neurocompile.cli import progress
from neurocompile.cli.main import app, cli_wording
from neurocompile.cli.options import (
    DiscretizationOpt,
    DtOpt,
    FrameworkOpt,
    JsonOpt,
    OptionalFloat,
    OptionalStr,
    ResetOpt,
    target_option,
    targets_help,
)


def summary(program, path: Path) -> dict:
    """The ``--json`` document: ``schema_version``, the Program's ``counts`` (the block report and
    inspect carry, :func:`neurocompile.program.counts`), placement, semantics and findings."""
    from neurocompile.program import counts
    from neurocompile.summary import SCHEMA_VERSION

    pl = program.placement or {}
    c = counts(program).as_dict()
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "compile",
        "program": str(path),
        "target": program.target,
        "counts": c,
        # the keys compile --json had before the counts block (kept for scripts that read them)
        "populations": c["populations"] - c["input_populations"],
        "neurons": c["neurons"],
        "projections": c["projections"],
        "synapses": c["stored_synapses"],
        "cores": pl.get("cores_used"),
        "chips": pl.get("chips"),
        "placement": {"chips": pl.get("chips"), "cores_used": pl.get("cores_used")},
        "semantics": program.semantics,
        "findings": list(program.provenance.get("findings", [])),
    }


def print_profile(timings: dict[str, float]) -> None:
    """One line per pass on stderr in the order they ended, a nested pass (``lower.rules``...)
    indented under its parent (and counted in it), then the total of the top-level passes."""
    typer.echo("time per pass (s):", err=True)
    top = [k for k in timings if "." not in k]
    for name in top:
        typer.echo(f"  {name:<34} {timings[name]:9.3f}", err=True)
        for sub in (k for k in timings if k.startswith(name + ".")):
            typer.echo(f"    {sub:<32} {timings[sub]:9.3f}", err=True)
    typer.echo(f"  {'total':<34} {sum(timings[k] for k in top):9.3f}", err=True)


@app.command("compile")
def compile_cmd(
    model: str = typer.Argument(..., help="A .nir file."),
    target: str = target_option(..., "-t", help=f"{targets_help()}."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the Program (.ncp)."),
    dt: OptionalFloat = DtOpt,
    discretization: str = DiscretizationOpt,
    reset: str = ResetOpt,
    calibration: Optional[Path] = typer.Option(
        None,
        "--calibration",
        help="Input .npz whose float-reference run picks the scales from observed ranges "
        "instead of worst cases.",
    ),
    learning: OptionalStr = typer.Option(None, "--learning", help="Learning rules (.toml)."),
    tick_ms: OptionalFloat = typer.Option(
        None, "--tick-ms", help="SpiNNaker only: machine time step in ms (1.0 or 0.1)."
    ),
    decay_levels: Optional[int] = typer.Option(
        None,
        "--decay-levels",
        metavar="K",
        help="Loihi 2 only: cluster each node's per-neuron time constants into at most K levels "
        "(default: every neuron keeps its own; the finding says how much each changes).",
    ),
    framework: OptionalStr = FrameworkOpt,
    as_json: bool = JsonOpt,
    profile: bool = typer.Option(
        False, "--profile", help="Print the seconds of every compiler pass (load ... save) on stderr."
    ),
) -> None:
    """Compile MODEL for a chip and write the Program (integer network, quantization, placement)."""
    import neurocompile
    from neurocompile.data import load_npz
    from neurocompile.files import atomic_write, input_path, model_path, output_path
    from neurocompile.target import get_target

    output = output_path(
        output, what="--output", inputs={"MODEL": model, "--calibration": calibration, "--learning": learning}
    )
    model_path(model)
    if calibration is not None:
        load_npz(calibration, what="--calibration")  # validated as it is read (the compiler reads it again)
    if learning is not None:
        input_path(learning, what="--learning")
    opts = {}
    if tick_ms is not None:
        opts["tick_ms"] = tick_ms
    if decay_levels is not None:
        opts["decay_levels"] = decay_levels
    get_target(target)  # an unknown target before any work, as neurocompile.compile does
    from neurocompile.compiler import profiling, timed

    with (
        profiling() as timings,
        progress.steps(f"compile for {target}", ("load", "lower and place", "write")) as step,
    ):
        step("load")
        with timed("load"):
            graph = neurocompile.load(model)
        step("lower and place")
        program = neurocompile.compile(
            graph,
            target,
            dt=dt,
            discretization=discretization,
            reset=reset,
            calibration=calibration,
            learning=learning,
            profile=profile,
            framework=framework,
            **opts,
        )
        step("write")
        with timed("save"):
            atomic_write(output, program.to_bytes(), what="--output")
    s = summary(program, output)
    for f in s["findings"]:  # the file's reset overridden by --reset: said on stderr, not only counted
        if f["code"] == "reset-override":
            typer.echo(f"warning: {cli_wording(f['message'])}", err=True)
    if profile:
        print_profile(timings)
    if as_json:
        typer.echo(json.dumps(s, indent=2, sort_keys=True, default=str))
        return
    from neurocompile.program import counts

    pl = s["placement"]
    where = f", {pl['cores_used']} cores on {pl['chips']} chip(s)" if pl["cores_used"] is not None else ""
    nf = len(s["findings"])
    codes = sorted({f["code"] for f in s["findings"]})
    typer.echo(
        f"compiled for {s['target']}: {counts(program).text()}{where}; "
        f"{nf} finding(s){' (' + ', '.join(codes) + ')' if codes else ''}; wrote {output}"
    )
