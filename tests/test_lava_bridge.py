"""`--backend lava` from the main environment: the subprocess bridge to the Lava interpreter.

Runs in the main env (no lava-nc): the missing/failing-interpreter errors always; the round trip
through ``.venv-lava`` (or ``$NEUROCOMPILE_LAVA_PYTHON``) when that interpreter exists.
"""

from __future__ import annotations

import stat
import warnings
from pathlib import Path

import numpy as np
import pytest
from loihi2_cases import merge_cases, random_case, timing_chain

from neurocompile.errors import BackendUnavailableError
from neurocompile.targets.loihi2 import run as bridge

REPO = Path(__file__).resolve().parents[1]


def _lava_python_or_skip() -> None:
    try:
        bridge.lava_python()
    except BackendUnavailableError as exc:
        pytest.skip(str(exc))


def test_missing_interpreter_names_the_variable_and_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv(bridge.LAVA_PYTHON_ENV, str(tmp_path / "no-such-python"))
    case = timing_chain()
    with pytest.raises(BackendUnavailableError) as err:
        bridge.run_lava(case.program, case.inputs, in_process=False)
    line = err.value.one_line()
    assert "NEUROCOMPILE_LAVA_PYTHON" in line and "make venvs" in line and "no-such-python" in line
    assert "\n" not in line


def test_failing_interpreter_reports_its_last_stderr_line(monkeypatch, tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'some noise' >&2\necho 'ImportError: lava is broken here' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv(bridge.LAVA_PYTHON_ENV, str(fake))
    case = timing_chain()
    with pytest.raises(BackendUnavailableError) as err:
        bridge.run_lava(case.program, case.inputs, in_process=False)
    assert "ImportError: lava is broken here" in str(err.value) and "some noise" not in str(err.value)


def test_program_run_backend_lava_round_trip():
    """Program.run(backend="lava") -> subprocess in .venv-lava -> the §2.4 numbers, labelled."""
    _lava_python_or_skip()
    case = timing_chain()
    res = case.program.run(
        case.inputs, backend="lava", record="l1.u,l1.spikes,l2.u,src.spikes", in_process=False
    )
    assert (
        res.backend == "lava" and res.fidelity == "bit-exact" and res.reference == "lava-nc 0.10.0 fixed_pt"
    )
    assert res.recordings["l1.u"].ravel().tolist() == [0, 640, 0, 0, 640, 0]  # loihi2.md §2.4
    assert res.recordings["l2.u"].ravel().tolist() == [0, 0, 448, 0, 0, 448]
    assert res.recordings["src.spikes"].ravel().tolist() == [1, 0, 0, 1, 0, 0]
    assert res.outputs["y"].shape == (1, 6, 1)


@pytest.mark.slow
def test_bridge_matches_emulator_with_batch_and_errors_pass_through():
    _lava_python_or_skip()
    case, _ = merge_cases([random_case(2, m) for m in range(3)])
    batch = {k: np.concatenate([v, v[:, ::-1]]) for k, v in case.inputs.items()}  # 2 samples
    lava = bridge.run_lava(case.program, batch, record=case.record, in_process=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        emu = case.program.run(batch, backend="emulator", record=case.record)
    for key in case.record:
        assert np.array_equal(
            np.asarray(lava.recordings[key], np.int64), np.asarray(emu.recordings[key], np.int64)
        ), key
        assert lava.recordings[key].shape[:2] == (2, case.steps)
    for key in case.program.outputs:
        assert np.array_equal(lava.outputs[key], emu.outputs[key]), key
    # a user error inside the Lava interpreter comes back as one line naming the population
    with pytest.raises(BackendUnavailableError, match="no-such-pop"):
        bridge.run_lava(case.program, batch, record="no-such-pop.v", in_process=False)
