"""The ``neurocompile`` command.

User mistakes (any :class:`~neurocompile.errors.NeurocompileError`) print one line and exit
with code 2; ``--debug`` shows the traceback instead. Each command lives in its own module
and registers itself on :data:`app`.
"""

from __future__ import annotations

import sys

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

_state = {"debug": False}


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of one-line errors."),
) -> None:
    _state["debug"] = debug


def _register_commands() -> None:
    # Imported for their side effect of adding commands to ``app``.
    from neurocompile.cli import commands  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    _register_commands()
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        rv = app(args=args, prog_name="neurocompile", standalone_mode=False)
    except NeurocompileError as exc:
        if debug:
            raise
        print(exc.one_line(), file=sys.stderr)
        return 2
    except SystemExit as exc:  # typer.Exit inside commands
        return int(exc.code or 0)
    except Exception as exc:  # click usage errors and the like
        try:
            import click
        except ImportError:  # typer >= 0.2x vendors click as typer._click
            from typer import _click as click

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
