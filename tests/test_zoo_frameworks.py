"""The snnTorch and rockpool zoo models (``digits_mlp_snntorch``, ``digits_rockpool``).

* The framework's own module, rebuilt from the bundled ``model.nir`` in float64 (snnTorch ``Leaky``
  layers with the file's per-neuron ``beta = 1 - dt/tau``; rockpool ``LIFTorch`` layers with the
  file's per-neuron ``tau_mem``/``tau_syn``), gives the same spikes, layer by layer, as
  ``neurocompile.simulate`` on the file under the card's semantics (the framework conventions).
* The time constants are per neuron in the file (learned: many distinct values) and stay per
  neuron in both chips' Programs (Loihi 2 ``dv``/``du`` arrays, SpiNNaker ``tau_m`` arrays), which
  record the framework in their provenance.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import neurocompile as nc
from neurocompile.models import load_card, load_test_set, model_path, reference_semantics

N = 60  # test samples compared spike for spike


def _spikes_equal(a, b, what):
    assert a.shape == b.shape, f"{what}: shapes {a.shape} vs {b.shape}"
    bad = np.argwhere(a != b)
    assert not len(bad), f"{what}: {len(bad)} mismatches, first {bad[:5].tolist()}"
    assert 0 < a.sum() < a.size, f"{what}: {a.sum()} spikes of {a.size}: the comparison would be vacuous"


def test_snntorch_model_spike_for_spike():
    torch = pytest.importorskip("torch")
    pytest.importorskip("snntorch")
    from neurocompile.models.digits_mlp_snntorch import train as T

    name = "digits_mlp_snntorch"
    graph = nc.load(model_path(name))
    inputs, _ = load_test_set(name, N)
    x = inputs["input"]
    net = T.build().double()
    dt = load_card(name)["dt"]
    with torch.no_grad():
        for i in (0, 2):
            net[i].weight.copy_(torch.tensor(graph.nodes[str(i)].params["weight"]))
        for i in (1, 3):
            net[i].beta.copy_(torch.tensor(1.0 - dt / np.asarray(graph.nodes[str(i)].params["tau"])))
            net[i].spike_grad = lambda v: (v > 0).double()
        out, hid = T.run(net, torch.tensor(x))
    res = nc.simulate(graph, inputs, record=["1.spikes"], **reference_semantics(name))
    _spikes_equal(res.recordings["1.spikes"], hid.numpy(), "snnTorch hidden Leaky")
    _spikes_equal(res.outputs["output"], out.numpy(), "snnTorch output Leaky")
    # the zero reset matters on these inputs: snnTorch's default (subtract) gives other spikes
    sub = nc.simulate(graph, inputs, framework="snntorch", reset="subtract").outputs["output"]
    assert not np.array_equal(sub, out.numpy())


def test_rockpool_model_spike_for_spike():
    torch = pytest.importorskip("torch")
    pytest.importorskip("rockpool")
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch
    from rockpool.parameters import Constant

    class StepPWL64:  # rockpool's spike forward (floor, capped at max_spikes_per_dt), in float64
        @staticmethod
        def apply(v, threshold, window, max_spikes_per_dt):
            n = ((v >= threshold) * torch.floor(v / threshold)).double()
            return n - (n - max_spikes_per_dt.double()) * (n > max_spikes_per_dt).double()

    name = "digits_rockpool"
    graph = nc.load(model_path(name))
    inputs, _ = load_test_set(name, N)
    dt = load_card(name)["dt"]
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        mods = []
        for key in ("0_LinearTorch", "1_LIFTorch", "2_LinearTorch", "3_LIFTorch"):
            p = graph.nodes[key].params
            if key.endswith("LinearTorch"):
                w = np.asarray(p["weight"]).T  # NIR (out, in) -> rockpool (in, out)
                m = LinearTorch(w.shape, has_bias=False)
                m.weight.data = torch.tensor(w)
            else:
                m = LIFTorch(
                    len(p["tau_mem"]),
                    tau_mem=torch.tensor(np.asarray(p["tau_mem"])),
                    tau_syn=torch.tensor(np.asarray(p["tau_syn"])),
                    threshold=Constant(1.0),
                    bias=Constant(0.0),
                    dt=dt,
                    max_spikes_per_dt=1.0,
                    spike_generation_fn=StepPWL64,
                )
            mods.append(m)
        net = Sequential(*mods).double()
        net.reset_state()
        with torch.no_grad():
            out, _, rec = net(torch.tensor(inputs["input"]), record=True)
        hid = rec["1_LIFTorch"]["spikes"].numpy()
    finally:
        torch.set_default_dtype(old)
    res = nc.simulate(graph, inputs, record=["1_LIFTorch.spikes"], **reference_semantics(name))
    _spikes_equal(res.recordings["1_LIFTorch.spikes"], hid, "rockpool hidden LIFTorch")
    _spikes_equal(res.outputs["output"], out.numpy(), "rockpool output LIFTorch")


@pytest.mark.parametrize(
    "name, nodes, keys",
    [
        ("digits_mlp_snntorch", ("1", "3"), ("tau",)),
        ("digits_rockpool", ("1_LIFTorch", "3_LIFTorch"), ("tau_mem", "tau_syn")),
    ],
)
def test_time_constants_per_neuron_in_file_and_programs(name, nodes, keys):
    from neurocompile.models.accuracy import compile_for

    graph = nc.load(model_path(name))
    fw = reference_semantics(name)["framework"]
    for node in nodes:
        for key in keys:
            v = np.asarray(graph.nodes[node].params[key])
            assert v.size > 1 and len(np.unique(v)) > v.size // 2, f"{node}.{key}: {len(np.unique(v))} values"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        progs = {t: compile_for(name, t) for t in ("loihi2", "spinnaker")}
    for target, prog in progs.items():
        assert prog.provenance["framework"]["name"] == fw, target
        assert prog.provenance["options"]["framework"] == fw, target
    hid = nodes[0]
    dv = np.asarray(progs["loihi2"].populations[hid].params["dv"])
    tau_m = np.asarray(progs["spinnaker"].populations[hid].params["tau_m"])
    n = graph.nodes[hid].params[keys[0]].size
    assert dv.shape == tau_m.shape == (n,)
    assert len(np.unique(dv)) > 1 and len(np.unique(tau_m)) > n // 2
    if fw == "rockpool":  # the synaptic decays too
        du = np.asarray(progs["loihi2"].populations[hid].params["du"])
        assert du.shape == (n,) and len(np.unique(du)) > 1
