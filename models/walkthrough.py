"""The command walk-through of ``docs/getting-started.md``, run for real and pasted in.

``python -m neurocompile.models.walkthrough [--check] [--doc PATH] [--keep DIR]`` runs every
command of the walk-through (:data:`STEPS`: inspect, check, compile for both targets, run on
both emulators, report, validate, emit) with ``bash`` in a fresh temporary folder, in the order
the page shows them, and rewrites each generated block of the page: the lines between
``<!-- walkthrough:NAME -->`` and ``<!-- /walkthrough -->`` become one fenced block holding
step NAME's commands (``$ ...``) and what they printed. The prose between the blocks is left
alone. ``--check`` compares instead of writing (exit 1 and a unified diff when the page is
stale); ``tests/test_walkthrough.py`` runs it so.

How the commands run (the same on every machine):

* the folder holds ``models`` (a link to the checkout's zoo) and ``out/`` (what the commands
  write), so the page's relative paths (``$M/model.nir``, ``out/cnn.loihi2.ncp``) are the ones
  run, as from the checkout;
* ``neurocompile`` and ``python`` are this interpreter's (its ``bin`` folder first on PATH);
  ``COLUMNS=100``; stdout is a pipe (no progress bars, no colour) and stderr goes to the same
  pipe, unbuffered, so a one-line error appears where it was printed;
* the data is a fixed subset: the first ``SUBSET`` test samples (``out/first100.npz``), and
  the first two for the SpiNNaker bundle, so the whole walk-through takes well under a minute;
* each command's exit code must be the one :data:`STEPS` expects (a non-zero one is shown as
  ``[exit N]`` under its output), else the script stops without touching the page;
* :func:`normalise` takes the machine out: the temporary folder and the checkout's path
  (paths print relative to the folder, e.g. ``out/...``), durations (``<t>``), and the Lava
  interpreter named by the Lava bundle's run hint (``<lava python>``: it depends on what is
  installed).

The demo is not run here (it takes minutes on the whole test set); the page points to
``make demo`` and to ``docs/accuracy.md`` for its figures.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "getting-started.md"
MODEL = "models/digits_cnn_sinabs"
#: test samples the walk-through runs (the first ones of the bundled test set).
SUBSET = 100
#: terminal width the commands format for.
COLUMNS = 100


@dataclass(frozen=True)
class Command:
    """One line typed at the prompt and the exit code it must give."""

    line: str
    exit_code: int = 0


@dataclass(frozen=True)
class Step:
    """One generated block of the page."""

    name: str
    commands: tuple[Command, ...]


def _cmds(*lines: str | tuple[str, int]) -> tuple[Command, ...]:
    return tuple(Command(*x) if isinstance(x, tuple) else Command(x) for x in lines)


#: the walk-through, in page order. ``NAME=value`` lines set a shell variable for the later
#: commands (they print nothing).
STEPS: tuple[Step, ...] = (
    Step(
        "setup",
        _cmds(
            f"M={MODEL}",
            "python -c \"import json; print(json.load(open('$M/card.json'))['simulate'])\"",
            "python -c \"import numpy as np; d = np.load('$M/test.npz'); print({k: d[k].shape for k in d})\"",
            "mkdir -p out",
            "python -c \"import numpy as np; d = np.load('$M/test.npz'); "
            f"np.savez('out/first{SUBSET}.npz', input=d['input'][:{SUBSET}], labels=d['labels'][:{SUBSET}]); "
            "np.savez('out/two_samples.npz', input=d['input'][:2])\"",
        ),
    ),
    Step("inspect", _cmds("neurocompile inspect $M/model.nir")),
    Step(
        "check",
        _cmds(
            "neurocompile check $M/model.nir --target loihi2",
            "neurocompile check $M/model.nir --target spinnaker",
        ),
    ),
    Step(
        "compile",
        _cmds(
            "neurocompile compile $M/model.nir --target loihi2 --discretization exponential "
            "-o out/cnn.loihi2.ncp",
            "neurocompile compile $M/model.nir --target spinnaker --discretization exponential "
            "-o out/cnn.spinnaker.ncp",
        ),
    ),
    Step(
        "compile-refused",
        _cmds(
            (
                "neurocompile compile $M/model.nir --target loihi2 --discretization exponential "
                "--reset subtract -o out/x.ncp",
                2,
            )
        ),
    ),
    Step(
        "run",
        _cmds(
            f"neurocompile run out/cnn.loihi2.ncp --input out/first{SUBSET}.npz --output out/loihi2_out.npz",
            f"neurocompile run out/cnn.spinnaker.ncp --input out/first{SUBSET}.npz "
            "--output out/spinn_out.npz",
        ),
    ),
    Step("report", _cmds(f"neurocompile report out/cnn.loihi2.ncp --input out/first{SUBSET}.npz")),
    Step(
        "validate",
        _cmds(
            f"neurocompile validate $M/model.nir out/cnn.loihi2.ncp --input out/first{SUBSET}.npz "
            "--labels labels"
        ),
    ),
    Step(
        "emit",
        _cmds(
            "neurocompile emit out/cnn.loihi2.ncp -o out/bundle_loihi2",
            "neurocompile emit out/cnn.spinnaker.ncp -o out/bundle_spinnaker --input out/two_samples.npz",
        ),
    ),
)

#: a duration in seconds ("5.1 s", "12s") or a clock ("0:00:52"); "ms" is left alone (SpiNNaker's tick)
_DURATION = re.compile(r"(?<![\w.])\d+(?:\.\d+)? ?s\b(?!\()|\b\d+:\d\d:\d\d\b")
_LAVA_HINT = re.compile(r"(run: ).+?( \S*run\.py --check)")
_ASSIGN = re.compile(r"^([A-Za-z_]\w*)=(\S+)$")


def normalise(text: str, roots: Sequence[str | Path]) -> str:
    """``text`` without what depends on the machine: each of ``roots`` (folder paths) and the
    slash after it removed, durations as ``<t>``, the Lava interpreter of a run hint as
    ``<lava python>``; trailing blanks stripped."""
    variants = {os.path.join(os.path.realpath(r), "") for r in roots} | {
        os.path.join(str(r), "") for r in roots
    }
    for root in sorted(variants, key=len, reverse=True):
        text = text.replace(root, "")
    text = _DURATION.sub("<t>", text)
    text = _LAVA_HINT.sub(r"\1<lava python>\2", text)
    return "\n".join(line.rstrip() for line in text.splitlines())


def _environment(bindir: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
    }
    env.update(
        PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}",
        COLUMNS=str(COLUMNS),
        PYTHONUNBUFFERED="1",
        PYTHONIOENCODING="utf-8",
        NO_COLOR="1",
    )
    return env


def run_steps(steps: Sequence[Step] = STEPS, *, folder: Path | None = None) -> dict[str, str]:
    """Run ``steps`` in a fresh folder (``folder``, else a temporary one) -> {step name: the
    transcript of its block (commands and normalised output)}."""
    bindir = Path(sys.executable).parent
    if not (bindir / "neurocompile").exists():
        raise SystemExit(f"no neurocompile console script next to {sys.executable}: install the package")
    with tempfile.TemporaryDirectory(prefix="walkthrough-") as tmp:
        work = Path(folder) if folder is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if not (work / "models").exists():
            (work / "models").symlink_to(REPO / "models", target_is_directory=True)
        env = _environment(bindir)
        blocks = {}
        for step in steps:
            lines: list[str] = []
            for cmd in step.commands:
                lines.append(f"$ {cmd.line}")
                assign = _ASSIGN.match(cmd.line)
                if assign:
                    env[assign.group(1)] = assign.group(2)
                    continue
                proc = subprocess.run(
                    ["bash", "-c", cmd.line],
                    cwd=work,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    encoding="utf-8",
                )
                if proc.returncode != cmd.exit_code:
                    raise SystemExit(
                        f"walkthrough step {step.name!r}: `{cmd.line}` exited {proc.returncode}, "
                        f"expected {cmd.exit_code}; its output:\n{proc.stdout}"
                    )
                out = normalise(proc.stdout, [work, REPO])
                if out:
                    lines.append(out)
                if cmd.exit_code:
                    lines.append(f"[exit {cmd.exit_code}]")
            blocks[step.name] = "\n".join(lines) + "\n"
    return blocks


def markers(tag: str) -> tuple[str, str, re.Pattern]:
    """(begin marker with a ``{name}`` field, end marker, block pattern) of generated blocks
    tagged ``tag`` (``<!-- TAG:NAME -->`` ... ``<!-- /TAG -->``, each on its own line)."""
    t = re.escape(tag)
    return (
        f"<!-- {tag}:{{name}} -->",
        f"<!-- /{tag} -->",
        re.compile(rf"^<!-- {t}:([\w-]+) -->\n(.*?)^<!-- /{t} -->$", re.S | re.M),
    )


BEGIN, END, BLOCK = markers("walkthrough")


def render(doc: str, blocks: dict[str, str], *, tag: str = "walkthrough", fence: bool = True) -> str:
    """``doc`` with each generated block replaced by ``blocks[name]`` (in a fence when ``fence``,
    else as it is: Markdown text ending in a newline); the text outside the markers is kept byte
    for byte. Every marker must name a block and every block must have exactly one marker.
    ``tag`` names the marker family (``walkthrough`` here; other generated pages use their own,
    ``neurocompile.models.docfigures``)."""
    begin, end, pattern = markers(tag)
    found = [m.group(1) for m in pattern.finditer(doc)]
    missing = sorted(set(blocks) - set(found))
    unknown = sorted(set(found) - set(blocks))
    twice = sorted({n for n in found if found.count(n) > 1})
    if missing or unknown or twice:
        raise ValueError(
            f"{tag} markers: missing {missing}, unknown {unknown}, repeated {twice} "
            f"(each block needs one {begin.format(name='NAME')} ... {end} pair)"
        )

    def fill(m: re.Match) -> str:
        body = f"```\n{blocks[m.group(1)]}```\n" if fence else blocks[m.group(1)]
        return f"{begin.format(name=m.group(1))}\n{body}{end}"

    return pattern.sub(fill, doc)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the page instead of writing it")
    ap.add_argument("--doc", type=Path, default=DOC, help="the page (default docs/getting-started.md)")
    ap.add_argument("--keep", type=Path, default=None, help="run in this folder and keep what it writes")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    old = args.doc.read_text()
    new = render(old, run_steps(folder=args.keep))
    secs = time.perf_counter() - t0
    if args.check:
        if new != old:
            diff = difflib.unified_diff(
                old.splitlines(True), new.splitlines(True), f"{args.doc} (committed)", f"{args.doc} (now)"
            )
            sys.stdout.write("".join(diff))
            sys.stdout.write(
                f"\n{args.doc} is stale: regenerate with python -m neurocompile.models.walkthrough\n"
            )
            return 1
        sys.stdout.write(f"{args.doc}: up to date ({len(STEPS)} blocks, {secs:.1f} s)\n")
        return 0
    if new != old:
        args.doc.write_text(new)
    sys.stdout.write(f"{args.doc}: {'rewritten' if new != old else 'unchanged'} ({secs:.1f} s)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
