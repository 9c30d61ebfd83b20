"""``neurocompile run PROG --backend BACKEND --input IN.npz --output OUT.npz``
(the Program's target's backends).

Loads a saved Program, runs it on the chosen backend through
:func:`neurocompile.targets.run_program`, writes outputs and recordings with
:meth:`RunResult.save` and prints the backend and fidelity label, e.g.
``backend emulator:loihi2, fidelity bit-exact vs lava-nc 0.10.0 fixed_pt``, then one summary
line. Overflow warnings (u wrap, v saturation) are printed, one line per population (with on-chip
learning also one per learning projection: saturated weights, tags, traces). On a terminal
a progress bar on stderr counts the samples (backends whose run entry takes ``progress``; a spinner
for the others); ``--quiet`` hides it. ``--cluster local:N|tcp://HOST:PORT`` shards the batch over Dask
workers (:mod:`neurocompile.distributed`): the same result bit for bit, progress counting the samples of
finished shards, and "K shards on W Dask workers" in the summary line. ``--input`` may be event data,
binned onto the Program's time grid (``--bin-ms``, ``--bin-mode``, :mod:`neurocompile.cli.event_input`,
``docs/events.md``); ``--save-nirdata PATH`` also writes the outputs and recordings as NIRData.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import typer

from neurocompile.cli import event_input as ev
from neurocompile.cli import progress
from neurocompile.cli.main import app, cli_wording
from neurocompile.cli.options import ClusterOpt, OptionalStr, RecordOpt, backend_option, backends_help


@app.command()
def run(
    program: Path = typer.Argument(..., help="A Program file (.ncp) written by compile or Program.save."),
    backend: str = backend_option(
        help=f"The backend that runs it; by the Program's target: {backends_help()}."
    ),
    input: Path = typer.Option(..., "--input", "-i", help=ev.INPUT_HELP),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the result .npz."),
    record: OptionalStr = RecordOpt,
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Fail on any u wrap or v saturation (with on-chip learning: also any saturated weight, tag or "
        "trace) instead of warning.",
    ),
    raw: bool = typer.Option(
        False,
        "--raw",
        help="Record v and u as the chip's own numbers (Loihi 2 integers, SpiNNaker mV) "
        "instead of the model's float units; __meta__ 'units' says which, per key.",
    ),
    cluster: OptionalStr = ClusterOpt,
    bin_ms: ev.OptionalFloat = ev.BinMsOpt,
    bin_mode: str = ev.BinModeOpt,
    steps: ev.OptionalInt = ev.StepsOpt,
    sensor_size: OptionalStr = ev.SensorSizeOpt,
    polarity: str = ev.PolarityOpt,
    save_nirdata: ev.OptionalPath = ev.SaveNirdataOpt,
) -> None:
    """Run a Program on a backend and save its outputs (and recorded POP.v/POP.u/POP.spikes)."""
    from neurocompile.data import parse_record
    from neurocompile.errors import ModelLoadError
    from neurocompile.files import input_path, output_path
    from neurocompile.program import Program
    from neurocompile.target import run_program

    output = output_path(output, what="--output", inputs={"PROG": program, "--input": input})
    if save_nirdata is not None:
        output_path(save_nirdata, what="--save-nirdata", inputs={"PROG": program, "--input": input})
    items = parse_record(record)
    input_path(program, what="PROG", error=ModelLoadError)
    prog = Program.load(program)
    inputs = ev.read_input(
        input,
        {k: prog.populations[p].shape for k, p in prog.inputs.items()},
        prog.semantics.get("dt"),
        **dict(bin_ms=bin_ms, bin_mode=bin_mode, steps=steps, sensor_size=sensor_size, polarity=polarity),
    )
    shapes = [np.shape(v) for v in inputs.values()]
    batch = int(shapes[0][0]) if shapes and shapes[0] else 0  # the backend refuses malformed inputs
    sharding: dict = {}
    with warnings.catch_warnings(), progress.task(f"{backend} run", total=None) as update:
        warnings.simplefilter("ignore", RuntimeWarning)  # the messages are in res.warnings, printed below
        if cluster is not None:  # progress: samples of finished shards, across workers
            from neurocompile.distributed import run_sharded

            opts = {"cluster": cluster, "progress": update, "stats": sharding}
            res = run_sharded(prog, inputs, backend, record=items, strict=strict, raw=raw, **opts)
        else:
            opts = {"progress": update} if _takes_progress(prog, backend) else {}
            res = run_program(prog, inputs, backend=backend, record=items, strict=strict, raw=raw, **opts)
        update(batch, batch)
    res.save(output, what="--output")
    typer.echo(res.label())
    ev.save_nirdata(save_nirdata, res, res.semantics.get("dt") or prog.semantics.get("dt"))
    for w in res.warnings:
        typer.echo(f"warning: {cli_wording(w)}", err=True)
    sums = ", ".join(
        f"{k}={int(np.rint(np.asarray(v, dtype=np.float64).sum()))}" for k, v in res.outputs.items()
    )
    batch_time = next(iter(res.outputs.values())).shape[:2] if res.outputs else ()
    where = f"; {sharding['shards']} shards on {sharding['workers']} Dask workers" if sharding else ""
    typer.echo(
        f"ran {program.name}: batch x time {tuple(batch_time)}; output sums: {sums or '-'}{where}; "
        f"wrote {output}"
    )


def _takes_progress(prog, backend: str) -> bool:
    """Whether the backend's run entry reports progress (``progress(done, total)`` per sample chunk);
    the others show a spinner with the elapsed time."""
    import inspect

    from neurocompile.target import get_target

    if not progress.enabled():
        return False
    try:
        return "progress" in inspect.signature(get_target(prog.target).backend(backend)).parameters
    except (TypeError, ValueError):
        return False
