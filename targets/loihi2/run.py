"""``--backend lava``: run a loihi2 Program on Lava 0.10.0, in-process or through the Lava interpreter.

lava-nc 0.10.0 imports only on Python 3.10, while the main environment is 3.11 with torch. So:

* in an interpreter that has lava-nc, :func:`run_lava` builds and runs the network in-process
  (:mod:`neurocompile.targets.loihi2.lava_runner`);
* otherwise it saves the Program and the inputs to a temporary directory and runs
  ``$NEUROCOMPILE_LAVA_PYTHON -m neurocompile.targets.loihi2.lava_runner PROG IN OUT --record ...``
  (default interpreter: ``<repo>/.venv-lava/bin/python``), then reads the result back.

A missing interpreter, or one that fails, raises :class:`BackendUnavailableError` naming
``NEUROCOMPILE_LAVA_PYTHON`` and ``make venvs`` (or the subprocess's last stderr line).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from neurocompile.data import FIDELITY_BIT_EXACT, META_KEY, RunResult
from neurocompile.errors import BackendUnavailableError
from neurocompile.program import Program

from .lava_runner import BACKEND, LAVA_REFERENCE, normalize_record

LAVA_PYTHON_ENV = "NEUROCOMPILE_LAVA_PYTHON"
#: The repository checkout (editable install): ``targets/loihi2/run.py`` -> repo root.
REPO = Path(__file__).resolve().parents[2]
#: Seconds a Lava subprocess may take before it is considered hung (e.g. a deadlocked network).
DEFAULT_TIMEOUT = 3600.0


def lava_available() -> bool:
    """True when this interpreter can import lava-nc (and so can run in-process)."""
    try:
        return (
            importlib.util.find_spec("lava") is not None
            and importlib.util.find_spec("lava.magma.core.run_configs") is not None
        )
    except (ImportError, ValueError):
        return False


def lava_python() -> Path:
    """The Lava interpreter to use: ``$NEUROCOMPILE_LAVA_PYTHON`` or ``<repo>/.venv-lava/bin/python``."""
    env = os.environ.get(LAVA_PYTHON_ENV)
    path = Path(env) if env else REPO / ".venv-lava" / "bin" / "python"
    if not path.is_file() or not os.access(path, os.X_OK):
        origin = f"${LAVA_PYTHON_ENV}={env}" if env else f"the default {path} (${LAVA_PYTHON_ENV} is unset)"
        raise BackendUnavailableError(
            f"no Lava interpreter at {origin}; create it with `make venvs` or point "
            f"{LAVA_PYTHON_ENV} at a Python 3.10 with lava-nc 0.10.0 and neurocompile installed",
            parameter=LAVA_PYTHON_ENV,
            expected="an executable Python with lava-nc 0.10.0",
        )
    return path


def run_lava(
    program: Program,
    inputs: Mapping[str, np.ndarray],
    *,
    record: Any = (),
    strict: bool = False,
    in_process: bool | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> RunResult:
    """Run ``program`` on Lava 0.10.0 ``fixed_pt``; samples one after another, fresh network each.

    Returns the emulator's :class:`RunResult` layout with backend ``lava``, fidelity
    ``bit-exact`` and reference ``lava-nc 0.10.0 fixed_pt``. ``in_process=None`` picks
    in-process when lava-nc is importable here, the subprocess bridge otherwise.
    """
    rec = normalize_record(record)
    if in_process is None:
        in_process = lava_available()
    if in_process:
        from .lava_runner import run_program_lava

        return run_program_lava(program, inputs, record=rec, strict=strict)
    return _run_subprocess(program, inputs, rec, strict, timeout)


def _run_subprocess(
    program: Program,
    inputs: Mapping[str, np.ndarray],
    rec: list[tuple[str, str]],
    strict: bool,
    timeout: float,
) -> RunResult:
    python = lava_python()
    with tempfile.TemporaryDirectory(prefix="neurocompile-lava-") as tmp:
        prog_path, in_path, out_path = (
            os.path.join(tmp, n) for n in ("program.ncp", "inputs.npz", "out.npz")
        )
        program.save(prog_path)
        np.savez(in_path, **{k: np.asarray(v) for k, v in inputs.items()})
        cmd = [str(python), "-m", "neurocompile.targets.loihi2.lava_runner", prog_path, in_path, out_path]
        if rec:
            cmd += ["--record", ",".join(f"{p}.{o}" for p, o in rec)]
        if strict:
            cmd.append("--strict")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp)
        except OSError as exc:
            raise BackendUnavailableError(
                f"cannot start the Lava interpreter {python}: {exc.strerror}",
                parameter=LAVA_PYTHON_ENV,
                expected="a working Python 3.10 with lava-nc",
            ) from None
        except subprocess.TimeoutExpired:
            raise BackendUnavailableError(
                f"the Lava run did not finish within {timeout:.0f} s", parameter="timeout"
            ) from None
        if proc.returncode != 0 or not os.path.isfile(out_path):
            lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
            last = lines[-1].strip() if lines else f"exit code {proc.returncode}, no message"
            raise BackendUnavailableError(
                f"the Lava run failed ({python}): {last}", parameter=LAVA_PYTHON_ENV
            )
        with np.load(out_path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays.pop(META_KEY))) if META_KEY in arrays else {}
    outputs = {k: arrays.pop(k) for k in list(arrays) if k in program.outputs}
    return RunResult(
        outputs=outputs,
        recordings=arrays,
        backend=meta.get("backend", BACKEND),
        fidelity=meta.get("fidelity", FIDELITY_BIT_EXACT),
        reference=meta.get("reference", LAVA_REFERENCE),
        semantics=meta.get("semantics", dict(program.semantics)),
        warnings=list(meta.get("warnings", [])),
    )
