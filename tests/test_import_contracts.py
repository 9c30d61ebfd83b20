"""The import direction of the tree, checked by parsing every import (top-level and inside functions).

errors <- ir <- frontends / reference / netlist <- compile / check / report <- targets <- cli / models:
a module imports only from its own layer or the layers before it. Besides, the core imports no
model zoo, no matplotlib, no target and no CLI module (the registry lookup in
``neurocompile/target.py`` goes through ``importlib`` by name: that is the plugin boundary), and
no chip folder imports another chip.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: source folder -> the package it installs as (pyproject.toml's package-dir).
PACKAGES = {
    "neurocompile": "neurocompile",
    "targets": "neurocompile.targets",
    "cli": "neurocompile.cli",
    "models": "neurocompile.models",
}

#: core modules by layer; every core module must be listed (a new one gets its place here).
CORE_LAYERS: list[set[str]] = [
    {"errors", "target", "findings", "jsonable", "files"},
    {"ir", "semantics", "data", "schema"},
    {
        "load",
        "nirio",
        "onnx_frontend",
        "conventions",
        "frameworks",
        "framework_modules",
        "ingest",
        "reference",
        "reference_ops",
        "shapes",
        "netlist",
        "quantize",
        "partition",
        "program",
        "distributed",
        "events",
        "summary",
        "learning",
        "learning.attach",
        "learning.ir",
        "learning.library",
        "learning.online",
        "learning.results",
        "learning.toml",
    },
    # "": the package itself, which re-exports the API
    {"compiler", "check", "report", "compare", "torch_module", "energy", "nbmetrics", "sweep", ""},
]
LAYER_TARGETS = len(CORE_LAYERS)
LAYER_APPS = LAYER_TARGETS + 1
FORBIDDEN_IN_CORE = ("matplotlib", "neurocompile.models", "neurocompile.targets", "neurocompile.cli")


def _modules() -> dict[str, tuple[Path, set[str]]]:
    out = {}
    for folder, pkg in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            is_pkg = rel[-1] == "__init__"
            if is_pkg:
                rel = rel[:-1]
            mod = ".".join([pkg, *rel])
            base = mod if is_pkg else mod.rsplit(".", 1)[0]
            imports: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    imports.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom):
                    if node.level:
                        parts = base.split(".")
                        parts = parts[: len(parts) - node.level + 1]
                        name = ".".join(parts + ([node.module] if node.module else []))
                    else:
                        name = node.module or ""
                    imports.update(f"{name}.{a.name}" for a in node.names)  # a module or an attribute
            out[mod] = (path, imports)
    return out


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The project module an imported name refers to (a module, or an attribute of one)."""
    if name in MODULES:
        return name
    parent = name.rsplit(".", 1)[0]
    return parent if parent in MODULES else None


def _layer(mod: str) -> int:
    if mod.startswith("neurocompile.targets"):
        return LAYER_TARGETS
    if mod.startswith(("neurocompile.cli", "neurocompile.models")):
        return LAYER_APPS
    short = mod.removeprefix("neurocompile").lstrip(".")
    for i, layer in enumerate(CORE_LAYERS):
        if short in layer:
            return i
    raise AssertionError(f"core module {mod} has no layer in CORE_LAYERS: give it one")


@pytest.mark.parametrize("mod", sorted(MODULES))
def test_imports_point_one_way(mod):
    path, imports = MODULES[mod]
    mine = _layer(mod)
    bad = []
    for name in sorted(imports):
        dep = _owner(name)
        if dep is None or dep == mod:
            continue
        if _layer(dep) > mine:
            bad.append(f"{name} (layer {_layer(dep)})")
    assert not bad, f"{path.relative_to(ROOT)} (layer {mine}) imports upward: {', '.join(bad)}"


@pytest.mark.parametrize("mod", sorted(m for m in MODULES if _layer(m) < LAYER_TARGETS))
def test_core_imports_no_application_and_no_target(mod):
    path, imports = MODULES[mod]
    bad = sorted(n for n in imports if n.split(".")[0] == "matplotlib" or n.startswith(FORBIDDEN_IN_CORE))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize(
    "mod", sorted(m for m in MODULES if m.count(".") >= 2 and m.startswith("neurocompile.targets."))
)
def test_no_chip_imports_another_chip(mod):
    path, imports = MODULES[mod]
    chip = mod.split(".")[2]
    other = sorted(n for n in imports if n.startswith("neurocompile.targets.") and n.split(".")[2] != chip)
    assert not other, f"{path.relative_to(ROOT)} ({chip}) imports another chip: {other}"


def test_the_contract_sees_the_tree():
    """The parser finds the modules and the imports it is meant to judge (it cannot pass vacuously)."""
    assert {"neurocompile.compiler", "neurocompile.targets.loihi2.lower", "neurocompile.cli.main"} <= set(
        MODULES
    )
    assert "neurocompile.netlist" in {_owner(n) for n in MODULES["neurocompile.compiler"][1]}
    assert _layer("neurocompile.errors") < _layer("neurocompile.netlist") < _layer("neurocompile.compiler")
