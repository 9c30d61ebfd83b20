"""rockpool 3.1 against neurocompile, spike for spike (issue 10).

Random rockpool ``Sequential`` models (seeds fixed here) are evolved by rockpool itself in float64
and by ``neurocompile.simulate`` on

* the graph read from the module (``neurocompile.load(net, sample)``, no exporter): LIFTorch with
  and without recurrence, per-neuron or shared ``tau_mem``/``tau_syn``/``threshold``, ``bias``,
  ``max_spikes_per_dt=1``; ExpSynTorch; LIFNeuronTorch; LinearTorch with and without bias;
* a ``.nir`` file written by rockpool's own ``to_nir`` (it runs with the nir 1.0.4 of .venv) and
  ``nir.write``: the exporter drops ``bias`` and ``w_rec``, so only models without them are
  compared through files; the framework is detected from the file's node names (rockpool's mark).

float64: rockpool casts its spike tensors with ``.float()`` inside ``StepPWL``; the models get a
``spike_generation_fn`` with StepPWL's forward formula unchanged but in float64
(``(x >= threshold) * floor(x / threshold)`` capped at ``max_spikes_per_dt``), and
``torch.set_default_dtype(torch.float64)`` while they are built and run. Inputs are random floats,
so ``v == threshold`` ties (rockpool ``>=``, NIR ``>``) have probability zero.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")
# rockpool's backend check imports samna; the samna 0.48.6 stub in .venv then runs pip to fetch the
# real one from the network. Not needed here: make `import samna` fail fast.
sys.modules.setdefault("samna", None)
rockpool = pytest.importorskip("rockpool", reason="rockpool is not installed (pip install rockpool==3.1)")

from rockpool.nn.combinators import Sequential  # noqa: E402
from rockpool.nn.modules import ExpSynTorch, LIFTorch, LinearTorch  # noqa: E402
from rockpool.nn.modules.torch.lif_neuron_torch import LIFNeuronTorch  # noqa: E402

import neurocompile as nc  # noqa: E402

pytestmark = pytest.mark.frameworks

SEEDS = list(range(22))


class StepPWL64:
    """rockpool's StepPWL forward, in float64 (see the module docstring)."""

    @staticmethod
    def apply(x, threshold, window, max_spikes_per_dt):
        n = ((x >= threshold) * torch.floor(x / threshold)).double()
        clamp = (n > max_spikes_per_dt).double()
        return n - (n - max_spikes_per_dt.double()) * clamp


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def make_model(seed: int, *, exportable: bool = False):
    """A random rockpool Sequential (fixed by ``seed``); ``exportable``: no bias, no recurrence."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    dt = (1e-3, 5e-4, 1e-4)[seed % 3]
    per_neuron = seed % 2 == 0
    rec = seed % 4 in (1, 2) and not exportable
    n_in, n_hid, n_out = 3, int(rng.integers(4, 8)), 2

    def taus(lo, hi, n):
        return torch.tensor(rng.uniform(lo, hi, n) if per_neuron else float(rng.uniform(lo, hi))) * dt

    def lif(n, recurrent):
        kw = dict(
            tau_mem=taus(3, 20, n),
            tau_syn=taus(2, 10, n),
            threshold=torch.tensor(rng.uniform(0.5, 1.5, n)) if per_neuron else float(rng.uniform(0.5, 1.5)),
            dt=dt,
            max_spikes_per_dt=1.0,
            spike_generation_fn=StepPWL64,
        )
        if not exportable:
            kw["bias"] = torch.tensor(rng.uniform(-0.05, 0.1, n))
        if recurrent:
            kw.update(has_rec=True, w_rec=torch.tensor(rng.normal(0, 0.4, (n, n))))
        return LIFTorch(n, **kw)

    mods = [LinearTorch((n_in, n_hid), has_bias=seed % 3 == 1 and not exportable), lif(n_hid, rec)]
    mods.append(LinearTorch((n_hid, n_out)))
    last = seed % 5
    if last == 3:
        mods.append(ExpSynTorch(n_out, tau=taus(2, 10, n_out), dt=dt))
    elif last == 4:
        mods.append(
            LIFNeuronTorch(
                n_out,
                tau_mem=taus(3, 20, n_out),
                threshold=float(rng.uniform(0.1, 0.5)),
                dt=dt,
                max_spikes_per_dt=1.0,
                spike_generation_fn=StepPWL64,
            )
        )
    else:
        mods.append(lif(n_out, rec and seed % 2 == 0))
    net = Sequential(*mods).double()
    scale = float(rng.uniform(2.0, 4.0))
    linears = [m for _, m in net.named_children() if isinstance(m, LinearTorch)]
    for m in linears:
        m.weight.data = m.weight.data * scale
    linears[-1].weight.data = linears[-1].weight.data.abs()  # an excitatory readout, so outputs spike
    desc = f"seed={seed} dt={dt} per_neuron={per_neuron} recurrent={rec} last={type(mods[-1]).__name__}"
    return net, desc, n_in


def _inputs(seed: int, n_in: int, steps: int = 60, batch: int = 2) -> np.ndarray:
    return np.random.default_rng(2000 + seed).uniform(-0.5, 1.5, (batch, steps, n_in))


def run_rockpool(net, x):
    net.reset_state()
    out, _, rec = net(torch.tensor(x), record=True)
    return out.detach().numpy(), rec


@pytest.mark.parametrize("seed", SEEDS)
def test_module_spike_for_spike(seed):
    net, desc, n_in = make_model(seed)
    x = _inputs(seed, n_in)
    want, rec = run_rockpool(net, x)
    graph = nc.load(net, torch.zeros(1, n_in))
    assert graph.conventions["framework"] == "rockpool"
    res = nc.simulate(graph, {"input": x})
    got = res.outputs["output"]
    if "ExpSyn" not in desc:
        assert np.array_equal(got, want), f"{desc}: {got.sum()} vs {want.sum()} spikes"
        assert want.sum() > 0, f"{desc}: no output spikes (the comparison would be empty)"
    else:  # ExpSynTorch outputs its synaptic current: float64 rounding only
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=desc)


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_to_nir_file_spike_for_spike(seed, tmp_path):
    """A file written by rockpool's own to_nir: framework detected from its node names."""
    nir = pytest.importorskip("nir", reason="nir is not installed")
    from rockpool.nn.modules.torch.nir import to_nir

    net, desc, n_in = make_model(seed, exportable=True)
    x = _inputs(seed, n_in)
    want, _ = run_rockpool(net, x)
    for prm in torch.nn.Module.parameters(net):  # to_nir keeps ExpSynTorch's tau attached to autograd
        prm.requires_grad_(False)
    nir.write(tmp_path / "rp.nir", to_nir(net, torch.zeros(1, n_in)))
    report = nc.check(tmp_path / "rp.nir")
    assert not report.has_errors, [f.as_dict() for f in report.findings]
    codes = {f.code for f in report.findings}
    assert {"ingest-repair", "framework-conventions"} <= codes, codes
    graph = nc.load(tmp_path / "rp.nir")
    res = nc.simulate(graph, {"input": x})
    assert res.semantics["framework"] == "rockpool"
    got = res.outputs["output"]
    if "ExpSyn" in desc:
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=desc)
    else:
        assert np.array_equal(got, want), f"{desc}: {got.sum()} vs {want.sum()} spikes"
    plain = nc.simulate(graph, {"input": x}, framework="nir", dt=1e-3, reset="subtract")
    assert plain.semantics.get("framework") is None


@pytest.mark.parametrize("target", ["loihi2", "spinnaker"])
def test_cli_check_simulate_compile_on_to_nir_file(tmp_path, target):
    nir = pytest.importorskip("nir", reason="nir is not installed")
    from rockpool.nn.modules.torch.nir import to_nir
    from typer.testing import CliRunner

    import neurocompile.cli.commands  # noqa: F401 - registers the commands
    from neurocompile.cli.main import app

    net, desc, n_in = make_model(1, exportable=True)  # shared taus and threshold
    path = tmp_path / "rp.nir"
    nir.write(path, to_nir(net, torch.zeros(1, n_in)))
    x = (_inputs(1, n_in) > 0.8).astype(float)
    np.savez(tmp_path / "in.npz", input=x)
    runner = CliRunner()
    r = runner.invoke(app, ["check", str(path)])
    assert r.exit_code == 0, r.output
    assert "rockpool (detected" in r.output
    r = runner.invoke(
        app, ["simulate", str(path), "-i", str(tmp_path / "in.npz"), "-o", str(tmp_path / "o.npz")]
    )
    assert r.exit_code == 0, r.output
    want, _ = run_rockpool(net, x)
    with np.load(tmp_path / "o.npz") as z:
        assert np.array_equal(z["output"], want)
    prog = tmp_path / "p.ncp"
    # the chips cannot subtract (docs/semantics.md): --reset zero accepts the approximation
    r = runner.invoke(app, ["compile", str(path), "--target", target, "-o", str(prog), "--reset", "zero"])
    assert r.exit_code == 0, r.output
    p = nc.Program.load(prog)
    assert p.provenance["framework"]["name"] == "rockpool"
    assert p.provenance["framework"]["chosen"].startswith("rockpool (detected")
    assert p.semantics["discretization"] == "exponential"
