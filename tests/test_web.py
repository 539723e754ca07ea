"""The browser page's build and server (no browser here; tests/test_web_browser.py drives Chromium)."""

import json
import os
import shutil
import socket
import subprocess
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import tiny_stylizer
from nst.errors import NSTError
from nst.io.files import sha256_file
from nst.web import MANIFEST_NAME, ORT_ASSETS, SITE_HEADERS, build_site, find_web_dir, make_server, ort_assets_dir

pytest.importorskip("onnxruntime")
from nst import export as E  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
NEEDS_ORT_ASSETS = pytest.mark.skipif(
    not (WEB / "node_modules" / "onnxruntime-web" / "dist" / ORT_ASSETS[-1]).exists() and shutil.which("npm") is None
    and os.environ.get("CI") != "true",
    reason="onnxruntime-web is not installed in web/node_modules and npm is missing")


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    multi, single = tiny_stylizer(3), tiny_stylizer(1, seed=1)
    rng = np.random.default_rng(0)
    multi.meta["_thumbnails"] = [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(3)]
    return [multi.save(folder / "tiny_multi.nst"), single.save(folder / "tiny_single.nst")]


@pytest.fixture(scope="module")
def site(tiny_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "page"
    build_site(out, models=tiny_models, verbose=False)
    return out


@pytest.mark.slow  # full tier: keeps the fast tier within its budget
@NEEDS_ORT_ASSETS
def test_build_writes_page_runtime_models_and_manifest(site, tiny_models):
    manifest = json.loads((site / MANIFEST_NAME).read_text())
    pinned = json.loads((WEB / "package.json").read_text())["dependencies"]["onnxruntime-web"]
    assert manifest["generator"] == "nst web build" and manifest["onnxruntime_web"] == pinned
    for name in ("index.html", "app.mjs", "style.css"):
        assert (site / name).read_bytes() == (WEB / name).read_bytes()
    dist = WEB / "node_modules" / "onnxruntime-web" / "dist"
    for asset in ORT_ASSETS:
        assert (site / "ort" / asset).read_bytes() == (dist / asset).read_bytes()
    assert "MIT" in (site / "ort" / "NOTICE.txt").read_text()
    ids = [m["id"] for m in manifest["models"]]
    assert ids == ["tiny_multi.float32", "tiny_multi.float16", "tiny_single.float32", "tiny_single.float16"]
    sizes = {m["id"]: m["bytes"] for m in manifest["models"]}
    assert sizes["tiny_multi.float16"] < 0.6 * sizes["tiny_multi.float32"]
    x = np.random.default_rng(1).random((1, 70, 90, 3), dtype=np.float32)
    for entry, model_path in zip(manifest["models"], [tiny_models[0]] * 2 + [tiny_models[1]] * 2):
        path = site / entry["file"]
        assert entry["sha256"] == sha256_file(path) and entry["bytes"] == path.stat().st_size
        bound = E.VERIFY_BOUNDS[entry["precision"]]
        assert entry["max_abs_diff_vs_jax"] <= bound
        # the file really computes the model: an independent check at another size, with a blend
        import nst

        model = nst.load(model_path)
        weights = np.full(model.num_styles, 1 / model.num_styles, np.float32)
        out = E.run_onnx(E.onnx_session(path), x, weights if model.num_styles > 1 else None)
        assert np.abs(out - model.stylize_batch(x, weights[None])).max() <= bound
        assert [s["name"] for s in entry["styles"]] == model.styles
    multi = manifest["models"][0]
    for style in multi["styles"]:
        assert Image.open(site / style["thumbnail"]).size == (32, 24)
    assert all(s["thumbnail"] is None for s in manifest["models"][2]["styles"])  # no thumbnails stored


@NEEDS_ORT_ASSETS
def test_rebuild_replaces_an_earlier_build_and_never_touches_other_folders(site, tiny_models, tmp_path):
    out = tmp_path / "page"
    shutil.copytree(site, out)
    build_site(out, models=tiny_models[1:], precisions=["float16"], verify=False, verbose=False)
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert [m["id"] for m in manifest["models"]] == ["tiny_single.float16"]
    assert sorted(p.name for p in (out / "models").iterdir()) == ["tiny_single.float16.onnx"]
    assert not list(tmp_path.glob(".page.building-*"))
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"mine")
    with pytest.raises(NSTError, match="not an earlier nst web build"):
        build_site(foreign, models=tiny_models, verbose=False)
    assert [p.name for p in foreign.iterdir()] == ["holiday.jpg"]
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(NSTError, match="not a folder"):
        build_site(a_file, models=tiny_models, verbose=False)
    with pytest.raises(NSTError, match="precision"):
        build_site(tmp_path / "new", models=tiny_models, precisions=["int8"], verbose=False)
    with pytest.raises(NSTError, match="same file name"):
        build_site(tmp_path / "new", models=[tiny_models[0], tiny_models[0]], verbose=False)
    with pytest.raises(NSTError):
        build_site(tmp_path / "new", models=[tmp_path / "missing.nst"], verbose=False)
    assert not (tmp_path / "new").exists()


@NEEDS_ORT_ASSETS
def test_a_failed_build_leaves_nothing_and_keeps_the_earlier_build(site, tiny_models, tmp_path, monkeypatch):
    from nst.interface.feedforward import FeedforwardStylizer

    out = tmp_path / "page"
    shutil.copytree(site, out)
    before = (out / MANIFEST_NAME).read_bytes()
    calls = []

    def failing_export(self, path, **kw):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, path, **kw)

    original = FeedforwardStylizer.export
    monkeypatch.setattr(FeedforwardStylizer, "export", failing_export)
    with pytest.raises(KeyboardInterrupt):
        build_site(out, models=tiny_models, verify=False, verbose=False)
    with pytest.raises(KeyboardInterrupt):
        calls.clear()
        build_site(tmp_path / "fresh", models=tiny_models, verify=False, verbose=False)
    assert (out / MANIFEST_NAME).read_bytes() == before
    assert not (tmp_path / "fresh").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page"]


def test_missing_runtime_names_the_command_that_installs_it(tmp_path):
    web = tmp_path / "web"
    web.mkdir()
    (web / "package.json").write_text(json.dumps({"dependencies": {"onnxruntime-web": "1.30.0"}}))
    with pytest.raises(NSTError, match=r"onnxruntime-web 1\.30\.0 is not installed .*npm ci"):
        ort_assets_dir(web, install=False)
    (web / "package.json").write_text(json.dumps({"dependencies": {"onnxruntime-web": "^1.30.0"}}))
    with pytest.raises(NSTError, match="pinned to an exact version"):
        ort_assets_dir(web, install=False)


def test_the_lock_file_pins_the_same_runtime_as_package_json():
    pinned = json.loads((WEB / "package.json").read_text())["dependencies"]["onnxruntime-web"]
    lock = json.loads((WEB / "package-lock.json").read_text())
    assert lock["packages"][""]["dependencies"]["onnxruntime-web"] == pinned
    assert lock["packages"]["node_modules/onnxruntime-web"]["version"] == pinned
    assert find_web_dir() == WEB


def test_page_is_a_valid_module_that_loads_only_its_own_files():
    html = (WEB / "index.html").read_text()
    assert 'src="app.mjs"' in html and 'href="style.css"' in html
    app = (WEB / "app.mjs").read_text()
    assert "from './ort/ort.wasm.min.mjs'" in app and ORT_ASSETS[0] == "ort.wasm.min.mjs"
    # no address outside the page's own folder is fetched (links to the papers are plain <a> elements)
    assert "fetch('http" not in app and "fetch(\"http" not in app and "XMLHttpRequest" not in app
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    proc = subprocess.run([node, "--check", str(WEB / "app.mjs")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@NEEDS_ORT_ASSETS
def test_server_sends_isolation_headers_and_types_on_loopback_only(site, tmp_path):
    server = make_server(site, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        base = f"http://127.0.0.1:{port}/"
        types = {"": "text/html", "app.mjs": "text/javascript", "ort/ort-wasm-simd-threaded.wasm": "application/wasm",
                 "manifest.json": "application/json", "style.css": "text/css"}
        for path, mime in types.items():
            with urllib.request.urlopen(base + path) as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith(mime), (path, r.headers["Content-Type"])
                for k, v in SITE_HEADERS.items():
                    assert r.headers[k] == v
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + "missing.onnx")
        with pytest.raises(NSTError, match="in use"):
            make_server(site, port=port)
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(NSTError, match="not a built site"):
        make_server(tmp_path, port=0)


@NEEDS_ORT_ASSETS
def test_cli_builds_and_serve_builds_first(tiny_models, tmp_path, capsys, monkeypatch):
    import nst.web
    from nst.cli import main

    out = tmp_path / "page"
    assert main(["web", "build", str(out), "--model", str(tiny_models[1]), "--precision", "float32", "-q"]) == 0
    assert [m["id"] for m in json.loads((out / MANIFEST_NAME).read_text())["models"]] == ["tiny_single.float32"]
    served = []
    monkeypatch.setattr(nst.web, "serve_site", lambda folder, port, verbose: served.append((folder, port)))
    fresh = tmp_path / "fresh"
    assert main(["web", "serve", str(fresh), "--model", str(tiny_models[1]), "--precision", "float16",
                 "--port", "0", "--no-verify"]) == 0
    assert served == [(str(fresh), 0)] and (fresh / MANIFEST_NAME).exists()
    assert "built" in capsys.readouterr().out
    # user errors: one line, exit 1, nothing written
    assert main(["web", "build", str(tmp_path / "x"), "--model", str(tmp_path / "nope.nst")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nst: error:") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
    with socket.socket() as s:  # a port already taken
        s.bind(("127.0.0.1", 0))
        s.listen()
        monkeypatch.undo()
        assert main(["web", "serve", str(out), "--port", str(s.getsockname()[1])]) == 1
        assert "in use" in capsys.readouterr().err


@pytest.mark.slow  # a fresh interpreter importing JAX: the full tier
@NEEDS_ORT_ASSETS
@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_nst_web_serve_serves_until_interrupted(site, stop):
    import signal
    import sys

    # SIGINT as an interactive shell delivers it (a background job inherits it ignored), SIGTERM as a
    # service manager sends it: both stop the server cleanly.
    interactive = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                   "from nst.cli import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.Popen([sys.executable, "-c", interactive, "web", "serve", str(site), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"serving {site}/ at http://127.0.0.1:"), line
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url + "manifest.json") as r:
            assert json.loads(r.read())["generator"] == "nst web build"
            assert r.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
        proc.send_signal(getattr(signal, stop))
        assert proc.wait(timeout=30) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
