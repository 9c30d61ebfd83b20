"""Public builder API for hand-written Loihi 2 Programs.

Example::

    from neurocompile.targets.loihi2.builder import Loihi2Builder
    b = Loihi2Builder()
    b.input("x", 10)                                   # binary spikes; data key "x"
    b.lif("h", 20, du=4095, dv=163, vth=25)
    b.dense("x", "h", W)                               # W: int (20, 10); sign mode from W
    prog = b.build(outputs={"y": ("h", "spikes")})     # a validated Program

Scalars broadcast to per-neuron arrays (``bias_mant``, ``bias_exp``, ``u_init``, ``v_init``) and
to per-synapse arrays (``delays``). ``sign_mode=None`` is decided as Lava's
``determine_sign_mode`` would (all >= 0 EXCITATORY, all <= 0 INHIBITORY, else MIXED) and
stored explicitly. Weights must lie in their sign mode's 8-bit range (MIXED -256..255, EXC
0..255, INH -255..0); the LSB truncation by ``num_weight_bits`` (MIXED drops one more LSB) is
applied by the backends, as Lava does. Every value is checked by
:func:`~neurocompile.targets.loihi2.schema.validate_program` at :meth:`Loihi2Builder.build`;
the immediate checks in each method name the population/projection, field and limit.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from neurocompile.errors import GraphError, ParameterError
from neurocompile.program import Population, Program, Projection, output_specs
from neurocompile.schema import unique_projection_name

from . import spec
from .schema import validate_population, validate_program, validate_projection
from .weights import determine_sign_mode


def _shape(size: int | tuple[int, ...], name: str) -> tuple[int, ...]:
    shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    if not shape or any(not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 1 for s in shape):
        raise ParameterError(
            f"population shape {size!r} is not valid",
            node=name,
            parameter="shape",
            expected="a positive integer or a tuple of them",
        )
    return tuple(int(s) for s in shape)


def _int_array(value: Any, shape: tuple[int, ...], node: str, field: str) -> np.ndarray:
    """Broadcast a scalar or array to ``shape`` as int64, refusing non-integer values."""
    arr = np.asarray(value)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.number):
            raise ParameterError(
                f"{field} must be integers, got dtype {arr.dtype}",
                node=node,
                parameter=field,
                expected="integers",
            )
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ParameterError(
                f"{field} must be integer-valued",
                node=node,
                parameter=field,
                expected="integers (Loihi 2 parameters are integers; quantize first)",
            )
        arr = arr.astype(np.int64)
    try:
        return np.array(np.broadcast_to(arr.astype(np.int64, copy=False), shape))  # a writable copy
    except ValueError:
        raise ParameterError(
            f"{field} has shape {arr.shape}",
            node=node,
            parameter=field,
            expected=f"a scalar or shape {shape}",
        ) from None


def _int_scalar(value: Any, node: str, field: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ParameterError(
            f"{field} must be an integer, got {value!r}", node=node, parameter=field, expected="an integer"
        )
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    raise ParameterError(
        f"{field} must be an integer, got {value!r}", node=node, parameter=field, expected="an integer"
    )


class Loihi2Builder:
    """Accumulates populations and projections, then :meth:`build` returns a validated Program."""

    def __init__(self) -> None:
        self._pops: dict[str, Population] = {}
        self._projs: dict[str, Projection] = {}
        self._inputs: dict[str, str] = {}
        self._learning: dict[str, Any] = {}

    # ------------------------------------------------------------------ populations
    def _add_pop(self, pop: Population) -> Population:
        if pop.name in self._pops:
            raise GraphError(
                "a population of this name exists already",
                node=pop.name,
                parameter="name",
                expected="a unique population name",
            )
        validate_population(pop)
        self._pops[pop.name] = pop
        return pop

    def input(
        self, name: str, size: int | tuple[int, ...], *, num_message_bits: int = 0, key: str | None = None
    ) -> Population:
        """A spike source (Lava ``RingBuffer``) fed from the run data under ``key`` (default:
        ``name``). ``num_message_bits=0``: binary spikes (data 0/1); > 0: graded integer payloads."""
        pop = Population(
            name,
            "input",
            _shape(size, name),
            {"num_message_bits": _int_scalar(num_message_bits, name, "num_message_bits")},
        )
        key = name if key is None else str(key)
        if name in self._pops:
            raise GraphError(
                "a population of this name exists already",
                node=name,
                parameter="name",
                expected="a unique population name",
            )
        if key in self._inputs:
            raise GraphError(
                f"data key '{key}' already feeds population '{self._inputs[key]}'",
                node=name,
                parameter="key",
                expected="a unique input key",
            )
        self._add_pop(pop)
        self._inputs[key] = name
        return pop

    def _lif_params(
        self, name, shape, du, dv, vth, bias_mant, bias_exp, u_init, v_init, per_neuron: bool = False
    ) -> dict:
        n = int(np.prod(shape))

        def decay(value, field):
            # per-neuron decays (kind lif only): an array of one value per neuron, kept as given
            if per_neuron and np.ndim(value) > 0:
                return _int_array(np.reshape(value, -1), (n,), name, field)
            return _int_scalar(value, name, field)

        return {
            "du": decay(du, "du"),
            "dv": decay(dv, "dv"),
            "vth": _int_scalar(vth, name, "vth"),
            "bias_mant": _int_array(
                np.reshape(bias_mant, -1) if np.ndim(bias_mant) > 1 else bias_mant, (n,), name, "bias_mant"
            ),
            "bias_exp": _int_array(
                np.reshape(bias_exp, -1) if np.ndim(bias_exp) > 1 else bias_exp, (n,), name, "bias_exp"
            ),
            "u_init": _int_array(
                np.reshape(u_init, -1) if np.ndim(u_init) > 1 else u_init, (n,), name, "u_init"
            ),
            "v_init": _int_array(
                np.reshape(v_init, -1) if np.ndim(v_init) > 1 else v_init, (n,), name, "v_init"
            ),
        }

    def lif(
        self,
        name: str,
        size: int | tuple[int, ...],
        *,
        du: int,
        dv: int,
        vth: int,
        bias_mant: Any = 0,
        bias_exp: Any = 0,
        u_init: Any = 0,
        v_init: Any = 0,
    ) -> Population:
        """A Lava ``LIF`` population (fixed point: du, dv 0..4095, vth 0..2^17-1, bias = mant << exp).

        ``du``/``dv`` may be arrays of one decay per neuron (run on Lava by our ``LIFDecays``
        process, ``lava_models/lifdecays.py``: Lava's own fixed-point update with per-neuron
        decays); a scalar is one decay for every neuron (Lava's stock ``LIF``)."""
        shape = _shape(size, name)
        return self._add_pop(
            Population(
                name,
                "lif",
                shape,
                self._lif_params(
                    name, shape, du, dv, vth, bias_mant, bias_exp, u_init, v_init, per_neuron=True
                ),
            )
        )

    def lif_reset(
        self,
        name: str,
        size: int | tuple[int, ...],
        *,
        du: int,
        dv: int,
        vth: int,
        reset_interval: int,
        reset_offset: int = 0,
        bias_mant: Any = 0,
        bias_exp: Any = 0,
        u_init: Any = 0,
        v_init: Any = 0,
    ) -> Population:
        """A Lava ``LIFReset`` population: u and v are zeroed at the start of every step with
        ``time_step % reset_interval == reset_offset % reset_interval`` (first step is 1)."""
        shape = _shape(size, name)
        params = self._lif_params(name, shape, du, dv, vth, bias_mant, bias_exp, u_init, v_init)
        params["reset_interval"] = _int_scalar(reset_interval, name, "reset_interval")
        params["reset_offset"] = _int_scalar(reset_offset, name, "reset_offset")
        return self._add_pop(Population(name, "lif_reset", shape, params))

    # ------------------------------------------------------------------ projections
    def _name(self, pre: str, post: str, name: str | None) -> str:
        return unique_projection_name(self._projs, f"{pre}->{post}", name)

    def _ends(self, pre: str, post: str, name: str) -> tuple[Population, Population]:
        for end, role in ((pre, "pre"), (post, "post")):
            if end not in self._pops:
                raise GraphError(
                    f"projection {role} population '{end}' does not exist (add it first)",
                    node=name,
                    parameter=role,
                    expected="one of " + ", ".join(sorted(self._pops)),
                )
        return self._pops[pre], self._pops[post]

    def _common(self, name, weights, weight_exp, num_weight_bits, sign_mode, num_message_bits) -> dict:
        if sign_mode is None:
            sign_mode = determine_sign_mode(weights)
        elif hasattr(sign_mode, "value"):  # a lava SignMode enum
            sign_mode = sign_mode.value
        return {
            "weight_exp": _int_scalar(weight_exp, name, "weight_exp"),
            "num_weight_bits": _int_scalar(num_weight_bits, name, "num_weight_bits"),
            "sign_mode": _int_scalar(sign_mode, name, "sign_mode"),
            "num_message_bits": _int_scalar(num_message_bits, name, "num_message_bits"),
        }

    def dense(
        self,
        pre: str,
        post: str,
        weights: Any,
        *,
        weight_exp: int = 0,
        num_weight_bits: int = 8,
        sign_mode: int | None = None,
        num_message_bits: int = 0,
        delays: Any = None,
        name: str | None = None,
    ) -> Projection:
        """A Lava ``Dense`` (``delays=None``) or ``DelayDense`` (scalar or (n_post, n_pre) delays
        0..62) projection. ``weights`` is (n_post, n_pre) integers; a scalar broadcasts."""
        name = self._name(pre, post, name)
        a, b = self._ends(pre, post, name)
        w = _int_array(weights, (b.size, a.size), name, "weights")
        params = self._common(name, w, weight_exp, num_weight_bits, sign_mode, num_message_bits)
        params["weights"] = w
        kind = "dense"
        if delays is not None:
            kind = "delay_dense"
            params["delays"] = _int_array(delays, (b.size, a.size), name, "delays")
        proj = Projection(name, pre, post, kind, params)
        validate_projection(proj, self._partial())
        self._projs[name] = proj
        return proj

    def sparse(
        self,
        pre: str,
        post: str,
        weights: Any,
        *,
        pre_index: Any = None,
        post_index: Any = None,
        weight_exp: int = 0,
        num_weight_bits: int = 8,
        sign_mode: int | None = None,
        num_message_bits: int = 0,
        delays: Any = None,
        name: str | None = None,
    ) -> Projection:
        """A Lava ``Sparse`` (``delays=None``) or ``DelaySparse`` projection.

        Either ``weights`` is 1-D with ``pre_index``/``post_index`` of the same length (COO, one
        entry per synapse), or ``weights`` is a (n_post, n_pre) array / scipy sparse matrix whose
        nonzero entries (stored entries for scipy) become the synapses; ``delays`` is then a
        scalar, a 1-D array per synapse, or a matrix of the same shape.
        """
        name = self._name(pre, post, name)
        a, b = self._ends(pre, post, name)
        if pre_index is None and post_index is None:
            if hasattr(weights, "tocoo"):
                coo = weights.tocoo()
                if coo.shape != (b.size, a.size):
                    raise ParameterError(
                        f"sparse weight matrix has shape {coo.shape}",
                        node=name,
                        parameter="weights",
                        expected=f"({b.size}, {a.size})",
                    )
                post_i, pre_i, vals = coo.row, coo.col, coo.data
                order = np.lexsort((pre_i, post_i))
                post_i, pre_i, vals = post_i[order], pre_i[order], vals[order]
                if delays is not None and np.ndim(delays) == 2:
                    d = delays.tocsr() if hasattr(delays, "tocsr") else np.asarray(delays)
                    delays = np.asarray(d[post_i, pre_i]).reshape(-1)
            else:
                wm = _int_array(weights, (b.size, a.size), name, "weights")
                post_i, pre_i = np.nonzero(wm)
                vals = wm[post_i, pre_i]
                if delays is not None and np.ndim(delays) == 2:
                    delays = _int_array(delays, (b.size, a.size), name, "delays")[post_i, pre_i]
        elif pre_index is None or post_index is None:
            raise ParameterError(
                "give both pre_index and post_index (COO) or neither",
                node=name,
                parameter="pre_index" if pre_index is None else "post_index",
                expected="two 1-D index arrays of the same length as weights",
            )
        else:
            pre_i, post_i, vals = np.asarray(pre_index), np.asarray(post_index), np.asarray(weights)
            if vals.ndim == 0:
                vals = np.full(np.shape(pre_i), vals)
        m = int(np.size(vals))
        pre_i = _int_array(np.reshape(pre_i, -1), (m,), name, "pre")
        post_i = _int_array(np.reshape(post_i, -1), (m,), name, "post")
        w = _int_array(np.reshape(vals, -1), (m,), name, "weights")
        params = self._common(name, w, weight_exp, num_weight_bits, sign_mode, num_message_bits)
        params.update({"pre": pre_i, "post": post_i, "weights": w})
        kind = "sparse"
        if delays is not None:
            kind = "delay_sparse"
            params["delays"] = _int_array(
                np.reshape(delays, -1) if np.ndim(delays) else delays, (m,), name, "delays"
            )
        proj = Projection(name, pre, post, kind, params)
        validate_projection(proj, self._partial())
        self._projs[name] = proj
        return proj

    # ------------------------------------------------------------------ learning (H9)
    def lif_3f(
        self,
        name: str,
        size: int | tuple[int, ...],
        *,
        du: int,
        dv: int,
        vth: int,
        y1_impulse: int = 0,
        y1_decay: int = 0,
        y3_impulse: int = 0,
        y3_decay: int = 0,
        reward: str = "",
        bias_mant: Any = 0,
        bias_exp: Any = 0,
        u_init: Any = 0,
        v_init: Any = 0,
        rule: Any = None,
        psi_height: int = 0,
        psi_shift: int = 0,
        signal_mode: int = 0,
        error_out: int = 0,
        signal_shift: int = 0,
        signal_lsb: int = 0,
    ) -> Population:
        """A LIF that sends its bAP and traces y1..y3 to learning projections (three-factor
        rules) and reads a reward from the input population ``reward`` (y2). With ``rule`` (an
        IR rule or its :class:`~.learning.RuleMapping`) y1/y3 impulses and decays come from it,
        and for learning-signal rules (``eprop``, ``feedback_alignment``) also ``psi_height``,
        ``psi_shift``, ``signal_mode`` and ``error_out`` (``targets/loihi2/signals.py``).
        ``signal_shift`` k and ``signal_lsb`` l round the third-factor input stochastically (dithered)
        to a multiple of 2^l after dropping k fractional bits: give the feedback projections k more
        fractional bits (``weight_exp`` + k) and take l from :func:`~.learning.exact_signal_lsb` so
        that neither the feedback's nor the rule products' floors bias the learning signal.
        Equations: ``targets/loihi2/learning_validate.py``."""
        from .learning import RuleMapping, map_rule

        if rule is not None:
            m = rule if isinstance(rule, RuleMapping) else map_rule(rule)
            y1_impulse, y1_decay = m.neuron["y1_impulse"], m.neuron["y1_decay"]
            y3_impulse, y3_decay = m.neuron["y3_impulse"], m.neuron["y3_decay"]
            psi_height = m.neuron.get("psi_height", psi_height)
            if "psi_width_q8" in m.neuron:
                from .learning import psi_shift as _psi_shift

                psi_shift = _psi_shift(vth, psi_height, m.neuron["psi_width_q8"])
            signal_mode = m.neuron.get("signal_mode", signal_mode)
            error_out = m.neuron.get("error_out", error_out)
        shape = _shape(size, name)
        params = self._lif_params(name, shape, du, dv, vth, bias_mant, bias_exp, u_init, v_init)
        params.update(
            y1_impulse=_int_scalar(y1_impulse, name, "y1_impulse"),
            y1_decay=_int_scalar(y1_decay, name, "y1_decay"),
            y3_impulse=_int_scalar(y3_impulse, name, "y3_impulse"),
            y3_decay=_int_scalar(y3_decay, name, "y3_decay"),
            reward=str(reward or ""),
        )
        for k, v in (
            ("psi_height", psi_height),
            ("psi_shift", psi_shift),
            ("signal_mode", signal_mode),
            ("error_out", error_out),
            ("signal_shift", signal_shift),
            ("signal_lsb", signal_lsb),
        ):
            if v:
                params[k] = _int_scalar(v, name, k)
        return self._add_pop(Population(name, "lif_3f", shape, params))

    def feedback(
        self,
        pre: str,
        post: str,
        weights: Any,
        *,
        weight_exp: int = 0,
        num_weight_bits: int = 8,
        name: str | None = None,
    ) -> Projection:
        """A feedback projection: fixed (e.g. random) weights from a learning-signal ``lif_3f``
        (``error_out=1``, its errors ``y2 - y3``) into the third-factor input of ``post`` (a
        ``lif_3f``, e.g. with ``signal_mode=1``), summed and shifted by ``weight_exp``, received
        one step later (Lava: a graded ``Dense`` from ``s_out_err`` to ``a_third_factor_in``)."""
        name = self._name(pre, post, name)
        a, b = self._ends(pre, post, name)
        w = _int_array(weights, (b.size, a.size), name, "weights")
        params = self._common(name, w, weight_exp, num_weight_bits, 1, 8)
        params["weights"] = w
        params["feedback"] = 1
        proj = Projection(name, pre, post, "dense", params)
        validate_projection(proj, self._partial())
        self._projs[name] = proj
        return proj

    def learning_dense(
        self,
        pre: str,
        post: str,
        weights: Any,
        rule: Any,
        *,
        rng_seed: int,
        weight_exp: int = 0,
        num_weight_bits: int = 8,
        sign_mode: int | None = None,
        tag_1: Any = None,
        tag_2: Any = None,
        weight_scale: float = 1.0,
        name: str | None = None,
    ) -> Projection:
        """A Lava ``LearningDense`` with a rule: an IR :class:`~neurocompile.learning.LearningRule`
        (mapped by :func:`~.learning.map_rule`), a :class:`~.learning.RuleMapping`, or a dict of
        the raw fields (``dw``, ``dd``, ``dt`` strings, ``x1_impulse`` ... ``y3_tau``,
        ``t_epoch``, ``three_factor``). ``rng_seed`` is mandatory (Lava would draw one from the
        global numpy RNG). The mapping report goes to ``Program.learning[name]``."""
        from .learning import RuleMapping, map_rule

        name = self._name(pre, post, name)
        a, b = self._ends(pre, post, name)
        w = _int_array(weights, (b.size, a.size), name, "weights")
        params = self._common(name, w, weight_exp, num_weight_bits, sign_mode, 0)
        params["weights"] = w
        if isinstance(rule, Mapping):
            fields = dict(rule)
            report = {"lava": {k: fields.get(k, "") for k in ("dw", "dd", "dt")}}
        else:
            m = (
                rule
                if isinstance(rule, RuleMapping)
                else map_rule(rule, weight_scale=weight_scale, sign_mode=params["sign_mode"])
            )
            fields = m.projection_params()
            report = m.as_dict()
        for k in ("dw", "dd", "dt"):
            fields.setdefault(k, "")
        for k in ("x1", "x2", "y1", "y2", "y3"):
            fields.setdefault(f"{k}_impulse", 0.0)
            fields.setdefault(f"{k}_tau", 0.0)
        fields.setdefault("t_epoch", 1)
        fields.setdefault("three_factor", 0)
        params.update(fields)
        params["rng_seed"] = _int_scalar(rng_seed, name, "rng_seed")
        if tag_1 is not None:
            params["tag_1"] = _int_array(tag_1, (b.size, a.size), name, "tag_1")
        if tag_2 is not None:
            params["tag_2"] = _int_array(tag_2, (b.size, a.size), name, "tag_2")
        proj = Projection(name, pre, post, "learning_dense", params)
        validate_projection(proj, self._partial())
        self._projs[name] = proj
        self._learning[name] = report
        return proj

    # ------------------------------------------------------------------ result
    def _partial(self) -> Program:
        return Program(target="loihi2", populations=self._pops, projections=self._projs)

    def build(
        self,
        outputs: Mapping[str, Any] | None = None,
        *,
        semantics: Mapping[str, Any] | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> Program:
        """Return the validated Program.

        ``outputs``: key -> ``OutputSpec`` or ``(population, observable[, scale])``, observable
        ``"spikes"``, ``"v"`` or ``"u"``.
        """
        outs = output_specs(outputs)
        sem = {"hop_delay": 1, "reset": "zero", "threshold": "v > v_threshold", "source": "Loihi2Builder"}
        if semantics:
            sem.update(semantics)
        prog = Program(
            target="loihi2",
            populations=dict(self._pops),
            projections=dict(self._projs),
            inputs=dict(self._inputs),
            outputs=outs,
            semantics=sem,
            provenance=dict(provenance or {"builder": "neurocompile.targets.loihi2.builder.Loihi2Builder"}),
            learning={"projections": dict(self._learning)} if self._learning else {},
        )
        return validate_program(prog)


__all__ = ["Loihi2Builder", "spec"]
