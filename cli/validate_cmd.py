"""``neurocompile validate MODEL PROG --input IN.npz [--labels KEY_OR_FILE] [--against trained|program]``.

Runs the Program on the bit-exact emulator and the model's float reference on the same input
(:func:`neurocompile.compare.validate`): by default the model as trained (the file's own dt and
reset, hop_delay 0; ``--trained-dt``/``--trained-reset`` when the file does not store them), with
``--against program`` the float reference under the Program's semantics (its dt, reset, hop_delay
1), and prints, per NIR neuron layer, spike F1/precision/recall within one step, count
correlation and exact agreement, the output prediction agreement and count correlation against
both references (and accuracy with ``--labels``), the first diverging layer, the verdict, and the
modelled (not measured) energy and latency of the Program's run (``neurocompile.energy``).

Exit codes: 0 the verdict passed (every output: prediction agreement >= ``--min-agreement``,
default 0.95, and count correlation >= ``--min-correlation``, default 0.9, against the chosen
reference), 1 it failed, 2 a usage or input error. Progress goes to stderr while it runs (not
with ``--quiet`` or when stderr is not a terminal). ``--cluster local:N|tcp://HOST:PORT`` runs the
Program sharded over Dask workers (bit-identical; :mod:`neurocompile.distributed`). ``--input`` may be
event data binned onto the Program's time grid (``--bin-ms``, ``--bin-mode``, ``docs/events.md``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from neurocompile.cli import event_input as ev
from neurocompile.cli.main import app
from neurocompile.cli.options import ClusterOpt, FrameworkOpt, JsonOpt
from neurocompile.compare import MIN_AGREEMENT, MIN_CORRELATION


@app.command("validate")
def validate_command(
    model: str = typer.Argument(..., help="The source model (.nir file) the Program was compiled from."),
    program: Path = typer.Argument(..., help="The compiled Program (.ncp)."),
    input: Path = typer.Option(..., "--input", "-i", help=ev.INPUT_HELP),
    labels: Optional[str] = typer.Option(
        None, "--labels", help="Labels: a key of the input .npz (dense or events) or a .npy/.npz file."
    ),
    against: str = typer.Option(
        "trained",
        "--against",
        help="trained: the model as trained (file's dt and reset, hop_delay 0); "
        "program: the float reference under the Program's semantics (quantization alone).",
    ),
    min_agreement: float = typer.Option(
        MIN_AGREEMENT, "--min-agreement", help="Verdict: least output prediction agreement (fraction)."
    ),
    min_correlation: float = typer.Option(
        MIN_CORRELATION, "--min-correlation", help="Verdict: least output count correlation."
    ),
    trained_dt: Optional[float] = typer.Option(
        None, "--trained-dt", help="dt the model was trained with (default: the file's metadata)."
    ),
    trained_reset: Optional[str] = typer.Option(
        None, "--trained-reset", help="Reset the model was trained with: file, zero or subtract."
    ),
    trained_discretization: Optional[str] = typer.Option(
        None, "--trained-discretization", help="forward or exponential (default: the file's, else forward)."
    ),
    readout: str = typer.Option(
        "sum", "--readout", help="v-readout prediction: argmax of the sum, max or last v."
    ),
    tolerance: float = typer.Option(
        0.0,
        "--tolerance",
        help="Fraction of mismatching spikes a layer may have before it is flagged as diverged "
        "(a diagnostic; the verdict does not use it).",
    ),
    backend: str = typer.Option(
        "emulator", "--backend", "-b", help="Backend that runs the Program (emulator or lava)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr."),
    as_json: bool = JsonOpt,
    cluster: Optional[str] = ClusterOpt,
    bin_ms: ev.OptionalFloat = ev.BinMsOpt,
    bin_mode: str = ev.BinModeOpt,
    steps: ev.OptionalInt = ev.StepsOpt,
    sensor_size: Optional[str] = ev.SensorSizeOpt,
    polarity: str = ev.PolarityOpt,
    framework: Optional[str] = FrameworkOpt,
) -> None:
    """Program vs the trained model (or the float reference): per-layer agreement, accuracy, verdict."""
    import os

    from neurocompile.compare import validate
    from neurocompile.data import load_npz
    from neurocompile.errors import ModelLoadError
    from neurocompile.files import input_path, model_path
    from neurocompile.program import Program

    model_path(model)
    input_path(program, what="PROG", error=ModelLoadError)
    prog = Program.load(program)
    inputs = ev.read_input(
        input,
        {k: prog.populations[p].shape for k, p in prog.inputs.items()},
        prog.semantics.get("dt"),
        **dict(bin_ms=bin_ms, bin_mode=bin_mode, steps=steps, sensor_size=sensor_size, polarity=polarity),
    )
    if labels is not None and labels not in inputs and os.path.lexists(labels):
        if labels.endswith(".npz"):
            load_npz(labels, what="--labels")  # validated as it is read (validate reads it again)
        else:
            input_path(labels, what="--labels")
    trained = {"dt": trained_dt, "reset": trained_reset, "discretization": trained_discretization}
    kwargs = dict(
        labels=labels,
        readout=readout,
        tolerance=tolerance,
        backend=backend,
        against=against,
        trained={k: v for k, v in trained.items() if v is not None},
        min_agreement=min_agreement,
        min_correlation=min_correlation,
        cluster=cluster,
        framework=framework,
    )
    from neurocompile.cli import progress as _progress

    if quiet or not _progress.enabled():
        rep = validate(model, prog, inputs, **kwargs)
    else:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("validate: {task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as bar:
            task = bar.add_task("starting", total=None)

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=stage, completed=done, total=total)

            rep = validate(model, prog, inputs, progress=progress, **kwargs)
    if as_json:
        from neurocompile.summary import SCHEMA_VERSION

        doc = {"schema_version": SCHEMA_VERSION, "kind": "validate", **rep.as_dict()}
        sys.stdout.write(json.dumps(doc, indent=1) + "\n")
    else:
        typer.echo(rep.to_text())
    raise typer.Exit(0 if rep.passed else 1)
