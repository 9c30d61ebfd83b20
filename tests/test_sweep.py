"""Sweeps (``neurocompile/sweep.py``, ``models/sweep_tasks.py``, ``neurocompile sweep``; issue 16 item 2).

Grid parsing (ranges, lists, JSON lists, TOML/JSON files), the Cartesian product in grid order, one
row per point with typed errors in an ``error`` column, the same rows on a LocalCluster as in one
process, and the CLI's table, JSON and exit codes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurocompile.errors import InputDataError, ParameterError
from neurocompile.sweep import grid_points, load_grid, parse_axis, parse_grid, parse_value, run_sweep


def probe(seed: int = 0, scale: float = 1.0, fail: bool = False) -> dict:
    """A small pure task: a seeded draw (distinct per point), or a typed error."""
    if fail:
        raise ParameterError(f"seed {seed} refused", parameter="fail", expected="False")
    return {"value": float(np.random.default_rng(seed).random() * scale), "seed_twice": 2 * seed}


def test_parse_axis_forms():
    assert parse_axis("seed=0..3") == ("seed", [0, 1, 2, 3])
    assert parse_axis("seed=0..10:5") == ("seed", [0, 5, 10])
    assert parse_axis("lr=0.05,0.1") == ("lr", [0.05, 0.1])
    assert parse_axis("reset=zero,subtract") == ("reset", ["zero", "subtract"])
    assert parse_axis("calibration=true,false") == ("calibration", [True, False])
    assert parse_axis("w0=[40, 52]") == ("w0", [40, 52])
    assert parse_value("none") is None and parse_value("7") == 7 and parse_value("x1") == "x1"
    for bad in ("seed", "=1,2", "seed=", "seed=3..1", "seed=0..x", "w0=[1,", "seed=0..4:0", "9x=1"):
        with pytest.raises(ParameterError):
            parse_axis(bad)
    with pytest.raises(ParameterError):
        parse_grid(["seed=1", "seed=2"])


def test_grid_points_first_axis_slowest():
    pts = grid_points({"seed": [0, 1], "rewarded": [0, 1], "w0": [5]})
    assert pts == [
        {"seed": 0, "rewarded": 0, "w0": 5},
        {"seed": 0, "rewarded": 1, "w0": 5},
        {"seed": 1, "rewarded": 0, "w0": 5},
        {"seed": 1, "rewarded": 1, "w0": 5},
    ]


def test_grid_files(tmp_path):
    (tmp_path / "g.toml").write_text('seed = "0..2"\nreset = ["zero", "subtract"]\n')
    (tmp_path / "g.json").write_text(json.dumps({"seed": [4, 5]}))
    assert load_grid(tmp_path / "g.toml") == {"seed": [0, 1, 2], "reset": ["zero", "subtract"]}
    assert load_grid(tmp_path / "g.json") == {"seed": [4, 5]}
    (tmp_path / "bad.toml").write_text("seed = [\n")
    (tmp_path / "empty.json").write_text("{}")
    (tmp_path / "num.json").write_text('{"seed": 3}')
    for name in ("bad.toml", "empty.json", "num.json", "missing.json"):
        with pytest.raises(InputDataError):
            load_grid(tmp_path / name)


def test_non_finite_metrics_are_null():
    res = run_sweep(lambda seed: {"x": float("nan"), "y": np.float64(2.5), "z": np.inf}, {"seed": [1]})
    assert res.rows == [{"seed": 1, "x": None, "y": 2.5, "z": None}]
    assert json.loads(json.dumps(res.as_dict()))["rows"] == res.rows


def test_run_sweep_rows_in_grid_order_with_errors():
    seen = []
    res = run_sweep(
        probe,
        {"seed": [3, 1, 2], "fail": [False, True]},
        fixed={"scale": 2.0},
        progress=lambda d, n: seen.append(d),
    )
    assert [(r["seed"], r["fail"]) for r in res.rows] == [(s, f) for s in (3, 1, 2) for f in (False, True)]
    for r in res.rows:
        if r["fail"]:
            assert "error" in r and f"seed {r['seed']} refused" in r["error"] and "value" not in r
        else:
            assert r["value"] == probe(r["seed"], 2.0)["value"] and r["seed_twice"] == 2 * r["seed"]
    assert seen == list(range(7)) and res.metrics == ["value", "seed_twice"]
    text = res.to_text()
    assert "error" in text.splitlines()[0] and "6 points in this process" in text and "scale=2.0" in text
    with pytest.raises(ParameterError):
        run_sweep(probe, {"seed": [1]}, fixed={"seed": 2})


def test_cli_sweep_choice_table_and_json(tmp_path, capsys):
    from neurocompile.cli.main import main
    from neurocompile.models import sweep_tasks

    args = ["sweep", "choice", "--grid", "seed=0..1", "--set", "n_trials=12"]
    assert main(args + ["--json", "--out", str(tmp_path / "s.json")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "sweep" and doc["task"] == "choice" and doc["fixed"] == {"n_trials": 12}
    assert [r["seed"] for r in doc["rows"]] == [0, 1]
    assert doc == json.loads((tmp_path / "s.json").read_text())
    direct = sweep_tasks.choice(seed=1, n_trials=12)
    for k, v in direct.items():  # NaN (a group without trials in a quarter) is null in the JSON
        assert doc["rows"][1][k] == (None if isinstance(v, float) and v != v else pytest.approx(v)), k
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["seed", "first_correct", "last_correct"]


@pytest.mark.parametrize(
    "args, word",
    [
        (["sweep", "choice", "--grid", "seed=3..1"], "empty range"),
        (["sweep", "choice", "--grid", "sed=0,1"], "no parameter 'sed'"),
        (["sweep", "choice"], "no grid axis"),
        (["sweep", "choise", "--grid", "seed=1"], "did you mean"),
        (["sweep", "choice", "--grid", "seed=1", "--set", "oops"], "NAME=VALUE"),
    ],
)
def test_cli_sweep_usage_errors_one_line(args, word, capsys):
    from neurocompile.cli.main import main

    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and word in err[0], err


def test_cli_sweep_point_error_exit_1(capsys):
    from neurocompile.cli.main import main

    assert main(["sweep", "choice", "--grid", "rewarded=0,2", "--set", "n_trials=4"]) == 1
    out = capsys.readouterr().out
    assert "error" in out.splitlines()[0] and "rewarded" in out.splitlines()[3]
