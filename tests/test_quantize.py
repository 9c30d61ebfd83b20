"""Quantization helpers against their definitions (brute force over all exponents)."""

from __future__ import annotations

import numpy as np
import pytest

from neurocompile.quantize import choose_shift, error_stats, mant_exp


@pytest.mark.parametrize("seed", range(20))
def test_choose_shift_is_the_smallest_fitting_exponent(seed):
    rng = np.random.default_rng(seed)
    m = float(10 ** rng.uniform(-4, 6))
    e = choose_shift(m, 255, -8, 8)
    fits = [k for k in range(-8, 9) if m / 2.0**k <= 255]
    assert e == (min(fits) if fits else 8), f"seed {seed}, max {m}"


def test_choose_shift_edges():
    assert choose_shift(0.0, 255, -8, 8) == -8
    assert choose_shift(255.0, 255, -8, 8) == 0 and choose_shift(256.0, 255, -8, 8) == 1


@pytest.mark.parametrize("seed", range(10))
def test_mant_exp_reconstructs_within_half_lsb(seed):
    v = np.random.default_rng(seed).normal(0, 10 ** (seed % 6), 200)
    mant, exp, clipped = mant_exp(v, -4096, 4095, 0, 7)
    assert np.all((mant >= -4096) & (mant <= 4095)) and np.all((exp >= 0) & (exp <= 7))
    ok = ~clipped
    assert np.all(np.abs(mant[ok] * 2.0 ** exp[ok] - v[ok]) <= 2.0 ** exp[ok] / 2 + 1e-9), f"seed {seed}"
    assert np.all(np.abs(v[clipped]) > 4095.5 * 2**7)


def test_error_stats():
    s = error_stats(
        np.array([1.0, 0.2, 0.0, -2.0]), np.array([1.0, 0.0, 0.0, -3.0]), np.array([0, 0, 0, 1], bool)
    )
    assert s.fraction_zeroed == 0.25 and s.fraction_clipped == 0.25
    assert s.rms_relative_error == pytest.approx(np.sqrt(0.04 + 1.0) / np.sqrt(1 + 0.04 + 4))
