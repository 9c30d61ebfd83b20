"""Loihi 2 Programs with on-chip learning report overflow like static ones: u wrap / v saturation
per population (the static engine's own lines) and, per learning projection, saturated weights /
tags and clipped trace impulses, in ``RunResult.warnings``; ``strict=True`` (``--strict``) raises
:class:`NumericOverflowError` naming the node and the variable. Checked on the per-step reference
loop (the path compared with Lava step by step), the fused kernel and its generic (non-separable)
interpreter, which must agree on every count.

Expected counts come from the chip's rules, not from the code under test: a weight pushed past
its sign mode's range by a constant +8 per bAP saturates at every bAP (one update per pre
synapse); a trace with impulse 100 and a long time constant clips at 127 at every pre spike but
the first.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from learning_cases import random_inputs, random_learning_program  # noqa: E402
from test_learning_fused import _sep_program  # noqa: E402

from neurocompile.errors import NumericOverflowError  # noqa: E402
from neurocompile.targets.loihi2.builder import Loihi2Builder  # noqa: E402
from neurocompile.targets.loihi2.emulator.learning import run_learning_entry  # noqa: E402
from neurocompile.targets.loihi2.emulator.run import run_program  # noqa: E402

PATHS = {
    "reference": dict(fused=False),
    "fused": dict(fused=True),
    "fused-generic": dict(fused=True, separable=False),
}


def _rule(dw: str, **traces) -> dict:
    r = {"dw": dw, "dd": "", "dt": "", "t_epoch": 1, "three_factor": 0}
    for k in ("x1", "x2", "y1", "y2", "y3"):
        r[f"{k}_impulse"] = 0.0
        r[f"{k}_tau"] = 0.0
    r.update(traces)
    return r


def _post_driven(n_pre: int, w0: int, rule: dict, steps: int, post_every: int, pre: np.ndarray):
    """x (n_pre) -> learning_dense 'ld' (EXCITATORY, weights w0) -> h (1 LIF); h fires exactly
    when its own input z does (weight 200 against vth 10; the learning_dense input is far below
    the threshold: weight_exp -6)."""
    b = Loihi2Builder()
    b.input("x", n_pre)
    b.input("z", 1)
    b.lif("h", 1, du=4095, dv=4095, vth=10)
    b.dense("z", "h", np.array([[200]]), sign_mode=2)
    b.learning_dense(
        "x", "h", np.full((1, n_pre), w0), rule, rng_seed=3, sign_mode=2, weight_exp=-6, name="ld"
    )
    prog = b.build({"y": ("h", "spikes")})
    z = np.zeros((1, steps, 1), np.int8)
    z[0, post_every - 1 :: post_every, 0] = 1
    return prog, {"x": pre.astype(np.int8)[None], "z": z}


@pytest.mark.parametrize("path", PATHS)
def test_weights_pushed_past_the_range_saturate_at_every_bap(path):
    n_pre, steps = 3, 40
    prog, inp = _post_driven(n_pre, 250, _rule("4*2^1*y0"), steps, 5, np.zeros((steps, n_pre)))
    r = run_learning_entry(prog, inp, "h.spikes", **PATHS[path])
    spikes = r.recordings["h.spikes"][0, :, 0]
    z_steps = np.nonzero(inp["z"][0, :, 0])[0] + 1
    expected = [t + 1 for t in z_steps if t + 1 <= steps]  # one hop: h fires the step after z
    assert (np.nonzero(spikes)[0] + 1).tolist() == expected
    n_bap, first = len(expected), expected[0]
    assert (r.recordings["ld.weights"][0] == 255).all()
    (msg,) = r.warnings
    assert msg.startswith("projection 'ld': weights saturated")
    assert f": {n_pre * n_bap} synapse update(s) in 1 sample(s), first at step {first} of sample 0" in msg
    assert "traces" not in msg and "tag" not in msg
    with pytest.raises(NumericOverflowError) as e:
        run_learning_entry(prog, inp, "h.spikes", strict=True, **PATHS[path])
    assert e.value.node == "ld" and e.value.parameter == "weights" and f"step {first} " in str(e.value)


@pytest.mark.parametrize("path", PATHS)
def test_trace_impulses_clip_at_127(path):
    n_pre, steps = 2, 60
    pre = np.zeros((steps, n_pre))
    pre[[3, 20, 35, 50], 0] = 1  # 4 spikes of pre 0: 3 clip (100 + ~100 > 127)
    pre[[10, 30], 1] = 1  # 2 spikes of pre 1: 1 clips
    rule = _rule("1*2^-7*y0", x1_impulse=100.0, x1_tau=200.0)  # +1/128 per bAP: never saturates w
    prog, inp = _post_driven(n_pre, 100, rule, steps, 7, pre)
    r = run_learning_entry(prog, inp, "h.spikes", **PATHS[path])
    (msg,) = r.warnings
    assert msg.startswith("projection 'ld': trace impulses clipped to [0, 127]: 4 impulse(s)"), msg
    assert "first at step 21 of sample 0" in msg  # pre 0's second spike (0-based row 20)
    with pytest.raises(NumericOverflowError) as e:
        run_learning_entry(prog, inp, "h.spikes", strict=True, **PATHS[path])
    assert e.value.node == "ld" and e.value.parameter == "traces"


@pytest.mark.parametrize("path", PATHS)
def test_learning_without_overflow_is_silent_and_strict_passes(path):
    n_pre, steps = 4, 80
    pre = (np.random.default_rng(0).random((steps, n_pre)) < 0.1).astype(np.int8)
    rule = _rule("2*2^-2*y0*x1 - 2*2^-2*x0*y1", x1_impulse=16.0, x1_tau=10.0, y1_impulse=16.0, y1_tau=10.0)
    prog, inp = _post_driven(n_pre, 100, rule, steps, 6, pre)
    r = run_learning_entry(prog, inp, "h.spikes", strict=True, **PATHS[path])
    assert r.warnings == []
    w = r.recordings["ld.weights"][0]
    assert (w != 100).any() and w.min() > 0 and w.max() < 255  # it learned, inside the range


def test_v_saturation_in_a_learning_program_is_the_static_engines_line():
    """A learning Program whose LIF saturates (bias drives v down by 2^19 per step; its
    learning_dense input never spikes) reports the very line the static engine reports for the
    same population without the learning projection."""

    def prog(learning: bool):
        b = Loihi2Builder()
        b.input("x", 2)
        b.lif("neg", 2, du=0, dv=0, vth=10, bias_mant=-4096, bias_exp=7)
        if learning:
            b.learning_dense("x", "neg", np.full((2, 2), 10), _rule("1*2^-7*y0"), rng_seed=1, sign_mode=2)
        else:
            b.dense("x", "neg", np.full((2, 2), 10), sign_mode=2)
        return b.build({"v": ("neg", "v", 1.0)})

    x = {"x": np.zeros((3, 20, 2))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        static = run_program(prog(False), x)
    assert len(static.warnings) == 1 and "v saturated" in static.warnings[0]
    for kw in PATHS.values():
        r = run_learning_entry(prog(True), x, (), **kw)
        assert r.warnings == static.warnings
        with pytest.raises(NumericOverflowError) as e:
            run_learning_entry(prog(True), x, (), strict=True, **kw)
        assert e.value.node == "neg" and e.value.parameter == "v" and "step 16" in str(e.value)
    # the emulator's entry point warns and honours strict=True for learning Programs too
    with pytest.warns(RuntimeWarning, match="v saturated"):
        run_program(prog(True), x)
    with pytest.raises(NumericOverflowError):
        run_program(prog(True), x, strict=True)


@pytest.mark.parametrize("seed", range(4))
def test_all_paths_count_the_same(seed):
    """Random rules (every term kind, t_epoch 1..8, all sign modes, tags at their range ends):
    the reference loop, the fused kernel and the separable kernel report identical counts and
    first steps for every projection and variable."""
    prog, _ = random_learning_program(seed)
    cases = [(prog, random_inputs(seed, prog, 50)), _sep_program(seed)]
    for p, inp in cases:
        got = {k: run_learning_entry(p, inp, "h.spikes", **kw).warnings for k, kw in PATHS.items()}
        assert got["reference"], "these rules saturate: the comparison would be vacuous"
        assert got["fused"] == got["reference"] and got["fused-generic"] == got["reference"]


def test_cli_strict_fails_on_learning_saturation(tmp_path, capsys):
    from neurocompile.cli.main import main

    n_pre, steps = 3, 20
    prog, inp = _post_driven(n_pre, 250, _rule("4*2^1*y0"), steps, 5, np.zeros((steps, n_pre)))
    prog.save(tmp_path / "p.ncp")
    np.savez(tmp_path / "in.npz", **inp)
    args = ["run", str(tmp_path / "p.ncp"), "-i", str(tmp_path / "in.npz"), "-o", str(tmp_path / "o.npz")]
    assert main(args + ["--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: projection 'ld': weights saturated" in err and "--strict raises" in err
    assert main(args + ["--quiet", "--strict"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'ld'" in err[0] and "weights" in err[0], err
