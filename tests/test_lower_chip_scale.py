"""Chip-scale shortcuts of the loihi2 lowering (issue 14 item 2) against the code they skip.

A mixed-sign projection is split into ``.exc`` and ``.inh`` parts; their sign mode and weight
exponent are read off the connection's largest and smallest effective weight instead of scanning
each gathered part (``_sign_exp``). With the shortcut bypassed (``_emit`` called without them, so
it scans the part), the Program must be the same, byte for byte; the graphs' weak mixed-sign
projection gets weight_exp < 0, so the floor compensation runs on that path too.
"""

from __future__ import annotations

import numpy as np
import pytest

import neurocompile as nc
import neurocompile.targets.loihi2.lower as lower_mod
from neurocompile.ir import Graph, Node


def mixed_graph(seed: int, kind: str):
    rng = np.random.default_rng(seed)
    n_in, n = 50, 20
    p = {"tau": np.full(n, 2e-2), "r": np.ones(n), "v_leak": np.zeros(n)}
    if kind == "LIF":
        p["v_threshold"] = np.ones(n)
    nodes = {
        "a": Node("a", "Input", {"shape": (5,)}),
        "b": Node("b", "Input", {"shape": (n_in,)}),
        "fa": Node("fa", "Linear", {"weight": rng.normal(0, 3.0, (n, 5))}),
        "fb": Node("fb", "Linear", {"weight": rng.normal(0.0, 1, (n, n_in)) * 0.01}),
        "n": Node("n", kind, p),
        "o": Node("o", "Output", {"shape": (n,)}),
    }
    edges = [("a", "fa"), ("b", "fb"), ("fa", "n"), ("fb", "n"), ("n", "o")]
    return nc.load(Graph(nodes=nodes, edges=edges))


@pytest.mark.parametrize("seed,kind", [(0, "LI"), (1, "LIF"), (2, "LIF")])
def test_known_sign_and_exponent_equal_the_scan(seed, kind, monkeypatch):
    g = mixed_graph(seed, kind)
    fast = nc.compile(g, "loihi2", dt=1e-3)
    q = fast.quantization["projections"]
    assert {"b->n.exc", "b->n.inh"} <= set(q) and q["b->n.exc"]["weight_exp"] < 0
    orig = lower_mod._emit
    seen = []

    def scanning(*args):
        seen.append(args[12] is not None)
        return orig(*args[:12])  # no sign_exp: _sign_exp scans the gathered part

    monkeypatch.setattr(lower_mod, "_emit", scanning)
    slow = nc.compile(g, "loihi2", dt=1e-3)
    assert seen and all(seen)  # the shortcut was taken for every (split) part
    assert fast.to_bytes() == slow.to_bytes()
