"""Cross-checks against the REAL frameworks: norse 1.1.0 and sinabs 3.1.3 (through nirtorch 2.0.2).

For random graphs (several seeds each) we build nir 1.0.4 objects, run them through the
framework's own importer and executor, and through ``neurocompile.simulate`` after
``neurocompile.load`` and the explicit convention translation of
:mod:`neurocompile.conventions` -- and require spike-for-spike equality.

Conventions under test (read from the frameworks' source, see ``docs/semantics.md``):

* norse: ``from_nir(g, dt=dt)``, forward Euler with box input, LIF ignores ``r`` and resets
  to 0, IF adds ``x`` without dt/r, CubaLIF honours ``reset_method``; nirtorch back-edges
  read the previous step (our hop_delay 0). Run step by step; the Output value is read from
  the executor's cache (nirtorch returns the *last executed* node, not necessarily Output).
* sinabs: ``from_nir(g, batch_size=B)``, τ in steps (dt = 1), ``v = alpha v + x``
  (our ``exponential`` with ``r = 1/(1-alpha)``), subtract reset, layers switched to
  ``SingleSpike`` (the default MultiSpike emits several spikes per step).

Exactness: both frameworks run in float64 here (``.double()`` plus a pre-hook casting
float32 spike tensors), parameters are float32-representable and time constants are
power-of-two multiples of dt, so both sides compute the same decay factors. Weights are
random floats, so ``v == theta`` ties (where sinabs' ``>=`` and our ``>`` differ) have
probability zero.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nir = pytest.importorskip("nir")
norse_torch = pytest.importorskip("norse.torch")
sinabs = pytest.importorskip("sinabs")

import neurocompile as nc  # noqa: E402
from neurocompile.conventions import norse_to_nir, sinabs_to_nir  # noqa: E402

pytestmark = pytest.mark.frameworks

logging.getLogger().setLevel(logging.ERROR)  # norse logs a warning for every r != 1
SEEDS = range(4)


def f32(a):
    return np.asarray(a, dtype=np.float32)


def _double(module):
    for mod in module.modules():
        mod.register_forward_pre_hook(
            lambda m, args: tuple(a.double() if torch.is_tensor(a) else a for a in args)
        )
    return module.double()


def run_norse(g, x, dt, reset_method="value"):
    from norse.torch.functional import reset as nreset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = norse_torch.from_nir(
            g, dt=dt, reset_method=getattr(nreset, f"reset_{reset_method}"), ignore_warnings=True
        )
    m = _double(m)
    state, outs = None, []
    with torch.no_grad():
        for t in range(x.shape[1]):
            _, state = m(torch.from_numpy(x[:, t]), state)
            o = state.cache["output"].numpy().copy()
            if x.shape[0] == 1 and o.shape[0] != 1:  # nirtorch's Flatten(0) dropped the batch dim
                o = o[None]
            outs.append(o)
    return np.stack(outs, 1), m


def run_sinabs(g, x, record=()):
    import sinabs.activation as sa

    B, T = x.shape[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = sinabs.from_nir(g, batch_size=B)
    for mod in m.modules():
        if hasattr(mod, "spike_fn"):
            mod.spike_fn = sa.SingleSpike
    m = _double(m)
    with torch.no_grad():
        _, state = m(torch.from_numpy(x.reshape(B * T, *x.shape[2:])))
    out = state.cache["output"].numpy()
    return out.reshape(B, T, *out.shape[1:]), {k: state.cache[k].numpy().reshape(B, T, -1) for k in record}


def ours(g, x, translate, **kw):
    tr = translate(nc.load(g), **kw)
    res = nc.simulate(tr.graph, {"input": x}, **tr.semantics)
    return res.outputs["output"], tr


def inputs(rng, B, T, shape, p=0.3):
    return (rng.random((B, T, *shape)) < p).astype(np.float64)


def pow2_tau(rng, n, dt, lo=1, hi=5):
    """Time constants dt * 2^k: dt/tau and exp(-dt/tau)... exact in float32 and float64."""
    return f32(dt * 2.0 ** rng.integers(lo, hi + 1, size=n))


def assert_spikes_equal(a, b, seed, what):
    assert a.shape == b.shape, f"{what} seed={seed}: shapes {a.shape} vs {b.shape}"
    n = a.sum()
    mismatch = np.argwhere(a != b)
    assert not len(mismatch), f"{what} seed={seed}: {len(mismatch)} mismatches, first {mismatch[:5].tolist()}"
    assert n > 0, f"{what} seed={seed}: no spikes at all, the comparison would be vacuous"
    assert n < a.size, f"{what} seed={seed}: spikes everywhere, the comparison would be vacuous"


# ============================================================================ norse
def _ff(node, n_in, n, rng, bias=True):
    W = f32(rng.normal(0.6, 1.0, size=(n, n_in)))
    b = f32(rng.normal(0.0, 0.2, size=n)) if bias else f32(np.zeros(n))
    return nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([n_in])),
            "aff": nir.Affine(W, b),
            "neuron": node,
            "output": nir.Output(np.array([n])),
        },
        edges=[("input", "aff"), ("aff", "neuron"), ("neuron", "output")],
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_norse_lif(seed):
    rng = np.random.default_rng(seed)
    dt, n_in, n = 2.0**-10, 6, 5
    lif = nir.LIF(
        tau=pow2_tau(rng, n, dt, 2, 5),
        r=f32(rng.uniform(0.5, 2, n)),
        v_leak=f32(np.zeros(n)),
        v_threshold=f32(rng.uniform(0.5, 1.5, n)),
    )
    g = _ff(lif, n_in, n, rng)
    x = inputs(rng, 3, 80, (n_in,))
    ref, _ = run_norse(g, x, dt)
    got, tr = ours(g, x, norse_to_nir, dt=dt)
    assert any("r ignored" in s for s in tr.notes)  # random r != 1: the translation is exercised
    assert_spikes_equal(got, ref, seed, "norse LIF")


@pytest.mark.parametrize("seed", SEEDS)
def test_norse_if(seed):
    rng = np.random.default_rng(seed)
    dt, n_in, n = 1e-3, 6, 5
    node = nir.IF(r=f32(np.ones(n)), v_threshold=f32(rng.uniform(1.0, 2.0, n)))
    g = _ff(node, n_in, n, rng)
    x = inputs(rng, 3, 60, (n_in,))
    ref, _ = run_norse(g, x, dt)
    got, _ = ours(g, x, norse_to_nir, dt=dt)
    assert_spikes_equal(got, ref, seed, "norse IF")
    # Without the translation (NIR's v += dt R x with R = 1) nothing reaches threshold:
    plain = nc.simulate(nc.load(g), {"input": x}, dt=dt, reset="zero").outputs["output"]
    assert plain.sum() == 0


def _cuba(rng, n, dt):
    return nir.CubaLIF(
        tau_syn=pow2_tau(rng, n, dt, 1, 3),
        tau_mem=pow2_tau(rng, n, dt, 2, 5),
        r=f32(rng.uniform(1, 4, n)),
        v_leak=f32(np.zeros(n)),
        v_threshold=f32(rng.uniform(0.5, 1.5, n)),
        w_in=f32(rng.uniform(0.5, 2, n)),
    )


@pytest.mark.parametrize("reset_method", ["value", "subtract"])
@pytest.mark.parametrize("seed", SEEDS)
def test_norse_cubalif(seed, reset_method):
    rng = np.random.default_rng(seed)
    dt, n_in, n = 2.0**-10, 6, 5
    g = _ff(_cuba(rng, n, dt), n_in, n, rng)
    x = inputs(rng, 3, 80, (n_in,))
    ref, _ = run_norse(g, x, dt, reset_method)
    got, tr = ours(g, x, norse_to_nir, dt=dt, reset_method=reset_method)
    assert tr.semantics["reset"] == ("file" if reset_method == "value" else "subtract")
    assert_spikes_equal(got, ref, seed, f"norse CubaLIF {reset_method}")


@pytest.mark.parametrize("seed", SEEDS)
def test_norse_recurrent_lif(seed):
    """Input -> Affine -> LIF -> Output with LIF -> Affine(rec) -> LIF: the back-edge rec -> LIF
    reads the previous step in nirtorch and in our hop_delay 0 (zeros at t = 0)."""
    rng = np.random.default_rng(seed)
    dt, n_in, n = 2.0**-10, 4, 6
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([n_in])),
            "aff": nir.Affine(f32(rng.normal(0.5, 1, (n, n_in))), f32(np.zeros(n))),
            "lif": nir.LIF(
                tau=pow2_tau(rng, n, dt, 2, 4),
                r=f32(np.ones(n)),
                v_leak=f32(np.zeros(n)),
                v_threshold=f32(rng.uniform(0.5, 1.5, n)),
            ),
            "rec": nir.Affine(f32(rng.normal(0, 2.0, (n, n))), f32(rng.normal(0, 0.1, n))),
            "output": nir.Output(np.array([n])),
        },
        edges=[("input", "aff"), ("aff", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")],
    )
    x = inputs(rng, 2, 100, (n_in,))
    ref, _ = run_norse(g, x, dt)
    got, _ = ours(g, x, norse_to_nir, dt=dt)
    assert_spikes_equal(got, ref, seed, "norse recurrent LIF")
    # the recurrence matters: without the rec edge the spikes differ
    g2 = nc.load(g)
    g2.edges = [e for e in g2.edges if e != ("rec", "lif")]
    tr = norse_to_nir(g2, dt=dt)
    assert not np.array_equal(nc.simulate(tr.graph, {"input": x}, **tr.semantics).outputs["output"], ref)


@pytest.mark.parametrize("seed", SEEDS)
def test_norse_recurrent_cubalif_braille_like(seed):
    rng = np.random.default_rng(seed)
    dt, n_in, n, n_out = 1e-4, 6, 8, 3
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([n_in])),
            "fc1": nir.Affine(f32(rng.normal(0.5, 1, (n, n_in))), f32(rng.normal(0, 0.1, n))),
            "lif1.lif": _cuba(rng, n, dt),
            "lif1.w_rec": nir.Affine(f32(rng.normal(0, 1.0, (n, n))), f32(np.zeros(n))),
            "fc2": nir.Affine(f32(rng.normal(0.5, 1, (n_out, n))), f32(np.zeros(n_out))),
            "lif2": _cuba(rng, n_out, dt),
            "output": nir.Output(np.array([n_out])),
        },
        edges=[
            ("input", "fc1"),
            ("fc1", "lif1.lif"),
            ("lif1.lif", "lif1.w_rec"),
            ("lif1.w_rec", "lif1.lif"),
            ("lif1.lif", "fc2"),
            ("fc2", "lif2"),
            ("lif2", "output"),
        ],
    )
    x = inputs(rng, 2, 80, (n_in,))
    for rm in ("value", "subtract"):
        ref, _ = run_norse(g, x, dt, rm)
        got, _ = ours(g, x, norse_to_nir, dt=dt, reset_method=rm)
        assert_spikes_equal(got, ref, seed, f"norse recurrent CubaLIF {rm}")


def _conv_graph(rng, cin=2, hw=10, positive=False, flatten=True):
    cw = rng.uniform(0, 0.6, (4, cin, 3, 3)) if positive else rng.normal(0.15, 0.5, (4, cin, 3, 3))
    nodes = {
        "input": nir.Input(np.array([cin, hw, hw])),
        "conv": nir.Conv2d(
            input_shape=(hw, hw),
            weight=f32(cw),
            stride=1,
            padding=1,
            dilation=1,
            groups=1,
            bias=f32(np.zeros(4) if positive else rng.normal(0, 0.1, 4)),
        ),
        "if1": nir.IF(r=f32(np.ones((4, hw, hw))), v_threshold=f32(np.ones((4, hw, hw)))),
        "pool": nir.SumPool2d(
            kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])
        ),
    }
    edges = [("input", "conv"), ("conv", "if1"), ("if1", "pool")]
    h = hw // 2
    if flatten:
        nodes["flat"] = nir.Flatten(input_type={"input": np.array([4, h, h])}, start_dim=0, end_dim=-1)
        nodes["aff"] = nir.Affine(
            f32(rng.normal(0.0 if positive else 0.05, 0.1 if positive else 0.2, (5, 4 * h * h))),
            f32(np.zeros(5)),
        )
        edges += [("pool", "flat"), ("flat", "aff"), ("aff", "lif"), ("lif", "output")]
        nodes["lif"] = nir.LIF(
            tau=f32(2.0 ** rng.integers(2, 5, 5)),
            r=f32(np.ones(5)),
            v_leak=f32(np.zeros(5)),
            v_threshold=f32(rng.uniform(1, 3, 5)),
        )
        nodes["output"] = nir.Output(np.array([5]))
    else:
        nodes["output"] = nir.Output(np.array([4, h, h]))
        edges += [("pool", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


@pytest.mark.parametrize("seed", SEEDS)
def test_norse_conv_pool_flatten_batch1(seed):
    """Conv2d -> IF -> SumPool2d -> Flatten -> Affine -> LIF. Batch 1 only: see the next test."""
    rng = np.random.default_rng(seed)
    dt = 1.0  # IF in norse adds x; dt = 1 keeps the LIF's dt/tau a power of two with tau in steps
    g = _conv_graph(rng)
    x = inputs(rng, 1, 40, (2, 10, 10))
    ref, _ = run_norse(g, x, dt)  # nirtorch's Flatten(0) drops the batch dim; run_norse restores it
    got, _ = ours(g, x, norse_to_nir, dt=dt)
    assert_spikes_equal(got, ref, seed, "norse conv/pool/flatten")


def test_norse_flatten_with_batch_is_broken():
    """Known nirtorch bug (nir.md §2.2): start_dim is passed unshifted, so NIR Flatten(start_dim=0)
    flattens the batch dimension too and the next Affine fails for batch > 1."""
    rng = np.random.default_rng(0)
    g = _conv_graph(rng)
    x = inputs(rng, 2, 3, (2, 10, 10))
    with pytest.raises(RuntimeError):
        run_norse(g, x, 1.0)
    tr = norse_to_nir(nc.load(g), dt=1.0)
    assert any("Flatten" in s for s in tr.unmodelled)
    assert nc.simulate(tr.graph, {"input": x}, **tr.semantics).outputs["output"].shape == (2, 3, 5)


def test_norse_drops_li_nodes():
    """Known norse 1.1.0 bug (nir.md §2.2, norse PR #424): LI is not mapped; nirtorch drops the
    node with its edges, so the graph's Output never receives the LI's membrane."""
    n = 3
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([n])),
            "aff": nir.Affine(f32(np.eye(n)), f32(np.zeros(n))),
            "li": nir.LI(tau=f32(np.full(n, 4e-3)), r=f32(np.ones(n)), v_leak=f32(np.zeros(n))),
            "output": nir.Output(np.array([n])),
        },
        edges=[("input", "aff"), ("aff", "li"), ("li", "output")],
    )
    x = np.ones((1, 4, n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = norse_torch.from_nir(g, dt=1e-3)
    _, state = m(torch.from_numpy(x[:, 0]).float())
    assert "output" not in state.cache and "li" not in state.cache
    tr = norse_to_nir(nc.load(g), dt=1e-3)
    assert any("LI is not mapped" in s for s in tr.unmodelled)
    ours_v = nc.simulate(nc.load(g), {"input": x}, dt=1e-3).outputs["output"]
    np.testing.assert_allclose(ours_v[0, :, 0], 1 - (1 - 0.25) ** np.arange(1, 5))  # NIR LI, forward


# ============================================================================ sinabs
@pytest.mark.parametrize("seed", SEEDS)
def test_sinabs_lif(seed):
    rng = np.random.default_rng(seed)
    n_in, n = 6, 5
    lif = nir.LIF(
        tau=f32(rng.uniform(2, 20, n)),
        r=f32(np.ones(n)),
        v_leak=f32(np.zeros(n)),
        v_threshold=f32(rng.uniform(0.5, 1.5, n)),
    )
    g = _ff(lif, n_in, n, rng)
    x = inputs(rng, 3, 80, (n_in,))
    ref, _ = run_sinabs(g, x)
    got, tr = ours(g, x, sinabs_to_nir)
    assert tr.semantics == {"dt": 1.0, "discretization": "exponential", "reset": "subtract", "hop_delay": 0}
    assert_spikes_equal(got, ref, seed, "sinabs LIF")
    # NIR semantics without the translation (R = 1, input gain 1 - alpha) are far quieter
    plain = nc.simulate(nc.load(g), {"input": x}, **tr.semantics).outputs["output"]
    assert plain.sum() < ref.sum()


@pytest.mark.parametrize("seed", SEEDS)
def test_sinabs_if_nonnegative_input(seed):
    """IF with non-negative input (v never approaches sinabs' floor at -theta)."""
    rng = np.random.default_rng(seed)
    n_in, n = 6, 5
    node = nir.IF(r=f32(np.ones(n)), v_threshold=f32(rng.uniform(1.0, 2.0, n)))
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([n_in])),
            "aff": nir.Affine(f32(rng.uniform(0, 0.8, (n, n_in))), f32(np.zeros(n))),
            "neuron": node,
            "output": nir.Output(np.array([n])),
        },
        edges=[("input", "aff"), ("aff", "neuron"), ("neuron", "output")],
    )
    x = inputs(rng, 3, 60, (n_in,))
    ref, _ = run_sinabs(g, x)
    got, _ = ours(g, x, sinabs_to_nir)
    assert_spikes_equal(got, ref, seed, "sinabs IF")


def test_sinabs_if_membrane_floor_is_unmodelled():
    """sinabs' IAFSqueeze clips v at -theta (min_v_mem); NIR has no floor. With negative drive the
    spike trains diverge; the translation lists this as unmodelled."""
    rng = np.random.default_rng(0)
    g = _conv_graph(rng, positive=False, flatten=False)
    x = inputs(rng, 2, 40, (2, 10, 10))
    ref, _ = run_sinabs(g, x)
    got, tr = ours(g, x, sinabs_to_nir)
    assert any("min_v_mem" in s for s in tr.unmodelled)
    assert not np.array_equal(got, ref)


@pytest.mark.parametrize("seed", SEEDS)
def test_sinabs_conv_pool_flatten(seed):
    """Conv2d -> IF -> SumPool2d -> Flatten -> Affine -> LIF, batch 2 (sinabs shifts Flatten dims)."""
    rng = np.random.default_rng(seed)
    g = _conv_graph(rng, positive=True)
    x = inputs(rng, 2, 40, (2, 10, 10))
    ref, rec = run_sinabs(g, x, record=("if1",))
    got, tr = ours(g, x, sinabs_to_nir)
    assert_spikes_equal(got, ref, seed, "sinabs conv net output")
    res = nc.simulate(tr.graph, {"input": x}, record="if1.spikes", **tr.semantics)
    assert_spikes_equal(
        res.recordings["if1.spikes"].reshape(2, 40, -1), rec["if1"], seed, "sinabs conv IF layer"
    )


def test_sinabs_multispike_default_differs():
    """sinabs' default MultiSpike emits floor(v/theta) spikes per step; with strong input it
    differs from NIR's single spike per step, which is why the cross-checks use SingleSpike."""
    rng = np.random.default_rng(1)
    n = 3
    g = _ff(nir.IF(r=f32(np.ones(n)), v_threshold=f32(np.full(n, 0.5))), 4, n, rng)
    x = np.ones((1, 5, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = sinabs.from_nir(g, batch_size=1)
    _, state = m(torch.from_numpy(x.reshape(5, 4)).float())
    assert state.cache["output"].max() > 1
