"""The demo's pictures: a spike raster of one sample and a chips x cores placement grid.

Used by :mod:`neurocompile.cli.demo` (``cli/demo.py``); matplotlib (the ``demo`` extra of
``pyproject.toml``) is imported only when a picture is drawn, with the Agg backend. Nothing here
names a chip: the placement grid reads the resource summary the demo builds from ``report``
(``cores``, ``chips``, ``limits``) and the presentation facts of each target's ``demo`` dict
(``targets/<chip>/__init__.py``):

``cores_per_chip``
    Cores drawn per chip when the placement's ``limits`` do not say (an int or a
    ``"module:attribute"`` string); otherwise the highest used core + 1.
``system_cores``
    Legend text for the cores the runtime keeps for itself; those are drawn grey, counted from
    the placement limits ``app_cores_per_chip`` (``app_cores_ethernet_chip`` on chip 0).
``placement``
    The panel's name (default ``"placement"``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from neurocompile.errors import UnsupportedError
from neurocompile.ir import SPIKING_KINDS
from neurocompile.target import get_target, resolve

__all__ = ["plot_raster", "plot_placement"]


def _layers(graph: Any, program: Any) -> list[tuple[str, str]]:
    """(NIR node, population) for the input and every spiking neuron node, in graph order."""
    node_map = (program.provenance or {}).get("node_map", {})
    order = []
    for name in _bfs_order(graph):
        node = graph.nodes[name]
        if node.kind == "Input" or node.kind in SPIKING_KINDS:
            pops = [p for p in node_map.get(name, [name]) if p in program.populations]
            if pops:
                order.append((name, pops[0]))
    return order


def _bfs_order(graph: Any) -> list[str]:
    """Nodes in breadth-first order from the inputs (cycles visited once), then any left over."""
    seen: list[str] = []
    queue = list(graph.inputs)
    while queue:
        n = queue.pop(0)
        if n in seen:
            continue
        seen.append(n)
        queue += [d for d in graph.successors(n) if d not in seen]
    return seen + [n for n in graph.nodes if n not in seen]


def plot_raster(
    graph: Any,
    program: Any,
    dm: Any,
    path: str | Path,
    *,
    sample: int = 0,
    inputs: Mapping[str, np.ndarray] | None = None,
    backend: str = "emulator",
) -> Path:
    """Spike raster of one sample: input and every spiking layer, float reference vs the Program
    run on ``backend`` (its emulator).

    The float reference runs under the Program's own semantics (its ``hop_delay`` 1 and reset)
    so that matching spikes fall on the same step; the panel titles say so.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import neurocompile as nc

    x = {k: v[sample : sample + 1] for k, v in (dm.inputs if inputs is None else inputs).items()}
    layers = _layers(graph, program)
    sem = program.semantics
    ref_kw = {
        "dt": sem.get("dt"),
        "discretization": sem.get("discretization", "forward"),
        "reset": sem.get("reset", "file"),
        "hop_delay": int(sem.get("hop_delay", 1)),
    }
    rec_nodes = [n for n, _ in layers if graph.nodes[n].kind != "Input"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = nc.simulate(graph, x, record=[f"{n}.spikes" for n in rec_nodes], **ref_kw)
        emu = program.run(
            x, backend=backend, record=[(p, "spikes") for n, p in layers if graph.nodes[n].kind != "Input"]
        )

    def flat(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a)[0]
        return a.reshape(a.shape[0], -1)

    fig, axes = plt.subplots(
        len(layers),
        2,
        figsize=(11, 2.0 + 2.1 * len(layers)),
        squeeze=False,
        gridspec_kw={
            "height_ratios": [
                max(1.0, min(3.0, np.log10(max(2, int(np.prod(graph.nodes[n].output_shape or (1,)))))))
                for n, _ in layers
            ]
        },
    )
    label = "" if dm.labels is None else f", label {int(dm.labels[sample])}"
    for row, (node, pop) in enumerate(layers):
        if graph.nodes[node].kind == "Input":
            r = e = flat(x[node])
        else:
            r = flat(ref.recordings[f"{node}.spikes"])
            e = flat(emu.recordings[f"{pop}.spikes"])
        n_neurons = r.shape[1]
        same = int(np.logical_and(r != 0, e != 0).sum())
        for col, (data, who) in enumerate(((r, "float reference"), (e, f"{program.target} {backend}"))):
            ax = axes[row][col]
            t, i = np.nonzero(data)
            ax.scatter(
                t,
                i,
                s=4 if n_neurons > 64 else 9,
                marker="|" if n_neurons <= 64 else ".",
                c="black" if col == 0 else "tab:blue",
                linewidths=0.8,
            )
            ax.set_xlim(-0.5, data.shape[0] - 0.5)
            ax.set_ylim(-0.5, n_neurons - 0.5)
            kind = graph.nodes[node].kind
            extra = f", {same} on the reference's step" if kind != "Input" and col == 1 else ""
            what = "input" if kind == "Input" else f"'{node}' {kind}"
            ax.set_title(
                f"{who}: {what} ({n_neurons} neurons), {int((data != 0).sum())} spikes{extra}", fontsize=8
            )
            ax.set_ylabel("neuron", fontsize=8)
            ax.tick_params(labelsize=7)
            if row == len(layers) - 1:
                ax.set_xlabel(f"time step (dt {sem.get('dt')})", fontsize=8)
    fig.suptitle(
        f"{dm.name}, sample {sample}{label}: float reference (the Program's semantics: hop_delay "
        f"{ref_kw['hop_delay']}, reset {ref_kw['reset']}) vs {program.target} {backend} (bit-exact)",
        fontsize=10,
    )
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _facts(target: str) -> Mapping[str, Any]:
    """The ``demo`` dict of ``target`` (empty for a name the registry does not know)."""
    try:
        return get_target(target).demo
    except UnsupportedError:  # resources of a name the registry does not know: drawn plainly
        return {}


def _system_cores(resources: Mapping[str, Any], per_chip: int, chip: int) -> int:
    """Cores of a chip the runtime keeps for itself: what the placement limits leave to applications."""
    lim = resources.get("limits", {})
    app = lim.get("app_cores_ethernet_chip") if chip == 0 else None
    app = app if app is not None else lim.get("app_cores_per_chip")
    return 0 if app is None else max(0, per_chip - int(app))


def _cores_per_chip(target: str, resources: Mapping[str, Any]) -> int:
    lim = resources.get("limits", {})
    if lim.get("cores_per_chip"):
        return int(lim["cores_per_chip"])
    given = _facts(target).get("cores_per_chip")
    if given is not None:
        return int(resolve(given))
    return max([int(c["core"]) + 1 for c in resources.get("cores", [])] or [1])


def plot_placement(
    resources: Mapping[str, Mapping[str, Any]], path: str | Path, *, title: str = "", max_chips: int = 6
) -> Path:
    """A chips x cores grid per target, each used core coloured by its population (ESTIMATED figures)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    targets = [t for t, r in resources.items() if not r.get("error")]
    all_pops: list[str] = []  # one colour per population name across targets
    for t in targets:
        for c in resources[t]["cores"]:
            if c["population"] not in all_pops:
                all_pops.append(c["population"])
    cmap = plt.get_cmap("tab10" if len(all_pops) <= 10 else "tab20")
    colour = {p: cmap(i % cmap.N) for i, p in enumerate(all_pops)}
    fig, axes = plt.subplots(len(targets) or 1, 1, figsize=(12, 3.2 * max(1, len(targets))), squeeze=False)
    for ax, t in zip(axes[:, 0], targets):
        res = resources[t]
        per_chip = _cores_per_chip(t, res)
        cols = 16 if per_chip > 32 else 6
        rows = -(-per_chip // cols)
        chips = max(1, int(res.get("chips", 1)))
        shown = min(chips, max_chips)
        pops = [p for p in all_pops if any(c["population"] == p for c in res["cores"])]
        gap = 1
        for chip in range(shown):
            x0 = chip * (cols + gap)
            for k in range(per_chip):
                r, c = divmod(k, cols)
                face = "#dddddd" if k >= _system_cores(res, per_chip, chip) else "#888888"
                ax.add_patch(Rectangle((x0 + c, rows - 1 - r), 0.92, 0.92, facecolor=face, edgecolor="white"))
            ax.text(x0 + cols / 2, rows + 0.15, f"chip {chip}", ha="center", va="bottom", fontsize=8)
        for c in res["cores"]:
            chip, k = int(c["chip"]), int(c["core"])
            if chip >= shown:
                continue
            r, cc = divmod(k, cols)
            x0 = chip * (cols + gap)
            ax.add_patch(
                Rectangle(
                    (x0 + cc, rows - 1 - r),
                    0.92,
                    0.92,
                    facecolor=colour[c["population"]],
                    edgecolor="black",
                    linewidth=0.6,
                )
            )
            if cols <= 16 and (shown * cols) <= 48:
                ax.text(
                    x0 + cc + 0.46,
                    rows - 1 - r + 0.46,
                    f"{c['neurons']}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white",
                )
        ax.set_xlim(-0.3, shown * (cols + gap) - gap + 0.3)
        ax.set_ylim(-0.3, rows + 0.8)
        ax.set_aspect("equal")
        ax.axis("off")
        more = f" (first {shown} of {chips} chips drawn)" if chips > shown else ""
        kind = _facts(t).get("placement", "placement")
        syn = sum(int(c.get("synapse_bytes", 0)) for c in res["cores"])
        ax.set_title(
            f"{t} {kind}: {chips} chip(s), {res['cores_used']} core(s) used of {per_chip} per chip{more}; "
            f"synapse memory ~{syn / 1024:.1f} KiB ESTIMATED; numbers = neurons per core",
            fontsize=9,
        )
        sources = set(res.get("spike_sources", ()))
        handles = [
            Patch(
                facecolor=colour[p],
                edgecolor="black",
                label=f"population {p}" + (" (spike source)" if p in sources else ""),
            )
            for p in pops
        ]
        handles.append(Patch(facecolor="#dddddd", label="free core"))
        if any(_system_cores(res, per_chip, chip) for chip in range(shown)):
            what = _facts(t).get("system_cores")
            handles.append(Patch(facecolor="#888888", label="system core" + (f" ({what})" if what else "")))
        ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
