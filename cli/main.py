"""The ``neurocompile`` command.

User mistakes (any :class:`~neurocompile.errors.NeurocompileError`) print one line and exit
with code 2; ``--debug`` shows the traceback instead. Each command lives in its own module
and registers itself on :data:`app`.

Global flags, accepted anywhere on the line (before a ``--``): ``--debug`` and ``--quiet`` (no
progress bars; they are shown only when stderr is a terminal anyway, see
:mod:`neurocompile.cli.progress`). ``--version`` prints ``neurocompile X.Y.Z``; a bare
``neurocompile`` prints the help and exits 0.

Library errors speak Python (``reset="zero"``, ``dt=1``); :func:`cli_wording` is the one place
that rewrites them to the command's flags (``--reset zero``, ``--dt 1``) when the CLI prints them.
"""

from __future__ import annotations

import difflib
import re
import sys
from typing import Callable, Iterable

import typer

from neurocompile.errors import NeurocompileError

app = typer.Typer(
    name="neurocompile",
    help="Compile spiking neural networks (NIR, norse, sinabs) for Loihi 2, SpiNNaker "
    "and a bit-accurate emulator.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state = {"debug": False, "quiet": False}

#: Flags every command accepts anywhere on the line; ``main`` takes them out before parsing.
GLOBAL_FLAGS = ("--debug", "--quiet")
_EPILOG = "Anywhere on the line: --quiet (no progress bars), --debug (tracebacks instead of one-line errors)."

#: Python keyword parameters whose ``name=value`` in a library message is a CLI flag ``--name value``.
_FLAG_PARAMS = (
    "dt",
    "reset",
    "discretization",
    "hop_delay",
    "target",
    "backend",
    "calibration",
    "learning",
    "tick_ms",
    "decay_levels",
    "record",
    "strict",
    "bin_ms",
    "bin_mode",
    "steps",
    "sensor_size",
    "polarity",
)
_PY_ARG = re.compile(
    r"(?<![\w.-])(" + "|".join(_FLAG_PARAMS) + r")="
    r"(\"[^\"]*\"|'[^']*'|[^\s,;)\]]+?)(?=[\s,;)\]]|\.(?:\s|$)|$)"
)


def cli_wording(message: str) -> str:
    """A library message with its Python arguments as CLI flags: ``reset="zero"`` -> ``--reset zero``,
    ``dt=1`` -> ``--dt 1``, ``strict=True`` -> ``--strict``."""

    def flag(m: re.Match) -> str:
        name, value = m.group(1).replace("_", "-"), m.group(2)
        if value[:1] in "\"'" and value[-1:] == value[:1]:
            value = value[1:-1]
        if value == "True":
            return f"--{name}"
        return f"--{name} {value}"

    return _PY_ARG.sub(flag, message)


def _version(value: bool) -> None:
    if value:
        from neurocompile import __version__

        typer.echo(f"neurocompile {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of one-line errors."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars (shown only on a terminal)."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    # main() takes the global flags out of the line first; these are for --help (and direct app use)
    _state["debug"] = _state["debug"] or debug
    _state["quiet"] = _state["quiet"] or quiet


def choice(what: str, choices: Callable[[], Iterable[str]]) -> Callable[[str | None], str | None]:
    """An option callback accepting one of ``choices()`` (read when the value arrives, so targets
    registered at run time count); anything else is a usage error with a "did you mean" suggestion."""

    def check(value: str | None) -> str | None:
        if value is None:
            return value
        names = list(choices())
        if value in names:
            return value
        close = difflib.get_close_matches(value, names, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(names)}{hint}", param_hint=what)

    return check


def _register_commands() -> None:
    # Imported for their side effect of adding commands to ``app``.
    from neurocompile.cli import commands  # noqa: F401

    for info in app.registered_commands:
        if not info.epilog:
            info.epilog = _EPILOG


def _take_global_flags(args: list[str]) -> list[str]:
    """``args`` without the global flags (before a ``--``), which set :data:`_state`."""
    out: list[str] = []
    for i, a in enumerate(args):
        if a == "--":
            return out + args[i:]
        if a in ("--debug",):
            _state["debug"] = True
        elif a in ("--quiet", "-q"):
            _state["quiet"] = True
        else:
            out.append(a)
    return out


def _own_quiet(args: list[str]) -> list[str]:
    """A command with its own ``quiet`` parameter gets ``--quiet`` back (after its name) when it was given."""
    if not _state["quiet"] or not args or args[0].startswith("-"):
        return args
    import inspect

    for info in app.registered_commands:
        name = info.name or (info.callback.__name__.replace("_", "-") if info.callback else None)
        if name == args[0] and info.callback is not None:
            if "quiet" in inspect.signature(info.callback).parameters:
                return [args[0], "--quiet", *args[1:]]
    return args


def main(argv: list[str] | None = None) -> int:
    _register_commands()
    _state.update(debug=False, quiet=False)
    try:
        return _main(_own_quiet(_take_global_flags(list(sys.argv[1:] if argv is None else argv))))
    finally:
        _state.update(debug=False, quiet=False)  # nothing leaks into the next call in this process


def _main(args: list[str]) -> int:
    debug = _state["debug"]
    if not args:
        args = ["--help"]  # a bare `neurocompile`: the help, formatted, exit 0
    try:
        rv = app(args=args, prog_name="neurocompile", standalone_mode=False)
    except NeurocompileError as exc:
        if debug:
            raise
        print(cli_wording(exc.one_line()), file=sys.stderr)
        return 2
    except SystemExit as exc:  # typer.Exit inside commands
        return int(exc.code or 0)
    except Exception as exc:  # click usage errors and the like
        try:  # typer >= 0.2x vendors click as typer._click and raises its exceptions, even when a
            from typer import _click as click  # separate click is installed (dask brings one)
        except ImportError:
            import click

        if isinstance(exc, getattr(click.exceptions, "Exit", typer.Exit)):
            return int(exc.exit_code)
        if isinstance(exc, click.ClickException):
            if debug:
                raise
            print(f"usage error: {' '.join(exc.format_message().split())}", file=sys.stderr)
            return 2
        if isinstance(exc, getattr(click.exceptions, "Abort", typer.Abort)):
            return 1
        raise
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":
    # ``python -m neurocompile.cli.main``: use the package's module (where commands register), not __main__.
    from neurocompile.cli.main import main as _main

    sys.exit(_main())
