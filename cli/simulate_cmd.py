"""``neurocompile simulate MODEL --input IN --output OUT.npz``: a float reference run.

Loads the model, runs :func:`neurocompile.simulate` under the requested semantics, saves
outputs and recordings with :meth:`RunResult.save` (``.npz`` keys = Output node names and
``NODE.v``/``NODE.u``/``NODE.spikes``) and prints one summary line. On a terminal a progress
bar on stderr names the step (load, run, write); ``--quiet`` hides it. ``--input`` may be event data
(binned with ``--bin-ms``/``--bin-mode``, :mod:`neurocompile.cli.event_input`); ``--save-nirdata``
also writes the result as NIRData.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from neurocompile.cli import event_input as ev
from neurocompile.cli import progress
from neurocompile.cli.main import app, cli_wording
from neurocompile.cli.options import (
    DiscretizationOpt,
    DtOpt,
    FrameworkOpt,
    HopDelayOpt,
    OptionalFloat,
    OptionalStr,
    RecordOpt,
    ResetOpt,
)


def summary_line(res, path: Path) -> str:
    sem = res.semantics
    counts = []
    for name, arr in res.outputs.items():
        counts.append(f"{name}={int(np.rint(arr.sum()))}")
    fw = f"framework {sem['framework']}; " if sem.get("framework") else ""
    return (
        f"simulated: {res.label()}; {fw}dt={sem['dt']:g}, {sem['discretization']}, reset {sem['reset']}, "
        f"hop_delay {sem['hop_delay']}, {sem['threshold']}; output spike/value sums: {', '.join(counts)}; "
        f"wrote {path}"
    )


@app.command()
def simulate(
    model: str = typer.Argument(..., help="A .nir file."),
    input: Path = typer.Option(..., "--input", "-i", help=ev.INPUT_HELP),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the result .npz."),
    dt: OptionalFloat = DtOpt,
    discretization: str = DiscretizationOpt,
    reset: str = ResetOpt,
    hop_delay: int = HopDelayOpt,
    record: OptionalStr = RecordOpt,
    bin_ms: OptionalFloat = ev.BinMsOpt,
    bin_mode: str = ev.BinModeOpt,
    steps: ev.OptionalInt = ev.StepsOpt,
    sensor_size: OptionalStr = ev.SensorSizeOpt,
    polarity: str = ev.PolarityOpt,
    save_nirdata: ev.OptionalPath = ev.SaveNirdataOpt,
    framework: OptionalStr = FrameworkOpt,
) -> None:
    """Run MODEL on the float reference simulator (numpy, float64, batch x time)."""
    import neurocompile
    from neurocompile.data import parse_record
    from neurocompile.files import model_path, output_path

    output = output_path(output, what="--output", inputs={"MODEL": model, "--input": input})
    if save_nirdata is not None:
        output_path(save_nirdata, what="--save-nirdata", inputs={"MODEL": model, "--input": input})
    items = parse_record(record)
    with progress.steps("simulate", ("load", "run", "write")) as step:
        step("load")
        graph = neurocompile.load(model_path(model))
        shapes = {n: graph.nodes[n].output_shape or graph.nodes[n].input_shape or () for n in graph.inputs}
        inputs = ev.read_input(
            input,
            shapes,
            dt if dt is not None else graph.metadata_dt(),
            bin_ms=bin_ms,
            bin_mode=bin_mode,
            steps=steps,
            sensor_size=sensor_size,
            polarity=polarity,
        )
        step("run")
        res = neurocompile.simulate(
            graph,
            inputs,
            dt=dt,
            discretization=discretization,
            reset=reset,
            hop_delay=hop_delay,
            record=items,
            framework=framework,
        )
        step("write")
        res.save(output, what="--output")
        ev.save_nirdata(save_nirdata, res, res.semantics.get("dt"))
    typer.echo(summary_line(res, output))
    from neurocompile.semantics import reset_override_findings

    if res.semantics.get("framework"):
        return
    for f in reset_override_findings(graph, reset):  # the file's reset overridden by --reset
        typer.echo(f"warning: {cli_wording(f.message)}", err=True)
