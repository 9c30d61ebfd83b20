"""``neurocompile demo``: the main job on the bundled default model.

For now (foundation): load the bundled ``.nir``, check it, simulate its sample input on the
float reference simulator under both timing conventions and print what came out. Later
issues extend it to compile and run on every backend.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from neurocompile.cli.main import app

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "default"


def _model_dir() -> Path:
    try:
        from neurocompile.models import default as pkg

        return Path(pkg.__file__).resolve().parent
    except ImportError:  # pragma: no cover - source checkout without install
        return DEFAULT_MODEL_DIR


@app.command()
def demo(
    model: Path = typer.Option(None, "--model", help="A .nir file to use instead of the bundled default."),
    input: Path = typer.Option(None, "--input", help="Input .npz for --model (default: the bundled sample)."),
    output: Path = typer.Option(Path("out/demo"), "--out", help="Folder for the demo's result files."),
) -> None:
    """Run the main job on the bundled default model: load, check, simulate."""
    from neurocompile import check, load, simulate
    from neurocompile.data import load_npz

    console = Console()
    here = _model_dir()
    model_path = model or here / "default.nir"
    input_path = input or here / "input.npz"
    t0 = time.perf_counter()

    graph = load(model_path)
    console.print(f"[bold]model[/bold] {model_path}  ({len(graph.nodes)} nodes, {len(graph.edges)} edges, "
                  f"nir {graph.nir_version})")

    report = check(graph)
    errors = [f for f in report.findings if f.severity == "error"]
    console.print(f"[bold]check[/bold] {len(errors)} errors, {len(report.findings) - len(errors)} other findings")
    for f in report.findings:
        console.print(f"  {f.severity:8s} {f.code:24s} {f.node or '-':12s} {f.message}")
    if errors:
        raise typer.Exit(1)

    inputs = load_npz(input_path)
    output.mkdir(parents=True, exist_ok=True)
    table = Table(title="float reference simulator, spikes per sample (mean over batch)")
    table.add_column("node")
    table.add_column("neurons", justify="right")
    table.add_column("hop_delay 0", justify="right")
    table.add_column("hop_delay 1", justify="right")
    spiking = [n.name for n in graph.neurons() if n.is_spiking]
    record = [f"{n}.spikes" for n in spiking]
    results = {}
    for hop in (0, 1):
        res = simulate(graph, inputs, hop_delay=hop, record=record)
        res.save(output / f"reference_hop{hop}.npz")
        results[hop] = res
    batch = next(iter(inputs.values())).shape[0]
    for n in spiking:
        counts = [float(results[h].recordings[f"{n}.spikes"].sum()) / batch for h in (0, 1)]
        size = int(np.prod(graph.nodes[n].output_shape or (1,)))
        table.add_row(n, str(size), f"{counts[0]:.1f}", f"{counts[1]:.1f}")
    console.print(table)
    sem = results[0].semantics
    console.print(f"semantics: dt={sem['dt']}, discretization={sem['discretization']}, reset={sem['reset']}, "
                  f"threshold {sem['threshold']}; {results[0].label()}")
    for name, arr in results[0].outputs.items():
        counts = arr.reshape(arr.shape[0], arr.shape[1], -1).sum(axis=1)
        console.print(f"output '{name}': spike counts per sample {counts.astype(int).tolist()}")
    console.print(f"results written to {output}/  ({time.perf_counter() - t0:.2f} s)")
