"""Sphinx configuration: Markdown pages (MyST), the executed notebooks (myst-nb, not re-executed), an API
reference from the docstrings, and results pages generated from ``results/*/summary.md`` at build time.

    python -m sphinx -W -b html docs docs/_build/html
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # the checkout's nst and experiments, for autodoc

project = "nst"
author = "the nst developers"
copyright = "2026, the nst developers"
extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.mathjax"]
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # the committed notebooks are already executed (notebooks/execute.py)
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
suppress_warnings = ["myst.header"]  # results summaries start at their own heading levels
default_role = "py:obj"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
try:
    import furo  # noqa: F401

    html_theme = "furo"
except ImportError:  # pragma: no cover - the docs extra installs it
    html_theme = "alabaster"
html_title = "nst: neural style transfer, the old way and the new way"

GENERATED = DOCS / "_generated"
KEEP = {".md", ".png", ".jpg", ".svg"}


def run_facts(folder: Path) -> list[str]:
    """The command, date, machine and commit recorded in ``folder/run.json``, as lines of a page."""
    run = folder / "run.json"
    if not run.exists():
        return []
    info = json.loads(run.read_text())
    cmd = info.get("command") or ""
    when = info.get("end") or info.get("date") or info.get("start")
    machine = ", ".join(str(v) for v in (info.get("cpu"), f"{info['cores']} cores" if info.get("cores") else None,
                                          info.get("backend"), f"JAX {info['jax']}" if info.get("jax") else None)
                        if v)
    return [f"Command: `{cmd.strip()}`" if cmd else "",
            f"Run: {when or 'date not recorded'}; {machine or 'machine not recorded'}; "
            f"commit {str(info.get('git_commit', ''))[:7] or 'not recorded'}."]


def results_pages() -> list[str]:
    """One page per ``results/NAME/summary.md``: the run's command, date and machine, then the summary.

    A run folder nested inside another (``results/NAME/SUB/summary.md``, e.g. a re-check) becomes a page of
    its own, listed in its parent's table of contents so that every generated page sits in a toctree.
    """
    out = GENERATED / "results"
    names = []
    for summary in sorted((ROOT / "results").glob("*/summary.md")):
        name = summary.parent.name
        target = out / name
        for f in summary.parent.rglob("*"):
            if f.is_file() and f.suffix.lower() in KEEP and f.suffix.lower() != ".md":
                dest = target / f.relative_to(summary.parent)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, dest)
        nested = sorted(p for p in summary.parent.rglob("*/summary.md"))
        for sub in nested:
            rel = sub.parent.relative_to(summary.parent)
            (target / rel).mkdir(parents=True, exist_ok=True)
            (target / rel / "index.md").write_text(
                f"# results/{name}/{rel.as_posix()}\n\n" + "\n\n".join(f for f in run_facts(sub.parent) if f) +
                "\n\n" + sub.read_text().replace("](summary.md)", "](index.md)"))
        body = summary.read_text().replace("](summary.md)", "](index.md)")
        if nested:
            body += ("\n\n```{toctree}\n:maxdepth: 1\n:caption: Runs kept inside this folder\n\n" +
                     "".join(f"{p.parent.relative_to(summary.parent).as_posix()}/index\n" for p in nested) + "```\n")
        target.mkdir(parents=True, exist_ok=True)
        (target / "index.md").write_text(f"# results/{name}\n\n" +
                                         "\n\n".join(f for f in run_facts(summary.parent) if f) + "\n\n" + body)
        names.append(name)
    toc = ["# Results", "", "Every page below is generated at build time from `results/NAME/summary.md` and "
           "`run.json`; rerunning an experiment updates it with no edit here.", "", "```{toctree}",
           ":maxdepth: 1", ""] + [f"{n}/index" for n in names] + ["```", ""]
    (out / "index.md").write_text("\n".join(toc))
    return names


def notebook_pages() -> None:
    out = GENERATED / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy2(nb, out / nb.name)


def generate(app=None) -> None:
    shutil.rmtree(GENERATED, ignore_errors=True)
    GENERATED.mkdir(parents=True)
    results_pages()
    notebook_pages()


def setup(app):
    app.connect("builder-inited", generate)
