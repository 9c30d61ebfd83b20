"""Options shared by every command that needs the semantic choices (one definition each)."""

from __future__ import annotations

from typing import Optional

import typer

from neurocompile.target import get_target, target_names


def targets_help() -> str:
    """The registered targets, for --target help texts (the registry names them, the CLI does not)."""
    return " or ".join(target_names())


def backends_help() -> str:
    """Each registered target's backends, for --backend help texts."""
    return "; ".join(f"{name} Programs: {', '.join(get_target(name).backends)}" for name in target_names())


DtOpt = typer.Option(
    None,
    "--dt",
    help="Time step in the graph's time unit (seconds for the NIR paper graphs, 1 for sinabs exports). "
    "Required unless the graph metadata carries it.",
)
DiscretizationOpt = typer.Option(
    "forward", "--discretization", help="forward (Euler, box input) or exponential."
)
ResetOpt = typer.Option("file", "--reset", help="file (v_reset from the file), zero, or subtract.")
HopDelayOpt = typer.Option(
    0,
    "--hop-delay",
    help="0: spikes reach the next layer in the same step (frameworks); "
    "1: every synaptic hop adds one step (chips).",
)
RecordOpt = typer.Option(None, "--record", help="Comma-separated NODE.v, NODE.u or NODE.spikes to record.")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON.")

OptionalFloat = Optional[float]
OptionalStr = Optional[str]
