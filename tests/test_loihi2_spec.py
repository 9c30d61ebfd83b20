"""Loihi 2 spec constants, Lava weight arithmetic, Program validation, save/load, ``run`` CLI.

Expected values come from ``docs/reference/loihi2.md`` (verified against lava-nc 0.10.0), not from
the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurocompile.cli.main import main as cli_main
from neurocompile.errors import GraphError, InputDataError, NeurocompileError, ParameterError, RangeError
from neurocompile.program import OutputSpec, Population, Program, Projection
from neurocompile.targets.loihi2 import spec
from neurocompile.targets.loihi2.builder import Loihi2Builder
from neurocompile.targets.loihi2.schema import validate_program
from neurocompile.targets.loihi2.weights import (
    clip_weights,
    determine_sign_mode,
    effective_weights,
    truncate_weights,
)

MIX, EXC, INH = 1, 2, 3


def test_constants_match_reference_note():
    # loihi2.md §1.2 table and §4
    assert (spec.DU_MAX, spec.DV_MAX, spec.VTH_MAX) == (4095, 4095, 131071)
    assert (spec.DS_OFFSET, spec.DM_OFFSET, spec.DECAY_SHIFT, spec.VTH_SHIFT, spec.ACT_SHIFT) == (
        1,
        0,
        12,
        6,
        6,
    )
    assert spec.UV_WRAP_LIMIT == 2**23 and spec.V_MAX == 2**23 - 1 and spec.V_MIN == -(2**23 - 1)
    assert (spec.BIAS_MANT_MIN, spec.BIAS_MANT_MAX, spec.BIAS_EXP_MAX) == (-4096, 4095, 7)
    assert spec.WEIGHT_RANGE == {MIX: (-256, 255), EXC: (0, 255), INH: (-255, 0)}
    assert (spec.NUM_WEIGHT_BITS_MIN, spec.NUM_WEIGHT_BITS_MAX, spec.DELAY_MAX) == (1, 8, 62)
    assert (spec.CORES_PER_CHIP, spec.NEURONS_PER_CORE) == (128, 8192)
    assert (spec.SIGN_MODE_MIXED, spec.SIGN_MODE_EXCITATORY, spec.SIGN_MODE_INHIBITORY) == (1, 2, 3)


def test_weight_helpers_as_lava():
    # §2.1: mixed mode always drops one LSB: [3, -3, 5] -> [2, -4, 4]
    assert effective_weights(np.array([3, -3, 5]), MIX, 8).tolist() == [2, -4, 4]
    assert clip_weights(np.array([-300, 300]), MIX).tolist() == [-256, 255]
    assert clip_weights(np.array([-5, 300]), EXC).tolist() == [0, 255]
    assert clip_weights(np.array([5, -300]), INH).tolist() == [0, -255]
    # num_weight_bits=6 in EXC drops 2 LSBs (floor on the magnitude); INH mirrors it
    assert truncate_weights(np.array([7, 255, 3]), EXC, 6).tolist() == [4, 252, 0]
    assert truncate_weights(np.array([-7, -255, -3]), INH, 6).tolist() == [-4, -252, 0]
    assert truncate_weights(np.array([7, -7]), MIX, 8).tolist() == [6, -8]
    assert [determine_sign_mode(np.array(w)) for w in ([0, 1], [0, -1], [-1, 1])] == [EXC, INH, MIX]


def _good():
    b = Loihi2Builder()
    b.input("x", 4)
    b.lif("h", (2, 3), du=100, dv=200, vth=50, bias_mant=[1, 2, 3, 4, 5, 6], bias_exp=2)
    b.lif_reset("r", 2, du=0, dv=0, vth=10, reset_interval=3, reset_offset=1)
    b.dense("x", "h", np.arange(24).reshape(6, 4) - 12, weight_exp=-2, num_weight_bits=5)
    b.dense("h", "r", np.ones((2, 6), int) * 3, delays=np.arange(12).reshape(2, 6))
    b.sparse("r", "h", [-3, -5], pre_index=[0, 1], post_index=[4, 5], delays=[0, 7])
    b.sparse("h", "h", np.eye(6, dtype=int) * 9)
    return b


def test_builder_result_is_schema_program():
    prog = _good().build(outputs={"y": ("h", "spikes"), "rv": ("r", "v", 0.5)})
    assert prog.target == "loihi2" and prog.inputs == {"x": "x"}
    kinds = {p.name: p.kind for p in prog.projections.values()}
    assert kinds == {"x->h": "dense", "h->r": "delay_dense", "r->h": "delay_sparse", "h->h": "sparse"}
    assert [prog.projections[n].params["sign_mode"] for n in kinds] == [MIX, EXC, INH, EXC]
    assert prog.populations["h"].params["bias_exp"].tolist() == [2] * 6
    assert prog.outputs["rv"] == OutputSpec("r", "v", 0.5)


def test_save_load_byte_identical(tmp_path):
    prog = _good().build(outputs={"y": ("h", "spikes")})
    prog.save(tmp_path / "a.ncp")
    again = Program.load(tmp_path / "a.ncp")
    again.save(tmp_path / "b.ncp")
    assert (tmp_path / "a.ncp").read_bytes() == (tmp_path / "b.ncp").read_bytes()
    assert _good().build(outputs={"y": ("h", "spikes")}).to_bytes() == prog.to_bytes()
    validate_program(again)


# (builder call, error type, node, parameter, text the limit must contain)
BAD = [
    (lambda b: b.lif("z", 3, du=4096, dv=0, vth=1), RangeError, "z", "du", "4095"),
    (lambda b: b.lif("z", 3, du=-1, dv=0, vth=1), RangeError, "z", "du", "0 <="),
    (lambda b: b.lif("z", 3, du=0, dv=5000, vth=1), RangeError, "z", "dv", "4095"),
    (lambda b: b.lif("z", 3, du=0, dv=0, vth=2**17), RangeError, "z", "vth", "131071"),
    (lambda b: b.lif("z", 3, du=0, dv=0, vth=1, bias_mant=4096), RangeError, "z", "bias_mant", "4095"),
    (lambda b: b.lif("z", 3, du=0, dv=0, vth=1, bias_exp=8), RangeError, "z", "bias_exp", "7"),
    (lambda b: b.lif("z", 3, du=0, dv=0, vth=1, bias_exp=-1), RangeError, "z", "bias_exp", "0 <="),
    (lambda b: b.lif("z", 3, du=0, dv=0, vth=1, v_init=2**23), RangeError, "z", "v_init", "8388607"),
    (
        lambda b: b.lif("z", 3, du=0, dv=0, vth=1, u_init=[0, 0, -(2**23) - 1]),
        RangeError,
        "z",
        "u_init",
        "-8388608",
    ),
    (lambda b: b.lif("z", 3, du=0.5, dv=0, vth=1), ParameterError, "z", "du", "integer"),
    (lambda b: b.lif("z", 3, du=0, dv=0, vth=1, bias_mant=[1, 2]), ParameterError, "z", "bias_mant", "(3,)"),
    (
        lambda b: b.lif_reset("z", 3, du=0, dv=0, vth=1, reset_interval=0),
        RangeError,
        "z",
        "reset_interval",
        ">= 1",
    ),
    (
        lambda b: b.lif_reset("z", 3, du=0, dv=0, vth=1, reset_interval=2, reset_offset=-1),
        RangeError,
        "z",
        "reset_offset",
        ">= 0",
    ),
    (lambda b: b.input("z", 3, num_message_bits=25), RangeError, "z", "num_message_bits", "24"),
    (lambda b: b.input("x", 3), GraphError, "x", "name", "unique"),
    (lambda b: b.dense("x", "h", np.full((2, 4), 256)), RangeError, "x->h", "weights", "255"),
    (lambda b: b.dense("x", "h", np.full((2, 4), -5), sign_mode=EXC), RangeError, "x->h", "weights", "0 <="),
    (lambda b: b.dense("x", "h", np.full((2, 4), 5), sign_mode=INH), RangeError, "x->h", "weights", "<= 0"),
    (lambda b: b.dense("x", "h", np.ones((2, 4), int), weight_exp=9), RangeError, "x->h", "weight_exp", "8"),
    (
        lambda b: b.dense("x", "h", np.ones((2, 4), int), weight_exp=-9),
        RangeError,
        "x->h",
        "weight_exp",
        "-8",
    ),
    (
        lambda b: b.dense("x", "h", np.ones((2, 4), int), num_weight_bits=0),
        RangeError,
        "x->h",
        "num_weight_bits",
        "1 <=",
    ),
    (
        lambda b: b.dense("x", "h", np.ones((2, 4), int), num_weight_bits=9),
        RangeError,
        "x->h",
        "num_weight_bits",
        "8",
    ),
    (
        lambda b: b.dense("x", "h", np.ones((2, 4), int), sign_mode=4),
        RangeError,
        "x->h",
        "sign_mode",
        "INHIBITORY",
    ),
    (lambda b: b.dense("x", "h", np.ones((2, 4), int), delays=63), RangeError, "x->h", "delays", "62"),
    (lambda b: b.dense("x", "h", np.ones((2, 4), int), delays=-1), RangeError, "x->h", "delays", "0 <="),
    (
        lambda b: b.dense("x", "h", np.ones((2, 4), int), num_message_bits=30),
        RangeError,
        "x->h",
        "num_message_bits",
        "24",
    ),
    (lambda b: b.dense("x", "h", np.ones((4, 2), int)), ParameterError, "x->h", "weights", "(2, 4)"),
    (lambda b: b.dense("x", "h", np.full((2, 4), 0.5)), ParameterError, "x->h", "weights", "integer"),
    (lambda b: b.dense("x", "nope", np.ones((2, 4), int)), GraphError, "x->nope", "post", "h, x"),
    (lambda b: b.dense("h", "x", np.ones((4, 2), int)), GraphError, "h->x", "post", "lif"),
    (
        lambda b: b.sparse("x", "h", [1, 2], pre_index=[0, 4], post_index=[0, 1]),
        RangeError,
        "x->h",
        "pre",
        "3",
    ),
    (
        lambda b: b.sparse("x", "h", [1, 2], pre_index=[0, 1], post_index=[0, 2]),
        RangeError,
        "x->h",
        "post",
        "1",
    ),
    (
        lambda b: b.sparse("x", "h", [1, 2], pre_index=[1, 1], post_index=[0, 0]),
        ParameterError,
        "x->h",
        "pre",
        "one synapse",
    ),
    (lambda b: b.sparse("x", "h", [1, 2], pre_index=[0, 1]), ParameterError, "x->h", "post_index", "both"),
]


@pytest.mark.parametrize("call,err,node,field,limit", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_builder_calls_name_node_field_limit(call, err, node, field, limit):
    b = Loihi2Builder()
    b.input("x", 4)
    b.lif("h", 2, du=0, dv=0, vth=1)
    with pytest.raises(err) as ei:
        call(b)
    e = ei.value
    assert e.node == node and e.parameter == field, str(e)
    assert limit in (e.expected or "") + str(e), str(e)
    assert "\n" not in e.one_line()


def test_validate_catches_hand_made_programs():
    prog = Program(target="loihi2")
    prog.populations["x"] = Population("x", "input", (2,), {"num_message_bits": 0})
    prog.populations["h"] = Population(
        "h",
        "lif",
        (1,),
        {"du": 0, "dv": 0, "vth": 1, "bias_mant": np.zeros(1, int), "bias_exp": np.zeros(1, int)},
    )
    prog.projections["p"] = Projection(
        "p",
        "x",
        "h",
        "dense",
        {
            "weights": np.ones((1, 2), int),
            "weight_exp": 0,
            "num_weight_bits": 8,
            "sign_mode": 2,
            "num_message_bits": 0,
        },
    )
    with pytest.raises(GraphError, match="fed by no key"):
        validate_program(prog)
    prog.inputs["x"] = "x"
    validate_program(prog)
    prog.projections["p"].params["sign_mode"] = None  # a built Program always has an explicit sign mode
    with pytest.raises(RangeError):
        validate_program(prog)
    prog.projections["p"].params["sign_mode"] = 2
    prog.projections["p"].params["typo"] = 1
    with pytest.raises(ParameterError, match="unknown field"):
        validate_program(prog)
    del prog.projections["p"].params["typo"]
    prog.outputs["y"] = OutputSpec("x", "v")
    with pytest.raises(ParameterError, match="observable"):
        validate_program(prog)
    prog.target = "spinnaker"
    with pytest.raises(NeurocompileError):
        validate_program(prog)


def test_run_cli_end_to_end(tmp_path, capsys):
    b = Loihi2Builder()
    b.input("x", 1)
    b.lif("h", 1, du=4095, dv=0, vth=5)
    b.dense("x", "h", [[10]])
    b.build(outputs={"y": ("h", "spikes")}).save(tmp_path / "p.ncp")
    x = np.zeros((2, 6, 1))
    x[0, [0, 3], 0] = 1
    np.savez(tmp_path / "in.npz", x=x)
    rc = cli_main(
        [
            "run",
            str(tmp_path / "p.ncp"),
            "--input",
            str(tmp_path / "in.npz"),
            "--output",
            str(tmp_path / "out.npz"),
            "--record",
            "h.u,h.v",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "backend emulator:loihi2, fidelity bit-exact vs lava-nc 0.10.0 fixed_pt" in out
    with np.load(tmp_path / "out.npz") as f:
        # loihi2.md §2.4: a spike at step t reaches u at t+1 as 10 << 6 = 640; v crosses 5 << 6 and fires
        assert f["h.u"][0, :, 0].tolist() == [0, 640, 0, 0, 640, 0]
        assert f["y"][0, :, 0].tolist() == [0, 1, 0, 0, 1, 0]
        assert f["y"][1].sum() == 0
        assert "__meta__" in f.files
    for bad_args, text in [
        (["--input", str(tmp_path / "missing.npz")], "file not found"),
        (["--record", "h.w"], "record"),
        (["--record", "q.v"], "unknown population"),
        (["--backend", "spinnaker"], "backend"),
    ]:
        args = [
            "run",
            str(tmp_path / "p.ncp"),
            "--input",
            str(tmp_path / "in.npz"),
            "--output",
            str(tmp_path / "o2.npz"),
        ]
        args = args[:2] + [a for a in args[2:]]
        # later options override earlier ones
        rc = cli_main(args + bad_args)
        err = capsys.readouterr().err
        assert rc == 2 and len(err.strip().splitlines()) == 1 and text in err, (bad_args, err)
    np.savez(tmp_path / "bad.npz", x=np.full((1, 6, 1), 2.0))
    rc = cli_main(
        [
            "run",
            str(tmp_path / "p.ncp"),
            "--input",
            str(tmp_path / "bad.npz"),
            "--output",
            str(tmp_path / "o3.npz"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "0 and 1" in err and len(err.strip().splitlines()) == 1


def test_input_values_checked():
    from neurocompile.targets.loihi2.emulator.run import run_program

    b = Loihi2Builder()
    b.input("g", 1, num_message_bits=8)
    b.lif("h", 1, du=0, dv=0, vth=1)
    b.dense("g", "h", [[1]], num_message_bits=8)
    prog = b.build()
    with pytest.raises(InputDataError, match="integer"):
        run_program(prog, {"g": np.full((1, 3, 1), 0.5)})
    with pytest.raises(InputDataError, match="payload"):
        run_program(prog, {"g": np.full((1, 3, 1), 2.0**23)})
