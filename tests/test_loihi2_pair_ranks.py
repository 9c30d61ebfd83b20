"""Loihi 2 lowering of synapses that share a (post, pre) pair (issue 14 item 2 made the common
case, every pair once, skip the rank pass): ``_pair_ranks`` against a brute-force count, and a
graph whose two paths (direct and through a Delay) join the same pair twice compiles to ``name``
and ``name#2`` projections holding one synapse of each pair each, the later delay in ``#2``."""

from __future__ import annotations

import numpy as np
import pytest

import neurocompile as nc
from neurocompile.ir import Graph, Node
from neurocompile.targets.loihi2.lower import _pair_ranks


def brute_ranks(d, key):
    """Rank of synapse i among the synapses of its pair, in (delay, position) order."""
    out = np.zeros(key.size, dtype=np.int64)
    for i in range(key.size):
        same = np.flatnonzero(key == key[i])
        before = [j for j in same if (d[j], j) < (d[i], i)]
        out[i] = len(before)
    return out


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("sort", [True, False])
def test_pair_ranks_equal_a_brute_force_count(seed, sort):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 40))
    key = rng.integers(0, max(1, n // 2 + 1), n)
    d = rng.integers(0, 4, n)
    if sort:
        o = np.lexsort((d, key))
        key, d = key[o], d[o]
    r = _pair_ranks(d, key)
    ref = brute_ranks(d, key)
    if r is None:
        assert not ref.any()  # None only when every pair occurs once
    else:
        np.testing.assert_array_equal(r, ref)


def test_unique_sorted_pairs_have_no_ranks():
    key = np.arange(10) * 3
    assert _pair_ranks(np.zeros(10, np.int64), key) is None


def test_a_pair_joined_twice_makes_a_second_projection():
    rng = np.random.default_rng(3)
    n_in, n = 6, 4
    w1 = rng.uniform(0.2, 1.0, (n, n_in))
    w2 = rng.uniform(0.2, 1.0, (n, n_in))
    lif = {
        "tau": np.full(n, 0.01),
        "r": np.ones(n),
        "v_leak": np.zeros(n),
        "v_threshold": np.ones(n),
        "v_reset": np.zeros(n),
    }
    nodes = {
        "x": Node("x", "Input", {"shape": (n_in,)}),
        "a": Node("a", "Affine", {"weight": w1, "bias": np.zeros(n)}),
        "b": Node("b", "Affine", {"weight": w2, "bias": np.zeros(n)}),
        "dl": Node("dl", "Delay", {"delay": np.full(n, 2e-3)}),
        "lif": Node("lif", "LIF", lif),
        "o": Node("o", "Output", {"shape": (n,)}),
    }
    edges = [("x", "a"), ("a", "lif"), ("x", "b"), ("b", "dl"), ("dl", "lif"), ("lif", "o")]
    g = nc.load(Graph(nodes=nodes, edges=edges, source="pair twice"))
    prog = nc.compile(g, "loihi2", dt=1e-3)
    names = sorted(prog.projections)
    assert len(names) == 2 and names[1] == names[0] + "#2", names
    first, second = (prog.projections[k] for k in names)
    assert first.kind.endswith("dense") and second.kind.startswith("delay_")
    # every (post, pre) pair once in each; the delayed synapses (2 steps) in the second
    d2 = np.asarray(second.params["delays"])
    assert d2.shape == (n, n_in) and np.all(d2 == 2)
    assert "delays" not in first.params or not np.any(first.params["delays"])


@pytest.mark.parametrize(
    "pre, post, bad",
    [
        ([0, 1, 2, 0], [0, 0, 1, 2], False),  # increasing (post, pre): the fast path
        ([2, 0, 1], [1, 0, 0], False),  # unique but unordered: the sort
        ([0, 1, 1, 2], [0, 1, 1, 2], True),  # a repeated pair, in order
        ([1, 0, 1], [1, 0, 1], True),  # a repeated pair, unordered
    ],
)
def test_sparse_projection_refuses_a_repeated_pair(pre, post, bad):
    from neurocompile.errors import ParameterError
    from neurocompile.targets.loihi2.builder import Loihi2Builder

    b = Loihi2Builder()
    b.input("x", 3)
    b.lif("h", 3, du=400, dv=300, vth=2000)
    w = np.arange(1, len(pre) + 1)
    if bad:
        with pytest.raises(ParameterError, match="duplicate synapse"):
            b.sparse("x", "h", w, pre_index=pre, post_index=post)
    else:
        b.sparse("x", "h", w, pre_index=pre, post_index=post)
        prog = b.build(outputs={"y": ("h", "spikes")})
        (proj,) = prog.projections.values()
        np.testing.assert_array_equal(proj.params["pre"], pre)
