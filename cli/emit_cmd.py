"""``neurocompile emit PROG -o DIR [--input IN.npz]``: write the stand-alone bundle of PROG's target.

The target's ``emit`` hook writes it (``targets/<chip>/emit.py``; the Lava bundle needs lava-nc
0.10.0, not neurocompile; the PyNN bundle needs sPyNNaker). Prints one summary line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from neurocompile.cli.main import app


@app.command()
def emit(
    program: Path = typer.Argument(..., help="A Program file (.ncp) written by `neurocompile compile`."),
    out: Path = typer.Option(..., "--output", "-o", help="Directory to write the bundle into."),
    input: Optional[Path] = typer.Option(
        None,
        "--input",
        "-i",
        help="Input .npz for inputs.npz and golden.npz (default: generated Bernoulli(0.1) spikes, seed 0).",
    ),
    steps: int = typer.Option(100, "--steps", help="Steps of the generated input (without --input)."),
) -> None:
    """Write PROG as a self-contained bundle for its target (Lava project, PyNN/sPyNNaker script)."""
    from neurocompile.data import load_npz
    from neurocompile.errors import ModelLoadError, UnsupportedError
    from neurocompile.files import input_path, output_path
    from neurocompile.program import Program
    from neurocompile.target import get_target

    out = output_path(out, what="--output", inputs={"PROG": program, "--input": input}, kind="directory")
    input_path(program, what="PROG", error=ModelLoadError)
    prog = Program.load(program)
    emit_bundle = get_target(prog.target).hook("emit")
    if emit_bundle is None:
        raise UnsupportedError(
            f"target {prog.target!r} has no bundle writer",
            parameter="target",
            expected="a target with an emit hook",
        )
    rep = emit_bundle(prog, out, load_npz(input) if input is not None else None, steps=steps)
    typer.echo(rep.summary())
