"""Options shared by every command that needs the semantic choices (one definition each).

``--target``, ``--backend``, ``--reset`` and ``--discretization`` list their choices in ``--help``
(from the target registry and :mod:`neurocompile.semantics`) and refuse anything else with a
"did you mean" suggestion (:func:`neurocompile.cli.main.choice`), one line, exit 2.
"""

from __future__ import annotations

from typing import Optional

import typer

from neurocompile.cli.main import choice
from neurocompile.semantics import DISCRETIZATIONS, RESETS
from neurocompile.target import get_target, target_names


def targets_help() -> str:
    """The registered targets, for --target help texts (the registry names them, the CLI does not)."""
    return " or ".join(target_names())


def backend_names() -> list[str]:
    """Every registered target's backends (a Program's target decides which of them can run it)."""
    return list(dict.fromkeys(b for name in target_names() for b in get_target(name).backends))


def backends_help() -> str:
    """Each registered target's backends, for --backend help texts."""
    return "; ".join(f"{name} Programs: {', '.join(get_target(name).backends)}" for name in target_names())


def _metavar(names) -> str:
    return "[" + "|".join(names) + "]"


def target_option(default=..., *flags: str, help: str) -> typer.models.OptionInfo:
    """``--target`` (and ``flags``): one of the registered targets."""
    return typer.Option(
        default,
        "--target",
        *flags,
        help=help,
        metavar=_metavar(target_names()),
        callback=choice("'--target'", target_names),
    )


def backend_option(help: str) -> typer.models.OptionInfo:
    """``--backend`` / ``-b``: one of the registered targets' backends (default emulator)."""
    return typer.Option(
        "emulator",
        "--backend",
        "-b",
        help=help,
        metavar=_metavar(backend_names()),
        callback=choice("'--backend'", backend_names),
    )


DtOpt = typer.Option(
    None,
    "--dt",
    help="Time step in the graph's time unit (seconds for the NIR paper graphs, 1 for sinabs exports). "
    "Required unless the graph metadata carries it.",
)
DiscretizationOpt = typer.Option(
    "forward",
    "--discretization",
    help="forward (Euler, box input) or exponential.",
    metavar=_metavar(DISCRETIZATIONS),
    callback=choice("'--discretization'", lambda: DISCRETIZATIONS),
)
ResetOpt = typer.Option(
    "file",
    "--reset",
    help="file (v_reset from the file), zero, or subtract.",
    metavar=_metavar(RESETS),
    callback=choice("'--reset'", lambda: RESETS),
)
HopDelayOpt = typer.Option(
    0,
    "--hop-delay",
    help="0: spikes reach the next layer in the same step (frameworks); "
    "1: every synaptic hop adds one step (chips).",
)


def _frameworks() -> tuple[str, ...]:
    from neurocompile.frameworks import FRAMEWORKS

    return FRAMEWORKS


FrameworkOpt = typer.Option(
    None,
    "--framework",
    help="Run what this framework computes (its translation fixes dt, discretization and reset; "
    "--reset then picks snnTorch's reset mechanism): snntorch, rockpool, spikingjelly, norse, sinabs; "
    "nir: NIR semantics as written. Default: the framework whose exporter marked the file, else nir.",
    metavar="[snntorch|rockpool|spikingjelly|norse|sinabs|nir]",
    callback=choice("'--framework'", lambda: _frameworks()),
)
RecordOpt = typer.Option(None, "--record", help="Comma-separated NODE.v, NODE.u or NODE.spikes to record.")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON.")
ClusterOpt = typer.Option(
    None,
    "--cluster",
    help="Shard the batch by sample over Dask workers: local:N (N worker processes on this machine) or "
    "tcp://HOST:PORT (a running Dask scheduler); results are bit-identical to one process "
    "(docs/distributed.md).",
)

OptionalFloat = Optional[float]
OptionalStr = Optional[str]
