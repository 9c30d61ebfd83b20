"""spikingjelly 2.0 against neurocompile, spike for spike (issue 10).

Random spikingjelly models (``nn.Sequential`` of ``layer.Linear`` and ``IFNode`` / ``LIFNode`` /
``ParametricLIFNode``; seeds fixed here) run in spikingjelly itself (single-step mode, float64,
``functional.reset_net`` first) and in ``neurocompile.simulate`` on the graph read from the module
(``neurocompile.load(net, sample)``; spikingjelly has no NIR exporter of its own in 2.0). Covered:
``decay_input`` True/False, ``v_reset`` None (soft reset) or a value (0 or not: the state starts
at and leaks towards it), per-layer ``tau``/``v_threshold``, ParametricLIF's learned ``w``. Inputs
are random floats, so ``v == threshold`` ties (spikingjelly's heaviside is ``>=``) have
probability zero.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")
pytest.importorskip(
    "spikingjelly.activation_based",
    reason="spikingjelly is not installed (pip install --no-deps spikingjelly==2.0.0 loguru==0.7.3)",
)
from spikingjelly.activation_based import functional, layer, neuron  # noqa: E402

import neurocompile as nc  # noqa: E402

pytestmark = pytest.mark.frameworks

SEEDS = list(range(24))


def make_model(seed: int):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    n_in, n_hid, n_out = 4, int(rng.integers(5, 9)), 3

    def node(i: int):
        kind = ("IF", "LIF", "PLIF")[(seed + i) % 3]
        v_reset = (None, 0.0, float(rng.uniform(-0.3, 0.2)))[(seed // 3 + i) % 3]
        kw = dict(v_threshold=float(rng.uniform(0.5, 1.5)), v_reset=v_reset, step_mode="s")
        if kind == "IF":
            return neuron.IFNode(**kw), f"IF(v_reset={v_reset})"
        decay_input = (seed // 9 + i) % 2 == 0
        if kind == "LIF":
            tau = float(rng.uniform(1.5, 8.0))
            return neuron.LIFNode(
                tau=tau, decay_input=decay_input, **kw
            ), f"LIF(tau={tau:.2f}, {decay_input}, {v_reset})"
        tau = float(rng.uniform(1.5, 8.0))
        return neuron.ParametricLIFNode(
            init_tau=tau, decay_input=decay_input, **kw
        ), f"PLIF({decay_input}, {v_reset})"

    n1, d1 = node(0)
    n2, d2 = node(1)
    net = torch.nn.Sequential(layer.Linear(n_in, n_hid), n1, layer.Linear(n_hid, n_out), n2).double()
    with torch.no_grad():
        net[0].weight.mul_(3.0)
        net[2].weight.copy_(net[2].weight.abs() * 4.0)  # an excitatory readout, so outputs spike
        net[2].bias.copy_(net[2].bias.abs())
    return net, f"seed={seed} {d1} -> {d2}", n_in


def run_spikingjelly(net, x):
    functional.reset_net(net)
    outs = {"1": [], "3": []}
    with torch.no_grad():
        for t in range(x.shape[1]):
            h = torch.tensor(x[:, t])
            for i, m in enumerate(net):
                h = m(h)
                if str(i) in outs:
                    outs[str(i)].append(h.numpy().copy())
    return {k: np.stack(v, 1) for k, v in outs.items()}


def _inputs(seed: int, n_in: int, steps: int = 50, batch: int = 3) -> np.ndarray:
    return np.random.default_rng(3000 + seed).uniform(-0.5, 1.5, (batch, steps, n_in))


@pytest.mark.parametrize("seed", SEEDS)
def test_module_spike_for_spike(seed):
    net, desc, n_in = make_model(seed)
    x = _inputs(seed, n_in)
    want = run_spikingjelly(net, x)
    graph = nc.load(net, torch.zeros(1, n_in, dtype=torch.float64))
    assert graph.conventions["framework"] == "spikingjelly"
    res = nc.simulate(graph, {"input": x}, record=["1.spikes", "3.spikes"])
    assert res.semantics["framework"] == "spikingjelly"
    for key in ("1", "3"):
        got = res.recordings[f"{key}.spikes"]
        assert np.array_equal(got, want[key]), f"{desc}: layer {key}: {got.sum()} vs {want[key].sum()} spikes"
    assert np.array_equal(res.outputs["output"], want["3"]), desc
    assert want["3"].sum() > 0, f"{desc}: no output spikes (the comparison would be empty)"


def test_unsupported_layer_is_a_typed_error():
    from neurocompile.errors import ModelLoadError

    net = torch.nn.Sequential(layer.Linear(2, 3), neuron.LIFNode(), torch.nn.ReLU())
    with pytest.raises(ModelLoadError) as err:
        nc.load(net, torch.zeros(1, 2))
    assert err.value.node == "2" and "ReLU" in str(err.value)


def export_like_spikingjelly(net, n_in: int, dt: float = 1e-4) -> dict:
    """What ``spikingjelly.activation_based.nir_exchange.export_to_nir(net, x, dt)`` builds (its
    ``map_if`` / ``map_lif`` / ``map_plif`` and Linear -> Affine), as the dict ``nir.write`` stores.
    The exporter itself needs nir >= 1.0.5 (``v_reset``); .venv holds nir 1.0.4."""
    nodes: dict = {"input": {"type": "Input", "shape": np.array([n_in])}}
    edges, prev, n = [], "input", n_in
    for i, m in enumerate(net):
        if isinstance(m, torch.nn.Linear):
            n = m.weight.shape[0]
            node = {"type": "Affine", "weight": m.weight.detach().numpy(), "bias": m.bias.detach().numpy()}
        elif isinstance(m, neuron.IFNode):
            node = {
                "type": "IF",
                "r": np.full(n, 1.0 / dt),
                "v_threshold": np.full(n, m.v_threshold),
                "v_reset": np.full(n, m.v_reset),
            }
        else:
            tau = m.tau if isinstance(m, neuron.LIFNode) else 1.0 / m.w.sigmoid().item()
            node = {
                "type": "LIF",
                "tau": np.full(n, tau * dt),
                "r": np.full(n, 1.0 if m.decay_input else tau),
                "v_leak": np.full(n, m.v_reset),
                "v_threshold": np.full(n, m.v_threshold),
                "v_reset": np.full(n, m.v_reset),
            }
        nodes[str(i)] = node
        edges.append((prev, str(i)))
        prev = str(i)
    nodes["output"] = {"type": "Output", "shape": np.array([n])}
    edges.append((prev, "output"))
    return {"type": "NIRGraph", "nodes": nodes, "edges": edges, "metadata": {}}


#: the exporter refuses soft resets (v_reset=None): hard-reset models only
FILE_SEEDS = [s for s in SEEDS if "None" not in make_model(s)[1]]


@pytest.mark.parametrize("seed", FILE_SEEDS)
def test_exported_file_spike_for_spike(seed, tmp_path):
    from bad_models import write_nir

    net, desc, n_in = make_model(seed)
    x = _inputs(seed, n_in)
    want = run_spikingjelly(net, x)
    path = write_nir(tmp_path / "sj.nir", export_like_spikingjelly(net, n_in), "1.0.8")
    res = nc.simulate(nc.load(path), {"input": x}, framework="spikingjelly")
    assert np.array_equal(res.outputs["output"], want["3"]), (
        f"{desc}: {res.outputs['output'].sum()} vs {want['3'].sum()}"
    )


@pytest.mark.parametrize("target", ["loihi2", "spinnaker"])
def test_compile_from_modules(target):
    """Hard resets compile as they are; soft resets (subtraction) are refused by both chips, with
    reset="zero" as the offered approximation; a mix of both cannot run in one reset mode."""
    from neurocompile.errors import UnsupportedError

    def net_of(v_reset):
        torch.manual_seed(0)
        return torch.nn.Sequential(
            layer.Linear(4, 5),
            neuron.LIFNode(tau=2.0, v_reset=v_reset),
            layer.Linear(5, 3),
            neuron.IFNode(v_reset=v_reset),
        ).double()

    hard = nc.load(net_of(0.0), torch.zeros(1, 4, dtype=torch.float64))
    prog = nc.compile(hard, target)
    assert prog.provenance["framework"]["chosen"] == "spikingjelly (read from its modules)"
    assert prog.semantics["dt"] == 1.0
    soft = nc.load(net_of(None), torch.zeros(1, 4, dtype=torch.float64))
    with pytest.raises(UnsupportedError) as err:
        nc.compile(soft, target)
    assert err.value.parameter == "reset"
    assert nc.compile(soft, target, reset="zero").provenance["framework"]["name"] == "spikingjelly"
    mixed = torch.nn.Sequential(
        layer.Linear(4, 5), neuron.LIFNode(v_reset=None), layer.Linear(5, 3), neuron.IFNode()
    )
    with pytest.raises(UnsupportedError) as err:
        nc.compile(nc.load(mixed.double(), torch.zeros(1, 4, dtype=torch.float64)), target)
    assert err.value.parameter == "reset" and "mixes" in str(err.value)
