"""Modelled energy and latency (``neurocompile.energy``, the targets' cost models), NeuroBench's
metrics of float models (``neurocompile.nbmetrics``) and ``docs/energy.md``.

Expected counts come from brute-force loops over the Program's synapses and placement written
here (not from the counting code); the SpiNNaker figures are compared with the installed
sPyNNaker energy model; the NeuroBench metrics with the ``neurobench`` package itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neurocompile as nc
from neurocompile.data import RunResult
from neurocompile.energy import MODELLED, CostModel, cost_model, count_operations, estimate
from neurocompile.ir import Graph, Node
from neurocompile.target import INPUT_KINDS, get_target

REPO = Path(__file__).resolve().parents[1]


def _graph(seed: int = 3) -> Graph:
    """Input(6) -> Affine(6->5, some zero weights) -> LIF(5) -> Affine(5->4) -> LIF(4) -> Output."""
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 1, (5, 6)) * (rng.random((5, 6)) < 0.6)
    w2 = rng.normal(0, 1, (4, 5)) * (rng.random((4, 5)) < 0.7)

    def lif(n):
        return {
            "tau": np.full(n, 0.01),
            "r": np.ones(n),
            "v_leak": np.zeros(n),
            "v_threshold": np.ones(n),
            "v_reset": np.zeros(n),
        }

    nodes = [
        Node("in", "Input", {"shape": (6,)}),
        Node("a1", "Affine", {"weight": w1, "bias": np.zeros(5)}),
        Node("l1", "LIF", lif(5)),
        Node("a2", "Affine", {"weight": w2, "bias": np.zeros(4)}),
        Node("l2", "LIF", lif(4)),
        Node("out", "Output", {"shape": (4,)}),
    ]
    names = [n.name for n in nodes]
    return Graph(nodes={n.name: n for n in nodes}, edges=list(zip(names[:-1], names[1:])))


def _program(target: str):
    prog = nc.compile(_graph(), target, dt=1e-3, reset="zero")
    if target == "loihi2":  # two neurons per core, two cores per chip: messages cross cores and chips
        get_target("loihi2").hook("place")(prog, neurons_per_core=2, cores_per_chip=2)
    return prog


def _fake_run(prog, batch: int, steps: int, seed: int, silent: bool = False) -> RunResult:
    rng = np.random.default_rng(seed)
    rec = {}
    for p in prog.populations.values():
        s = np.zeros((batch, steps, p.size)) if silent else (rng.random((batch, steps, p.size)) < 0.3) * 1.0
        rec[f"{p.name}.spikes"] = s
    return RunResult(outputs={}, recordings=rec)


def _synapse_list(prog, proj):
    w = np.asarray(get_target(prog.target).hook("effective_weights")(proj))
    if "pre" in proj.params:
        return [
            (int(i), int(j)) for i, j, v in zip(proj.params["pre"], proj.params["post"], w.ravel()) if v != 0
        ]
    n_post = prog.populations[proj.post].size
    w = w.reshape(n_post, -1)
    return [(i, j) for j in range(n_post) for i in range(w.shape[1]) if w[j, i] != 0]


def _where(prog):
    """(population, neuron) -> (chip, core index) from the placement's core list, brute force."""
    out = {}
    for k, c in enumerate(sorted(prog.placement["cores"], key=lambda c: (int(c["chip"]), int(c["core"])))):
        for n in range(int(c["start"]), int(c["stop"])):
            out[(c["population"], n)] = (int(c["chip"]), k)
    return out


@pytest.mark.parametrize("target", ["loihi2", "spinnaker"])
def test_operation_counts_match_brute_force(target):
    prog = _program(target)
    batch, steps = 3, 7
    run = _fake_run(prog, batch, steps, seed=11)
    c = count_operations(prog, run, cost_model(prog))
    where = _where(prog)
    synops = messages = chip_msgs = 0.0
    dest: dict[tuple[str, int], set] = {}
    for proj in prog.projections.values():
        s = run.recordings[f"{proj.pre}.spikes"]
        for i, j in _synapse_list(prog, proj):
            synops += s[:, :, i].sum()
            dest.setdefault((proj.pre, i), set()).add(where[(proj.post, j)])
    for (pop, i), cores in dest.items():
        n = run.recordings[f"{pop}.spikes"][:, :, i].sum()
        messages += n * len(cores)
        src_chip = where[(pop, i)][0] if (pop, i) in where else None  # None: fed by the host
        chip_msgs += n * len({ch for ch, _ in cores if ch != src_chip})
    neurons = sum(p.size for p in prog.populations.values() if p.kind not in INPUT_KINDS)
    active = sum(
        run.recordings[f"{p.name}.spikes"].sum()
        for p in prog.populations.values()
        if p.kind not in INPUT_KINDS
    )
    assert c.synaptic_operations == pytest.approx(synops / batch)
    assert c.core_messages == pytest.approx(messages / batch)
    assert c.chip_messages == pytest.approx(chip_msgs / batch)
    assert c.neuron_updates == neurons * steps
    assert c.active_neuron_updates == pytest.approx(active / batch)
    if target == "loihi2":
        assert c.chips > 1 and chip_msgs > 0  # the forced placement really crosses chips
    # the activity report's SynOps (another code path) agree
    from neurocompile.report import report

    so = report(prog, run).activity.synaptic_operations
    assert so["Effective_ACs"] + so["Effective_MACs"] == pytest.approx(c.synaptic_operations)


def test_silent_run_costs_only_idle_neurons_and_cores():
    """No spike: Loihi charges every neuron update as inactive; SpiNNaker its chips and cores for the
    real-time run, no packet."""
    steps = 9
    lo = _program("loihi2")
    e = estimate(lo, _fake_run(lo, 2, steps, 0, silent=True))
    n = sum(p.size for p in lo.populations.values() if p.kind not in INPUT_KINDS)
    assert e.energy_j["total"] == pytest.approx(n * steps * 52e-12)
    per_core = max(int(c["stop"]) - int(c["start"]) for c in lo.placement["cores"])
    tiles = -(-len(lo.placement["cores"]) // 4)
    barrier = 113e-9 + (465e-9 - 113e-9) * (tiles - 1) / 31
    assert e.latency_s["per_step_max"] == pytest.approx(per_core * 5.3e-9 + 2.1e-9 + barrier)
    assert e.latency_s["per_sample"] == pytest.approx(steps * e.latency_s["per_step_mean"])
    sp = _program("spinnaker")
    e = estimate(sp, _fake_run(sp, 2, steps, 0, silent=True))
    pl = sp.placement
    assert e.energy_j["packets"] == 0
    assert e.energy_j["total"] == pytest.approx(
        (pl["chips"] * 0.35 + pl["cores_used"] * 0.034) * steps * 1e-3
    )
    assert e.latency_s["per_sample"] == pytest.approx(steps * 1e-3)
    assert e.label == MODELLED


def test_energy_grows_with_activity():
    lo = _program("loihi2")
    quiet = estimate(lo, _fake_run(lo, 2, 9, 0, silent=True)).energy_j["total"]
    busy = estimate(lo, _fake_run(lo, 2, 9, 5)).energy_j["total"]
    assert busy > quiet


@pytest.mark.parametrize("target", ["loihi2", "spinnaker"])
def test_every_figure_names_its_source_and_chip(target):
    costs = cost_model(target)
    assert isinstance(costs, CostModel) and costs.figures
    for f in costs.figures:
        assert f.source and f.location and f.verified and f.chip and f.unit, f.key
    if target == "loihi2":  # Loihi 1 figures, said so everywhere
        assert {f.chip for f in costs.figures} == {"Loihi 1 (2018)"}
        assert "Loihi 1" in costs.chip


@pytest.mark.spinnaker
def test_spinnaker_figures_are_spynnakers_own():
    mod = pytest.importorskip(
        "spinn_machine.version.version_spin1", reason="spinn_machine (installed with sPyNNaker) missing"
    )
    v, costs = mod.VersionSpin1, cost_model("spinnaker")
    assert costs.value("idle_chip_power") == v.WATTS_PER_IDLE_CHIP
    assert costs.value("core_active_power") == v.WATTS_PER_CORE_ACTIVE_OVERHEAD
    assert costs.value("router_bit_energy") == pytest.approx(v.JOULES_PER_ROUTER_BIT)
    assert costs.value("router_bit_energy") * costs.value("packet_bits") == pytest.approx(v.JOULES_PER_PACKET)


def _zoo_cnn(target: str):
    from neurocompile.models.energy_table import compile_zoo
    from neurocompile.models.validate_table import zoo_inputs

    x, y = zoo_inputs("digits_cnn_sinabs", 4)
    return compile_zoo("digits_cnn_sinabs", target), x, y


def test_report_and_validate_carry_the_labelled_energy(tmp_path):
    from neurocompile.compare import validate
    from neurocompile.models import model_path
    from neurocompile.report import report

    prog, x, y = _zoo_cnn("loihi2")
    rep = report(prog, inputs=x)
    d = rep.as_dict()
    assert d["schema_version"] and d["energy"]["label"] == MODELLED
    assert d["energy"]["figures"][0]["source"].startswith("M. Davies")
    assert "MODELLED, NOT MEASURED" in rep.to_text()
    v = validate(model_path("digits_cnn_sinabs"), prog, x, labels=y)
    assert v.energy is not None and v.as_dict()["energy"]["label"] == MODELLED
    assert v.energy.counts.steps == v.steps + v.padding
    assert "MODELLED, NOT MEASURED" in v.to_text()
    # the CLI: report --input --json has the key, schema_version kept
    path = tmp_path / "p.ncp"
    prog.save(path)
    np.savez(tmp_path / "in.npz", **x)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "neurocompile.cli.main",
            "report",
            str(path),
            "--input",
            str(tmp_path / "in.npz"),
        ]
        + ["--json"],
        capture_output=True,
        text=True,
        env=dict(os.environ, COLUMNS="100"),
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["schema_version"] and doc["energy"]["label"] == MODELLED
    assert doc["energy"]["energy_j_per_sample"]["total"] > 0


@pytest.mark.extras
def test_float_metrics_match_the_neurobench_package():
    """NeuroBench 2.3.0's own metrics on the zoo CNN as a sinabs module vs ours on its NIR graph."""
    pytest.importorskip(
        "neurobench.metrics.workload",
        reason="neurobench missing: .venv/bin/pip install --no-deps neurobench==2.3.0 snntorch==1.0.0",
    )
    import sinabs.layers as sl
    import torch
    from neurobench.metrics.static import ConnectionSparsity, Footprint
    from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
    from neurobench.models import TorchModel

    from neurocompile.models import load_card, model_path
    from neurocompile.models.digits_cnn_sinabs import net as cnn
    from neurocompile.models.validate_table import zoo_inputs
    from neurocompile.nbmetrics import float_metrics

    name = "digits_cnn_sinabs"
    graph = nc.load(model_path(name))
    x, y = zoo_inputs(name, 6)
    ours = float_metrics(graph, x, **load_card(name)["simulate"])
    net = cnn.load_weights(cnn.build(x["input"].shape[1]), graph)  # float32, as trained
    model = TorchModel(net)
    model.add_activation_module(sl.IAFSqueeze)
    footprint = Footprint()(model)
    conn = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    conn_bytes = sum(p.numel() * p.element_size() for m in conn for p in m.parameters())
    sparsity = ConnectionSparsity()(model)
    model.register_hooks()
    out = torch.tensor(cnn.run(net, x["input"]))
    data = (torch.tensor(x["input"]), torch.tensor(y))
    theirs = SynapticOperations()(model, out, data)
    assert ours.synaptic_operations == pytest.approx(theirs)
    assert ours.activation_sparsity == pytest.approx(ActivationSparsity()(model, out, data))
    assert round(ours.connection_sparsity, 4) == sparsity
    # footprint: ours is the connection layers' weights and biases (the NIR file stores zero biases
    # that the bias-free torch module lacks); NeuroBench also counts the neuron layers' parameters
    nir_bias = sum(
        np.size(n.params["bias"]) for n in graph.nodes.values() if n.params.get("bias") is not None
    )
    assert ours.footprint - 4 * nir_bias == conn_bytes < footprint


def test_docs_energy_page_is_what_the_script_writes():
    from neurocompile.models.energy_table import DOC, energy_rows, neurobench_rows, render

    assert DOC.read_text() == render(energy_rows(), neurobench_rows())


def test_learning_updates_per_epoch_and_per_pre_spike():
    """Loihi 2: every plastic synapse once per epoch; SpiNNaker: the pre neuron's plastic row on
    every pre spike (brute force over the stored synapses)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from learning_cases import random_learning_program

    from neurocompile.targets.spinnaker.builder import SpiNNakerBuilder

    prog, names = random_learning_program(4)
    steps = 17
    run = _fake_run(prog, 2, steps, seed=2)
    c = count_operations(prog, run, cost_model(prog))
    want = 0
    for n in names:
        p = prog.projections[n]
        want += np.size(p.params["weights"]) * (steps // int(np.ravel(p.params["t_epoch"])[0]))
    assert want > 0 and c.learning_updates == want
    e = estimate(prog, run)
    assert e.energy_j["learning"] == pytest.approx(want * 120e-12)

    b = SpiNNakerBuilder(1.0)
    b.spike_source("pre", 3)
    b.if_curr_exp("post", 2, ring_buffer_shifts=[4, 0], tau_syn_E=1.0, tau_refrac=1.0)
    pre_idx, post_idx = [0, 0, 1, 2, 2], [0, 1, 1, 0, 1]
    block = dict(timing="spike_pair", weight="additive", tau_plus=20.0, tau_minus=20.0)
    block.update(A_plus=0.05, A_minus=0.06, w_min=0.0, w_max=1.5)
    b.stdp("pre", "post", pre_idx=pre_idx, post_idx=post_idx, w16=[100] * 5, delays=[1] * 5, plasticity=block)
    sp = b.build({"out": ("post", "spikes")})
    run = _fake_run(sp, 3, steps, seed=9)
    c = count_operations(sp, run, cost_model(sp))
    pre = run.recordings["pre.spikes"]
    want = sum(pre[:, :, i].sum() for i in pre_idx) / 3
    assert want > 0 and c.learning_updates == pytest.approx(want)
