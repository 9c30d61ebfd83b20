"""The Program as a torch module: run a deployed network inside your own torch evaluation code.

``to_torch(program, backend="emulator", **options)`` returns a ``torch.nn.Module`` whose
``forward`` runs the Program with :meth:`Program.run` on that backend and hands back torch
tensors::

    net = nc.to_torch(program)              # program: a Program or the path of a saved one
    out = net(x)                            # x: (batch, time, *shape) tensor -> (batch, time, *out_shape)
    pred = out.sum(dim=1).flatten(1).argmax(dim=1)

Inputs: one tensor (a Program with one input), several positional tensors in the order of
``program.inputs``, one dict ``{input name: tensor}`` or the same as keyword arguments. Values
are what ``Program.run`` takes (spikes 0/1, or integer payloads for graded inputs), shaped
``(batch, time, *shape)``.

Outputs: a float tensor for a Program with one output, else a dict ``{output name: tensor}``, in
model units: spikes as 0/1, outputs read off the membrane as ``v`` times their ``OutputSpec``
scale (``Program.run`` applies it). They are on the first input's device, in its dtype when that
is a floating dtype (else torch's default dtype).

Not differentiable: the chip's integer arithmetic has no gradient. ``forward`` runs under
``torch.no_grad``; inputs that require grad are detached (one ``UserWarning`` per module says so)
and the outputs never require grad. Train the framework model, then evaluate the deployed one
with this module. The module has no parameters or buffers (``state_dict()`` is empty); moving it
with ``.to(device)`` changes nothing, the outputs follow the inputs. Every call is a fresh run
from the Program's initial state (a Program with learning starts from its compiled weights).

``record=`` is not taken (the module returns outputs only): call ``Program.run(...,
record=...)`` for recorded state. Any other keyword option is passed to the backend on every
call; ``last_result`` holds the last call's :class:`~neurocompile.data.RunResult` (its fidelity
label and warnings). The class is ``neurocompile.torch_module.ProgramModule``; a module pickles
(``torch.save``) with its Program.

torch is imported only when :func:`to_torch` is called, so ``import neurocompile`` stays
torch-free.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Mapping

import numpy as np

from .errors import InputDataError, ParameterError, UnsupportedError
from .program import Program

__all__ = ["to_torch"]


def to_torch(program: Program | str | os.PathLike, backend: str = "emulator", **options: Any):
    """``program`` (a :class:`Program` or the path of a saved one) as a ``torch.nn.Module`` that
    runs it on ``backend`` (``options``: that backend's run options, except ``record``).

    See the module docstring for what ``forward`` takes and returns; not differentiable.
    """
    if isinstance(program, (str, os.PathLike)):
        program = Program.load(program)
    if not isinstance(program, Program):
        raise ParameterError(
            f"to_torch takes a Program, not {type(program).__name__}",
            parameter="program",
            expected="a neurocompile Program or the path of a saved one (compile the model first)",
        )
    if "record" in options:
        raise UnsupportedError(
            "the torch module returns outputs only; it does not take record=",
            parameter="record",
            expected="Program.run(inputs, backend=..., record=...) for recorded state",
        )
    from .target import get_target

    get_target(program.target).backend(backend)  # an unknown backend fails here, naming the choices
    return _module_class()(program, backend, dict(options))


@functools.cache
def _module_class() -> type:
    """The module class, defined on first use (torch is imported here, not at import time)."""
    try:
        import torch
    except ImportError as e:  # pragma: no cover - .venv-lava has no torch
        raise UnsupportedError(
            "to_torch needs torch, which is not installed",
            parameter="torch",
            expected="pip install torch",
        ) from e

    class ProgramModule(torch.nn.Module):
        """A neurocompile Program run on a backend, as a (non-differentiable) torch module."""

        def __init__(self, program: Program, backend: str, options: dict[str, Any]) -> None:
            super().__init__()
            self.program = program
            self.backend = backend
            self.options = options
            self.last_result = None
            self._warned_grad = False

        def extra_repr(self) -> str:
            shapes = ", ".join(
                f"{key!r}: {tuple(self.program.populations[pop].shape)}"
                for key, pop in self.program.inputs.items()
            )
            opts = "".join(f", {k}={v!r}" for k, v in sorted(self.options.items()))
            return f"target={self.program.target!r}, backend={self.backend!r}, inputs={{{shapes}}}{opts}"

        @torch.no_grad()
        def forward(self, *args: Any, **kwargs: Any) -> Any:
            tensors = self._inputs(args, kwargs)
            first = next(iter(tensors.values()))
            device = first.device if isinstance(first, torch.Tensor) else torch.device("cpu")
            dtype = (
                first.dtype
                if isinstance(first, torch.Tensor) and first.dtype.is_floating_point
                else torch.get_default_dtype()
            )
            arrays = {key: self._to_numpy(key, x) for key, x in tensors.items()}
            result = self.program.run(arrays, backend=self.backend, **self.options)
            self.last_result = result
            outs = {
                key: torch.from_numpy(np.asarray(result.outputs[key], dtype=np.float64)).to(
                    device=device, dtype=dtype
                )
                for key in self.program.outputs
            }
            return next(iter(outs.values())) if len(outs) == 1 else outs

        def _inputs(self, args: tuple, kwargs: dict) -> dict[str, Any]:
            names = list(self.program.inputs)
            usage = (
                "one tensor per input, positional in the order "
                + ", ".join(map(repr, names))
                + ", or a dict / keywords {input name: tensor}"
            )
            if kwargs and args:
                raise InputDataError(
                    "forward takes positional tensors or keywords, not both",
                    parameter="input",
                    expected=usage,
                )
            if len(args) == 1 and isinstance(args[0], Mapping):
                kwargs, args = dict(args[0]), ()
            if kwargs:
                unknown = sorted(set(kwargs) - set(names))
                if unknown:
                    raise InputDataError(
                        f"no Program input named {', '.join(map(repr, unknown))}",
                        node=unknown[0],
                        parameter="input",
                        expected="one of " + ", ".join(map(repr, names)),
                    )
                return dict(kwargs)  # a missing input is reported by the backend, naming it
            if len(args) != len(names):
                raise InputDataError(
                    f"forward got {len(args)} tensors for a Program with {len(names)} inputs",
                    parameter="input",
                    expected=usage,
                )
            return dict(zip(names, args))

        def _to_numpy(self, key: str, x: Any) -> np.ndarray:
            if not isinstance(x, torch.Tensor):
                return np.asarray(x)
            if x.requires_grad and not self._warned_grad:
                import warnings

                warnings.warn(
                    f"input {key!r} requires grad: it is detached; the Program runs integer arithmetic "
                    "and its outputs have no gradient (to_torch modules are for evaluation, not training)",
                    UserWarning,
                    stacklevel=2,
                )
                self._warned_grad = True
            if x.is_complex():
                raise InputDataError(
                    f"input tensor has dtype {x.dtype}",
                    node=key,
                    parameter="input",
                    expected="a real tensor (bool, integer or float)",
                )
            if x.dtype == torch.bool or not x.dtype.is_floating_point:
                return x.detach().cpu().numpy()
            return x.detach().to(device="cpu", dtype=torch.float64).numpy()

    ProgramModule.__module__ = __name__
    ProgramModule.__qualname__ = "ProgramModule"  # importable by name (pickle, torch.save) via __getattr__
    return ProgramModule


def __getattr__(name: str) -> Any:
    """``neurocompile.torch_module.ProgramModule``: the module class (imports torch on first use)."""
    if name == "ProgramModule":
        return _module_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
