"""``nc.to_torch``: a compiled Program as a torch module inside the user's own evaluation code.

The zoo test is the use case: ``models/digits_cnn_sinabs`` compiled for each target as the zoo's
accuracy table compiles it (``models/accuracy.py``), wrapped, fed a batch tensor of its encoded
test set; the module's argmax must equal ``Program.run``'s (the outputs must be identical) and
match the labels. The rest pins the interface: several inputs (positional, dict, keywords), a
dict of outputs, membrane outputs in model units (``v`` times the ``OutputSpec`` scale), dtype
and device, no gradient, the options passed to the backend, the refusals.

Needs torch only (the zoo models are ``.nir`` files; no norse or sinabs).
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

import neurocompile as nc
from neurocompile.errors import InputDataError, ParameterError, UnsupportedError

torch = pytest.importorskip("torch")
nir = pytest.importorskip("nir")

ZOO_MODEL = "digits_cnn_sinabs"
ZOO_N = 120
TARGETS = ("loihi2", "spinnaker")


def _f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def two_io_graph() -> nir.NIRGraph:
    """Two inputs, two outputs: spikes of an IF layer (``spk``) and the membrane of an LI layer
    (``mem``, read as ``v`` times its scale)."""
    return nir.NIRGraph(
        nodes={
            "a": nir.Input(input_type=np.array([3])),
            "b": nir.Input(input_type=np.array([2])),
            "fa": nir.Linear(weight=_f32(np.full((2, 3), 0.6))),
            "fb": nir.Linear(weight=_f32(np.full((2, 2), 0.3))),
            "lif": nir.IF(r=_f32(np.ones(2)), v_threshold=_f32(np.ones(2))),
            "li": nir.LI(tau=_f32(np.full(2, 4.0)), r=_f32(np.ones(2)), v_leak=_f32(np.zeros(2))),
            "spk": nir.Output(output_type=np.array([2])),
            "mem": nir.Output(output_type=np.array([2])),
        },
        edges=[("a", "fa"), ("fa", "lif"), ("lif", "spk"), ("b", "fb"), ("fb", "li"), ("li", "mem")],
    )


@pytest.fixture(scope="module", params=TARGETS)
def two_io(request):
    return nc.compile(two_io_graph(), request.param, dt=1.0, reset="zero")


def _spikes(seed: int, batch: int = 3, steps: int = 8) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "a": (rng.random((batch, steps, 3)) < 0.5).astype(np.float64),
        "b": (rng.random((batch, steps, 2)) < 0.5).astype(np.float64),
    }


# ----------------------------------------------------------------------------- the zoo use case
@pytest.mark.parametrize("target", TARGETS)
def test_zoo_model_in_a_torch_evaluation_loop(target):
    from neurocompile.models import accuracy as A
    from neurocompile.models import load_test_set, model_path, predict

    graph = nc.load(model_path(ZOO_MODEL))
    inputs, labels = load_test_set(ZOO_MODEL, ZOO_N)
    chip_in = A.chip_inputs(ZOO_MODEL, graph, inputs)  # spikes + the chip's trailing silent steps
    program = A.compile_for(ZOO_MODEL, target)
    net = nc.to_torch(program)

    # the user's evaluation code: batches of a tensor dataset, argmax of the spike counts
    x_all = torch.from_numpy(chip_in["input"]).float()
    y_all = torch.from_numpy(labels)
    outs, correct = [], 0
    for start in range(0, ZOO_N, 50):
        x, y = x_all[start : start + 50], y_all[start : start + 50]
        out = net(x)
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and not out.requires_grad
        assert out.shape == (len(x), x.shape[1], 10)
        correct += int((out.sum(dim=1).argmax(dim=1) == y).sum())
        outs.append(out)
    out = torch.cat(outs)
    assert set(np.unique(out.numpy())) <= {0.0, 1.0}

    direct = program.run(chip_in, backend="emulator").outputs["output"]
    np.testing.assert_array_equal(out.numpy(), direct)  # identical spikes, batch by batch or at once
    np.testing.assert_array_equal(out.sum(dim=1).argmax(dim=1).numpy(), predict(direct))
    acc = correct / ZOO_N
    assert acc == float((predict(direct) == labels).mean())
    assert acc >= 0.9, f"{target}: {acc:.3f} of the first {ZOO_N} test samples"


# ----------------------------------------------------------------------------- inputs and outputs
def test_several_inputs_positional_dict_keywords_and_a_dict_of_outputs(two_io):
    x = _spikes(0)
    direct = two_io.run(x).outputs
    net = nc.to_torch(two_io)
    t = {k: torch.from_numpy(v) for k, v in x.items()}
    for out in (net(t["a"], t["b"]), net(t), net(a=t["a"], b=t["b"]), net({"b": t["b"], "a": t["a"]})):
        assert isinstance(out, dict) and list(out) == ["spk", "mem"]
        for key in out:
            assert out[key].dtype == torch.float64  # the input's dtype
            np.testing.assert_array_equal(out[key].numpy(), direct[key])
    # positional order is program.inputs' order: swapping the tensors fails on their shapes
    with pytest.raises(InputDataError, match="'a'"):
        net(t["b"], t["a"])


def test_membrane_output_is_in_model_units(two_io):
    """``mem`` is the LI population's recorded integer ``v`` times its OutputSpec scale (not the
    raw integer, whose magnitude on Loihi 2 is ~1e6 here)."""
    x = _spikes(1)
    spec = two_io.outputs["mem"]
    assert spec.observable == "v"
    raw = two_io.run(x, record=[(spec.population, "v")], raw=True).recordings[f"{spec.population}.v"]
    out = nc.to_torch(two_io)({k: torch.from_numpy(v).float() for k, v in x.items()})["mem"]
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), (raw * spec.scale).astype(np.float32), rtol=0, atol=0)
    assert 0 < float(out.abs().max()) < 1.0


def test_integer_and_bool_inputs_give_default_dtype_outputs(two_io):
    x = _spikes(2)
    direct = two_io.run(x).outputs
    net = nc.to_torch(two_io)
    for dt in (torch.int64, torch.bool, torch.uint8):
        out = net({k: torch.from_numpy(v).to(dt) for k, v in x.items()})
        for key, val in out.items():
            assert val.dtype == torch.get_default_dtype()
            np.testing.assert_array_equal(val.numpy(), direct[key].astype(val.numpy().dtype))


def test_one_input_program_takes_one_tensor():
    g = two_io_graph()
    for n in ("b", "fb", "li", "mem"):
        g.nodes.pop(n)
    g = nir.NIRGraph(nodes=g.nodes, edges=[e for e in g.edges if e[0] in g.nodes and e[1] in g.nodes])
    prog = nc.compile(g, "loihi2", dt=1.0, reset="zero")
    x = _spikes(3)["a"]
    out = nc.to_torch(prog)(torch.from_numpy(x))
    assert isinstance(out, torch.Tensor)
    np.testing.assert_array_equal(out.numpy(), prog.run({"a": x}).outputs["spk"])


def test_wrong_inputs_are_typed_errors(two_io):
    net = nc.to_torch(two_io)
    t = {k: torch.from_numpy(v) for k, v in _spikes(4).items()}
    with pytest.raises(InputDataError, match="1 tensors for a Program with 2 inputs"):
        net(t["a"])
    with pytest.raises(InputDataError, match="not both"):
        net(t["a"], b=t["b"])
    with pytest.raises(InputDataError, match="no Program input named 'c'"):
        net({"a": t["a"], "c": t["b"]})
    with pytest.raises(InputDataError, match="no key 'b'"):
        net({"a": t["a"]})
    with pytest.raises(InputDataError, match="complex"):
        net(t["a"].to(torch.complex64), t["b"])


# ----------------------------------------------------------------------------- no gradient
def test_not_differentiable_inputs_detached_with_one_warning(two_io):
    net = nc.to_torch(two_io)
    a = torch.from_numpy(_spikes(5)["a"]).requires_grad_(True)
    b = torch.from_numpy(_spikes(5)["b"])
    with pytest.warns(UserWarning, match="detached.*no gradient"):
        out = net(a, b)
    assert not any(v.requires_grad for v in out.values()) and a.grad is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.enable_grad():
            out = net(a, b)  # the second call does not warn again
    assert not any(v.requires_grad for v in out.values())


# ----------------------------------------------------------------------------- construction
def test_module_attributes_repr_and_options_passed_through(two_io, monkeypatch):
    net = nc.to_torch(two_io, backend="emulator", strict=True)
    assert isinstance(net, torch.nn.Module) and net.program is two_io
    assert list(net.parameters()) == [] and net.state_dict() == {}
    text = repr(net)
    assert f"target={two_io.target!r}" in text and "backend='emulator'" in text
    assert "inputs={'a': (3,), 'b': (2,)}" in text and "strict=True" in text

    calls = []
    real = type(two_io).run

    def spy(self, inputs, backend="emulator", **options):
        calls.append((backend, options))
        return real(self, inputs, backend=backend, **options)

    monkeypatch.setattr(type(two_io), "run", spy)
    net({k: torch.from_numpy(v) for k, v in _spikes(6).items()})
    assert calls == [("emulator", {"strict": True})]
    assert net.last_result is not None and net.last_result.backend == f"emulator:{two_io.target}"


def test_refusals_at_construction(two_io):
    with pytest.raises(UnsupportedError, match="record"):
        nc.to_torch(two_io, record="lif.v")
    with pytest.raises(UnsupportedError, match="backend 'nope'"):
        nc.to_torch(two_io, backend="nope")
    with pytest.raises(ParameterError, match="takes a Program"):
        nc.to_torch(two_io_graph())


def test_a_saved_program_path(two_io, tmp_path):
    path = tmp_path / "p.ncp"
    two_io.save(path)
    net = nc.to_torch(path)
    x = _spikes(7)
    out = net({k: torch.from_numpy(v) for k, v in x.items()})
    np.testing.assert_array_equal(out["spk"].numpy(), two_io.run(x).outputs["spk"])


def test_module_pickles_with_its_program(two_io):
    import pickle

    from neurocompile.torch_module import ProgramModule

    net = nc.to_torch(two_io, strict=True)
    back = pickle.loads(pickle.dumps(net))
    assert type(back) is ProgramModule and back.options == {"strict": True}
    x = {k: torch.from_numpy(v) for k, v in _spikes(8).items()}
    for key, val in back(x).items():
        np.testing.assert_array_equal(val.numpy(), two_io.run(_spikes(8)).outputs[key])


def test_import_neurocompile_stays_torch_free():
    code = "import sys, neurocompile; neurocompile.to_torch; assert 'torch' not in sys.modules"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
