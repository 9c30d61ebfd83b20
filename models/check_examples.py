"""The example messages of ``docs/check.md``, produced by ``neurocompile.check`` on real inputs.

Every finding code in a table of ``docs/check.md`` has here one or more :class:`Example`: a small
input written into a temporary directory (a ``.nir`` file, an ``.onnx`` file, a learning TOML)
and the ``check`` options a user would pass. :func:`table` runs ``check`` on each example of one
section of the page and writes the codes, inputs, severities, nodes and messages as they come
out; ``models/docfigures.py`` puts them into the page's ``check-*`` blocks and
``tests/test_doc_figures.py`` fails when the page differs.

The graph-level examples reuse the malformed-model corpus of ``tests/check`` (``tests/bad_models.py``,
:data:`bad_models.CASES`, whose exact findings ``tests/test_check.py`` asserts), the target and
learning examples build on its base graph ``bad_models.lif_graph`` (Input(3) -> Affine(2x3) ->
LIF(2) -> Output(2), dt = 1e-3 in its metadata, no finding of its own). Like
``benchmarks/quant_fidelity.py``, this needs the checkout's ``tests/`` directory (a dev tool, not
part of the installed package).

Codes that no input produces are listed in :data:`NOT_PRODUCED` with the reason (the page's
tables may name them; the tests require every code of the page to be in exactly one of the two).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _bad_models():
    tests = str(REPO / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import bad_models

    return bad_models


@dataclass(frozen=True)
class Example:
    """``make(dir)`` writes the input into ``dir`` and returns ``(model path relative to dir, check
    keyword arguments)``; ``what`` says in words (Markdown) what the input is. ``severity``: which
    of the code's findings to show when it has several severities (None: the first). ``via``:
    ``"check"``, or ``"compile"`` for a code only ``compile`` reports (its Program's
    ``provenance["findings"]``; the keyword arguments then go to ``neurocompile.compile``)."""

    code: str
    what: str
    make: Callable[[Path], tuple[str, dict[str, Any]]]
    severity: str | None = None
    via: str = "check"


@dataclass(frozen=True)
class Shown:
    """One example as ``check`` reported it: its finding (or None when it gave none)."""

    example: Example
    severity: str | None
    node: str | None
    message: str | None
    others: tuple[str, ...] = field(default=())  # the other codes of the same report


# ----------------------------------------------------------------------------- inputs
def _case(name: str) -> Callable[[Path], tuple[str, dict[str, Any]]]:
    """A case of the corpus ``tests/bad_models.py`` by name."""

    def make(d: Path) -> tuple[str, dict[str, Any]]:
        (case,) = [c for c in _bad_models().CASES if c.name == name]
        path = case.make(d / f"{name}.nir")
        return path.relative_to(d).as_posix() if path.is_relative_to(d) else path.name, dict(case.check_kw)

    return make


def _graph(
    edit: Callable[[dict], None] | None = None,
    *,
    version: str = "1.0.8",
    rules: str | None = None,
    name: str = "model.nir",
    **kw: Any,
) -> Callable[[Path], tuple[str, dict[str, Any]]]:
    """``bad_models.lif_graph`` edited by ``edit`` (file version ``version``), with a learning TOML
    ``rules`` (written as ``rules.toml``, passed as ``learning=``) and ``check`` options ``kw``."""

    def make(d: Path) -> tuple[str, dict[str, Any]]:
        bm = _bad_models()
        g = copy.deepcopy(bm.lif_graph())
        if edit is not None:
            edit(g)
        bm.write_nir(d / name, g, version)
        opts = dict(kw)
        if rules is not None:
            (d / "rules.toml").write_text(rules)
            opts["learning"] = "rules.toml"
        return name, opts

    return make


def _set(node: str, **params: Any) -> Callable[[dict], None]:
    def fn(g: dict) -> None:
        g["nodes"][node].update(params)

    return fn


def _drop(node: str, *keys: str) -> Callable[[dict], None]:
    def fn(g: dict) -> None:
        for k in keys:
            del g["nodes"][node][k]

    return fn


def _both(*fns: Callable[[dict], None]) -> Callable[[dict], None]:
    def fn(g: dict) -> None:
        for f in fns:
            f(g)

    return fn


def _two_layers(g: dict) -> None:
    """in(3) -> fc (weights 5) -> l1 LIF(2) -> fc2 (weights 8) -> l2 LIF(2) -> out: both layers spike
    under the reset rules' probe (Bernoulli(0.1) inputs)."""
    lif = g["nodes"].pop("lif")
    g["nodes"]["fc"]["weight"] = np.full((2, 3), 5.0)
    g["nodes"].update(
        l1=copy.deepcopy(lif),
        fc2={"type": "Linear", "weight": np.full((2, 2), 8.0)},
        l2=copy.deepcopy(lif),
    )
    g["edges"] = [("in", "fc"), ("fc", "l1"), ("l1", "fc2"), ("fc2", "l2"), ("l2", "out")]


def _legacy_two_layers(g: dict) -> None:
    """:func:`_two_layers` as a nir 0.2.0 file writes it: no ``v_reset`` (reset by subtraction)."""
    _two_layers(g)
    for n in ("l1", "l2"):
        del g["nodes"][n]["v_reset"]


def _insert(name: str, node: dict, after: str = "lif") -> Callable[[dict], None]:
    """Put ``node`` between ``after`` and its successor."""

    def fn(g: dict) -> None:
        g["nodes"][name] = node
        g["edges"] = [(a, name) if a == after else (a, b) for a, b in g["edges"]] + [
            (name, b) for a, b in g["edges"] if a == after
        ]

    return fn


def _li_source(g: dict) -> None:
    """in -> fc -> li (LI) -> fc2 -> lif -> out: a non-spiking node drives a LIF."""
    g["nodes"]["li"] = {
        "type": "LI",
        "tau": np.full(2, 1e-2),
        "r": np.ones(2),
        "v_leak": np.zeros(2),
    }
    g["nodes"]["fc2"] = {"type": "Linear", "weight": np.eye(2)}
    g["edges"] = [("in", "fc"), ("fc", "li"), ("li", "fc2"), ("fc2", "lif"), ("lif", "out")]


def _i_readout(g: dict) -> None:
    """in -> fc -> lif -> fc2 -> ro (I, no leak) -> out."""
    g["nodes"]["fc2"] = {"type": "Linear", "weight": np.eye(2)}
    g["nodes"]["ro"] = {"type": "I", "r": np.ones(2)}
    g["edges"] = [("in", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "ro"), ("ro", "out")]


def _threshold_after_affine(g: dict) -> None:
    """in -> fc -> t (Threshold) -> lif: a Threshold that is not on a spiking neuron's output."""
    g["nodes"]["t"] = {"type": "Threshold", "threshold": np.full(2, 0.5)}
    g["edges"] = [("in", "fc"), ("fc", "t"), ("t", "lif"), ("lif", "out")]


def _composed(g: dict) -> None:
    """in -> fc -> fc2 -> lif: two weight layers without a neuron between them."""
    g["nodes"]["fc2"] = {"type": "Linear", "weight": np.array([[1.0, 0.5], [0.25, 1.0]])}
    g["edges"] = [("in", "fc"), ("fc", "fc2"), ("fc2", "lif"), ("lif", "out")]


def _delay(steps: float) -> Callable[[dict], None]:
    """fc -> d (Delay of ``steps`` x dt = 1e-3) -> lif."""
    return _insert("d", {"type": "Delay", "delay": np.full(2, steps * 1e-3)}, after="fc")


def _two_projections(g: dict) -> None:
    """in -> fc -> lif and in2 -> fc2 -> lif: two weight nodes into one post node."""
    g["nodes"]["in2"] = {"type": "Input", "shape": np.array([3])}
    g["nodes"]["fc2"] = {"type": "Linear", "weight": np.full((2, 3), 0.25)}
    g["edges"] += [("in2", "fc2"), ("fc2", "lif")]


def _mixed_signs(g: dict) -> None:
    g["nodes"]["fc"]["weight"] = np.array([[0.5, -0.5, 0.5], [-0.5, 0.5, 0.5]])


def _per_neuron_tau(g: dict) -> None:
    g["nodes"]["lif"]["tau"] = np.array([1e-2, 2e-2])


def _internal_error(d: Path) -> tuple[str, dict[str, Any]]:
    name, kw = _graph()(d)
    return name, kw


def _onnx(d: Path) -> tuple[str, dict[str, Any]]:
    path = _bad_models()._write_onnx_sigmoid(d / "mlp.nir")
    return path.name, {}


def _text(d: Path) -> tuple[str, dict[str, Any]]:
    (d / "junk.nir").write_text("this is not an HDF5 file\n")
    return "junk.nir", {}


def _rule(projection: str = "fc", kind: str = "stdp_pair", **fields: Any) -> str:
    base = {"A_plus": 0.4, "A_minus": 0.3, "tau_plus": 8, "tau_minus": 8} if kind == "stdp_pair" else {}
    base.update(fields)
    lines = ["[[rule]]", f'projection = "{projection}"', f'kind = "{kind}"']
    for k, v in base.items():
        if isinstance(v, str):
            lines.append(f'{k} = "{v}"')
        elif isinstance(v, dict):
            inner = ", ".join(
                f"{a} = {{ {', '.join(f'{x} = {y}' for x, y in b.items())} }}" for a, b in v.items()
            )
            lines.append(f"{k} = {{ {inner} }}")
        elif isinstance(v, float) and abs(v) >= 1e5:
            lines.append(f"{k} = {v:.0e}")
        else:
            lines.append(f"{k} = {v}")
    return "\n".join(lines) + "\n"


STDP = _rule()  # pair STDP on fc: A+ 0.4, A- 0.3, tau+- 8


def _toml_inline(text: str) -> str:
    """A rules file as the input column shows it: each ``[[rule]]`` with its fields on one line."""
    rules = [r.strip().replace("\n", ", ") for r in text.split("[[rule]]") if r.strip()]
    return "; ".join(f"`[[rule]] {r}`" for r in rules)


# ----------------------------------------------------------------------------- the examples
LIF = "`lif_graph` (Input(3) -> Affine `fc` -> LIF `lif`(2) -> Output, dt = 1e-3)"

#: section of docs/check.md -> its examples (in the order of the page's table)
SECTIONS: dict[str, tuple[Example, ...]] = {
    "graph": (
        Example("unreadable", "a text file `junk.nir`", _text),
        Example("unreadable", "a path that does not exist", _case("missing-file")),
        Example(
            "unsupported-primitive", "a Softmax node `soft` between `fc` and `lif`", _case("unknown-kind")
        ),
        Example("unsupported-onnx-op", "an ONNX MLP Gemm -> Sigmoid `act1` -> Gemm", _onnx),
        Example("dangling-edge", "an edge `lif -> ghost`, no node `ghost`", _case("dangling-edge")),
        Example("duplicate-edge", "the edge `fc -> lif` twice", _case("duplicate-edge")),
        Example("no-input", f"{LIF} without its Input", _case("no-input")),
        Example("no-output", f"{LIF} without its Output", _case("no-output")),
        Example("empty-graph", "a graph with no nodes", _case("no-nodes")),
        Example(
            "name-collision",
            "a node `sub.lif` beside a subgraph `sub` holding `lif`",
            _case("name-collision"),
        ),
        Example("unreachable-node", "a Scale `orphan` with no edges", _case("orphan-node")),
        Example("cycle-without-neuron", "Scale nodes `s1 -> s2 -> s1`", _case("stateless-cycle")),
        Example(
            "shape-mismatch", "Output `out` declares shape (3,), receives (2,)", _case("stale-output-shape")
        ),
        Example("ingest-repair", "Output `out` declares (1, 1, 2)", _case("output-batch-time-dims")),
        Example(
            "framework-unchosen",
            "LIF with snnTorch's export signature (tau 1e-3, r 10)",
            _case("looks-snntorch-exported"),
        ),
        Example(
            "framework-conventions",
            'the same graph, `framework="snntorch"`',
            _case("framework-declared"),
        ),
        Example("param-shape", "LIF `tau` of shape (3,), the others (2,)", _case("neuron-params-differ")),
        Example("param-missing", "LIF without `tau`", _case("param-missing")),
        Example("nan-inf", "a NaN in `fc.weight`", _case("nan-weight")),
        Example(
            "param-not-numeric", 'LIF `v_threshold` stored as the string `"1.0"`', _case("string-threshold")
        ),
        Example("param-complex", "`fc.weight` = 0.5 + 1j", _case("complex-weight")),
        Example("param-magnitude", "`fc.weight` = 1e300", _case("huge-weight")),
        Example("size-limit", "an IF of 1e8 neurons (declared, not written)", _case("if-1e8-neurons")),
        Example("tau-dt-ratio", "LIF tau = 1e-300", _case("tiny-tau")),
        Example("metadata-dt", 'metadata `dt = "fast"`', _case("metadata-dt-string")),
        Example(
            "metadata-dt",
            'metadata `dt = "fast"`, `dt=1e-3` given',
            _graph(lambda g: g["metadata"].update(dt="fast"), dt=1e-3),
        ),
        Example("nonpositive-tau", "LIF tau = [0.01, 0]", _case("zero-tau")),
        Example("nonpositive-r", "LIF r = [1, -1]", _case("negative-r")),
        Example("threshold-nonpositive", "LIF v_threshold = 0", _case("zero-threshold")),
        Example("nonpositive-dt", "`dt=0.0` given", _case("given-dt-zero")),
        Example("missing-dt", "no metadata `dt`", _case("no-dt")),
        Example("legacy-reset", "a nir 0.2.0 file, LIF without `v_reset`", _case("legacy-reset")),
        Example("reset-override", '`reset="subtract"` on a LIF with v_reset = 0', _case("reset-override")),
        Example("unknown-reset", '`reset="soft"`', _case("unknown-reset")),
        Example("sinabs-tau-steps", "LIF tau = 20 at dt = 1e-3", _case("tau-in-steps")),
        Example("norse-tau-export", "LIF tau = 1e-5 at dt = 1e-3", _case("tau-below-dt")),
        Example("negative-delay", "a Delay of [-1e-3, 0]", _case("delay-negative")),
        Example("delay-not-integer-steps", "a Delay of [1.5e-3, 1e-3]", _case("delay-fraction")),
        Example("unknown-target", '`target="truenorth"`', _case("unknown-target")),
        Example(
            "internal-error",
            "any graph, with a rule that raises (injected for this example)",
            _internal_error,
        ),
    ),
    "loihi2": (
        Example(
            "loihi2-reset-subtract",
            "two LIF layers `l1`, `l2` in a nir 0.2.0 file (no `v_reset`), no reset chosen",
            _graph(_legacy_two_layers, version="0.2.0", target="loihi2"),
            severity="warning",
        ),
        Example(
            "loihi2-reset-subtract",
            'the same file, `reset="subtract"`',
            _graph(
                _legacy_two_layers,
                version="0.2.0",
                target="loihi2",
                reset="subtract",
            ),
            severity="error",
        ),
        Example(
            "reset-approximated",
            'the same file, `reset="zero"`',
            _graph(
                _legacy_two_layers,
                version="0.2.0",
                target="loihi2",
                reset="zero",
            ),
        ),
        Example(
            "loihi2-v-reset",
            "LIF v_reset = 0.3, `fc.weight` = 5",
            _graph(
                _both(_set("lif", v_reset=np.full(2, 0.3)), _set("fc", weight=np.full((2, 3), 5.0))),
                target="loihi2",
            ),
        ),
        Example(
            "loihi2-decay-range",
            "LIF tau = 1e-20 at dt = 1e-3",
            _graph(_set("lif", tau=np.full(2, 1e-20)), target="loihi2"),
        ),
        Example(
            "loihi2-weight-range",
            "`fc.weight` = 1e30",
            _graph(_set("fc", weight=np.full((2, 3), 1e30)), target="loihi2"),
        ),
        Example(
            "loihi2-delay-limit",
            "a Delay `d` of 70 steps between `fc` and `lif`",
            _graph(_delay(70), target="loihi2"),
        ),
        Example(
            "loihi2-decay-saturated",
            "LIF tau = 5e-4 at dt = 1e-3",
            _graph(_set("lif", tau=np.full(2, 5e-4)), target="loihi2"),
        ),
        Example(
            "loihi2-decay-rounds-to-zero",
            "LIF tau = 10 at dt = 1e-3",
            _graph(_set("lif", tau=np.full(2, 10.0)), target="loihi2"),
        ),
        Example(
            "loihi2-per-neuron-decay", "LIF tau = [0.01, 0.02]", _graph(_per_neuron_tau, target="loihi2")
        ),
        Example(
            "loihi2-decay-levels",
            '`compile(..., target="loihi2", decay_levels=1)` of a LIF with tau = [0.01, 0.02]',
            _graph(_per_neuron_tau, target="loihi2", decay_levels=1),
            via="compile",
        ),
        Example(
            "loihi2-readout-may-spike", "`lif -> fc2 -> ro` (I readout)", _graph(_i_readout, target="loihi2")
        ),
        Example(
            "loihi2-unsupported",
            "`fc -> t (Threshold) -> lif`",
            _graph(_threshold_after_affine, target="loihi2"),
        ),
        Example(
            "loihi2-precision", "`fc.bias` = 1e4", _graph(_set("fc", bias=np.full(2, 1e4)), target="loihi2")
        ),
        Example(
            "loihi2-precision", "`fc.bias` = 1e5", _graph(_set("fc", bias=np.full(2, 1e5)), target="loihi2")
        ),
        Example(
            "loihi2-bias-clipped",
            "`fc.bias` = 1e5",
            _graph(_set("fc", bias=np.full(2, 1e5)), target="loihi2"),
        ),
        Example(
            "weight-layers-composed",
            "`fc -> fc2 -> lif`, no neuron between the weights",
            _graph(_composed, target="loihi2"),
        ),
    ),
    "spinnaker": (
        Example(
            "spinnaker-nonspiking-source",
            "`fc -> li (LI) -> fc2 -> lif`",
            _graph(_li_source, target="spinnaker"),
        ),
        Example(
            "spinnaker-per-neuron-param",
            '`compile(..., target="spinnaker")` of a LIF with tau = [0.01, 0.02]',
            _graph(_per_neuron_tau, target="spinnaker"),
            via="compile",
        ),
        Example(
            "spinnaker-if-leak",
            "an IF instead of the LIF",
            _graph(
                lambda g: g["nodes"].update(
                    lif={"type": "IF", "r": np.ones(2), "v_threshold": np.ones(2), "v_reset": np.zeros(2)}
                ),
                target="spinnaker",
            ),
        ),
        Example(
            "spinnaker-reset-subtract",
            'two LIF layers `l1`, `l2` in a nir 0.2.0 file (no `v_reset`), `reset="subtract"`',
            _graph(
                _legacy_two_layers,
                version="0.2.0",
                target="spinnaker",
                reset="subtract",
            ),
            severity="error",
        ),
        Example(
            "spinnaker-unsupported",
            "LIF tau = 5e-4 at dt = 1e-3",
            _graph(_set("lif", tau=np.full(2, 5e-4)), target="spinnaker"),
        ),
        Example(
            "spinnaker-weight-range",
            "`fc.weight` = 1e30",
            _graph(_set("fc", weight=np.full((2, 3), 1e30)), target="spinnaker"),
        ),
        Example(
            "spinnaker-delay-too-long",
            "a Delay `d` of 40 000 steps between `fc` and `lif`",
            _graph(_delay(40_000), target="spinnaker"),
        ),
        Example(
            "spinnaker-learning",
            _toml_inline(_rule(weight_dependence="additive", w_min=0, w_max=1e7)),
            _graph(target="spinnaker", rules=_rule(weight_dependence="additive", w_min=0, w_max=1e7)),
        ),
    ),
    "learning": (
        Example(
            "learning-rules",
            _toml_inline(_rule(kind="nope")),
            _graph(target="loihi2", rules='[[rule]]\nprojection = "fc"\nkind = "nope"\n'),
        ),
        Example("learning-node", _toml_inline(_rule("lif")), _graph(target="loihi2", rules=_rule("lif"))),
        Example(
            "loihi2-learning-epoch",
            _toml_inline(_rule(t_epoch=70)),
            _graph(target="loihi2", rules=_rule(t_epoch=70)),
        ),
        Example(
            "loihi2-learning-impulse",
            _toml_inline(_rule(kind="custom", dw="0.125*y0*x1", traces={"x1": {"impulse": 200, "tau": 10}})),
            _graph(
                target="loihi2",
                rules=_rule(kind="custom", dw="0.125*y0*x1", traces={"x1": {"impulse": 200, "tau": 10}}),
            ),
        ),
        Example(
            "loihi2-learning-third-factor",
            _toml_inline(_rule(kind="custom", dw="0.125*u0*y3", third_factor="y3", reward="r")),
            _graph(
                target="loihi2", rules=_rule(kind="custom", dw="0.125*u0*y3", third_factor="y3", reward="r")
            ),
        ),
        Example(
            "loihi2-learning-signal",
            _toml_inline(_rule(kind="eprop", lr=0.001, tau_pre=4, tau_e=4)),
            _graph(target="loihi2", rules=_rule(kind="eprop", lr=0.001, tau_pre=4, tau_e=4)),
        ),
        Example(
            "loihi2-learning-reward",
            _toml_inline(
                _rule(kind="rstdp", lr=0.5, A_plus=0.4, A_minus=0.3, tau_plus=5, tau_minus=5, tau_e=20)
            ),
            _graph(
                target="loihi2",
                rules=_rule(kind="rstdp", lr=0.5, A_plus=0.4, A_minus=0.3, tau_plus=5, tau_minus=5, tau_e=20),
            ),
        ),
        Example(
            "loihi2-learning-product-dropped",
            _toml_inline(_rule(A_minus=1e-6)),
            _graph(target="loihi2", rules=_rule(A_minus=1e-6)),
        ),
        Example(
            "loihi2-learning-bounds",
            _toml_inline(_rule(weight_dependence="multiplicative", w_min=0, w_max=1.0)),
            _graph(target="loihi2", rules=_rule(weight_dependence="multiplicative", w_min=0, w_max=1.0)),
        ),
        Example("loihi2-learning-rounded", _toml_inline(STDP), _graph(target="loihi2", rules=STDP)),
        Example(
            "loihi2-learning-mixed",
            "`fc.weight` of both signs, " + _toml_inline(STDP),
            _graph(_mixed_signs, target="loihi2", rules=STDP),
        ),
        Example(
            "spinnaker-neuromodulation-broken",
            _toml_inline(
                _rule(
                    kind="rstdp",
                    lr=0.5,
                    A_plus=0.4,
                    A_minus=0.3,
                    tau_plus=5,
                    tau_minus=5,
                    tau_e=20,
                    reward="dopamine",
                )
            ),
            _graph(
                target="spinnaker",
                rules=_rule(
                    kind="rstdp",
                    lr=0.5,
                    A_plus=0.4,
                    A_minus=0.3,
                    tau_plus=5,
                    tau_minus=5,
                    tau_e=20,
                    reward="dopamine",
                ),
            ),
        ),
        Example(
            "spinnaker-rule-no-binary",
            _toml_inline(_rule(kind="hebbian", eta=0.5, tau_pre=5, w_max=20.0, decay=0.01)),
            _graph(
                target="spinnaker", rules=_rule(kind="hebbian", eta=0.5, tau_pre=5, w_max=20.0, decay=0.01)
            ),
        ),
        Example(
            "spinnaker-rule-no-binary",
            _toml_inline(_rule(kind="feedback_alignment", lr=0.001, tau_pre=4)),
            _graph(target="spinnaker", rules=_rule(kind="feedback_alignment", lr=0.001, tau_pre=4)),
        ),
        Example(
            "spinnaker-rule-epoch",
            _toml_inline(_rule(t_epoch=4)),
            _graph(target="spinnaker", rules=_rule(t_epoch=4)),
        ),
        Example(
            "spinnaker-rules-differ-per-population",
            "`fc` and `fc2` into `lif`, " + _toml_inline(_rule() + _rule("fc2", A_plus=0.8)),
            _graph(_two_projections, target="spinnaker", rules=_rule() + _rule("fc2", A_plus=0.8)),
        ),
    ),
}

#: codes of docs/check.md no input produces: code -> (section, why); their rows say so
NOT_PRODUCED: dict[str, tuple[str, str]] = {
    "spinnaker-stdp-delay-dropped": (
        "learning",
        "a rule's weight node must be its own projection (a `Delay` folded into it is refused: "
        "`spinnaker-unsupported`), so a lowered STDP projection has PyNN delay 1, and a largest "
        "incoming delay of 1 gets 2 slots (1 & 1 = 1). `SpiNNakerBuilder.build` warns with the same "
        "text for a Program built directly (a plastic delay equal to a power-of-two maximum >= 2)",
    ),
    "spinnaker-missing-param": (
        "spinnaker",
        "every parameter it asks for (tau, tau_mem, tau_syn, v_threshold) is required by the primitive "
        "(`ir.PRIMITIVES`): a graph without it gets `param-missing` (graph sanity), and neither "
        "`check --target` nor `compile` builds a netlist from such a graph",
    ),
}


# ----------------------------------------------------------------------------- running check
@contextlib.contextmanager
def _failing_rule():
    """Registers a rule that raises, for the ``internal-error`` example only."""
    import importlib

    C = importlib.import_module("neurocompile.check")

    def broken(ctx):
        raise RuntimeError("deliberately broken rule (docs/check.md example)")

    C.rule("example-broken-rule")(broken)
    try:
        yield
    finally:
        del C.RULES["example-broken-rule"]


def show(example: Example) -> Shown:
    """Run ``check`` on ``example`` in a fresh temporary directory (paths in messages relative)."""
    import neurocompile as nc

    with tempfile.TemporaryDirectory(prefix="check-example-") as tmp:
        here = os.getcwd()
        os.chdir(tmp)
        try:
            model, kw = example.make(Path(tmp))
            ctx = _failing_rule() if example.code == "internal-error" else contextlib.nullcontext()
            with warnings.catch_warnings(), ctx:
                warnings.simplefilter("ignore")
                if example.via == "compile":
                    prog = nc.compile(model, **kw)
                    findings = [SimpleNamespace(**f) for f in prog.provenance["findings"]]
                else:
                    findings = list(nc.check(model, **kw).findings)
        finally:
            os.chdir(here)
    mine = [f for f in findings if f.code == example.code]
    if example.severity is not None:
        mine = [f for f in mine if f.severity == example.severity]
    others = tuple(dict.fromkeys(f.code for f in findings if f.code != example.code))
    if not mine:
        return Shown(example, None, None, None, others)
    f = mine[0]
    return Shown(example, f.severity, f.node, f.message, others)


@functools.lru_cache(maxsize=None)
def shown(section: str) -> tuple[Shown, ...]:
    return tuple(show(e) for e in SECTIONS[section])


def _code_span(text: str) -> str:
    """``text`` as one Markdown code span inside a table cell (``|`` escaped)."""
    text = text.replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def table(section: str) -> str:
    """The generated example table of ``section`` (Markdown, ending in a newline)."""
    rows = ["| code | input | severity, node | message |", "|---|---|---|---|"]
    for s in shown(section):
        if s.message is None:
            raise RuntimeError(
                f"docs/check.md example for {s.example.code!r} ({s.example.what}) gave no such finding "
                f"(it gave: {', '.join(s.others) or 'nothing'})"
            )
        node = f"`{s.node}`" if s.node is not None else "graph"
        rows.append(
            f"| `{s.example.code}` | {s.example.what} | {s.severity}, {node} | {_code_span(s.message)} |"
        )
    for code, (sec, why) in NOT_PRODUCED.items():
        if sec == section:
            rows.append(f"| `{code}` | no input produces it: {why} | - | - |")
    return "\n".join(rows) + "\n"


def cli_refusal() -> str:
    """The one line ``neurocompile compile bad.nir --target loihi2 -o bad.ncp`` prints for a complex
    weight (the corpus case ``complex-weight``), and its exit status, as the page shows them."""
    import io

    from neurocompile.cli.main import main as cli

    with tempfile.TemporaryDirectory(prefix="check-example-") as tmp:
        here = os.getcwd()
        os.chdir(tmp)
        try:
            (case,) = [c for c in _bad_models().CASES if c.name == "complex-weight"]
            case.make(Path(tmp) / "bad.nir")
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                rc = cli(["compile", "bad.nir", "--target", "loihi2", "-o", "bad.ncp"])
        finally:
            os.chdir(here)
    lines = err.getvalue().strip().splitlines()
    if len(lines) != 1:
        raise RuntimeError(f"expected one line on stderr, got {lines}")
    return (
        f"```\n$ neurocompile compile bad.nir --target loihi2 -o bad.ncp\n{lines[0]}\n$ echo $?\n{rc}\n```\n"
    )


#: the NIR paper's graphs docs/check.md reports on (relative to ``NEUROCOMPILE_PAPER_DATA``)
PAPER_FILES = (
    "01_lif/lif_norse.nir",
    "01_lif/lif_rockpool.nir",
    "02_cnn/cnn_sinabs.nir",
    "03_rnn/braille_noDelay_bias_zero.nir",
    "03_rnn/braille_noDelay_noBias_subtract.nir",
    "03_rnn/extras/braille_noDelay_bias_zero_subgraph.nir",
    "03_rnn/extras/braille_noDelay_noBias_subtract_subgraph.nir",
)


def paper_findings() -> str:
    """``check`` (no target, no dt) on each graph of the NIR paper: its findings by severity, each
    code with the nodes it names (``graph`` for a whole-graph finding)."""
    import neurocompile as nc
    from neurocompile.check import _natural
    from neurocompile.models.validate_table import paper_dir

    rows = ["| file | errors | warnings | info |", "|---|---|---|---|"]
    for rel in PAPER_FILES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = nc.check(paper_dir() / rel)
        cells = []
        for sev in ("error", "warning", "info"):
            by: dict[str, list[str]] = {}
            for f in report.findings:
                if f.severity == sev:
                    by.setdefault(f.code, [])
                    name = "graph" if f.node is None else f"`{f.node}`"
                    if name not in by[f.code]:
                        by[f.code].append(name)
            cells.append(
                "; ".join(f"`{c}` at {', '.join(sorted(n, key=_natural))}" for c, n in by.items()) or "none"
            )
        rows.append(f"| `{rel}` | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def main() -> int:
    for section in SECTIONS:
        for s in shown(section):
            print(f"{s.example.code:38s} {s.severity} {s.node} | {s.message} | others: {', '.join(s.others)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
