"""sPyNNaker 1!7.4.1 fixed-point port vs the worked values of docs/reference/spinnaker.md §2.1-§2.2
and math."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurocompile.targets.spinnaker import fixed as F
from neurocompile.targets.spinnaker import spec


def _lif(dt, tau_refrac=2.0, tau_m=20.0):
    return F.lif_init(
        v_init=-65, v_rest=-65, cm=1.0, tau_m=tau_m, i_offset=0, v_reset=-65, tau_refrac=tau_refrac, dt_ms=dt
    )


def test_lif_table_of_section_2_2():
    # reference §2.2: exp_TC 31170 at dt=1, tau 20; 32605 at dt=0.1;
    # T_refract 1 (0.1 ms), 2 (2 ms), 20 (dt 0.1)
    assert _lif(1.0)["exp_TC"] == 31170
    assert _lif(0.1)["exp_TC"] == 32605
    assert _lif(1.0, tau_refrac=0.1)["T_refract"] == 1
    assert _lif(1.0)["T_refract"] == 2
    assert _lif(0.1)["T_refract"] == 20
    assert _lif(1.0)["R"] == 20 * 32768  # tau_m / cm = 20 MOhm


@pytest.mark.parametrize("dt,decay,init", [(1.0, 0.8187467, 0.9062665), (0.1, 0.9802105, 0.9894126)])
def test_exp_synapse_table_of_section_2_2(dt, decay, init):
    e = F.exp_syn_init(5.0, dt)
    assert abs(e["decay"] / 2**32 - decay) < 5e-8
    assert abs(e["init"] / 2**32 - init) < 5e-8
    # and the float formulas they approximate: e^{-dt/tau}, (tau/dt)(1 - e^{-dt/tau})
    assert abs(e["decay"] / 2**32 - math.exp(-dt / 5)) < 5e-5
    assert abs(e["init"] / 2**32 - 5 / dt * (1 - math.exp(-dt / 5))) < 1e-3


def test_expk_close_to_exp():
    # floor-based table/series evaluation: within 2 LSB below 1.0, 2e-7 relative above (u32.32 >> 17)
    rng = np.random.default_rng(1)
    for n in list(rng.integers(-340000, 100000, 3000)) + [-32768, 0, 32768, -1, 1]:
        want = math.exp(int(n) / 32768) * 32768
        got = F.expk(int(n))
        assert abs(got - want) <= 2.0 + 2e-7 * want, f"n={n}"


def test_expk_exact_at_integers_and_saturation():
    for z in range(-10, 2):
        assert (
            F.expk(z * 32768) == round(math.exp(z) * 2**32) >> 17
            or abs(F.expk(z * 32768) - math.exp(z) * 32768) < 1
        )
    assert F.expk(0) == 32768 and F.expulr(0) == 0  # e^0 = 1.0 does not fit u0.32 (wraps to 0)
    assert F.expk(F.EXP_ARG_MAX + 1) == spec.INT32_MAX
    assert F.expk(F.EXP_ARG_MIN - 1) == 0


def test_s1615_rounds_the_decimal_string_half_even():
    assert F.s1615(1.0) == 32768
    assert F.s1615(-65.0) == -65 * 32768
    assert F.s1615(0.1) == 3277  # 3276.8 -> 3277
    assert F.s1615(1 / 65536) == 0  # exactly 0.5 LSB -> even (0)
    assert F.s1615(3 / 65536) == 2  # 1.5 LSB -> 2
    with pytest.raises(OverflowError):
        F.s1615(70000.0)


def test_truncating_arithmetic():
    assert F.mul_k(-1, 1) == -1  # floor(-1/32768) = -1, not 0 (no rounding)
    assert F.mul_k(3 * 32768, 32768 // 2) == 3 * 16384
    assert F.decay_s1615(-10, 2**31) == -5
    assert F.decay_s1615(-1, 2**31) == -1  # floor
    assert F.kdivk(32768, 3 * 32768) == 10922  # floor(32768/3)
    assert F.kdivui(32768, 3) == 10922
    assert F.wrap32(2**31) == -(2**31)
