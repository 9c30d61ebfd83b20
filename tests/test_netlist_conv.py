"""The netlist's conv expansion (issue 14 item 2: built on a broadcast grid, without a sort) against
a dense matrix written tap by tap from the convolution's definition (PyTorch's Conv1d/Conv2d:
``out[co, o] = sum_{ci, k} w[co, ci, k] * x[g(co) * Cin/groups + ci, o * stride - pad + k * dilation]``,
positions outside the input are zero padding).

Random geometries (seeded): conv1d / conv2d, groups, stride, dilation, padding, zero weights.
The CSR matrix must equal the dense one, be canonical (sorted columns, no duplicates: checked
by scipy's own check on a copy), and the netlist connection of a small conv graph must list the
dense matrix's nonzeros sorted by (post, pre).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

import neurocompile as nc
from neurocompile import netlist
from neurocompile.ir import Graph, Node
from neurocompile.semantics import resolve_semantics


def dense_conv(w, in_shape, stride, pad, dilation, groups):
    nd = w.ndim - 2
    cout, cin_g = w.shape[:2]
    kernel = w.shape[2:]
    in_sp = in_shape[1:]
    out_sp = [
        (n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, d, s, p in zip(in_sp, kernel, dilation, stride, pad)
    ]
    m = np.zeros((cout * int(np.prod(out_sp)), int(np.prod(in_shape))))
    for co in range(cout):
        g = co // (cout // groups)
        for o in itertools.product(*[range(n) for n in out_sp]):
            row = np.ravel_multi_index((co,) + o, (cout, *out_sp))
            for ci in range(cin_g):
                for k in itertools.product(*[range(n) for n in kernel]):
                    pos = [o[d] * stride[d] - pad[d] + k[d] * dilation[d] for d in range(nd)]
                    if all(0 <= pos[d] < in_sp[d] for d in range(nd)):
                        col = np.ravel_multi_index((g * cin_g + ci, *pos), in_shape)
                        m[row, col] += w[(co, ci) + k]
    return m, (cout, *out_sp)


def geometries(n=40, seed=7):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        nd = int(rng.integers(1, 3))
        groups = int(rng.choice([1, 2, 3]))
        cin_g, cout_g = int(rng.integers(1, 4)), int(rng.integers(1, 3))
        k = tuple(int(x) for x in rng.integers(1, 4, nd))
        stride = tuple(int(x) for x in rng.integers(1, 3, nd))
        dil = tuple(int(x) for x in rng.integers(1, 3, nd))
        pad = tuple(int(x) for x in rng.integers(0, 3, nd))
        side = tuple(int(x) for x in rng.integers(2, 9, nd))
        if any((s + 2 * p - d * (kk - 1) - 1) < 0 for s, p, d, kk in zip(side, pad, dil, k)):
            continue
        w = rng.normal(size=(cout_g * groups, cin_g) + k)
        w[rng.random(w.shape) < 0.25] = 0.0
        out.append((w, (cin_g * groups,) + side, stride, pad, dil, groups))
    return out


def conv_node(w, in_shape, stride, pad, dil, groups):
    nd = w.ndim - 2
    return Node(
        "c",
        "Conv2d" if nd == 2 else "Conv1d",
        {
            "weight": w,
            "bias": np.zeros(w.shape[0]),
            "stride": stride,
            "padding": pad,
            "dilation": dil,
            "groups": groups,
            "input_shape": in_shape[1:],
        },
    )


@pytest.mark.parametrize(
    "geom", geometries(), ids=lambda g: f"{g[0].shape}-{g[1]}-s{g[2]}-p{g[3]}-d{g[4]}-g{g[5]}"
)
def test_conv_matrix_equals_the_definition(geom):
    w, in_shape, stride, pad, dil, groups = geom
    mat, _, out_shape = netlist._conv_matrix(conv_node(*geom), in_shape, w.ndim - 2)
    ref, ref_out = dense_conv(w, in_shape, stride, pad, dil, groups)
    assert tuple(out_shape) == ref_out
    np.testing.assert_array_equal(mat.toarray(), ref)
    fresh = sp.csr_matrix((mat.data, mat.indices, mat.indptr), shape=mat.shape)
    assert fresh.has_canonical_format  # scipy's check, not the flag the builder set


@pytest.mark.parametrize("geom", geometries(6, seed=11), ids=lambda g: f"{g[0].shape}-{g[1]}")
def test_conv_connection_lists_the_nonzeros(geom):
    w, in_shape, stride, pad, dil, groups = geom
    ref, out_shape = dense_conv(w, in_shape, stride, pad, dil, groups)
    nodes = {
        "x": Node("x", "Input", {"shape": in_shape}),
        "c": conv_node(*geom),
        "n": Node("n", "IF", {"r": np.ones(out_shape), "v_threshold": np.ones(out_shape)}),
        "o": Node("o", "Output", {"shape": out_shape}),
    }
    g = nc.load(Graph(nodes=nodes, edges=[("x", "c"), ("c", "n"), ("n", "o")], source="conv test"))
    net = netlist.build_netlist(g, resolve_semantics(g, dt=1e-3, reset="zero"))
    (conn,) = net.connections
    post, pre = np.nonzero(ref)  # row-major: sorted by (post, pre)
    np.testing.assert_array_equal(conn.post_idx, post)
    np.testing.assert_array_equal(conn.pre_idx, pre)
    np.testing.assert_array_equal(conn.weight, ref[post, pre])
    assert not np.any(conn.delay)
