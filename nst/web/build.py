"""``nst web build``: the static page, onnxruntime-web's wasm assets and the models as ONNX, in one folder.

The folder is built next to its destination and moved into place at the end, so a failed or
interrupted build leaves nothing behind and an earlier build stays intact until the new one is
complete.  Everything is checked (models load, the page and the pinned onnxruntime-web are there,
the destination can be written) before the first export starts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import NSTError
from ..io.files import check_writable_folder, file_mode_for, find_project_dir, folder_mode_for, sha256_file
from ..io.images import painting_name, save_image
from ..version import __version__

PAGE_FILES = ("index.html", "app.mjs", "style.css")
ORT_PACKAGE = "onnxruntime-web"
# The wasm build only: ort.min.mjs would pull in the 28 MB JSEP (WebGPU) wasm instead.
ORT_ASSETS = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
MANIFEST_NAME = "manifest.json"
GENERATOR = "nst web build"
VERIFY_SIZE = (96, 128)  # one odd-aspect size per model: the export is checked, not benchmarked


def find_web_dir() -> Path:
    """``web/`` of the source checkout: the page and its ``package.json``/``package-lock.json``."""
    try:
        web = find_project_dir() / "web"
    except NSTError:
        raise NSTError("cannot find the page's folder web/: run nst web from the project checkout") from None
    missing = [n for n in (*PAGE_FILES, "package.json", "package-lock.json") if not (web / n).is_file()]
    if missing:
        raise NSTError(f"{web}: missing {', '.join(missing)}; run nst web from a complete project checkout")
    return web


def pinned_ort_version(web_dir: Path) -> str:
    """The exact onnxruntime-web version ``web/package.json`` pins."""
    deps = json.loads((web_dir / "package.json").read_text()).get("dependencies", {})
    version = deps.get(ORT_PACKAGE, "")
    if not version or not version[0].isdigit():
        raise NSTError(f"{web_dir / 'package.json'}: {ORT_PACKAGE} must be pinned to an exact version")
    return version


def installed_ort_version(web_dir: Path) -> str | None:
    meta = web_dir / "node_modules" / ORT_PACKAGE / "package.json"
    try:
        return json.loads(meta.read_text()).get("version")
    except (OSError, ValueError):
        return None


def ort_assets_dir(web_dir: Path, install: bool = True, say: Callable[[str], None] = print) -> Path:
    """onnxruntime-web's ``dist/`` at the pinned version; ``npm ci`` installs it first when needed."""
    pinned = pinned_ort_version(web_dir)
    dist = web_dir / "node_modules" / ORT_PACKAGE / "dist"
    ok = installed_ort_version(web_dir) == pinned and all((dist / a).is_file() for a in ORT_ASSETS)
    if not ok:
        npm = shutil.which("npm")
        if not install or npm is None:
            raise NSTError(f"{ORT_PACKAGE} {pinned} is not installed in {web_dir}/node_modules: "
                           f"run `npm ci` in {web_dir} (Node.js and npm are needed)")
        say(f"installing {ORT_PACKAGE} {pinned} with npm ci (pinned by {web_dir.name}/package-lock.json)")
        proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=web_dir,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise NSTError(f"npm ci in {web_dir} failed: {last[0][:200]}")
        if installed_ort_version(web_dir) != pinned:
            raise NSTError(f"npm ci in {web_dir} did not install {ORT_PACKAGE} {pinned}")
    return dist


def default_models() -> list[Path]:
    """The committed reference models, ``results/models/*.nst``."""
    models = sorted((find_project_dir() / "results" / "models").glob("*.nst"))
    if not models:
        raise NSTError("no reference models in results/models/: give model files with --model")
    return models


def check_destination(out: Path) -> None:
    """``out`` is new, empty or an earlier build (which the new one replaces), in a writable folder."""
    if out.exists():
        if not out.is_dir():
            raise NSTError(f"{out}: exists and is not a folder")
        if any(out.iterdir()) and read_manifest(out, quiet=True) is None:
            raise NSTError(f"{out}: a folder with other files in it (not an earlier nst web build); "
                           "choose a new or empty folder")
    parent = out.parent if out.parent != Path("") else Path(".")
    nearest = parent
    while not nearest.exists():
        nearest = nearest.parent
    check_writable_folder(nearest, str(out))


def read_manifest(folder: str | os.PathLike, quiet: bool = False) -> dict | None:
    """The manifest of a built site, or None (``quiet``) / an `NSTError` when ``folder`` holds none."""
    path = Path(folder) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text())
        if manifest.get("generator") != GENERATOR or not isinstance(manifest.get("models"), list):
            raise ValueError("not written by nst web build")
    except (OSError, ValueError, AttributeError) as e:
        if quiet:
            return None
        reason = "missing" if isinstance(e, FileNotFoundError) else "not readable"
        raise NSTError(f"{folder}: not a built site ({MANIFEST_NAME} {reason}); run nst web build {folder}") from None
    return manifest


def build_site(out: str | os.PathLike, models: Sequence[str | os.PathLike] | None = None,
               precisions: Sequence[str] = ("float32", "float16"), verify: bool = True, install: bool = True,
               verbose: bool = True) -> Path:
    """Build the page into ``out``; returns the manifest's path.

    ``models``: model files (default: the committed reference models); each is exported once per
    precision and, with ``verify``, checked against its JAX network at `VERIFY_SIZE` for every
    style (bounds: `nst.export.VERIFY_BOUNDS`).
    """
    from ..api import load
    from ..export import MIN_SIZE, PRECISIONS, VERIFY_BOUNDS, verify_onnx

    say: Callable[[str], None] = (lambda s: print(s, flush=True)) if verbose else (lambda s: None)
    out = Path(out)
    precisions = list(dict.fromkeys(precisions))
    bad = [p for p in precisions if p not in PRECISIONS]
    if bad or not precisions:
        raise NSTError(f"unknown precision {bad[0] if bad else '(none)'}: choose float32 and/or float16")
    paths = [Path(m) for m in (default_models() if models is None else models)]
    if not paths:
        raise NSTError("no models to build the page with")
    stems = [p.stem for p in paths]
    if len(set(stems)) != len(stems):
        raise NSTError("two models have the same file name: give them distinct names")
    check_destination(out)
    web = find_web_dir()
    dist = ort_assets_dir(web, install=install, say=say)
    stylizers = [load(p) for p in paths]
    for p, s in zip(paths, stylizers):
        if s.method not in ("johnson", "dumoulin"):
            raise NSTError(f"{p}: a {s.method} model has no network to export")

    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        site = work / "site"
        for sub in ("ort", "models", "styles"):
            (site / sub).mkdir(parents=True)
        for name in PAGE_FILES:
            shutil.copyfile(web / name, site / name)
        for name in ORT_ASSETS:
            shutil.copyfile(dist / name, site / "ort" / name)
        ort_version = pinned_ort_version(web)
        (site / "ort" / "NOTICE.txt").write_text(
            f"{ORT_PACKAGE} {ort_version} (npm), Copyright (c) Microsoft Corporation, MIT License.\n"
            f"Files copied unchanged from node_modules/{ORT_PACKAGE}/dist/: {', '.join(ORT_ASSETS)}\n")
        entries = []
        for path, model in zip(paths, stylizers):
            styles = []
            thumbs = model.meta.get("_thumbnails") or []
            for i, style in enumerate(model.styles):
                thumb = None
                if i < len(thumbs):
                    thumb = f"styles/{path.stem}_{i}.png"
                    save_image(np.asarray(thumbs[i], np.float32) / 255.0, site / thumb)
                styles.append({"name": style, "label": painting_name(style), "thumbnail": thumb})
            for precision in precisions:
                rel = f"models/{path.stem}.{precision}.onnx"
                model.export(site / rel, format="onnx", precision=precision)
                diff = None
                if verify:
                    rows = verify_onnx(model, site / rel, sizes=[VERIFY_SIZE])
                    diff = max(r["max_abs_diff"] for r in rows)
                    if diff > VERIFY_BOUNDS[precision]:
                        raise NSTError(f"{path}: the {precision} export differs from JAX by {diff:.1e} "
                                       f"(bound {VERIFY_BOUNDS[precision]:.0e})")
                size = (site / rel).stat().st_size
                say(f"  {rel}: {size / 1e6:.1f} MB, {model.num_styles} style(s)"
                    + (f", max |ONNX - JAX| {diff:.1e}" if diff is not None else ""))
                entries.append({
                    "id": f"{path.stem}.{precision}", "name": path.stem, "method": model.method,
                    "label": f"{model.method.title()}: " + (painting_name(model.styles[0]) if model.num_styles == 1
                                                          else f"{model.num_styles} styles"),
                    "precision": precision, "file": rel, "bytes": size, "sha256": sha256_file(site / rel),
                    "num_styles": model.num_styles, "styles": styles, "border": model.border,
                    "border_stage": model.border_stage,
                    "iterations": model.meta.get("iterations"), "fine_tuned": bool(model.meta.get("init_from")),
                    "max_abs_diff_vs_jax": diff,
                })
        manifest = {
            "generator": GENERATOR, "nst_version": __version__, "onnxruntime_web": ort_version,
            "ort_assets": [f"ort/{a}" for a in ORT_ASSETS], "min_size": MIN_SIZE,
            "input_convention": "image: float32 NCHW RGB in [0, 1]; index: style weights summing to 1",
            "models": entries,
        }
        (site / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
        apply_modes(site, out)
        if out.exists():
            os.replace(out, work / "previous")
        os.replace(site, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    say(f"built {out}/ ({len(entries)} ONNX models, {total / 1e6:.0f} MB); serve it with: nst web serve {out}")
    return out / MANIFEST_NAME


def apply_modes(site: Path, out: Path) -> None:
    """The permission policy of every file nst writes (mkdtemp makes 0700)."""
    folder_mode, file_mode = folder_mode_for(out), file_mode_for(out / MANIFEST_NAME)
    for p in [site, *site.rglob("*")]:
        os.chmod(p, folder_mode if p.is_dir() else file_mode)
