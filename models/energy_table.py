"""``docs/energy.md``: modelled energy and latency of the zoo models on both targets, with sources.

``python -m neurocompile.models.energy_table [--write docs/energy.md]`` compiles every zoo model for
each target, runs ``neurocompile.compare.validate`` on its first ``ZOO_N`` test samples (the run
``neurocompile validate`` makes: the bit-exact emulator, every population's spikes recorded) and
renders the energy and latency that run's report carries (:mod:`neurocompile.energy`: modelled,
not measured), the NeuroBench metrics of the float model (:mod:`neurocompile.nbmetrics`) and every
cost figure with its source, from the targets' cost models. ``tests/test_energy.py`` recomputes the
page and requires the file to match.

Compile options: the zoo's reference semantics (dt, discretization) and chip reset
(:func:`neurocompile.models.accuracy.reference_semantics`, :func:`~neurocompile.models.accuracy.chip_reset`),
no calibration (what ``neurocompile compile MODEL --target T --dt .. --reset ..`` gives).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from neurocompile.models import list_models, load_card, model_path

ZOO_N = 20
TARGETS = ("loihi2", "spinnaker")
REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "energy.md"


def _si(x: float, unit: str) -> str:
    x = float(x)
    if x == 0:
        return f"0 {unit}"
    for p, s in ((1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")):
        if abs(x) >= p:
            return f"{x / p:.4g} {s}{unit}"
    return f"{x:.3g} {unit}"


def compile_zoo(name: str, target: str):
    import neurocompile as nc
    from neurocompile.models.accuracy import chip_reset, reference_semantics

    sem = reference_semantics(name)
    return nc.compile(
        model_path(name),
        target,
        dt=sem["dt"],
        discretization=sem["discretization"],
        reset=chip_reset(name),
        framework=sem.get("framework"),
    )


def energy_rows() -> list[dict[str, str]]:
    """One row per zoo model and target: what ``validate``'s run costs (modelled)."""
    from neurocompile.compare import validate
    from neurocompile.models.validate_table import zoo_inputs

    rows = []
    for name in list_models():
        x, y = zoo_inputs(name, ZOO_N)
        for target in TARGETS:
            prog = compile_zoo(name, target)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rep = validate(model_path(name), prog, x, labels=y)
            e = rep.energy
            c, t = e.counts, e.latency_s
            parts = ", ".join(f"{k} {_si(v, 'J')}" for k, v in e.energy_j.items() if k != "total" and v)
            rows.append(
                {
                    "model": f"`{name}`",
                    "target": target,
                    "run": f"{c.batch} x {c.steps}",
                    "placement": f"{c.chips} / {c.cores_used}",
                    "synops": f"{c.synaptic_operations:.4g}",
                    "updates": f"{c.neuron_updates:.4g} ({c.active_neuron_updates:.4g})",
                    "messages": f"{c.core_messages:.4g} ({c.chip_messages:.4g})",
                    "energy": f"**{_si(e.energy_j['total'], 'J')}** ({parts})",
                    "step": f"{_si(t['per_step_mean'], 's')} ({_si(t['per_step_max'], 's')})",
                    "sample": _si(e.latency_s["per_sample"], "s"),
                    "_name": name,
                    "_total": e.energy_j["total"],
                }
            )
    return rows


def _trained(name: str):
    """``(graph, semantics)`` under which NIR semantics compute the trained model: the card's, through
    the framework's translation when the card names one (snnTorch, rockpool)."""
    import neurocompile as nc
    from neurocompile.frameworks import apply

    sem = dict(load_card(name)["simulate"])
    graph = nc.load(model_path(name))
    fw = sem.pop("framework", None)
    if fw is None:
        return graph, sem
    disc = sem.get("discretization")
    tg, fsem, _ = apply(
        graph,
        fw,
        dt=sem.get("dt"),
        discretization=None if disc == "forward" else disc,
        reset=sem.get("reset", "file"),
    )
    return tg, dict(fsem, hop_delay=sem.get("hop_delay", 0))


def neurobench_rows() -> list[dict[str, str]]:
    """NeuroBench's metrics of each zoo model's float model on the same samples (trained semantics)."""
    from neurocompile.models.validate_table import zoo_inputs
    from neurocompile.nbmetrics import float_metrics

    rows = []
    for name in list_models():
        x, _ = zoo_inputs(name, ZOO_N)
        graph, sem = _trained(name)
        m = float_metrics(graph, x, **sem)
        so = m.synaptic_operations
        rows.append(
            {
                "model": f"`{name}`",
                "run": f"{m.batch} x {m.steps}",
                "acs": f"{so['Effective_ACs']:.6g}",
                "macs": f"{so['Effective_MACs']:.6g}",
                "dense": f"{so['Dense']:.6g}",
                "as": f"{m.activation_sparsity:.4f}",
                "cs": f"{m.connection_sparsity:.4f}",
                "fp": f"{m.footprint}",
            }
        )
    return rows


def _figure_rows(costs) -> list[str]:
    """The figures of one cost model, sources numbered once below the table."""
    sources: list[tuple[str, str]] = []
    rows = ["| figure | value | chip | source | where in it |", "|---|---|---|---|---|"]
    for f in costs.figures:
        if (f.source, f.verified) not in sources:
            sources.append((f.source, f.verified))
        n = sources.index((f.source, f.verified)) + 1
        val = _si(f.value, f.unit) if f.unit in ("J", "s", "W") else f"{f.value:g} {f.unit}"
        note = f" ({f.note})" if f.note else ""
        rows.append(f"| {f.what}{note} | {val} | {f.chip} | [{n}] | {f.location.replace('|', '/')} |")
    rows.append("")
    rows += [f"- [{i}] {src}. Checked here: {ver}." for i, (src, ver) in enumerate(sources, 1)]
    return rows


ENERGY_HEADER = (
    "| model | target | samples x steps | chips / cores | synaptic ops per sample | neuron updates per "
    "sample (active) | spike messages to cores (other chip or host) | energy per sample (parts) | time "
    "per step, mean (max) | time per sample |"
)
ENERGY_KEYS = (
    "model",
    "target",
    "run",
    "placement",
    "synops",
    "updates",
    "messages",
    "energy",
    "step",
    "sample",
)
NB_HEADER = (
    "| model | samples x steps | Effective_ACs | Effective_MACs | Dense | activation_sparsity | "
    "connection_sparsity | footprint (bytes) |"
)
NB_KEYS = ("model", "run", "acs", "macs", "dense", "as", "cs", "fp")


def render(energy: list[dict[str, str]], nb: list[dict[str, str]]) -> str:
    from neurocompile.energy import MODELLED, cost_model

    loihi, spinn = cost_model("loihi2"), cost_model("spinnaker")
    L = [
        "# Energy and latency: modelled, not measured",
        "",
        "Generated by `python -m neurocompile.models.energy_table --write docs/energy.md` (module",
        "`models/energy_table.py`); `tests/test_energy.py` recomputes it and requires this file to match.",
        "",
        f"**Every energy and time on this page is {MODELLED}.** No chip was run: the bit-exact emulator",
        "counts what the Program makes the chip do, and each count is multiplied by a published",
        "per-operation figure (tables below, each with its source and where it was read). `neurocompile",
        "report PROG --input IN.npz` and `neurocompile validate MODEL PROG --input IN.npz` print the same",
        "section for their run (JSON key `energy`, with every figure and source under `energy.figures`).",
        "",
        "## What is counted (`neurocompile/energy.py`)",
        "",
        "- **synaptic operations**: every spike (input populations included) times the number of its",
        "  synapses whose effective on-chip weight is non-zero (the fan-out actually delivered);",
        "- **neuron updates**: every non-input neuron every step (Loihi 2 updates every compartment each",
        "  time step; sPyNNaker's timer updates every neuron of its core each tick), *active* when it",
        "  spiked;",
        "- **spike messages**: per spike, one message to every distinct core holding a non-zero synapse of",
        "  the neuron (cores and chips from the Program's placement), and how many of those cores are on",
        "  another chip (for Loihi 2 also every message from the host, which feeds the input populations);",
        "- **learning updates**: Loihi 2, every plastic synapse once per learning epoch (an upper bound);",
        "  SpiNNaker, the pre neuron's plastic row on every pre spike (sPyNNaker's STDP).",
        "",
        "## The two models",
        "",
        "**Loihi 2**: no per-operation figure of Loihi 2 was found, so Loihi 1's (Davies et al. 2018,",
        "Table 2) are used, labelled Loihi 1 wherever they appear. Energy per sample = synaptic ops x",
        "23.6 pJ + active neuron updates x 81 pJ + inactive x 52 pJ + spike messages x 1.7 pJ + learning",
        "updates x 120 pJ: dynamic energy only (static leakage, host I/O, chip-to-chip links and",
        "inter-tile hops are not modelled). Time per step: Loihi runs unthrottled, a step lasts as long",
        "as its busiest core (synaptic ops x 3.5 ns + active neurons x 8.4 ns + inactive x 5.3 ns) plus",
        "2.1 ns spike latency plus the barrier (113 ns for 1 tile to 465 ns for 32 tiles, interpolated,",
        "4 cores per tile): a lower bound that depends on activity (NoC congestion and host input are",
        "not modelled).",
        "",
        "**SpiNNaker 1**: sPyNNaker 1!7.4.1's own energy model (the figures in its installed",
        "`spinn_machine/version/version_spin1.py`, which the tests compare with that file). SpiNNaker runs",
        "in real time: a sample of T steps takes T ticks of the Program's `tick_ms` (1 ms) whatever the",
        "activity. Energy per sample = (chips x 0.35 W idle + application cores x 0.034 W active overhead)",
        "x run time + 1 nJ per multicast packet (25 pJ/bit x 40 bits; one packet per spike at its own",
        "chip's router and one per other chip it reaches). The synaptic and neuron work runs in software",
        "on the ARM cores; its energy is inside the active-core power, so it has no per-operation figure.",
        "",
        f"## The zoo models on both targets ({ZOO_N} test samples each, the `validate` run)",
        "",
        "Compiled with each model's reference dt, discretization and chip reset, no calibration; the",
        "samples are the first of each model's bundled test set (the MLP's analog input rate coded), plus",
        "the silent steps `validate` appends for the hop delay. Counts and energies are per sample.",
        "",
        ENERGY_HEADER,
        "|" + "---|" * len(ENERGY_KEYS),
    ]
    L += ["| " + " | ".join(r[k] for k in ENERGY_KEYS) + " |" for r in energy]
    ratios = []
    for r in energy:
        if r["target"] == "spinnaker":
            other = [q for q in energy if q["_name"] == r["_name"] and q["target"] == "loihi2"]
            if other and other[0]["_total"]:
                ratios.append(r["_total"] / other[0]["_total"])
    if ratios:
        L += [
            "",
            f"SpiNNaker's modelled energy per sample is {min(ratios):,.0f} to {max(ratios):,.0f} times",
            "Loihi 2's here: a SpiNNaker chip draws its idle and active-core power for the whole real-time",
            "run however few spikes there are, while the Loihi figures charge only the operations (and",
            "leave static power out).",
        ]
    L += [
        "",
        "## NeuroBench metrics of the float models (`neurocompile/nbmetrics.py`)",
        "",
        "NeuroBench's names and definitions (Yik et al., Nature Communications 16:1545, 2025; package",
        "`neurobench` 2.3.0): `synaptic_operations` per sample (each connection layer applied to its",
        "binarized input with binarized weights and no bias, summed: *Effective* ACs when every input is",
        "in {-1, 0, 1}, else MACs; *Dense* with every input and weight set to 1), `activation_sparsity`",
        "(zero outputs of the spiking layers / all), `connection_sparsity` (zero weights / all weights),",
        "`footprint` (here: the connection layers' weights and biases as float32 bytes; NeuroBench sums a",
        "torch module's parameters and buffers). The float model runs the same samples under its trained",
        "semantics. `tests/test_energy.py` compares these with the `neurobench` package on the zoo CNN",
        "as a sinabs module (`.venv/bin/pip install --no-deps neurobench==2.3.0 snntorch==1.0.0`).",
        "",
        NB_HEADER,
        "|" + "---|" * len(NB_KEYS),
    ]
    L += ["| " + " | ".join(r[k] for k in NB_KEYS) + " |" for r in nb]
    L += [
        "",
        "## Figures and sources",
        "",
        f"### Loihi 2 ({loihi.chip})",
        "",
        *_figure_rows(loihi),
        "",
        f"### {spinn.chip}",
        "",
        *_figure_rows(spinn),
        "",
        "### Looked for and not used",
        "",
        "- **A per-operation figure for Loihi 2.** Intel's Loihi 2 technology brief (2021) and",
        '  J. Timcheck, A. Pierro, S. B. Shrestha, "A Compute and Communication Runtime Model for Loihi',
        '  2" (arXiv:2601.10035, 2026; a max-affine model of the step time over dendrite ops, synaptic',
        "  ops, synaptic memory reads and NoC traffic, plus a barrier) were found, but the stored text",
        "  held no per-operation constant. The Loihi 1 figures are used instead, labelled Loihi 1.",
        '- **E. Stromatias, F. Galluppi, C. Patterson, S. Furber, "Power analysis of large-scale, real-time',
        '  neural networks on SpiNNaker", IJCNN 2013.** Only the abstract was in the stored pages (a',
        '  power model from a 48-chip board "based on numbers of neurons, synapses and their firing',
        '  rates"; "less than 1 Watt per SpiNNaker chip"); secondary notes quote its per-neuron and',
        "  per-synaptic-event figures inconsistently (8, 20, 43 nJ per event), so none is used here",
        "  (unverified here).",
        "- **S. J. van Albada et al. 2018 (Frontiers in Neuroscience)** assess the runtime and power",
        "  of a cortical microcircuit on SpiNNaker (abstract); only the abstract was in the stored text",
        "  (used above for the 1 ms real-time step), so no per-event energy of theirs is used (any such",
        "  figure is unverified here).",
        "- Davies et al. 2018's Table 2 was read as quoted verbatim in a stored secondary research note,",
        "  not in the paper itself; its numbers are pre-silicon (SDF and SPICE) simulation, which the",
        '  paper calls "consistent with early post-silicon characterization".',
        "",
    ]
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", type=Path, default=None, help="write the page to this file")
    args = ap.parse_args(argv)
    text = render(energy_rows(), neurobench_rows())
    if args.write:
        args.write.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
