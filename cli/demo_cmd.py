"""``neurocompile demo [--model NAME] [--samples N] [--lava-samples K] [--out DIR]``: the whole pipeline.

Takes a zoo model (default ``digits_cnn_sinabs``; ``--model default`` is the foundation's
placeholder network, ``--model X.nir --input X.npz [--dt DT] [--reset R]`` any file) through
``check`` and ``compile`` for every registered target, runs the test set on the float reference
and each target's emulator (progress bars on stderr when it is a terminal; ``--quiet`` hides
them), a target's subset backend (loihi2: Lava, when ``.venv-lava`` exists) on the first K
samples, and prints the accuracy table and the resource reports. Writes the Programs
(``<target>.ncp``), ``raster.png``, ``placement.png`` and ``results.json`` into ``--out``. The
logic is in ``cli/demo.py`` (:mod:`neurocompile.cli.demo`), the pictures in ``cli/demo_plots.py``.

Exit code 0 when every backend ran (a missing Lava interpreter is a skip, not a failure) and
each subset backend was identical to its emulator; 1 when a backend failed or disagreed; 2 for
user errors. ``--cluster local:N|tcp://HOST:PORT`` shards the emulator runs over Dask workers (one
cluster for the whole demo; bit-identical results, :mod:`neurocompile.distributed`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from neurocompile.cli.main import app, choice, cli_wording
from neurocompile.cli.options import ClusterOpt
from neurocompile.semantics import RESETS

_SEV = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _pct(x: Optional[float]) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


@app.command()
def demo(
    model: Optional[str] = typer.Option(
        None,
        "--model",
        "-m",
        help="A zoo model name (default digits_cnn_sinabs), 'default' (the placeholder network) "
        "or a .nir file.",
    ),
    samples: Optional[int] = typer.Option(
        None, "--samples", "-n", help="Use the first N test samples (default: the whole test set)."
    ),
    lava_samples: int = typer.Option(
        20, "--lava-samples", "-k", help="Run the first K samples on Lava too (0: skip)."
    ),
    output: Path = typer.Option(
        Path("out/demo"), "--out", help="Folder for the Programs, PNGs and results.json."
    ),
    input: Optional[Path] = typer.Option(
        None, "--input", help="Input .npz for a .nir --model (optional 'labels' key)."
    ),
    dt: Optional[float] = typer.Option(
        None,
        "--dt",
        help="Time step of a .nir --model (its check, compile and float reference; NIR files store none: "
        "seconds for the NIR paper graphs, e.g. 1e-4).",
    ),
    reset: Optional[str] = typer.Option(
        None,
        "--reset",
        help="Reset of a .nir --model: file (v_reset from the file), zero, or subtract "
        "(paper-era files have no v_reset: subtract is how they were defined).",
        metavar="[" + "|".join(RESETS) + "]",
        callback=choice("'--reset'", lambda: RESETS),
    ),
    cluster: Optional[str] = ClusterOpt,
) -> None:
    """Check, compile for every registered target, run on every backend, report, draw."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # make demo | tee: rich would wrap at 80 columns
        console = Console(width=110)
    live: dict = {"bar": None, "tasks": {}}

    def progress(task: str, done: int, total: int) -> None:
        bar = live["bar"]
        if bar is None:
            return
        if task not in live["tasks"]:
            live["tasks"][task] = bar.add_task(task, total=total)
        bar.update(live["tasks"][task], completed=done)

    if cluster is not None:  # one cluster (one LocalCluster start) for every target's emulator run
        from neurocompile.distributed import connect

        with connect(cluster) as client:
            _demo(console, live, progress, model, input, samples, lava_samples, output, dt, reset, client)
    else:
        _demo(console, live, progress, model, input, samples, lava_samples, output, dt, reset, None)


def _demo(console, live, progress, model, input, samples, lava_samples, output, dt, reset, cluster) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from neurocompile.cli import progress as shown
    from neurocompile.cli.demo import Demo
    from neurocompile.report import synapse_limit

    d = Demo(
        model,
        input=input,
        samples=samples,
        subset_samples=lava_samples,
        out=output,
        progress=progress,
        dt=dt,
        reset=reset,
        cluster=cluster,
    )
    dm = d.dm
    card_acc = dm.card.get("accuracy", {})
    console.rule(f"[bold]neurocompile demo: {dm.name}")
    console.print(
        f"model {dm.path}  ({len(d.graph.nodes)} nodes, nir {d.graph.nir_version}); "
        f"test set {dm.samples} samples, "
        f"inputs {', '.join(f'{k} {tuple(v.shape)}' for k, v in dm.inputs.items())}"
        + (
            f"; card float accuracy {_pct(card_acc.get('reference_float'))} on the full test set"
            if card_acc.get("reference_float") is not None
            else ""
        ),
        soft_wrap=True,
    )

    # 1. check
    console.print("\n[bold]1. check[/bold]")
    for t, rep in d.check().items():
        console.print(
            f"  {t}: {rep.count('error')} error(s), {rep.count('warning')} warning(s), "
            f"{rep.count('info')} info"
        )
        for code, (sev, nodes, msg) in _group(rep.findings).items():
            console.print(
                f"    [{_SEV.get(sev, '')}]{sev:7s}[/] {code} (nodes {', '.join(nodes)}): "
                f"{escape(_short(msg))}",
                soft_wrap=True,
            )

    # 2. compile
    console.print("\n[bold]2. compile[/bold]")
    for t, c in d.compile().items():
        opts = ", ".join(f"{k}={v}" for k, v in c["options"].items()) or "options from the file"
        if c["error"]:
            console.print(
                f"  {t}: [bold red]failed[/] ({opts}): {escape(cli_wording(c['error']))}", soft_wrap=True
            )
            continue
        r = d.programs[t].placement or {}
        console.print(
            f"  {t} ({opts}): {c['populations']} populations, {c['neurons']} neurons, "
            f"{c['projections']} projections, {r.get('cores_used')} core(s) on {r.get('chips')} "
            f"chip(s); {c['seconds']:.1f} s -> {c['program']}",
            soft_wrap=True,
        )
        for note in c["notes"]:
            console.print(f"    note: {escape(note)}", soft_wrap=True)
        findings = _group_dicts(c["findings"])
        for code, (sev, nodes, msg) in findings.items():
            console.print(
                f"    [{_SEV.get(sev, '')}]{sev:7s}[/] {code} ({', '.join(nodes)}): {escape(_short(msg))}",
                soft_wrap=True,
            )
        q = Table(title=f"{t} quantization", title_justify="left", box=None, padding=(0, 1))
        for col in ("projection", "weights", "rms rel. error", "zeroed", "clipped"):
            q.add_column(col, justify="left" if col in ("projection", "weights") else "right")
        for row in c["quantization"]:
            q.add_row(
                row["projection"],
                row["scheme"],
                _fmt(row["rms_relative_error"]),
                _fmt(row["fraction_zeroed"]),
                _fmt(row["fraction_clipped"]),
            )
        console.print(q)

    # 3. runs
    subsets = list(d.subsets.values())
    console.print(
        "\n[bold]3. run[/bold] (float reference, "
        + ("both" if len(d.targets) == 2 else "every")
        + " emulators"
        + "".join(f", {s.label}" for s in subsets)
        + (" on a subset" if subsets else "")
        + ")"
    )
    # the bars: on stderr, only on a terminal and without --quiet, transient (a failed run leaves no
    # half-finished bar behind; the table below has each run's time)
    with Progress(
        TextColumn("  {task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not shown.enabled(),
    ) as bar:
        live["bar"] = bar if shown.enabled() else None
        d.run_reference()
        for t in d.targets:
            d.run_reference_chip(t)
            d.run_emulator(t)
        checks = d.run_subsets()
    live["bar"] = None
    for name, chk in checks.items():
        label = d.subsets[name].label
        if chk.status == "skipped":
            console.print(f"  {label} skipped: {escape(chk.reason)}; continuing without it", soft_wrap=True)
        elif chk.status == "failed":
            console.print(f"  [bold red]{label} failed[/]: {escape(chk.reason)}", soft_wrap=True)

    table = Table(
        title=f"accuracy on {dm.name}'s test set"
        + ("" if dm.labels is not None else " (no labels: agreement only)"),
        title_justify="left",
    )
    for col in ("backend", "fidelity", "samples", "accuracy", "same class as float", "time"):
        table.add_column(col, justify="left" if col in ("backend", "fidelity") else "right")
    notes = []
    labels = tuple(s.label for s in subsets)
    for r in d.rows:
        table.add_row(
            r.backend, r.fidelity, str(r.samples), _pct(r.accuracy), _pct(r.agreement), f"{r.seconds:.1f} s"
        )
        if (r.error or r.note) and not (
            labels and r.backend.startswith(labels) and r.error is None
        ):  # own lines
            notes.append(
                f"  {r.backend}: " + ("[bold red]error[/] " if r.error else "") + escape(r.error or r.note)
            )
    console.print(table)
    for line in notes:
        console.print(line, soft_wrap=True)
    for name, chk in checks.items():
        if chk.status == "ran":
            console.print(
                f"  {d.subsets[name].label} on the first {chk.samples}: identical to the emulator on "
                f"{chk.identical}/{chk.samples} samples (output spikes, every step)"
                + (
                    f"; the emulator's accuracy on them {_pct(chk.emulator_accuracy)}"
                    if chk.emulator_accuracy is not None
                    else ""
                ),
                soft_wrap=True,
            )

    # 4. resources
    console.print(
        "\n[bold]4. resources[/bold] (per-core synapse memory is ESTIMATED: vendors publish no cost model)"
    )
    for t, res in d.report().items():
        if res.get("error"):
            console.print(f"  {t}: placement {res['source']}: {escape(res['error'])}")
            continue
        lim = res["limits"]
        npc = lim.get("neurons_per_core")
        lname, lvalue = synapse_limit(lim)
        console.print(
            f"  {t}: {res['chips']} chip(s), {res['cores_used']} core(s); limits "
            + ", ".join(
                x
                for x in (
                    f"{npc} neurons/core" if npc else "",
                    f"synapse memory {lname} = {lvalue} bytes" if lvalue else "",
                )
                if x
            ),
            soft_wrap=True,
        )
        rt = Table(box=None, padding=(0, 1))
        for col in ("chip", "core", "population", "slice", "neurons", "synapse bytes ~", "of limit ~"):
            rt.add_column(col, justify="left" if col in ("population", "slice") else "right")
        cores = res["cores"]
        for c in cores[:16]:
            util = c.get("synapse_memory_utilization")
            rt.add_row(
                str(c["chip"]),
                str(c["core"]),
                str(c["population"]),
                f"{c['start']}:{c['stop']}",
                str(c["neurons"]),
                str(c["synapse_bytes"]),
                "-" if util is None else f"{100 * util:.1f} %",
            )
        console.print(rt)
        if len(cores) > 16:
            console.print(f"  ... {len(cores) - 16} more cores (see results.json or `neurocompile report`)")

    # 5. pictures
    files = d.pictures()
    d.write_results()
    console.print("\n[bold]5. files[/bold]")
    for key in ("raster", "placement", *(f"program_{t}" for t in d.targets), "results"):
        if key in files:
            console.print(f"  {key:18s} {files[key]}")
    res = d.result()
    console.print(
        f"demo finished in {res.seconds:.1f} s"
        + ("" if res.ok else " [bold red]with failures (see the table)[/]")
    )
    if not res.ok:
        raise typer.Exit(1)


def _short(msg: str, n: int = 160) -> str:
    msg = " ".join(cli_wording(str(msg)).split())
    return msg if len(msg) <= n else msg[: n - 3] + "..."


def _fmt(x) -> str:
    return "-" if x is None else f"{float(x):.3g}"


def _group(findings) -> dict:
    return _group_dicts([f.as_dict() for f in findings])


def _group_dicts(findings) -> dict:
    """code -> (severity, [nodes], first message): one line per finding code."""
    out: dict = {}
    for f in findings:
        code = f.get("code")
        sev, nodes, msg = out.get(code, (f.get("severity"), [], f.get("message", "")))
        node = f.get("node") or "-"
        if node not in nodes:
            nodes.append(str(node))
        out[code] = (sev, nodes, msg)
    return out
