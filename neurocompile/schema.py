"""Field checks shared by every target's Program schema (``targets/<chip>/schema.py``).

Each raises a typed error naming the population or projection (``node``), the field
(``parameter``) and the limit (``expected``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ParameterError, RangeError


def is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def check_int(value: Any, lo: int | None, hi: int | None, *, what: str, node: str, field: str) -> int:
    """A scalar integer field within ``[lo, hi]`` (either bound may be ``None``)."""
    if not is_int(value):
        raise ParameterError(
            f"{what} field must be an integer, got {value!r}",
            node=node,
            parameter=field,
            expected="an integer",
        )
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise RangeError(
            f"{what} {field}={v} is out of range",
            node=node,
            parameter=field,
            expected=_range_text(field, lo, hi),
        )
    return v


def check_int_array(
    value: Any, shape: tuple[int, ...], lo: int | None, hi: int | None, *, what: str, node: str, field: str
) -> np.ndarray:
    """An integer array of exactly ``shape`` with every entry within ``[lo, hi]``."""
    arr = np.asarray(value)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ParameterError(
            f"{what} field must be an integer array, got dtype {arr.dtype}",
            node=node,
            parameter=field,
            expected=f"integers, shape {shape}",
        )
    if arr.shape != tuple(shape):
        raise ParameterError(
            f"{what} field has shape {arr.shape}",
            node=node,
            parameter=field,
            expected=f"shape {tuple(shape)}",
        )
    # two reductions; the mask of the offending entries only when there is one
    if arr.size and ((lo is not None and arr.min() < lo) or (hi is not None and arr.max() > hi)):
        bad = np.zeros(arr.shape, bool)
        if lo is not None:
            bad |= arr < lo
        if hi is not None:
            bad |= arr > hi
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise RangeError(
                f"{what} {field}{list(idx)}={int(arr[idx])} is out of range ({int(bad.sum())} entries)",
                node=node,
                parameter=field,
                expected=_range_text(field, lo, hi),
            )
    return arr


def _range_text(field: str, lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f"{lo} <= {field} <= {hi}"
    if lo is not None:
        return f"{field} >= {lo}"
    return f"{field} <= {hi}"


def check_fields(params: dict, allowed: set, optional: set, *, what: str, node: str, schema: str) -> None:
    """No field outside ``allowed``, every field of ``allowed - optional`` present."""
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ParameterError(
            f"{what} has unknown field(s) {unknown}",
            node=node,
            parameter=unknown[0],
            expected="one of " + (", ".join(sorted(allowed)) or "no fields"),
        )
    missing = sorted(allowed - optional - set(params))
    if missing:
        raise ParameterError(
            f"{what} lacks field(s) {missing}",
            node=node,
            parameter=missing[0],
            expected=f"every field of the {schema} schema",
        )


def check_population_header(pop, kinds: tuple[str, ...] | list[str], *, schema: str) -> tuple[int, ...]:
    """A population's kind is one of ``kinds`` and its shape a non-empty tuple of positive integers."""
    if pop.kind not in kinds:
        raise ParameterError(
            f"population kind {pop.kind!r} is not a {schema} population",
            node=pop.name,
            parameter="kind",
            expected=" or ".join(kinds),
        )
    shape = tuple(pop.shape)
    if not shape or any(not is_int(s) or int(s) < 1 for s in shape):
        raise ParameterError(
            f"population shape {shape} is not valid",
            node=pop.name,
            parameter="shape",
            expected="a non-empty tuple of positive integers",
        )
    return shape


def check_projection_header(proj, program, kinds, neuron_kinds, post_expected: str, *, schema: str):
    """A projection's kind is one of ``kinds``, its ends exist and its post population is one of
    ``neuron_kinds``; returns the post population."""
    from .errors import GraphError

    if proj.kind not in kinds:
        raise ParameterError(
            f"projection kind {proj.kind!r} is not a {schema} projection",
            node=proj.name,
            parameter="kind",
            expected=" or ".join(kinds),
        )
    for end, role in ((proj.pre, "pre"), (proj.post, "post")):
        if end not in program.populations:
            raise GraphError(
                f"projection {role} population '{end}' does not exist",
                node=proj.name,
                parameter=role,
                expected="one of " + ", ".join(sorted(program.populations)),
            )
    post = program.populations[proj.post]
    if post.kind not in neuron_kinds:
        raise GraphError(
            f"projection post population '{proj.post}' is a {post.kind} population",
            node=proj.name,
            parameter="post",
            expected=post_expected,
        )
    return post


def unique_projection_name(existing, base: str, name: str | None) -> str:
    """``name`` if given and free (a typed error if taken), else ``base``, ``base#2``, ... (builders)."""
    from .errors import GraphError

    if name is not None:
        if name in existing:
            raise GraphError(
                "a projection of this name exists already",
                node=name,
                parameter="name",
                expected="a unique projection name",
            )
        return name
    name, i = base, 1
    while name in existing:
        i += 1
        name = f"{base}#{i}"
    return name


__all__ = [
    "is_int",
    "check_int",
    "check_int_array",
    "check_fields",
    "check_population_header",
    "check_projection_header",
    "unique_projection_name",
]
