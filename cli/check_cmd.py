"""``neurocompile check MODEL [--target T] [--dt DT] [--json]``.

Lists every finding at once, grouped by code (or JSON with ``--json``). Exit code 0 when there
is no error finding, 1 when there is, 2 when the model cannot be read at all (then one line
on stderr, or the JSON report on stdout with ``--json``). The table words the findings' Python
arguments as flags (``reset="zero"`` -> ``--reset zero``); the JSON keeps the library's words.
"""

from __future__ import annotations

import json
import sys

import typer

from neurocompile.cli.main import app, cli_wording
from neurocompile.cli.options import (
    DtOpt,
    FrameworkOpt,
    JsonOpt,
    OptionalFloat,
    OptionalStr,
    target_option,
    targets_help,
)


@app.command("check")
def check_command(
    model: str = typer.Argument(..., help="A .nir file."),
    target: OptionalStr = target_option(None, help=f"Also apply this target's rules ({targets_help()})."),
    dt: OptionalFloat = DtOpt,
    learning: OptionalStr = typer.Option(
        None, "--learning", help="Learning rules (.toml) to check for the target."
    ),
    framework: OptionalStr = FrameworkOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Every unsupported node, shape problem, bad parameter and missing choice at once."""
    from neurocompile.check import CheckReport, check
    from neurocompile.errors import NeurocompileError
    from neurocompile.files import model_path
    from neurocompile.findings import Finding

    try:
        model_path(model)  # a FIFO, device, folder or empty file is refused without opening it
    except NeurocompileError as exc:
        if not as_json:
            raise
        msg = " ".join(str(exc).split())
        report = CheckReport((Finding("unreadable", "error", None, msg),), source=model, readable=False)
    else:
        report = check(model, target=target, dt=dt, learning=learning, framework=framework)
    if as_json:
        sys.stdout.write(json.dumps(report.as_json(), indent=2) + "\n")
    elif not report.readable:
        msg = report.findings[0].message if report.findings else f"cannot read {model}"
        sys.stderr.write("load error: " + " ".join(cli_wording(msg).split()) + "\n")
    else:
        _print_table(report)
        _print_io(report)
    if not report.readable:
        raise typer.Exit(2)
    raise typer.Exit(1 if report.has_errors else 0)


def _print_table(report) -> None:
    """Findings grouped by code: one header per code (severity, message once, a template with
    ``<1>`` ... when nodes differ in numbers), then the nodes; flags worded for the CLI."""
    import shutil
    import textwrap

    width = shutil.get_terminal_size((100, 24)).columns
    for line in report.to_text(wording=cli_wording).splitlines():
        lead = " " * (len(line) - len(line.lstrip()) + 4)
        typer.echo(
            "\n".join(textwrap.wrap(line, width, subsequent_indent=lead, break_on_hyphens=False)) or line
        )


def _print_io(report) -> None:
    """One line: the .npz keys and array shapes a run of the model reads and writes."""
    if report.io:
        print(".npz " + report.io)
