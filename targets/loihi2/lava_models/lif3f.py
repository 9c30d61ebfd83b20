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

The emulator (``targets/loihi2/emulator/learning.py``) implements the same equations. Imported only
in the Lava interpreter (module-level Lava imports).
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.neuron import LearningNeuronModelFixed
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.lif.models import AbstractPyLifModelFixed
from lava.proc.lif.process import LearningLIF


class LIF3F(LearningLIF):
    """LearningLIF with trace parameters ``y1_impulse``, ``y1_decay``, ``y3_impulse``, ``y3_decay``."""

    def __init__(
        self, *, y1_impulse: int = 0, y1_decay: int = 0, y3_impulse: int = 0, y3_decay: int = 0, **kwargs
    ) -> None:
        super().__init__(
            y1_impulse=int(y1_impulse),
            y1_decay=int(y1_decay),
            y3_impulse=int(y3_impulse),
            y3_decay=int(y3_decay),
            **kwargs,
        )


@implements(proc=LIF3F, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyLIF3FModelFixed(LearningNeuronModelFixed, AbstractPyLifModelFixed):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    vth: int = LavaPyType(int, np.int32, precision=17)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.effective_vth = 0
        self._p = {k: int(proc_params[k]) for k in ("y1_impulse", "y1_decay", "y3_impulse", "y3_decay")}

    def scale_threshold(self):
        self.effective_vth = np.left_shift(self.vth, self.vth_shift)
        self.isthrscaled = True

    def spiking_activation(self):
        return self.v > self.effective_vth

    def run_spk(self) -> None:
        super().run_spk()  # the bit-accurate LIF step: recv a_in, update, send s_out
        s = np.asarray(self.s_out_buff).astype(np.int64)
        r = np.asarray(self.a_third_factor_in.recv()).astype(np.int64)
        p = self._p
        y1 = np.minimum(((self.y1.astype(np.int64) * p["y1_decay"]) >> 12) + p["y1_impulse"] * s, 127)
        y3 = np.minimum(((self.y3.astype(np.int64) * p["y3_decay"]) >> 12) + p["y3_impulse"] * s, 127)
        y2 = np.clip(r, 0, 127)
        self.y1[:] = y1
        self.y2[:] = y2
        self.y3[:] = y3
        self.s_out_bap.send(s.astype(bool))
        self.s_out_y1.send(self.y1)
        self.s_out_y2.send(self.y2)
        self.s_out_y3.send(self.y3)
