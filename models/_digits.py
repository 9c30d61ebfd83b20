"""scikit-learn's bundled 8x8 digits (no download), split and encoded the same way by every zoo model.

``split()`` -> (x_train, y_train, x_test, y_test) with pixels scaled to [0, 1] (the file stores
0..16), images (N, 8, 8), a fixed permutation (seed ``SPLIT_SEED``) and ``N_TEST`` held-out
samples. Encoders turn images into the ``(batch, time, *shape)`` arrays of the ``.npz``
convention.

``validation_split()`` -> (x_fit, y_fit, x_val, y_val) carves a validation set out of the training
part of ``split()`` by a fixed rule: its last ``N_VALIDATION`` samples (same permutation, no
second seed). It is disjoint from the test set and from the calibration images of
``models/accuracy.py`` (the first ``CALIBRATION_N`` of ``x_fit``). Compile options are chosen on
it (``models/choose_options.py``); the test set is for the accuracy table only.
``training_data(hold_out_validation)`` is what a zoo ``train.py`` fits and evaluates: the whole
training part and the test set (the bundled model), or ``x_fit`` and the validation split (the
model's hold-out twin, ``train.py --hold-out-validation``).
"""

from __future__ import annotations

import numpy as np

SPLIT_SEED = 0
N_TEST = 360
#: samples at the END of the training part held out as the validation split.
N_VALIDATION = 360


def split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float64)
    y = d.target.astype(np.int64)
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    x, y = x[perm], y[perm]
    return x[N_TEST:], y[N_TEST:], x[:N_TEST], y[:N_TEST]


def validation_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The training part of :func:`split` cut in two: (x_fit, y_fit, x_val, y_val), the last
    ``N_VALIDATION`` training samples being the validation set. The test set is not touched."""
    xtr, ytr, _, _ = split()
    k = len(ytr) - N_VALIDATION
    return xtr[:k], ytr[:k], xtr[k:], ytr[k:]


def training_data(hold_out_validation: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What a zoo training script fits and evaluates: (x_train, y_train, x_eval, y_eval).

    Default: the whole training part and the test set (the bundled models). With
    ``hold_out_validation``: the training part without the validation split, evaluated on the
    validation split (the model's hold-out twin in ``models/<name>/holdout/``, on which
    ``models/choose_options.py`` chooses compile options); the test set is not touched."""
    return validation_split() if hold_out_validation else split()


def data_note(hold_out_validation: bool, n_train: int) -> str:
    """The card's ``train.data`` line."""
    if hold_out_validation:
        return (
            f"{n_train} images: the training part without the validation split; accuracies on the "
            f"{N_VALIDATION} validation images (hold-out twin, models/_digits.py training_data)"
        )
    return f"{n_train} images: the whole training part; accuracies on the {N_TEST} test images"


def bernoulli_rate(images: np.ndarray, steps: int, max_rate: float, seed: int) -> np.ndarray:
    """Rate code: a spike with probability ``pixel * max_rate`` at every step, (N, steps, *image)."""
    rng = np.random.default_rng(seed)
    p = np.clip(images * max_rate, 0.0, 1.0)
    return (rng.random((images.shape[0], steps) + images.shape[1:]) < p[:, None]).astype(np.float32)


def rows_spikes(images: np.ndarray, repeat: int, blank: int, seed: int) -> np.ndarray:
    """Row-by-row presentation: row r is shown for ``repeat`` steps as Bernoulli spikes with
    p = pixel, then ``blank`` silent steps; (N, 8 * repeat + blank, 8)."""
    rng = np.random.default_rng(seed)
    p = np.repeat(images, repeat, axis=1)  # (N, 8*repeat, 8)
    s = (rng.random(p.shape) < p).astype(np.float32)
    return np.concatenate([s, np.zeros((images.shape[0], blank, images.shape[2]), np.float32)], axis=1)


def regular_rate(images: np.ndarray, steps: int) -> np.ndarray:
    """Deterministic rate code: the spikes an integrate-and-fire encoder with input ``pixel`` per
    step, threshold 1 and a start at 0.5 emits, i.e. ``floor((t+1) p + 1/2) - floor(t p + 1/2)``
    at step t (``round(steps * p)`` spikes, evenly spaced); (N, steps, *image), no randomness.
    Pixels are multiples of 1/16, so the floors are exact in float64."""
    p = np.clip(images, 0.0, 1.0)[:, None]
    t = np.arange(steps + 1, dtype=np.float64).reshape((1, steps + 1) + (1,) * (images.ndim - 1))
    c = np.floor(t * p + 0.5)
    return (c[:, 1:] - c[:, :-1]).astype(np.float32)


def rows_regular(images: np.ndarray, repeat: int, blank: int) -> np.ndarray:
    """Deterministic row-by-row presentation: row r is shown for ``repeat`` steps with the
    regular rate code of :func:`regular_rate` (pixel p -> ``round(repeat p)`` evenly spaced
    spikes), then ``blank`` silent steps; (N, 8 * repeat + blank, 8)."""
    n, rows, cols = images.shape
    s = regular_rate(images.reshape(n * rows, cols), repeat)  # (n*rows, repeat, cols)
    s = s.reshape(n, rows * repeat, cols)
    return np.concatenate([s, np.zeros((n, blank, cols), np.float32)], axis=1)


def shifted(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Training augmentation: each (N, 8, 8) image moved by a random (dy, dx) in {-1, 0, 1}^2,
    zero filled."""
    out = np.zeros_like(images)
    pad = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    d = rng.integers(-1, 2, size=(len(images), 2))
    for k, (dy, dx) in enumerate(d):
        out[k] = pad[k, 1 + dy : 9 + dy, 1 + dx : 9 + dx]
    return out
