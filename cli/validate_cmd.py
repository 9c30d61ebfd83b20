"""``neurocompile validate MODEL PROG --input IN.npz [--labels KEY_OR_FILE] [--json]``.

Runs the model's float reference (with the Program's own semantics, hop_delay 1) and the
Program on the bit-exact emulator on the same input (:func:`neurocompile.compare.validate`)
and prints, per NIR neuron layer, the spike-count correlation and exact spike agreement, the
output prediction agreement (and accuracy with ``--labels``: a key of the input file or a
.npy/.npz file of class indices), and the first layer where they diverge. Exit code 0 when no
layer diverged, 1 when one did, 2 on a usage or input error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from neurocompile.cli.main import app
from neurocompile.cli.options import JsonOpt


@app.command("validate")
def validate_command(
    model: str = typer.Argument(..., help="The source model (.nir file) the Program was compiled from."),
    program: Path = typer.Argument(..., help="The compiled Program (.ncp)."),
    input: Path = typer.Option(
        ..., "--input", "-i", help="Input .npz: one key per NIR Input, (batch, time, *shape)."
    ),
    labels: Optional[str] = typer.Option(
        None, "--labels", help="Labels: a key of the input .npz or a .npy/.npz file."
    ),
    readout: str = typer.Option(
        "sum", "--readout", help="v-readout prediction: argmax of the sum, max or last v."
    ),
    tolerance: float = typer.Option(
        0.0,
        "--tolerance",
        help="Fraction of mismatching spikes a layer may have before it counts as diverged.",
    ),
    backend: str = typer.Option(
        "emulator", "--backend", "-b", help="Backend that runs the Program (emulator or lava)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Float reference vs Program: per-layer agreement, accuracy, first diverging layer."""
    import os

    from neurocompile.compare import validate
    from neurocompile.data import load_npz
    from neurocompile.errors import ModelLoadError
    from neurocompile.files import input_path, model_path
    from neurocompile.program import Program

    model_path(model)
    input_path(program, what="PROG", error=ModelLoadError)
    prog = Program.load(program)
    inputs = load_npz(input, what="--input")
    if labels is not None and labels not in inputs and os.path.lexists(labels):
        if labels.endswith(".npz"):
            load_npz(labels, what="--labels")  # validated as it is read (validate reads it again)
        else:
            input_path(labels, what="--labels")
    rep = validate(model, prog, inputs, labels=labels, readout=readout, tolerance=tolerance, backend=backend)
    if as_json:
        sys.stdout.write(json.dumps(rep.as_dict(), indent=1) + "\n")
    else:
        typer.echo(rep.to_text())
    raise typer.Exit(0 if rep.exact else 1)
