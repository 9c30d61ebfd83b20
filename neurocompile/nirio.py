"""Writing ``.nir`` files from a :class:`~neurocompile.ir.Graph`.

The layout is the one nir 1.0.x writes (HDF5: dataset ``version``, group ``node`` with
``type = "NIRGraph"``, ``nodes/<name>/<param>`` datasets, ``edges`` as an (N, 2) string
array, ``metadata``). Spiking nodes are written with their ``v_reset`` (nir >= 1.0.5), so
files written here are never legacy-reset files. ``Input``/``Output`` store ``shape``.
"""

from __future__ import annotations

import os
from typing import Any

import h5py
import numpy as np

from .ir import Graph

#: The nir release whose file layout (with ``v_reset`` and ``CubaLI``) this writer follows.
WRITTEN_VERSION = "1.0.8"


def _write_value(group: h5py.Group, key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        sub = group.create_group(key)
        for k, v in value.items():
            _write_value(sub, str(k), v)
        return
    if isinstance(value, str):
        group.create_dataset(key, data=value.encode())
        return
    arr = np.asarray(value)
    if arr.dtype.kind in "US":
        arr = arr.astype("S")
    group.create_dataset(key, data=arr)


def write_nir(graph: Graph, path: str | os.PathLike) -> None:
    """Write ``graph`` as a ``.nir`` file (deterministic content for the same graph)."""
    with h5py.File(path, "w", track_order=True) as f:
        f.create_dataset("version", data=WRITTEN_VERSION.encode())
        root = f.create_group("node", track_order=True)
        root.create_dataset("type", data=b"NIRGraph")
        nodes = root.create_group("nodes", track_order=True)
        for name, node in graph.nodes.items():
            g = nodes.create_group(name, track_order=True)
            g.create_dataset("type", data=node.kind.encode())
            for key, value in node.params.items():
                _write_value(g, key, value)
        edges = np.array([[s.encode(), d.encode()] for s, d in graph.edges], dtype="S")
        root.create_dataset("edges", data=edges if len(edges) else np.zeros((0, 2), dtype="S1"))
        if graph.metadata:
            _write_value(root, "metadata", graph.metadata)
