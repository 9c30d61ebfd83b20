"""Event inputs and NIRData outputs for ``run``, ``validate`` and ``simulate`` (``docs/events.md``).

``--input`` takes a dense ``.npz`` (one key per input, ``(batch, time, *shape)``), an event list
(a ``.npy`` structured array with fields x, t and optionally y, p; t in microseconds, tonic's
layout: one sample), an ``.npz`` of event lists (one structured array per sample,
``np.savez(path, *samples)``; plain members such as ``labels`` kept) or a NIRData file
(``.h5``/``.nir``, nir 1.0.8's data layout); the kind is read from the file itself. Event inputs
are binned with :func:`neurocompile.events.load_inputs` under ``--bin-ms``, ``--bin-mode``,
``--steps``, ``--sensor-size`` and ``--polarity``; what was binned goes to stderr, one line per
input, and anything dropped or merged as a ``warning:`` line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import typer

from neurocompile.cli.main import choice, cli_wording

INPUT_HELP = (
    "Input: a dense .npz (one key per input, (batch, time, *shape)), an event list .npy or an .npz of "
    "per-sample event lists (tonic structured arrays x, y, p, t; t in us), or a NIRData .h5/.nir "
    "(docs/events.md)."
)

BinMsOpt = typer.Option(
    None,
    "--bin-ms",
    help="Event inputs: bin width in milliseconds, one bin per Program step (default: the time step dt, "
    "when it is in seconds; required for event lists when dt is in steps).",
)
BinModeOpt = typer.Option(
    "binary",
    "--bin-mode",
    metavar="[binary|count]",
    help="Event inputs: a step's value is 1 if it has any event (binary: what a chip's spike input takes) "
    "or its number of events (count, as tonic's ToFrame).",
    callback=choice("'--bin-mode'", lambda: ("binary", "count")),
)
StepsOpt = typer.Option(
    None,
    "--steps",
    help="Event inputs: steps of the grid (default: up to the last event; NIRData: t_max / bin). "
    "Events after the window are dropped and counted.",
)
SensorSizeOpt = typer.Option(
    None,
    "--sensor-size",
    help="Event lists: sensor W,H,P (tonic's order; default inferred from the input shape (C, H, W) -> "
    "W,H,C, (N,) -> N,1,1). Events outside it are refused.",
)
PolarityOpt = typer.Option(
    "channel",
    "--polarity",
    metavar="[channel|merge]",
    help="Event lists: polarity p is channel p (channel), or every event goes to channel 0 (merge).",
    callback=choice("'--polarity'", lambda: ("channel", "merge")),
)
SaveNirdataOpt = typer.Option(
    None,
    "--save-nirdata",
    help="Also write the outputs and recordings as a NIRData HDF5 file (spikes as EventData, values as "
    "TimeGriddedData; nir 1.0.8's layout).",
)

OptionalFloat = Optional[float]
OptionalInt = Optional[int]
OptionalStr = Optional[str]
OptionalPath = Optional[Path]


def parse_sensor_size(text: str | None) -> tuple[int, int, int] | None:
    """``"W,H,P"`` (or ``WxHxP``) -> ``(W, H, P)``."""
    from neurocompile.errors import InputDataError

    if text is None:
        return None
    parts = text.replace("x", ",").split(",")
    try:
        vals = tuple(int(p) for p in parts)
    except ValueError:
        vals = ()
    if len(vals) != 3 or min(vals) < 1:
        raise InputDataError(
            f"--sensor-size {text!r} is not valid",
            parameter="--sensor-size",
            expected="W,H,P (positive integers)",
        )
    return vals  # type: ignore[return-value]


def read_input(
    path: Path,
    shapes: Mapping[str, Sequence[int]],
    dt: float | None,
    *,
    bin_ms: float | None,
    bin_mode: str,
    steps: int | None,
    sensor_size: str | None,
    polarity: str,
) -> dict[str, Any]:
    """The command's ``--input`` as arrays (dense or binned events), reporting the binning on stderr."""
    from neurocompile.events import EventOptions, load_inputs

    opts = EventOptions(
        bin_ms=bin_ms,
        mode=bin_mode,
        steps=steps,
        sensor_size=parse_sensor_size(sensor_size),
        polarity=polarity,
    )
    arrays, reports = load_inputs(path, shapes, dt, opts, what="--input")
    for rep in reports:
        typer.echo(f"events: {rep.text()}", err=True)
        for w in rep.warnings():
            typer.echo(f"warning: {cli_wording(w)}", err=True)
    return arrays


def save_nirdata(path: Path | None, result: Any, dt: float | None) -> None:
    """Write ``result`` as NIRData to ``path`` (when given) and say so on stdout."""
    if path is None:
        return
    from neurocompile.events import result_to_nirdata, write_nirdata

    write_nirdata(path, result_to_nirdata(result, dt=dt), what="--save-nirdata")
    typer.echo(f"wrote NIRData {path}")
