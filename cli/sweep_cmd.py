"""``neurocompile sweep TASK --grid NAME=VALUES ... [--set NAME=VALUE ...] [--cluster C] [--json]``.

Runs a task of ``models/sweep_tasks.py`` (``pattern``, ``choice``: the learning tasks; ``compile``: a
bundled model under compile options) over the Cartesian product of the ``--grid`` axes (and/or a
``--grid-file``), one row per point, in this process or one Dask task per point with ``--cluster``
(:func:`neurocompile.sweep.run_sweep`). Prints a table, or with ``--json`` a document
``{"schema_version", "kind": "sweep", "task", "axes", "fixed", "metrics", "rows", ...}``; ``--out``
also writes that JSON to a file. A point whose run raises a typed error shows it in an ``error``
column. Exit 0 when every point ran, 1 when some failed, 2 for usage errors.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from neurocompile.cli.main import app, choice


def _tasks() -> list[str]:
    from neurocompile.models.sweep_tasks import TASKS

    return list(TASKS)


@app.command("sweep")
def sweep_command(
    task: str = typer.Argument(
        ...,
        help="pattern (STDP pattern detection), choice (R-STDP choice) or compile (a bundled model "
        "under compile options, scored on the emulator).",
        callback=choice("TASK", _tasks),
        metavar="[" + "|".join(_tasks()) + "]",
    ),
    grid: List[str] = typer.Option(
        [],
        "--grid",
        "-g",
        help="One axis: NAME=A..B[:STEP] (integers, inclusive), NAME=V1,V2,... or NAME=[JSON list]. "
        "Repeat for more axes; the points are their Cartesian product.",
    ),
    grid_file: Optional[Path] = typer.Option(
        None, "--grid-file", help='Axes from a TOML or JSON file: seed = [0, 1] or seed = "0..9".'
    ),
    fixed: List[str] = typer.Option(
        [], "--set", "-s", help="A fixed parameter NAME=VALUE for every point (repeatable)."
    ),
    cluster: Optional[str] = typer.Option(
        None,
        "--cluster",
        help="Run each point as a Dask task: local:N (N worker processes on this machine) or "
        "tcp://HOST:PORT (a running Dask scheduler); the rows are the same, in grid order "
        "(docs/distributed.md).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the JSON document here."),
) -> None:
    """Run a learning task or compile options over a grid of seeds and parameters: one row per point."""
    from neurocompile.cli import progress
    from neurocompile.errors import ParameterError
    from neurocompile.models.sweep_tasks import TASKS, check_names
    from neurocompile.summary import SCHEMA_VERSION
    from neurocompile.sweep import load_grid, parse_grid, parse_value, run_sweep

    axes = load_grid(grid_file) if grid_file is not None else {}
    for name, vals in parse_grid(grid).items():
        if name in axes:
            raise ParameterError(
                f"grid axis {name!r} is in --grid-file and --grid", parameter="grid", expected="once"
            )
        axes[name] = vals
    if not axes:
        raise ParameterError(
            "no grid axis given", parameter="grid", expected="--grid NAME=VALUES or --grid-file"
        )
    values = {}
    for item in fixed:
        name, sep, value = item.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ParameterError(f"--set {item!r} is not NAME=VALUE", parameter="set", expected="NAME=VALUE")
        values[name.strip()] = parse_value(value)
    check_names(task, list(axes) + list(values))
    with progress.task(f"sweep {task}", total=None) as update:
        res = run_sweep(TASKS[task], axes, fixed=values, cluster=cluster, progress=update, task=task)
    doc = {"schema_version": SCHEMA_VERSION, "kind": "sweep", **res.as_dict()}
    if out is not None:
        from neurocompile.files import atomic_write

        atomic_write(out, json.dumps(doc, indent=1) + "\n", what="--out")
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=1) + "\n")
    else:
        typer.echo(res.to_text())
    raise typer.Exit(1 if any("error" in r for r in res.rows) else 0)
