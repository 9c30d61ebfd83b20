"""Intel Loihi 2, through Lava (lava-nc 0.10.0 ``fixed_pt`` models) and a bit-exact emulator.

The chip whole, in one folder: ``spec`` (limits and bit widths), ``rules`` (what it cannot
express), ``lower`` (netlist -> Program, in passes), ``partition`` (cores and chips), ``schema``
(a Program's fields), ``emulator/`` (bit-exact kernels), the Lava runner and bundle writer, the
report sections. :data:`TARGET` is what the core sees; its hooks import lazily.
"""

from neurocompile.target import Target

_P = "neurocompile.targets.loihi2"

TARGET = Target(
    name="loihi2",
    description="Intel Loihi 2 through Lava (lava-nc 0.10.0 fixed_pt), with a bit-exact emulator",
    lower=f"{_P}.lower:lower",
    rules=f"{_P}.rules:RULES",
    place=f"{_P}.partition:place",
    backends={"emulator": f"{_P}.emulator.run:run_program", "lava": f"{_P}.run:run_lava"},
    emit=f"{_P}.emit:emit_bundle",
    report_section=f"{_P}.partition:report_section",
    learning_section=f"{_P}.report:learning_section",
    effective_weights=f"{_P}.report:effective_weights",
    apply_learned=f"{_P}.learned:apply_learned",
    validate=f"{_P}.schema:validate_program",
    to_model_units=f"{_P}.units:to_model_units",
    costs=f"{_P}.energy:COSTS",
    demo={
        "lava_available": f"{_P}.run:lava_available",
        "chip": "Loihi 2",
        "fidelity": "bit-exact vs lava-nc 0.10.0 fixed_pt",
        "quantization": "{num_weight_bits}-bit x 2^{weight_exp} {sign_mode_name}",
        "reset_fallback": {"subtract": "zero"},
        "subset": {
            "backend": "lava",
            "label": "Lava",
            "fidelity": "bit-exact vs lava-nc 0.10.0 fixed_pt",
            "available": f"{_P}.run:lava_available",
            "interpreter": f"{_P}.run:lava_python",
            "hint": "`make venvs` builds it in ~2 min",
        },
    },
)

__all__ = ["TARGET"]
