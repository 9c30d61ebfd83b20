"""scikit-learn's bundled 8x8 digits (no download), split and encoded the same way by every zoo model.

``split()`` -> (x_train, y_train, x_test, y_test) with pixels scaled to [0, 1] (the file stores
0..16), images (N, 8, 8), a fixed permutation (seed ``SPLIT_SEED``) and ``N_TEST`` held-out
samples. Encoders turn images into the ``(batch, time, *shape)`` arrays of the ``.npz``
convention.
"""

from __future__ import annotations

import numpy as np

SPLIT_SEED = 0
N_TEST = 360


def split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float64)
    y = d.target.astype(np.int64)
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    x, y = x[perm], y[perm]
    return x[N_TEST:], y[N_TEST:], x[:N_TEST], y[:N_TEST]


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
