"""``LIF3F``: a fixed-point LIF that feeds three-factor learning (our own ProcessModel).

Lava 0.10.0's stock ``LearningLIF`` fixed model never sends its bAP or y traces, so a
``LearningDense`` with a ``Loihi3FLearningRule`` wired to it deadlocks (docs/reference/loihi2.md
§1.3). This process has the same ports; its model runs the bit-accurate LIF step unchanged and
then, with s the spike of this step (0/1) and r the payload received on
``a_third_factor_in`` this step (0 when unconnected):

    y1 <- min(((y1 * y1_decay) >> 12) + y1_impulse * s, 127)
    y3 <- min(((y3 * y3_decay) >> 12) + y3_impulse * s, 127)
    y2 <- clip(r, 0, 127)
    send s_out_bap = s, s_out_y1 = y1, s_out_y2 = y2, s_out_y3 = y3

Learning signals (``targets/loihi2/signals.py``, shared with the emulator): with ``psi_height`` > 0
y1 is the pseudo-derivative of v (before the reset), with ``signal_mode`` 1 y3 is the negative part
of a signed third factor r, and with ``error_out`` 1 the neuron sends ``y2 - y3`` on ``s_out_err``
(graded, into feedback Dense projections whose a_out feeds other lif_3f's ``a_third_factor_in``).
The trace equations above are :func:`~neurocompile.targets.loihi2.signals.lif3f_traces`.
Imported only in the Lava interpreter (module-level Lava imports).
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.neuron import LearningNeuronModelFixed
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import OutPort
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.lif.models import AbstractPyLifModelFixed
from lava.proc.lif.process import LearningLIF

from ..signals import SIGNAL_FIELDS, lif3f_traces


class LIF3F(LearningLIF):
    """LearningLIF with trace parameters ``y1_impulse``, ``y1_decay``, ``y3_impulse``, ``y3_decay``
    and the learning-signal fields ``psi_height``, ``psi_shift``, ``signal_mode``, ``error_out``,
    ``signal_shift``, ``signal_lsb``;
    port ``s_out_err`` sends the error ``y2 - y3`` (graded) when ``error_out`` is 1."""

    def __init__(
        self,
        *,
        y1_impulse: int = 0,
        y1_decay: int = 0,
        y3_impulse: int = 0,
        y3_decay: int = 0,
        psi_height: int = 0,
        psi_shift: int = 0,
        signal_mode: int = 0,
        error_out: int = 0,
        signal_shift: int = 0,
        signal_lsb: int = 0,
        **kwargs,
    ) -> None:
        super().__init__(
            y1_impulse=int(y1_impulse),
            y1_decay=int(y1_decay),
            y3_impulse=int(y3_impulse),
            y3_decay=int(y3_decay),
            psi_height=int(psi_height),
            psi_shift=int(psi_shift),
            signal_mode=int(signal_mode),
            error_out=int(error_out),
            signal_shift=int(signal_shift),
            signal_lsb=int(signal_lsb),
            **kwargs,
        )
        self.s_out_err = OutPort(shape=self.s_out.shape)


@implements(proc=LIF3F, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyLIF3FModelFixed(LearningNeuronModelFixed, AbstractPyLifModelFixed):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    s_out_err: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=8)
    vth: int = LavaPyType(int, np.int32, precision=17)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.effective_vth = 0
        keys = ("y1_impulse", "y1_decay", "y3_impulse", "y3_decay") + tuple(SIGNAL_FIELDS)
        self._p = {k: int(proc_params.get(k, 0)) for k in keys}
        self._v_pre = None

    def scale_threshold(self):
        self.effective_vth = np.left_shift(self.vth, self.vth_shift)
        self.isthrscaled = True

    def spiking_activation(self):
        return self.v > self.effective_vth

    def reset_voltage(self, spike_vector: np.ndarray):
        self._v_pre = np.asarray(self.v).astype(np.int64).copy()  # v before the reset (pseudo-derivative)
        super().reset_voltage(spike_vector)

    def run_spk(self) -> None:
        super().run_spk()  # the bit-accurate LIF step: recv a_in, update, send s_out
        s = np.asarray(self.s_out_buff).astype(np.int64)
        r = np.asarray(self.a_third_factor_in.recv()).astype(np.int64)
        y = np.stack([np.asarray(a).astype(np.int64) for a in (self.y1, self.y2, self.y3)])
        theta = int(np.left_shift(int(self.vth), int(self.vth_shift)))
        ynew, err = lif3f_traces(y, s, self._v_pre, theta, r, self._p, int(self.time_step))
        self.y1[:] = ynew[0]
        self.y2[:] = ynew[1]
        self.y3[:] = ynew[2]
        if err is not None:
            self.s_out_err.send(err.astype(np.int32))
        self.s_out_bap.send(s.astype(bool))
        self.s_out_y1.send(self.y1)
        self.s_out_y2.send(self.y2)
        self.s_out_y3.send(self.y3)
