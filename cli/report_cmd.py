"""``neurocompile report PROG [--json] [--input IN.npz]``.

Prints the resource report of a saved Program (:func:`neurocompile.report.report`): neurons,
synapses, chips and cores, per-core neurons and ESTIMATED synapse memory, the quantization
table, findings. With ``--input`` the Program first runs on the bit-exact emulator, recording
the spikes of every population, and the report adds the activity metrics (NeuroBench names:
SynOps per step, activation sparsity, membrane updates) and the modelled (not measured) energy and
latency of that run on the target (``neurocompile.energy``; sources in ``docs/energy.md``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from neurocompile.cli.main import app
from neurocompile.cli.options import JsonOpt


@app.command("report")
def report_command(
    program: Path = typer.Argument(..., help="A Program file (.ncp) written by compile or Program.save."),
    input: Optional[Path] = typer.Option(
        None,
        "--input",
        "-i",
        help="Input .npz: run the emulator on it to add SynOps, sparsity and modelled energy/latency.",
    ),
    as_json: bool = JsonOpt,
    max_cores: int = typer.Option(
        40, "--max-cores", min=0, help="Core rows shown in the text table (JSON has all)."
    ),
) -> None:
    """Resources per core and chip, quantization, findings, and (with --input) activity metrics and
    modelled (not measured) energy and latency."""
    from neurocompile.data import load_npz
    from neurocompile.errors import ModelLoadError
    from neurocompile.files import input_path
    from neurocompile.program import Program
    from neurocompile.report import report

    input_path(program, what="PROG", error=ModelLoadError)
    prog = Program.load(program)
    inputs = load_npz(input, what="--input") if input is not None else None
    rep = report(prog, inputs=inputs, source=str(program))
    if as_json:
        sys.stdout.write(json.dumps(rep.as_dict(), indent=1, sort_keys=False) + "\n")
    else:
        import shutil

        # the terminal's width ($COLUMNS when piped; 100 when neither says)
        typer.echo(rep.to_text(max_cores=max_cores, width=shutil.get_terminal_size((100, 24)).columns))
