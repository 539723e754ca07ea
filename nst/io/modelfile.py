"""Model and checkpoint files: one safetensors file, JSON metadata in its header.  No pickle.

A model file (``.nst``) holds the network parameters as float32 tensors named by
their path in the Flax NNX state (``conv1/conv/kernel``, ``conv1/norm/scale``, …),
small style thumbnails (``style_thumbnail/{i}``, uint8), and under the header
key ``nst`` a JSON document: format version, method, network config, style
names and SHA-256 hashes, training options, iterations done, final loss, wall
time, package version, and ``tensor_sha256``, the SHA-256 of the tensors, checked on every load.
A checkpoint (``.ckpt``) is the same plus the
optimiser state (``opt/…``) and the loss history (``history``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import NSTError
from .files import atomic_path

FORMAT = "nst-model"
FORMAT_VERSION = 1


def tensor_digest(tensors: dict[str, np.ndarray]) -> str:
    """SHA-256 of the tensor payload: every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_tensors(path: str | os.PathLike, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write tensors + metadata atomically, with the SHA-256 of the tensors (`tensor_digest`) in the metadata."""
    from safetensors.numpy import save_file

    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta, "tensor_sha256": tensor_digest(arrays)}
    with atomic_path(path) as tmp:
        save_file(arrays, str(tmp), metadata={"nst": json.dumps(meta)})
    return Path(path)


def load_tensors(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by `save_tensors`; anything else is a clear `NSTError`."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise NSTError(f"{path}: no such model file")
    # safetensors opens the file outside Python, so no `open` audit event says it was read: say it here, for
    # tools that record a run's inputs (the experiments runner's provenance)
    sys.audit("nst.read_model", str(path))
    try:
        with safe_open(str(path), framework="numpy") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as e:
        raise NSTError(f"{path}: not an nst model file, or corrupt/truncated ({str(e).splitlines()[0][:120]})") from None
    try:
        meta = json.loads(header["nst"])
    except (KeyError, json.JSONDecodeError, TypeError):
        raise NSTError(f"{path}: a safetensors file, but not an nst model (no nst metadata)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise NSTError(f"{path}: not an nst model file")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise NSTError(f"{path}: written by a newer nst (format {meta.get('format_version')}); upgrade nst")
    expected = meta.pop("tensor_sha256", None)
    if expected is None:
        warnings.warn(f"{path}: no integrity digest (written before nst stored one); loaded unchecked. "
                      "Saving it again adds one.", UserWarning, stacklevel=2)
    elif not isinstance(expected, str) or tensor_digest(tensors) != expected:
        raise NSTError(f"{path}: the tensor data does not match the file's SHA-256 digest (corrupt or altered file)")
    return tensors, meta


def key_name(k: Any) -> str:
    """One step of a pytree path as a name: a dict key, an attribute name or a sequence index."""
    for attr in ("key", "name", "idx"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def flatten_tree(tree: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """A pytree as NumPy tensors named ``prefix + "a/b/c"`` by their path (NNX's ``value`` steps left out)."""
    out = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        names = [key_name(k) for k in path if key_name(k) != "value"]
        out[prefix + "/".join(names)] = np.asarray(jax.device_get(leaf))
    return out


def unflatten_like(template: Any, tensors: dict[str, np.ndarray], prefix: str = "", source: str = "") -> Any:
    """The inverse of `flatten_tree` against ``template``; a missing or misshapen tensor is an `NSTError` naming ``source``."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    new = []
    for path, leaf in leaves:
        key = prefix + "/".join(n for n in (key_name(k) for k in path) if n != "value")
        if key not in tensors:
            raise NSTError(f"{source}: model file lacks tensor {key!r} (wrong or corrupt file)")
        arr = tensors[key]
        shape, dtype = tuple(getattr(leaf, "shape", np.shape(leaf))), np.dtype(getattr(leaf, "dtype", None)
                                                                              or np.asarray(leaf).dtype)
        if shape == () and arr.shape == (1,):  # safetensors stores scalars as shape (1,)
            arr = arr.reshape(())
        if arr.shape != shape or arr.dtype != dtype:
            raise NSTError(f"{source}: tensor {key!r} has shape {arr.shape} {arr.dtype}, expected {shape} {dtype}")
        new.append(jnp.asarray(arr))
    return jax.tree_util.tree_unflatten(treedef, new)
