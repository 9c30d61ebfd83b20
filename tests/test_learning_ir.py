"""Rule IR, library rules, TOML, Loihi 2 mapping facts (docs/reference/loihi2.md §3.2-3.3),
emulator hand cases."""

from __future__ import annotations

import numpy as np
import pytest

from neurocompile.errors import ModelLoadError, ParameterError
from neurocompile.learning import (
    freeze,
    hebbian,
    parse_expr,
    rstdp,
    rule_from_strings,
    rules_from_dict,
    stdp_pair,
    stdp_triplet,
    with_learned_weights,
)
from neurocompile.learning.ir import LearningRule
from neurocompile.targets.loihi2.builder import Loihi2Builder
from neurocompile.targets.loihi2.learning import map_rule, parse_lava_rule


def test_parse_gate_is_first_dependency_and_literals():
    prods, k = parse_expr("2^-3*x0*y1*(w-8) + u1*t*sgn(w+3) - 3/4*y0*x0")
    assert [p.dependency for p in prods] == ["x0", "u", "y0"]
    assert prods[0].coeff == 0.125 and prods[0].factors[1].const == -8
    assert prods[1].factors[1].sign and k == 1
    assert prods[2].coeff == -0.75 and prods[2].factors[0].var == "x0"  # later x0 is a plain factor


def test_parse_errors_name_rule_and_field():
    with pytest.raises(ParameterError, match="without a gate"):
        parse_expr("x1*y1", rule="r", parameter="dw")
    with pytest.raises(ParameterError, match="sgn"):
        rule_from_strings(dw="x0*sgn(x1)", name="r")


def test_library_round_trips_through_dict():
    for r in (
        stdp_pair(A_plus=1, A_minus=1, tau_plus=5, tau_minus=5),
        stdp_pair(
            A_plus=0.1,
            A_minus=0.1,
            tau_plus=5,
            tau_minus=5,
            weight_dependence="multiplicative",
            w_min=0,
            w_max=100,
        ),
        stdp_triplet(
            A2_plus=1, A2_minus=1, A3_plus=1, A3_minus=1, tau_plus=5, tau_minus=5, tau_x=20, tau_y=20
        ),
        rstdp(lr=1, A_plus=1, A_minus=1, tau_plus=5, tau_minus=5, tau_e=20),
        hebbian(eta=1, tau_pre=5, w_max=100, decay=0.01),
    ):
        assert LearningRule.from_dict(r.as_dict()) == r


def test_lava_normal_form_and_pre_shift():
    # reference §3.2: while |m| > 7 and m even and e < 8: m /= 2, e += 1; range m [-8,7], e [-7,8]
    (p,), _ = parse_lava_rule("12*2^-3*x0*y1", "dw")
    assert (p.mant, p.exp) == (6, -2)  # 12 -> 6 stops: |6| <= 7
    # §3.3: x1*y1 is pre-shifted by 3 (7+7+4-15); one trace: none; w*x1: 9+7+4-15 = 5
    assert parse_lava_rule("x0*x1*y1", "dw")[0][0].shift == 3
    assert parse_lava_rule("x0*y1", "dw")[0][0].shift == 0
    assert parse_lava_rule("x0*y1*w", "dw")[0][0].shift == 5
    m = map_rule(rule_from_strings(dw="0.5*x0*x1*y1", traces={"x1": {"impulse": 10, "tau": 5}}))
    (lp,) = m.products
    assert lp.mant * 2.0**lp.exp == 0.5 * 8 and lp.effective_coeff == 0.5


def test_mapping_reports_dropped_and_rounded():
    m = map_rule(rule_from_strings(dw="0.3*y0*x1 + 0.0001*x0*y1", traces={"x1": {"impulse": 3.3, "tau": 4}}))
    assert any("dropped" in f for f in m.findings) and any("rounded" in f for f in m.findings)
    rep = {r.requested: r for r in m.report}
    # 4-bit mantissa: the finest exponent leaves |m| >= 4, so rounding costs at most half a step: 1/8
    r = rep["0.3*y0*x1"]
    assert r.effective_coeff == 5 * 2**-4 and r.relative_error <= 1 / 8


def _one_synapse(rule_fields, pre, post, w0=100):
    b = Loihi2Builder()
    b.input("x", 1)
    b.input("z", 1)
    b.lif("h", 1, du=4095, dv=4095, vth=0)  # fires exactly on steps after z spikes (vth 0, no memory)
    b.dense("z", "h", [[10]], sign_mode=2)
    b.learning_dense("x", "h", [[w0]], rule_fields, rng_seed=1, sign_mode=2, weight_exp=-8)
    p = b.build({"y": ("h", "spikes")})
    return p, p.run(
        {"x": np.array(pre, np.int8).reshape(1, -1, 1), "z": np.array(post, np.int8).reshape(1, -1, 1)},
        record="x->h.w",
    )


def test_hand_case_coincident_pre_post_tau0():
    # dw = 2*y0*x1, x1 impulse 10, tau 0 (no memory), t_epoch 1. Post fires at step 3 (z at 2).
    f = {"dw": "2*2^0*y0*x1", "x1_impulse": 10.0}
    _, r = _one_synapse(f, [0, 0, 1, 0, 0], [0, 1, 0, 0, 0])
    w = r.recordings["x->h.w"][0, :, 0, 0]
    assert list(w) == [100, 100, 120, 120, 120]  # pre and post in step 3: + 2 * 10
    _, r = _one_synapse(f, [0, 1, 0, 0, 0], [0, 1, 0, 0, 0])
    assert list(r.recordings["x->h.w"][0, :, 0, 0]) == [100] * 5  # pre one step earlier: x1 forgot it


def test_toml_rules_and_errors(tmp_path):
    doc = {
        "rule": [
            {
                "projection": "fc1",
                "kind": "stdp_pair",
                "A_plus": 1.0,
                "A_minus": 1.0,
                "tau_plus": 10,
                "tau_minus": 10,
            },
            {
                "projection": "fc2",
                "kind": "custom",
                "dw": "0.5*y0*x1",
                "traces": {"x1": {"impulse": 8, "tau": 4}},
            },
        ]
    }
    rules = rules_from_dict(doc)
    assert rules["fc1"].kind == "stdp_pair" and rules["fc2"].x1.impulse == 8
    with pytest.raises(ParameterError, match=r"rule\[0\] \(fc1\).*tau_minus"):
        rules_from_dict(
            {"rule": [{"projection": "fc1", "kind": "stdp_pair", "A_plus": 1, "A_minus": 1, "tau_plus": 1}]}
        )
    with pytest.raises(ParameterError, match="unknown kind"):
        rules_from_dict({"rule": [{"projection": "a", "kind": "bcm"}]})
    bad = tmp_path / "r.toml"
    bad.write_text("[[rule]\n")
    from neurocompile.learning import load_rules

    with pytest.raises(ModelLoadError):
        load_rules(bad)
    good = tmp_path / "g.toml"
    good.write_text('[[rule]]\nprojection = "fc1"\nkind = "hebbian"\neta = 0.5\ntau_pre = 5\nw_max = 100\n')
    assert load_rules(good)["fc1"].kind == "hebbian"


def test_freeze_and_keep_learning():
    f = {"dw": "2*2^0*y0*x1", "x1_impulse": 10.0}
    p, r = _one_synapse(f, [0, 0, 1, 0, 0], [0, 1, 0, 0, 0])
    frozen = freeze(p, r)
    assert frozen.projections["x->h"].kind == "dense"
    assert int(frozen.projections["x->h"].params["weights"][0, 0]) == 120
    again = with_learned_weights(p, r, keep_learning=True)
    assert again.projections["x->h"].kind == "learning_dense"
    assert int(again.projections["x->h"].params["weights"][0, 0]) == 120
