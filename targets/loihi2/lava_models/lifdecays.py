"""``LIFDecays``: Lava's fixed-point LIF with one ``du`` and one ``dv`` per neuron (our own process).

Lava 0.10.0's ``LIF`` declares ``du`` and ``dv`` as ``Var(shape=(1,))``: one decay per
population. A trained layer with per-neuron time constants (snnTorch ``learn_beta``, rockpool,
norse) would need one process per distinct decay. This process is ``LIF`` with ``du`` and ``dv``
declared per neuron (``Var(shape=shape)``); its model is Lava's own fixed-point LIF: it
inherits ``AbstractPyLifModelFixed`` (``subthr_dynamics``, ``run_spk`` and the reset unchanged:
``u * (4096 - (du + 1)) >> 12`` and ``v * (4096 - dv) >> 12`` round toward zero, now
elementwise) and repeats ``PyLifModelBitAcc``'s threshold (``v > vth << 6``; Lava forbids
subclassing a model that already implements a process), with ``du``/``dv`` typed as uint16
arrays of precision 12 exactly as the stock scalars are. So a population of LIFDecays computes
what one stock ``LIF`` per neuron would compute, bit for bit.

Imported only in the Lava interpreter (module-level Lava imports); the emulator implements the
same arithmetic (``targets/loihi2/emulator/engine.py`` reads per-neuron decay factors).
"""

from __future__ import annotations

import typing as ty

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.lif.models import AbstractPyLifModelFixed


class LIFDecays(AbstractProcess):
    """Lava's ``LIF`` (same ports and Vars) with ``du``/``dv`` of shape ``shape``."""

    def __init__(
        self,
        *,
        shape: ty.Tuple[int, ...],
        du: np.ndarray,
        dv: np.ndarray,
        vth: int,
        bias_mant: np.ndarray,
        bias_exp: np.ndarray,
        u: np.ndarray,
        v: np.ndarray,
        name: str | None = None,
    ) -> None:
        super().__init__(shape=shape, name=name)
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.u = Var(shape=shape, init=u)
        self.v = Var(shape=shape, init=v)
        self.du = Var(shape=shape, init=np.broadcast_to(du, shape).copy())
        self.dv = Var(shape=shape, init=np.broadcast_to(dv, shape).copy())
        self.bias_exp = Var(shape=shape, init=bias_exp)
        self.bias_mant = Var(shape=shape, init=bias_mant)
        self.vth = Var(shape=(1,), init=vth)


@implements(proc=LIFDecays, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyLIFDecaysModelFixed(AbstractPyLifModelFixed):
    """``PyLifModelBitAcc`` with per-neuron 12-bit ``du``/``dv``."""

    du: np.ndarray = LavaPyType(np.ndarray, np.uint16, precision=12)
    dv: np.ndarray = LavaPyType(np.ndarray, np.uint16, precision=12)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    vth: int = LavaPyType(int, np.int32, precision=17)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.effective_vth = 0

    def scale_threshold(self):
        self.effective_vth = np.left_shift(self.vth, self.vth_shift)
        self.isthrscaled = True

    def spiking_activation(self):
        return self.v > self.effective_vth
