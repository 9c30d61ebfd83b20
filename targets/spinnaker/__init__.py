"""SpiNNaker 1, through PyNN / sPyNNaker 1!7.4.1, with a bit-exact emulator.

The chip whole, in one folder: ``spec`` (s16.15 limits, ring buffers), ``rules`` (what it
cannot express), ``lower`` (netlist -> Program), ``partition`` (cores and chips), ``schema``
(a Program's fields), ``emulator/`` (bit-exact kernels), ``board`` (virtual-board mapping),
the PyNN bundle writer, the report sections. :data:`TARGET` is what the core sees; its hooks
import lazily.
"""

from neurocompile.target import Target

_P = "neurocompile.targets.spinnaker"

TARGET = Target(
    name="spinnaker",
    description="SpiNNaker 1 through PyNN / sPyNNaker 1!7.4.1, with a bit-exact emulator",
    lower=f"{_P}.lower:lower",
    rules=f"{_P}.rules:RULES",
    place=f"{_P}.partition:place",
    backends={"emulator": f"{_P}.emulator.run:run_program", "spinnaker": f"{_P}.board:run_board"},
    emit=f"{_P}.emit:emit_bundle",
    learning_section=f"{_P}.report:learning_section",
    effective_weights=f"{_P}.report:effective_weights",
    apply_learned=f"{_P}.learned:apply_learned",
    validate=f"{_P}.schema:validate_program",
    to_model_units=f"{_P}.units:to_model_units",
    costs=f"{_P}.energy:COSTS",
    demo={
        "chip": "SpiNNaker",
        "fidelity": "bit-exact vs sPyNNaker 1!7.4.1 ARM binaries",
        "reset_fallback": {"subtract": "zero"},  # IF_curr_exp sets V to v_reset: compile refuses subtract
        "quantization": "w16, ring-buffer shift {ring_buffer_shift}",
        "cores_per_chip": f"{_P}.spec:CORES_PER_CHIP",
        "system_cores": "monitor, extra monitor, gatherer",
        "placement": "placement estimate (virtual board)",
    },
)

__all__ = ["TARGET"]
