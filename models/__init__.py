"""Model zoo: bundled trained models (``.nir``) with small held-out test sets.

Each model lives in ``models/<name>/`` with ``model.nir``, ``test.npz`` (inputs under the NIR
Input name, ``(batch, time, *shape)``, plus ``labels``), ``card.json`` (dt, conventions,
encoding, accuracies, the simulator settings that reproduce the framework) and the
``train.py`` that made them, and ``options.json``: the compile options per chip target, chosen on
the validation split by ``models/choose_options.py`` (never on the test set) with the model's
hold-out twin (``holdout.nir``, ``holdout_card.json``: ``train.py --hold-out-validation``, the same
training without the validation images). Every model classifies by the argmax of its Output's
spike counts over the run.

``list_models()``, ``model_path(name)``, ``load_card(name)``, ``load_options(name)``,
``load_test_set(name)`` and ``reference_accuracy(name)`` (the float reference on the bundled test
set, under the card's semantics) read them without torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from neurocompile.errors import ModelLoadError

ZOO_DIR = Path(__file__).resolve().parent

__all__ = [
    "ZOO_DIR",
    "list_models",
    "model_path",
    "load_card",
    "load_options",
    "load_test_set",
    "reference_semantics",
    "reference_accuracy",
    "predict",
]


def list_models() -> list[str]:
    """Names of the bundled models (directories with a ``card.json``), sorted."""
    return sorted(p.parent.name for p in ZOO_DIR.glob("*/card.json"))


def _dir(name: str) -> Path:
    d = ZOO_DIR / name
    if not (d / "card.json").exists():
        raise ModelLoadError(
            f"no bundled model named {name!r}",
            parameter="name",
            expected="one of " + ", ".join(list_models()),
        )
    return d


def model_path(name: str, kind: str = "nir") -> Path:
    """Path of the model's ``model.nir`` (``kind="onnx"``: its ``model.onnx``, if any)."""
    p = _dir(name) / f"model.{kind}"
    if not p.exists():
        raise ModelLoadError(
            f"model {name!r} has no model.{kind}",
            parameter="kind",
            expected="nir" + (", onnx" if (_dir(name) / "model.onnx").exists() else ""),
        )
    return p


def load_card(name: str) -> dict[str, Any]:
    return json.loads((_dir(name) / "card.json").read_text())


def load_options(name: str) -> dict[str, Any]:
    """The model's ``options.json`` (written by ``python -m neurocompile.models.choose_options
    --write``): per target the chosen compile options and the validation figures behind them."""
    p = _dir(name) / "options.json"
    if not p.exists():
        raise ModelLoadError(
            f"model {name!r} has no options.json",
            parameter="options",
            expected="models/<name>/options.json (python -m neurocompile.models.choose_options --write)",
        )
    return json.loads(p.read_text())


def load_test_set(name: str, n: int | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``({input name: (batch, time, *shape)}, labels)`` of the bundled test set (first ``n``)."""
    with np.load(_dir(name) / "test.npz") as f:
        labels = np.asarray(f["labels"])
        inputs = {k: np.asarray(f[k], dtype=np.float64) for k in f.files if k != "labels"}
    if n is not None:
        inputs = {k: v[:n] for k, v in inputs.items()}
        labels = labels[:n]
    return inputs, labels


def reference_semantics(name: str) -> dict[str, Any]:
    """Keyword arguments for :func:`neurocompile.simulate` that reproduce the framework model."""
    return dict(load_card(name)["simulate"])


def predict(outputs: np.ndarray) -> np.ndarray:
    """Class per sample: argmax of the Output spike counts summed over time (ties: lowest index)."""
    counts = np.asarray(outputs).sum(axis=1)
    return counts.reshape(counts.shape[0], -1).argmax(axis=1)


def reference_accuracy(name: str, n: int | None = None) -> float:
    """Accuracy of neurocompile's float reference on the bundled ``model.nir`` and test set."""
    import neurocompile as nc

    graph = nc.load(model_path(name))
    inputs, labels = load_test_set(name, n)
    res = nc.simulate(graph, inputs, **reference_semantics(name))
    out = res.outputs[graph.outputs[0]]
    return float((predict(out) == labels).mean())
