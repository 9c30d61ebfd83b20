"""NeuroBench's metrics of a float model (a NIR graph run on the float reference), by their definitions.

NeuroBench (Yik et al., "The neurobench framework for benchmarking neuromorphic computing
algorithms and systems", Nature Communications 16:1545, 2025; package ``neurobench`` 2.3.0,
``neurobench/metrics``) defines, and :func:`float_metrics` computes the same way:

* ``synaptic_operations`` ``{"Effective_MACs", "Effective_ACs", "Dense"}`` per sample: for every
  connection layer (NIR ``Affine``, ``Linear``, ``Conv1d``, ``Conv2d``; pooling is not one) and
  every call, the layer applied to its input made binary (non-zero -> 1) with its weights made
  binary (non-zero -> 1) and no bias, summed (``Effective``); ``Dense`` is the same with every
  input and every weight set to 1. A layer whose inputs are all in {-1, 0, 1} counts ACs, else
  MACs. NeuroBench decides this per forward call; a sinabs module makes one call for all samples
  and steps, so here it is decided per layer over the whole run (a layer fed by a sum-pool of
  spikes counts MACs even in the steps where its input happens to be binary).
* ``activation_sparsity``: zero activations / all activations of the spiking neuron layers (IF,
  LIF, CubaLIF) over all samples and steps.
* ``connection_sparsity``: zero weights / all weights of the connection layers (NeuroBench rounds
  it to 4 decimals; this value is not rounded).
* ``footprint``: bytes of the connection layers' weights and biases as float32 (NeuroBench sums
  a torch module's parameters and buffers, so a framework that stores neuron parameters or state
  as parameters or buffers reports more; ``tests/test_energy.py`` shows the difference).

``tests/test_energy.py`` compares these numbers with the ``neurobench`` package's on the zoo CNN
as a sinabs module, when ``neurobench`` imports.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

import numpy as np

from .data import check_inputs
from .ir import SPIKING_KINDS, Graph
from .reference import _make_fn, build_plan, run_plan
from .semantics import resolve_semantics

__all__ = ["CONNECTION_KINDS", "FloatMetrics", "float_metrics"]

#: NIR primitives NeuroBench counts as connection layers (torch Linear / Conv1d / Conv2d)
CONNECTION_KINDS = ("Affine", "Linear", "Conv1d", "Conv2d")


@dataclass(frozen=True)
class FloatMetrics:
    batch: int
    steps: int
    synaptic_operations: Mapping[str, float]
    activation_sparsity: float
    connection_sparsity: float
    footprint: int
    per_layer: Mapping[str, Mapping[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "steps": self.steps,
            "synaptic_operations": dict(self.synaptic_operations),
            "activation_sparsity": self.activation_sparsity,
            "connection_sparsity": self.connection_sparsity,
            "footprint": self.footprint,
            "per_layer": {k: dict(v) for k, v in self.per_layer.items()},
        }


def float_metrics(graph: Graph, inputs: Mapping[str, np.ndarray], **semantics: Any) -> FloatMetrics:
    """NeuroBench's metrics of ``graph`` run on the float reference with ``inputs`` ({Input name:
    (batch, time, *shape)}); ``semantics``: ``dt``, ``discretization``, ``reset``, ``hop_delay`` as
    :func:`neurocompile.simulate` takes them."""
    plan = build_plan(graph, resolve_semantics(graph, **semantics))
    arrays, batch, steps = check_inputs(inputs, plan.input_shapes)
    layers: dict[str, dict[str, Any]] = {}
    zeros = weights = footprint = 0
    for st in plan.steps:
        if st.kind not in CONNECTION_KINDS:
            continue
        node = graph.nodes[st.name]
        w = np.asarray(node.params["weight"], dtype=np.float64)
        bias = node.params.get("bias") if node.kind != "Linear" else None
        zeros += int(np.count_nonzero(w == 0))
        weights += int(w.size)
        footprint += 4 * (int(w.size) + (int(np.size(bias)) if bias is not None else 0))
        no_bias = {**node.params, "bias": None} if "bias" in node.params else dict(node.params)
        binary = (w != 0).astype(np.float64)
        f_bin = _make_fn(replace(node, params={**no_bias, "weight": binary}), st.in_shape)
        f_one = _make_fn(replace(node, params={**no_bias, "weight": np.ones_like(w)}), st.in_shape)
        dense_call = float(f_one(np.ones((1, *st.in_shape))).sum())
        stats = {"effective": 0.0, "dense": 0.0, "binary_inputs": True}
        layers[st.name] = stats

        def counted(x, fn=st.fn, f_bin=f_bin, dense_call=dense_call, stats=stats):
            stats["effective"] += float(f_bin((x != 0).astype(np.float64)).sum())
            stats["dense"] += dense_call * x.shape[0]
            if stats["binary_inputs"] and not np.all((x == 0) | (x == 1) | (x == -1)):
                stats["binary_inputs"] = False
            return fn(x)

        st.fn = counted
    spiking = [n for n in plan.neurons if graph.nodes[n].kind in SPIKING_KINDS]
    run = run_plan(plan, arrays, batch, steps, [(n, "spikes") for n in spiking])
    nz = total = 0
    for n in spiking:
        z = np.asarray(run.recordings[f"{n}.spikes"])
        nz += int(np.count_nonzero(z))
        total += int(z.size)
    acs = sum(v["effective"] for v in layers.values() if v["binary_inputs"]) / batch
    macs = sum(v["effective"] for v in layers.values() if not v["binary_inputs"]) / batch
    dense = sum(v["dense"] for v in layers.values()) / batch
    return FloatMetrics(
        batch=int(batch),
        steps=int(steps),
        synaptic_operations={"Effective_MACs": macs, "Effective_ACs": acs, "Dense": dense},
        activation_sparsity=(1.0 - nz / total) if total else 0.0,
        connection_sparsity=(zeros / weights) if weights else 0.0,
        footprint=int(footprint),
        per_layer={
            k: {
                "op": "AC" if v["binary_inputs"] else "MAC",
                "effective": v["effective"] / batch,
                "dense": v["dense"] / batch,
            }
            for k, v in layers.items()
        },
    )
