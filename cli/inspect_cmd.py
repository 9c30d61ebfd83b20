"""``neurocompile inspect MODEL|PROG [--dt DT] [--json]``.

Prints what a model or a Program is (:func:`neurocompile.summary.summarize`): for a model
(``.nir`` or ``.onnx``) its layers in execution order with shapes, neuron counts and parameters
summarised, dt, conventions and NIR version; for a Program (``.ncp``) its target, populations,
projections, semantics and cores used. Both list the ``.npz`` keys and array shapes
``(batch, time, *shape)`` that ``simulate`` / ``run`` read and write. Text tables fit the terminal
(``COLUMNS``); ``--json`` gives the same content with a ``schema_version`` key.
"""

from __future__ import annotations

import json
import sys
import zipfile

import typer

from neurocompile.cli.main import app
from neurocompile.cli.options import JsonOpt, OptionalFloat

#: what the Program file format starts with (a zip archive, ``neurocompile/program.py``).
_ZIP_MAGIC = b"PK\x03\x04"


def _is_program(path: str) -> bool:
    """A ``.ncp`` name, or a zip archive (every Program file is one; ``.nir`` is HDF5, ``.onnx``
    protobuf)."""
    if path.lower().endswith(".ncp"):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(4) == _ZIP_MAGIC and zipfile.is_zipfile(path)
    except OSError:
        return False


@app.command("inspect")
def inspect_command(
    model: str = typer.Argument(..., help="A model (.nir or .onnx file) or a Program (.ncp)."),
    dt: OptionalFloat = typer.Option(
        None, "--dt", help="Time step for a model whose file stores none (shows tau in steps of dt)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Layers or populations, the .npz keys and shapes a run needs, dt and conventions, cores."""
    from rich.console import Console

    from neurocompile.errors import ModelLoadError, SemanticsError
    from neurocompile.files import input_path, model_path
    from neurocompile.program import Program
    from neurocompile.summary import summarize_model, summarize_program

    model_path(model)  # a FIFO, device, folder or empty file is refused without opening it
    try:
        if _is_program(model):
            if dt is not None:
                raise SemanticsError(
                    "--dt does not apply to a Program (its dt was fixed at compile)",
                    parameter="--dt",
                    expected="no --dt with a Program",
                )
            input_path(model, what="PROG", error=ModelLoadError)
            summary = summarize_program(Program.load(model), source=model)
        else:
            summary = summarize_model(model, dt=dt, source=model)
    except MemoryError:
        # a file declaring more than this machine can hold (check reports it as unreadable too)
        raise ModelLoadError(
            f"not enough memory to load {model}", parameter="MODEL", expected="a model that fits in memory"
        ) from None
    if as_json:
        sys.stdout.write(json.dumps(summary.as_dict(), indent=1) + "\n")
    else:
        typer.echo(summary.to_text(width=Console().width))
