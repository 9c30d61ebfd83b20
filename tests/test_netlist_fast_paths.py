"""The netlist's chip-scale fast paths (issue 14 item 2) against the general code they skip.

A structural node fed by one spike source applies its operator without the product with the
identity (``mat @ I``), and a one-delay connection holds its delay as a read-only broadcast. With
the identity marker switched off, every operator goes through the general sparse product (and the
COO sum of duplicates where the product is not canonical): the connections, groups and the
compiled Programs must be the same, array for array.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import neurocompile as nc
from neurocompile import netlist as netlist_mod
from neurocompile.semantics import resolve_semantics

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_compile  # noqa: E402


def graphs():
    return {
        "cnn": (lambda: nc.load(ROOT / "models" / "digits_cnn_sinabs" / "model.nir"), "zero"),
        "rnn": (lambda: nc.load(ROOT / "models" / "digits_rnn_norse" / "model.nir"), "file"),
        "affine": (lambda: bench_compile.affine_stack(blocks=4, width=20, layers=2), "file"),
        "conv": (lambda: bench_compile.conv_stack(channels=3, side=9, layers=2), "file"),
    }


@pytest.fixture
def general(monkeypatch):
    """The general path: no source's value is marked as the identity."""
    orig = netlist_mod._Builder.identity

    def unmarked(self, name):
        e = orig(self, name)
        e.identity = False
        return e

    monkeypatch.setattr(netlist_mod._Builder, "identity", unmarked)


def build(name):
    make, reset = graphs()[name]
    g = make()
    return g, netlist_mod.build_netlist(g, resolve_semantics(g, dt=1e-3, reset=reset)), reset


@pytest.fixture(scope="module", params=list(graphs()))
def fast(request):
    return request.param, build(request.param)


def test_connections_equal_the_general_path(fast, general):
    name, (_, nl_fast, _) = fast
    _, nl_gen, _ = build(name)
    assert [c.name for c in nl_fast.connections] == [c.name for c in nl_gen.connections]
    for a, b in zip(nl_fast.connections, nl_gen.connections):
        assert (a.pre, a.post, a.sources) == (b.pre, b.post, b.sources)
        for field in ("pre_idx", "post_idx", "weight", "delay"):
            x, y = getattr(a, field), getattr(b, field)
            assert x.dtype == y.dtype, (a.name, field)
            np.testing.assert_array_equal(x, y, err_msg=f"{a.name}.{field}")
    for g in nl_fast.groups:
        np.testing.assert_array_equal(nl_fast.groups[g].bias, nl_gen.groups[g].bias)


def test_one_delay_is_a_read_only_broadcast(fast):
    _, (_, nl, _) = fast
    for c in nl.connections:
        if c.delay.size and np.all(c.delay == c.delay[0]):
            assert not c.delay.flags.writeable


@pytest.mark.parametrize("target", ["loihi2", "spinnaker"])
def test_programs_equal_the_general_path(fast, target, monkeypatch):
    name, (g, _, reset) = fast
    a = nc.compile(g, target, dt=1e-3, reset=reset).to_bytes()
    orig = netlist_mod._Builder.identity

    def unmarked(self, n):
        e = orig(self, n)
        e.identity = False
        return e

    monkeypatch.setattr(netlist_mod._Builder, "identity", unmarked)
    b = nc.compile(g, target, dt=1e-3, reset=reset).to_bytes()
    assert a == b


def test_dense_csr_is_scipys_csr_matrix():
    """An Affine block's CSR built directly has the arrays (values, dtypes), shape and canonical flag
    of ``scipy.sparse.csr_matrix(w)``: with and without zeros (-0.0 among them), one row, no columns,
    no rows."""
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    cases = [
        rng.normal(size=(100, 100)),
        np.zeros((3, 4)),
        np.array([[0.0, -0.0, 1.0], [2.0, 0.0, 0.0]]),
        rng.normal(size=(1, 5)),
        np.zeros((2, 0)),
        np.zeros((0, 3)),
        rng.choice([0.0, 1.5, -2.0], size=(37, 53)),
    ]
    for w in cases:
        ref, got = sp.csr_matrix(w), netlist_mod._dense_csr(w)
        assert got.shape == ref.shape and got.has_canonical_format and ref.has_canonical_format
        for attr in ("data", "indices", "indptr"):
            a, b = getattr(ref, attr), getattr(got, attr)
            assert a.dtype == b.dtype and np.array_equal(a, b), (w.shape, attr)
