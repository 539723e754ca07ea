"""The documentation: the Sphinx site builds with warnings as errors, and every relative link and image
in the README and the docs pages resolves."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def relative_links(md: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", md.read_text(), flags=re.S)  # code blocks are not links
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


@pytest.mark.parametrize("page", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_image_resolves(page):
    missing = []
    for target in relative_links(page):
        path = target.split("#")[0]
        if path.startswith("_generated/"):  # built from results/ and notebooks/ by docs/conf.py
            path = path.replace("_generated/results/index.md", "../results/")
            path = path.replace("_generated/results/", "../results/").replace("_generated/notebooks/", "../notebooks/")
            path = path.replace("/index.md", "/summary.md")
        if not (page.parent / path).exists():
            missing.append(target)
    assert not missing, missing


def test_readme_is_short_and_links_into_the_docs():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    for page in ("getting-started", "gatys", "johnson", "dumoulin", "training", "fidelity", "export", "recipes",
                 "experiments", "testing", "reliability", "layout"):
        assert f"docs/{page}.md" in text, page


@pytest.mark.slow
def test_sphinx_build_passes_with_warnings_as_errors(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    r = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(ROOT / "docs"),
                        str(tmp_path / "html")], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    html = tmp_path / "html"
    assert (html / "api.html").stat().st_size > 50_000  # autodoc found the docstrings
    assert (html / "_generated" / "results" / "recipe_study" / "index.html").exists() or \
        (html / "_generated" / "results" / "speed" / "index.html").exists()
    page = (html / "_generated" / "notebooks" / "01_gatys_old_way.html").read_text()
    assert page.count("<img") >= 5  # the executed notebook's figures are rendered, not re-computed


def test_a_run_folder_nested_in_another_gets_a_page_in_its_parents_toctree(tmp_path, monkeypatch):
    # An orphan page fails the -W build (it failed CI once): results/NAME/SUB/summary.md must become
    # SUB/index.md, listed in NAME's page, with SUB's own command and commit.
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("docs_conf", ROOT / "docs" / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    (tmp_path / "results/outer/inner").mkdir(parents=True)
    (tmp_path / "results/outer/summary.md").write_text("outer body\n")
    (tmp_path / "results/outer/inner/summary.md").write_text("inner body, [link](summary.md)\n")
    (tmp_path / "results/outer/inner/run.json").write_text(json.dumps({"command": "python -m x", "git_commit": "abcdef123"}))
    monkeypatch.setattr(conf, "ROOT", tmp_path)
    monkeypatch.setattr(conf, "GENERATED", tmp_path / "gen")
    assert conf.results_pages() == ["outer"]
    outer = (tmp_path / "gen/results/outer/index.md").read_text()
    inner = (tmp_path / "gen/results/outer/inner/index.md").read_text()
    assert "outer body" in outer and "```{toctree}" in outer and "\ninner/index\n" in outer
    assert inner.startswith("# results/outer/inner") and "`python -m x`" in inner and "commit abcdef1" in inner
    assert "[link](index.md)" in inner and not (tmp_path / "gen/results/outer/inner/summary.md").exists()
