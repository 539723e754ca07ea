"""Deprecated module paths, kept importable: ``nst.gatys`` → `nst.methods.gatys` and friends.

Before the sub-packages (``nst.core``, ``nst.io``, ``nst.methods``, ``nst.interface``) every module
sat in ``nst/``.  Code written against those paths keeps working: importing one warns
(`DeprecationWarning`) and returns a module whose attributes come from the new homes, in order.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings
from typing import Any, Sequence

#: old module -> the modules its names now live in (searched in order)
MOVED: dict[str, tuple[str, ...]] = {
    "nst.benchmark": ("nst.io.timing",),
    "nst.color": ("nst.core.color",),
    "nst.data": ("nst.io.data",),
    "nst.feedforward": ("nst.interface.feedforward", "nst.methods.training.metadata", "nst.io.files"),
    "nst.fileio": ("nst.io.files",),
    "nst.gatys": ("nst.methods.gatys", "nst.interface.gatys"),
    "nst.images": ("nst.io.images",),
    "nst.losses": ("nst.core.losses",),
    "nst.modelfile": ("nst.io.modelfile",),
    "nst.networks": ("nst.core.networks",),
    "nst.progress": ("nst.io.progress",),
    "nst.stylizer": ("nst.interface.base",),
    "nst.train": ("nst.methods.training", "nst.io.modelfile"),
    "nst.vgg": ("nst.core.vgg",),
    "nst.weights": ("nst.io.weights",),
}


class _MovedModule(types.ModuleType):
    def __init__(self, name: str, homes: Sequence[str]):
        super().__init__(name, f"Deprecated alias of {', '.join(homes)}.")
        self.__homes = tuple(homes)

    def __getattr__(self, attr: str) -> Any:
        for home in self.__homes:
            module = importlib.import_module(home)
            if hasattr(module, attr):
                return getattr(module, attr)
        raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r} "
                             f"(it moved to {', '.join(self.__homes)})")

    def __dir__(self) -> list[str]:
        return sorted({n for h in self.__homes for n in dir(importlib.import_module(h))})


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec: Any) -> types.ModuleType:
        old = spec.name
        warnings.warn(f"{old} is deprecated; import from {' / '.join(MOVED[old])}", DeprecationWarning, stacklevel=3)
        return _MovedModule(old, MOVED[old])

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def install() -> None:
    """Make the old module paths importable (idempotent); `nst` calls this on import."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
