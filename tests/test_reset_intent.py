"""One behaviour per reset intent (issue 15 item 6).

* A requested reset that overrides the file's ``v_reset`` is a ``reset-override`` warning (check,
  compile's findings, a ``warning:`` line of ``simulate``/``compile`` in the CLI).
* Neither chip resets by subtraction (Lava's LIF sets v to 0, sPyNNaker's IF_curr_exp sets V to
  v_reset): both refuse it with the same typed error, which offers ``reset="zero"`` and carries the
  measured effect of that approximation; with ``reset="zero"`` a graph defined with subtraction
  compiles on both with a ``reset-approximated`` info carrying the same measurement.

The measured effect is checked against an independent run of ``neurocompile.simulate`` (the
graph's float reference, ``hop_delay=1``) on the probe the message states.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import neurocompile as nc
from neurocompile.check import check
from neurocompile.cli.main import main
from neurocompile.errors import UnsupportedError
from neurocompile.ir import Graph, Node

sys.path.insert(0, str(Path(__file__).parent))
import bad_models as B  # noqa: E402

C = importlib.import_module("neurocompile.check")  # the module (neurocompile.check is also the function)
TARGETS = ("loihi2", "spinnaker")
DT = 1e-3


def _graph(v_reset: float | None = 0.0) -> Graph:
    """Input(8) -> Linear -> LIF 'l1'(12) -> Linear -> LIF 'l2'(6) -> Output; ``v_reset=None``: a
    legacy file (no v_reset, reset meant subtraction)."""
    rng = np.random.default_rng(0)

    def lif(n: int) -> dict:
        p = {"tau": np.full(n, 8e-3), "r": np.ones(n), "v_leak": np.zeros(n), "v_threshold": np.ones(n)}
        if v_reset is not None:
            p["v_reset"] = np.full(n, v_reset)
        return p

    nodes = {
        "x": Node("x", "Input", {"shape": (8,)}),
        "fc1": Node("fc1", "Linear", {"weight": rng.uniform(0.0, 4.0, (12, 8))}),
        "l1": Node("l1", "LIF", lif(12)),
        "fc2": Node("fc2", "Linear", {"weight": rng.uniform(0.0, 4.0, (6, 12))}),
        "l2": Node("l2", "LIF", lif(6)),
        "o": Node("o", "Output", {"shape": (6,)}),
    }
    g = Graph(nodes=nodes, edges=[("x", "fc1"), ("fc1", "l1"), ("l1", "fc2"), ("fc2", "l2"), ("l2", "o")])
    if v_reset is None:
        g.legacy_reset = ("l1", "l2")
    return nc.load(g)


def _effect(message: str) -> str:
    assert "Measured on this graph" in message, message
    return message[message.index("Measured on this graph") :].split(" (expected")[0]


def _refusal(target: str, graph: Graph, reset: str = "subtract") -> UnsupportedError:
    with pytest.raises(UnsupportedError) as ei:
        nc.compile(graph, target, dt=DT, reset=reset)
    return ei.value


# ---------------------------------------------------------------------------- reset-override
def test_override_of_the_files_value_warns_in_check_and_compile():
    g = _graph(v_reset=0.3)
    for reset in ("zero", "subtract"):
        (f,) = check(g, dt=DT, reset=reset).by_code("reset-override")
        assert f.severity == "warning" and f.node == "l1"
        assert "'l1' (v_reset = 0.3)" in f.message and "'l2' (v_reset = 0.3)" in f.message
    assert not check(g, dt=DT, reset="file").by_code("reset-override")
    assert not check(g, dt=DT).by_code("reset-override")  # no reset chosen
    # the file's v_reset = 0 is what reset="zero" does: no override; subtract overrides it
    assert not check(_graph(0.0), dt=DT, reset="zero").by_code("reset-override")
    assert (
        "'l2' (v_reset = 0)"
        in check(_graph(0.0), dt=DT, reset="subtract").by_code("reset-override")[0].message
    )
    # a legacy file has no value to override (legacy-reset asks for the choice)
    assert not check(_graph(None), dt=DT, reset="subtract").by_code("reset-override")
    # compile: SpiNNaker lowers v_reset = 0.3 exactly with reset="file", and warns when it is overridden
    for target in TARGETS:
        prog = nc.compile(g, target, dt=DT, reset="zero")
        codes = [f["code"] for f in prog.provenance["findings"]]
        assert codes.count("reset-override") == 1, codes
    assert not any(
        f["code"] == "reset-override"
        for f in nc.compile(g, "spinnaker", dt=DT, reset="file").provenance["findings"]
    )


def test_cli_simulate_and_compile_print_the_override(tmp_path, capsys):
    d = B.lif_graph()
    d["nodes"]["lif"]["v_reset"] = np.full(2, 0.25)
    model = B.write_nir(tmp_path / "m.nir", d)
    np.savez(tmp_path / "in.npz", **{"in": np.ones((1, 20, 3))})
    base = ["--dt", "1e-3", "--reset", "zero"]
    assert (
        main(["simulate", str(model), "-i", str(tmp_path / "in.npz"), "-o", str(tmp_path / "o.npz"), *base])
        == 0
    )
    err = capsys.readouterr().err
    assert "warning: --reset zero overrides the file's reset" in err and "'lif' (v_reset = 0.25)" in err
    assert main(["compile", str(model), "-t", "spinnaker", "-o", str(tmp_path / "p.ncp"), *base]) == 0
    err = capsys.readouterr().err
    assert "warning: --reset zero overrides" in err and "'lif' (v_reset = 0.25)" in err
    assert (
        main(["compile", str(model), "-t", "spinnaker", "-o", str(tmp_path / "q.ncp"), "--dt", "1e-3"]) == 0
    )
    assert "warning" not in capsys.readouterr().err  # reset file: nothing overridden


# ---------------------------------------------------------------------------- subtract on both chips
@pytest.mark.parametrize("v_reset", [0.0, None], ids=["v_reset=0", "legacy"])
def test_subtract_is_refused_the_same_way_on_both_targets(v_reset):
    g = _graph(v_reset)
    errs = {t: _refusal(t, g) for t in TARGETS}
    for e in errs.values():
        assert type(e) is UnsupportedError and e.node == "l1" and e.parameter == "reset"
        assert e.expected == 'reset="zero"' and 'Offer: compile with reset="zero"' in e.message
    # the same measured effect, word for word
    assert _effect(errs["loihi2"].message) == _effect(errs["spinnaker"].message)
    assert "Lava's fixed-point LIF sets v to 0" in errs["loihi2"].message
    assert "IF_curr_exp / IF_curr_delta set V to v_reset" in errs["spinnaker"].message
    # check with the same reset lists the same refusal
    for t in TARGETS:
        (f,) = check(g, target=t, dt=DT, reset="subtract").by_code(f"{t}-reset-subtract")
        assert f.severity == "error" and _effect(f.message) == _effect(errs[t].message)


def test_measured_effect_matches_the_float_reference():
    """The counts in the message are those of neurocompile.simulate (hop_delay 1) on the stated probe."""
    g = _graph(0.0)
    msg = _refusal("spinnaker", g).message
    m = re.search(r"Bernoulli\(([\d.]+)\) input spikes, seed (\d+), (\d+) steps, batch (\d+)", msg)
    rate, seed, steps, batch = float(m[1]), int(m[2]), int(m[3]), int(m[4])
    assert (rate, seed, steps, batch) == (C.PROBE_RATE, C.PROBE_SEED, C.PROBE_STEPS, C.PROBE_BATCH)
    rng = np.random.default_rng(seed)
    x = {"x": (rng.random((batch, steps, 8)) < rate).astype(np.float64)}
    counts = {}
    for reset in ("subtract", "zero"):
        r = nc.simulate(g, x, dt=DT, reset=reset, hop_delay=1, record="l1.spikes,l2.spikes")
        counts[reset] = {n: float(r.recordings[f"{n}.spikes"].sum()) for n in ("l1", "l2")}
    for n in ("l1", "l2"):
        a, z = counts["subtract"][n], counts["zero"][n]
        assert a > 0 and z != a, (n, a, z)  # the probe exercises the difference in both layers
        assert f"{n} {100 * (z - a) / a:+.1f}% ({a:.0f} -> {z:.0f} spikes)" in msg, msg


def test_reset_zero_on_a_subtract_graph_is_approximated_with_the_same_effect():
    g = _graph(None)
    refused = _effect(_refusal("loihi2", g).message)
    for t in TARGETS:
        prog = nc.compile(g, t, dt=DT, reset="zero")
        (f,) = [f for f in prog.provenance["findings"] if f["code"] == "reset-approximated"]
        assert f["severity"] == "info" and f["node"] == "l1" and "'l2'" in f["message"]
        assert _effect(f["message"]) == refused
        assert prog.semantics["reset"] == "zero"
    # a file that states v_reset = 0 compiled with reset="zero" is exact: nothing approximated
    for t in TARGETS:
        codes = {f["code"] for f in nc.compile(_graph(0.0), t, dt=DT, reset="zero").provenance["findings"]}
        assert not codes & {"reset-approximated", "reset-override"}, codes


def test_check_without_a_reset_warns_on_both_targets():
    for t in TARGETS:
        fs = check(_graph(None), target=t, dt=DT).by_code(f"{t}-reset-subtract")
        assert {f.node for f in fs} == {"l1", "l2"} and {f.severity for f in fs} == {"warning"}
        assert all('compile with reset="zero"' in f.message for f in fs)


def test_loihi2_v_reset_refusal_carries_the_measured_effect():
    e = _refusal("loihi2", _graph(0.3), reset="file")
    assert e.parameter == "v_reset" and "instead of to the file's v_reset" in _effect(e.message)


# ---------------------------------------------------------------------------- bounded probe
def test_probe_shrinks_then_gives_up_on_big_graphs(monkeypatch):
    from neurocompile.netlist import build_netlist
    from neurocompile.semantics import resolve_semantics

    g = _graph(0.0)
    nl = build_netlist(g, resolve_semantics(g, dt=DT, reset="subtract", hop_delay=1))
    per_step = sum(np.size(c.weight) for c in nl.connections) + sum(x.size for x in nl.groups.values())
    full = C.reset_effect(nl, nl.semantics, ["l1", "l2"])
    assert (full.batch, full.steps) == (8, 100) and full.not_measured is None
    monkeypatch.setattr(C, "PROBE_OPS", per_step * 50)  # batch 8 x 100 steps no longer fits
    small = C.reset_effect(nl, nl.semantics, ["l1", "l2"])
    assert (small.batch, small.steps) == (1, 50) and "batch 1" in small.text
    monkeypatch.setattr(C, "PROBE_OPS", per_step * (C.PROBE_MIN_STEPS - 1))
    none = C.reset_effect(nl, nl.semantics, ["l1", "l2"])
    assert none.not_measured is not None and none.counts == () and "not measured" in none.text
    # the refusal still stands, with the reason instead of figures
    with pytest.raises(UnsupportedError, match="not measured"):
        nc.compile(g, "loihi2", dt=DT, reset="subtract")
