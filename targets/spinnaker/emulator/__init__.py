"""The bit-exact SpiNNaker emulator: sPyNNaker 1!7.4.1's integer arithmetic in numba.

``arith`` (the njit helpers every kernel inlines: int32/int16 wraps, the IF_curr_exp /
IF_curr_delta neuron tick, the ring buffer), ``engine`` (the static network plan and kernels),
``stdp`` (STDP projections), ``reference`` (the simple kernels the event-driven ones replaced, for
differential tests and benchmarks) and ``run`` (:func:`run.run_program`, the ``emulator`` backend of
``targets/spinnaker/__init__.py``). The host-side s16.15 functions run at load time are
``targets/spinnaker/fixed.py``; every constant comes from ``targets/spinnaker/spec.py``.
"""
