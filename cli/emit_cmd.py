"""``neurocompile emit PROG -o DIR [--input IN.npz]``: write the stand-alone Lava bundle.

The bundle (``targets/loihi2/emit.py``) needs lava-nc 0.10.0, not neurocompile: ``network.py``,
``run.py`` (``--check`` against the emulator's ``golden.npz``, ``--hw`` for Loihi 2),
``params.npz``, ``inputs.npz``, ``golden.npz``, ``README.md``. Prints one summary line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from neurocompile.cli.main import app


@app.command()
def emit(
    program: Path = typer.Argument(..., help="A Program file (.ncp) written by `neurocompile compile`."),
    out: Path = typer.Option(..., "--output", "-o", help="Directory to write the bundle into."),
    input: Optional[Path] = typer.Option(None, "--input", "-i", help="Input .npz for inputs.npz and golden.npz "
                                         "(default: generated Bernoulli(0.1) spikes, seed 0)."),
    steps: int = typer.Option(100, "--steps", help="Steps of the generated input (without --input)."),
) -> None:
    """Write PROG as a self-contained Lava project (loihi2) or PyNN/sPyNNaker bundle (spinnaker)."""
    from neurocompile.data import load_npz
    from neurocompile.errors import UnsupportedError
    from neurocompile.program import Program
    from neurocompile.targets.loihi2.emit import emit_bundle

    prog = Program.load(program)
    if prog.target == "spinnaker":  # PyNN bundle: targets/spinnaker/emit.py
        from neurocompile.targets.spinnaker.emit import emit_bundle as emit_pynn

        rep = emit_pynn(prog, out, load_npz(input) if input is not None else None, steps=steps)
        typer.echo(f"emitted: PyNN/sPyNNaker bundle in {rep.directory} ({rep.populations} populations, "
                   f"{rep.projections} projections, {rep.synapses} synapses; {rep.samples} sample(s) x {rep.steps} "
                   f"ticks; golden: {rep.golden_backend or rep.golden_note}); run: cd {rep.directory} && python run.py")
        return
    if prog.target != "loihi2":
        raise UnsupportedError(f"emit writes Lava bundles for loihi2 Programs, not {prog.target!r}",
                               parameter="target", expected="loihi2")
    inputs = load_npz(input) if input is not None else None
    rep = emit_bundle(prog, out, inputs, steps=steps)
    typer.echo(f"emitted: Lava bundle in {rep.directory} ({rep.populations} populations, {rep.projections} "
               f"projections, {rep.lava_processes} Lava processes; {rep.batch} sample(s) x {rep.steps} steps; "
               f"golden from {rep.golden_backend}); run: python {Path(rep.directory) / 'run.py'} --check")
