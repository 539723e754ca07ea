"""Small file helpers: atomic writes, hashing, sizes, the cache directory and the checkout's data folder."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, BinaryIO

from ..errors import NSTError


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def file_mode_for(path: Path) -> int:
    """The one permission policy for everything nst writes: a replaced file keeps its mode; a new file
    gets 0666 minus the umask, as ``open()`` would give it."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return _default_mode()


def folder_mode_for(path: Path) -> int:
    """`file_mode_for` for folders (an .mlpackage): a replaced one keeps its mode, a new one 0777 minus the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return _default_mode() | ((_default_mode() & 0o444) >> 2)  # r → x, as mkdir would


def cache_dir() -> Path:
    """Where nst keeps converted weights.

    ``$NST_CACHE`` if set, else ``$XDG_CACHE_HOME/nst``, else ``~/.cache/nst``.
    """
    if os.environ.get("NST_CACHE"):
        return Path(os.environ["NST_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nst"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[BinaryIO]:
    """Open a temporary file next to ``path``; rename it over ``path`` on success.

    On any exception (including KeyboardInterrupt) the temporary file is removed,
    so a reader never sees a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode_for(path))  # mkstemp makes 0600: apply the policy before the rename
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_path(path: str | os.PathLike) -> contextlib.AbstractContextManager[Path]:
    """Like `atomic_write`, but yields a temporary *path* for writers that want a filename.

    The temporary name keeps ``path``'s suffix so libraries that dispatch on the
    extension (Pillow) still work.
    """

    @contextlib.contextmanager
    def _cm() -> Iterator[Path]:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent)
        os.close(fd)
        try:
            yield Path(tmp)
            # the writer may have replaced the temporary file with its own (and its own mode)
            os.chmod(tmp, file_mode_for(target))
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    return _cm()


def path_size(path: str | os.PathLike) -> int:
    """Bytes in a file, or in all files under a folder (an .mlpackage is a folder)."""
    path = Path(path)
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find_data_dir() -> Path:
    """``data/`` of the source checkout: the working directory's, else the one next to the package."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (base / "data" / "content" / "eval").is_dir() and (base / "data" / "styles").is_dir():
            return base / "data"
    raise NSTError("cannot find data/content/eval and data/styles; run from the project checkout")


def find_project_dir() -> Path:
    """The source checkout's root (the folder holding ``data/``)."""
    return find_data_dir().parent


def default_content_dir() -> Path:
    """The training photos the feedforward methods use by default: ``data/content/train``."""
    return find_data_dir() / "content" / "train"


def check_writable_folder(folder: Path, label: str) -> None:
    """Create and remove a temporary file in ``folder``; an `NSTError` naming ``label`` if that fails."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".nst-probe-", dir=folder)
    except OSError as e:
        raise NSTError(f"{label}: cannot write into {folder} ({e.strerror or e})") from None
    os.close(fd)
    os.unlink(tmp)
