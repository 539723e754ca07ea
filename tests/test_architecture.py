"""The package's structure: data flows one way through the layers, no import cycles, no private names
across modules, and the module paths from before the sub-packages still import (deprecated)."""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nst"

# Lower layers never import higher ones (README "Layout").  Longest prefix wins.
LAYERS = {
    "nst.errors": 0, "nst.version": 0, "nst.xla_flags": 0, "nst.io": 0,
    "nst.core": 1,
    "nst.recipes": 2, "nst.methods": 2, "nst.export": 2, "nst.evaluate": 2,
    "nst.interface": 3,
    "nst.api": 4, "nst.cli": 4, "nst.web": 4, "nst.demo": 4, "nst.plotting": 4, "nst.compat": 4, "nst": 4,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def imports(path: Path) -> list[tuple[str, list[str]]]:
    return imports_of(path.read_text(), module_name(path), path.name == "__init__.py")


def imports_of(source: str, mod: str, is_package: bool) -> list[tuple[str, list[str]]]:
    """(imported module, names) for every ``import``/``from … import`` of an nst module, resolved."""
    package = mod if is_package else mod.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "nst" or target.startswith("nst."):
                names = [a.name for a in node.names]
                # "from . import x" imports the sub-module x
                subs = [f"{target}.{n}" for n in names if (PACKAGE.parent / (f"{target}.{n}".replace(".", "/") + ".py")).exists()
                        or (PACKAGE.parent / f"{target}.{n}".replace(".", "/")).is_dir()]
                out += [(s, []) for s in subs] or [(target, names)]
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name == "nst" or a.name.startswith("nst.")]
    return out


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_in_a_layer():
    for path in MODULES:
        layer(module_name(path))  # raises if unplaced


def test_no_module_imports_a_layer_above_it():
    bad = []
    for path in MODULES:
        mod = module_name(path)
        for target, _ in imports(path):
            if layer(target) > layer(mod):
                bad.append(f"{mod} (layer {layer(mod)}) imports {target} (layer {layer(target)})")
    assert not bad, "\n".join(bad)


def test_no_private_names_across_modules():
    bad = [f"{module_name(p)} imports {t}.{n}" for p in MODULES for t, names in imports(p) for n in names
           if n.startswith("_") and n != "__version__" and t != module_name(p)]
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    graph = {module_name(p): {t for t, _ in imports(p) if t != module_name(p)} for p in MODULES}
    # a package's __init__ importing its own sub-modules is not a cycle of the code
    graph = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in graph.items()}
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for t in graph.get(m, ()):
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(t):] + [t]))
            if t in graph and not state.get(t):
                visit(t, stack + [t])
        state[m] = 2

    for m in graph:
        if not state.get(m):
            visit(m, [m])


def test_the_checks_can_fail():
    """The resolver sees relative upward imports and private names, as the checks above need."""
    found = imports_of("from ..interface.base import Stylizer\nfrom ..io.images import _secret\n", "nst.core.fake", False)
    assert found == [("nst.interface.base", ["Stylizer"]), ("nst.io.images", ["_secret"])]
    assert layer("nst.interface.base") > layer("nst.core.fake") and layer("nst.io.images") < layer("nst.core.fake")
    assert imports_of("from . import loop\n", "nst.methods.training", True) == [("nst.methods.training.loop", [])]


@pytest.mark.parametrize("old, name, new", [
    ("nst.gatys", "GatysConfig", "nst.methods.gatys"),
    ("nst.gatys", "GatysStylizer", "nst.interface.gatys"),
    ("nst.train", "TrainConfig", "nst.methods.training"),
    ("nst.train", "flatten_tree", "nst.io.modelfile"),
    ("nst.feedforward", "DumoulinStylizer", "nst.interface.feedforward"),
    ("nst.feedforward", "training_stages", "nst.methods.training.metadata"),
    ("nst.images", "load_image", "nst.io.images"),
    ("nst.vgg", "VGG19", "nst.core.vgg"),
    ("nst.losses", "gram_matrix", "nst.core.losses"),
    ("nst.networks", "TransformerNet", "nst.core.networks"),
])
def test_old_module_paths_still_import_with_a_deprecation_warning(old, name, new):
    import sys

    import nst  # noqa: F401 - installs the finder

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=old.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="moved to"):
            getattr(module, "no_such_name")
