"""What ``neurocompile sweep TASK`` runs: one function per task, one call per grid point.

Each task takes its parameters as keywords (defaults below; ``--grid`` and ``--set`` name them) and
returns a flat dict of metrics (:func:`neurocompile.sweep.run_sweep` adds the point's values):

* ``pattern`` - the pattern-detection task of ``models/learning_tasks.py`` (the seed tables of
  ``docs/learning.md``): train ``steps`` steps with the homeostatic STDP rule (``homeostasis=false``:
  the earlier plain pair STDP), score the first 4000 and the last 10 000 steps and a frozen copy on
  ``test_steps`` steps of fresh noise; ``learned`` is the issue's criterion on the last 10 000 steps
  (hits >= 90 %, < 1 false alarm per 1000 noise steps), ``lock_step`` the earliest 1000-step mark from
  which the rest of the run meets it, ``max_silence`` the longest stretch without an output spike
  (the rule's silence rescue acts only beyond ``silence * 2^epoch_k`` steps). Seeds as in the tests:
  pattern seed ``seed``, noise seed ``1000 + seed``, test noise ``2000 + seed``, ``rng_seed``
  ``7 + seed`` unless given.
* ``choice`` - the reward-modulated choice task (R-STDP on ``lif_3f``): ``n_trials`` trials with
  group ``rewarded`` rewarded; correct choices in the first and last quarter, responses to each group.
* ``compile`` - a bundled model (``models/``) compiled for ``target`` with the given compile options
  (``reset``, ``discretization``, ``calibration`` and the target's own, e.g. spinnaker's ``tick_ms``),
  run on the bit-exact emulator over the first ``samples`` test samples: accuracy, agreement with the
  float reference, neurons, cores and stored synapses.

Warnings of the runs (the learning rule's weight saturation, overflow) are not printed; each row
counts them in ``warnings``.

All of them are pure functions of their arguments (every random draw is seeded by them).
"""

from __future__ import annotations

import inspect
import time
import warnings
from typing import Any, Callable

import numpy as np

from neurocompile.errors import ParameterError

#: the first and last stretches of the pattern task that are scored (as in tests/test_learning_demos.py)
EARLY, LATE = 4000, 10_000


def _quiet(prog: Any, inputs: dict) -> Any:
    """``prog.run(inputs)`` without printing its warnings (weight saturation is part of these tasks'
    learning; the row counts them in ``warnings``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return prog.run(inputs)


def pattern(
    seed: int = 0,
    steps: int = 40_000,
    test_steps: int = 10_000,
    w0: int = 100,
    rng_seed: int | None = None,
    homeostasis: bool = True,
) -> dict[str, Any]:
    from neurocompile.learning import freeze

    from . import learning_tasks as D

    L = D.PATTERN["length"]
    x, starts = D.pattern_data(seed, 1000 + seed, steps)
    prog = D.pattern_program(seed, w0=w0, rng_seed=rng_seed, homeostasis=homeostasis)
    res = _quiet(prog, {"inp": x[None]})
    y = res.outputs["y"][0]
    early = D.score_pattern(y, starts, L, 0, min(EARLY, steps))
    late = D.score_pattern(y, starts, L, max(0, steps - LATE), steps)
    xt, st = D.pattern_data(seed, 2000 + seed, test_steps)
    test = D.score_pattern(_quiet(freeze(prog, res), {"inp": xt[None]}).outputs["y"][0], st, L)
    return {
        "early_hits": early.hit_rate,
        "early_fa": early.false_alarms_per_1000,
        "late_hits": late.hit_rate,
        "late_fa": late.false_alarms_per_1000,
        "late_presentations": late.presentations,
        "late_spikes": late.spikes,
        "test_hits": test.hit_rate,
        "test_fa": test.false_alarms_per_1000,
        "test_presentations": test.presentations,
        "learned": D.detects(late),
        "test_detects": D.detects(test),
        "lock_step": D.lock_on_step(y, starts, L, tail=min(LATE, steps)),
        "max_silence": _longest_silence(y),
        "warnings": len(res.warnings),
    }


def _longest_silence(spikes: np.ndarray) -> int:
    """The longest stretch of steps without an output spike (from the start, between spikes, to the end)."""
    t = np.flatnonzero(np.reshape(spikes, -1))
    edges = np.concatenate(([-1], t, [np.size(spikes)]))
    return int(np.diff(edges).max() - 1)


def choice(seed: int = 0, rewarded: int = 0, n_trials: int = 600, w0: int = 52) -> dict[str, Any]:
    from . import learning_tasks as D

    if rewarded not in (0, 1):
        raise ParameterError(f"rewarded={rewarded!r}", parameter="rewarded", expected="0 or 1")
    x, r, which = D.choice_data(seed, n_trials, rewarded=rewarded)
    prog = D.choice_program(seed, w0=w0)
    res = _quiet(prog, {"inp": x[None], "reward": r[None]})
    y = res.outputs["y"][0]
    q = max(1, n_trials // 4)
    with warnings.catch_warnings():  # a quarter without trials of a group: its rate is NaN (None in the row)
        warnings.simplefilter("ignore", RuntimeWarning)
        first = D.score_choice(y, which, 0, q, rewarded=rewarded)
        last = D.score_choice(y, which, n_trials - q, n_trials, rewarded=rewarded)
    w = np.reshape(res.recordings["syn.weights"][0], -1).astype(np.float64)
    w0 = np.reshape(prog.projections["syn"].params["weights"], -1).astype(np.float64)
    g = w.size // 2
    mine, other = (slice(0, g), slice(g, 2 * g)) if rewarded == 0 else (slice(g, 2 * g), slice(0, g))
    return {
        "first_correct": first.correct,
        "last_correct": last.correct,
        "rewarded_response": last.rewarded_response,
        "other_response": last.other_response,
        "w_rewarded_start": float(w0[mine].mean()),
        "w_rewarded": float(w[mine].mean()),
        "w_other_start": float(w0[other].mean()),
        "w_other": float(w[other].mean()),
        "learned": bool(last.correct >= 0.9),
        "warnings": len(res.warnings),
    }


def compile_point(
    model: str = "digits_cnn_sinabs",
    target: str = "loihi2",
    samples: int = 200,
    calibration: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """``options``: ``reset``, ``discretization``, ``dt`` and the target's compile options."""
    import neurocompile as nc
    from neurocompile.program import counts

    from . import accuracy, load_test_set, model_path, predict, reference_semantics

    sem = reference_semantics(model)
    kw = {
        "dt": sem["dt"],
        "discretization": sem["discretization"],
        "reset": accuracy.chip_reset(model),
        **options,
    }
    t0 = time.perf_counter()
    prog = nc.compile(
        model_path(model), target, calibration=accuracy.calibration(model) if calibration else None, **kw
    )
    t1 = time.perf_counter()
    graph = nc.load(model_path(model))
    inputs, labels = load_test_set(model, samples)
    ref = nc.simulate(graph, inputs, **reference_semantics(model))
    run = _quiet(prog, accuracy.chip_inputs(model, graph, inputs))
    key = next(iter(prog.outputs))
    chip, flt = predict(run.outputs[key]), predict(ref.outputs[key])
    c = counts(prog)
    return {
        "accuracy": float((chip == labels).mean()),
        "float_accuracy": float((flt == labels).mean()),
        "agreement": float((chip == flt).mean()),
        "neurons": c.neurons,
        "cores": int((prog.placement or {}).get("cores_used") or 0),
        "synapses": c.synapses,
        "warnings": len(run.warnings),
        "compile_s": round(t1 - t0, 2),
    }


#: task name -> function (the ``sweep`` command's TASK argument)
TASKS: dict[str, Callable[..., dict[str, Any]]] = {
    "pattern": pattern,
    "choice": choice,
    "compile": compile_point,
}


def parameters(task: str) -> dict[str, Any]:
    """A task's named parameters and their defaults (``...`` for extra keyword options)."""
    sig = inspect.signature(TASKS[task])
    out = {}
    for name, p in sig.parameters.items():
        out[name if p.kind != p.VAR_KEYWORD else "**" + name] = (
            None if p.default is inspect.Parameter.empty else p.default
        )
    return out


def check_names(task: str, names: list[str]) -> None:
    """Every grid axis and fixed value must be a parameter of the task (``compile`` also takes
    compile options, which ``neurocompile.compile`` checks)."""
    params = parameters(task)
    if any(k.startswith("**") for k in params):
        return
    for name in names:
        if name not in params:
            raise ParameterError(
                f"task {task!r} has no parameter {name!r}",
                parameter=name,
                expected="one of " + ", ".join(params),
            )
