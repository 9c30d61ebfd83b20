"""The bit-exact Loihi 2 emulator: Lava 0.10.0's ``fixed_pt`` integer arithmetic in numba.

``arith`` (the njit helpers every kernel inlines: int32 wrap, decay, the LIF u/v update, the
learning engine's clips and roundings; every constant from ``targets/loihi2/spec.py``),
``plan`` (a Program flattened into the engine's tables), ``engine`` (the event-driven kernel of
Programs without learning), ``learning`` (Programs with ``learning_dense`` / ``lif_3f``: the
per-step reference loop and the fused kernel), ``separable`` (the fast epoch kernel for
learning rules without w/d/t factors) and ``run`` (:func:`run.run_program`, the ``emulator``
backend of ``targets/loihi2/__init__.py``).
"""
