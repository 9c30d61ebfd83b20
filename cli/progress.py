"""Progress display for the commands that can take more than a second (rich, on stderr).

Shown only when stderr is a terminal and ``--quiet`` was not given: captured, piped or redirected
runs (tests, ``2> log``, CI) get no progress output at all, so their stderr stays the one-line
error contract. The bars are transient: they vanish when the work ends or fails, leaving no
half-finished ``0/1`` behind.

* :func:`task` - one bar; yields ``update(done, total=None)`` (``total=None`` at the start: a
  spinner with the elapsed time until the first update gives a total).
* :func:`steps` - a sequence of named steps (e.g. compile's load, lower + place, write); yields
  ``step(name)``.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator, Optional, Sequence

#: ``update(done, total=None)``
Update = Callable[..., None]


def enabled() -> bool:
    """True when progress is shown: stderr is a terminal and ``--quiet`` was not given."""
    from neurocompile.cli.main import _state

    if _state.get("quiet"):
        return False
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def _bar(console):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _noop(*_args, **_kwargs) -> None:
    return None


@contextmanager
def task(description: str, total: Optional[int] = None) -> Iterator[Update]:
    """One progress bar on stderr (or nothing, see :func:`enabled`); yields ``update(done, total=None)``."""
    if not enabled():
        yield _noop
        return
    from rich.console import Console

    with _bar(Console(stderr=True)) as bar:
        tid = bar.add_task(description, total=total)

        def update(done: int, total: Optional[int] = None) -> None:
            if total is not None:
                bar.update(tid, total=total)
            bar.update(tid, completed=done)

        yield update


@contextmanager
def steps(description: str, names: Sequence[str]) -> Iterator[Callable[[str], None]]:
    """A bar over named steps; yields ``step(name)``, called when step ``name`` starts."""
    if not enabled():
        yield _noop
        return
    from rich.console import Console

    names = list(names)
    with _bar(Console(stderr=True)) as bar:
        tid = bar.add_task(description, total=len(names))

        def step(name: str) -> None:
            done = names.index(name) if name in names else 0
            bar.update(tid, completed=done, description=f"{description}: {name}")

        yield step
