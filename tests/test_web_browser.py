"""The page in a real headless Chromium (Playwright + Debian's chromium), against Python onnxruntime.

Every reference model (float32 and float16) and every style, plus blends, stylize a known photo
through the page's own path (file input → canvas → onnxruntime-web); the page's input array goes
through Python onnxruntime and the outputs agree to 1e-4.  The fake camera drives the webcam path;
a text file, a corrupt model, a missing model and a refused camera each show their message.
"""

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow  # the full tier (CI installs Chromium and Playwright)

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "data" / "content" / "eval" / "kodak_kodim21.jpg"
CAMERA_PHOTO = ROOT / "data" / "content" / "eval" / "kodak_kodim23.jpg"
TOLERANCE = 1e-4  # browser wasm against Python onnxruntime on the same input array
IN_CI = os.environ.get("CI") == "true"

from nst.web.browser import chromium_path, decode_floats, launch_chromium  # noqa: E402


def require(condition: bool, why: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must run the browser tests: {why}")
        pytest.skip(why)


sync_api = None
try:
    from playwright import sync_api
except ImportError:  # pragma: no cover - checked in require()
    pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require(sync_api is not None, "playwright is not installed (pip install -e '.[web]')")
    require(chromium_path() is not None, "Chromium is not installed (apt-get install chromium)")
    from nst.web import build_site

    out = tmp_path_factory.mktemp("web") / "page"
    build_site(out, verbose=False)  # the committed reference models, float32 and float16
    return out


@pytest.fixture(scope="module")
def url(site):
    from nst.web import served

    with served(site) as u:
        yield u


@pytest.fixture(scope="module")
def playwright(site):
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright, tmp_path_factory):
    # the fake camera plays a photograph (Chromium's own test pattern is flat colour; see test_webcam…)
    from nst.io.images import load_image
    from nst.web.browser import write_y4m

    video = write_y4m(tmp_path_factory.mktemp("camera") / "camera.y4m", [load_image(CAMERA_PHOTO, size=(240, 320))])
    b = launch_chromium(playwright, fake_camera=True, camera_video=video)
    yield b
    b.close()


@pytest.fixture
def page(browser, url):
    context = browser.new_context(permissions=["camera"], accept_downloads=True, viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors, elsewhere = [], []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # nothing leaves the machine: every request goes to the page's own server (blob: and data: stay local)
    pg.on("request", lambda r: None if r.url.startswith((url, "blob:", "data:")) else elsewhere.append(r.url))
    pg.goto(url + "?threads=2")
    assert pg.evaluate("window.nstPage.ready") is True, pg.inner_text("#message")
    yield pg
    context.close()
    assert not errors, errors
    assert not elsewhere, elsewhere


def wait_for_run(pg, after: int) -> dict:
    pg.wait_for_function(f"window.nstPage.state.runs > {after}", timeout=60_000)
    pg.wait_for_function("window.nstPage.state.queue !== null")
    return pg.evaluate("window.nstPage.lastRunArrays()")


def python_onnxruntime(site, manifest_entry, run) -> np.ndarray:
    from nst.export import onnx_session, run_onnx

    x = decode_floats(run["input"], run["height"], run["width"])
    index = np.asarray(run["weights"], np.float32) if manifest_entry["num_styles"] > 1 else None
    return run_onnx(onnx_session(site / manifest_entry["file"]), x, index)


def test_every_model_and_style_and_blends_match_python_onnxruntime(page, site):
    manifest = json.loads((site / "manifest.json").read_text())
    assert page.evaluate("[self.crossOriginIsolated, window.nstPage.threads]") == [True, 2]
    page.select_option("#size", "256")
    runs = page.evaluate("window.nstPage.state.runs")
    page.set_input_files("#file", str(PHOTO))
    run = wait_for_run(page, runs)
    # the page really read the photo: its input array is the photo at 256 px (browser vs Pillow resampling)
    x = decode_floats(run["input"], run["height"], run["width"])[0]
    ref = np.asarray(Image.open(PHOTO).convert("RGB").resize((run["width"], run["height"]), Image.LANCZOS),
                     np.float32) / 255
    assert (run["width"], run["height"]) == (256, 171) and np.abs(x - ref).mean() < 0.02
    checked = 0
    for entry in manifest["models"]:
        runs = page.evaluate("window.nstPage.state.runs")
        assert page.evaluate(f"window.nstPage.selectModel('{entry['id']}')") is True
        n = entry["num_styles"]
        cases = [np.eye(n)[i] for i in range(n)]
        if n > 1:  # blends: raw slider values, which the page divides by their sum
            cases += [np.r_[2.0, 0, 0, 2.0, np.zeros(n - 4)], np.r_[0.2, 0.3, 0.5, np.zeros(n - 3)]]
        for k, weights in enumerate(cases):
            if k or n > 1:
                runs = page.evaluate("window.nstPage.state.runs")
                page.evaluate(f"window.nstPage.setWeights({json.dumps(list(map(float, weights)))})")
            run = wait_for_run(page, runs)
            assert run["modelId"] == entry["id"]
            np.testing.assert_allclose(run["weights"], weights / weights.sum(), atol=1e-6)
            out = decode_floats(run["output"], run["height"], run["width"])
            diff = np.abs(out - python_onnxruntime(site, entry, run)).max()
            assert diff <= TOLERANCE, (entry["id"], k, diff)
            checked += 1
    assert checked == 2 * (8 + 2) + 2 * 2 * 1


def test_screenshot_is_not_blank_and_the_download_is_the_picture(page, tmp_path):
    runs = page.evaluate("window.nstPage.state.runs")
    page.select_option("#size", "256")
    page.set_input_files("#file", str(PHOTO))
    run = wait_for_run(page, runs)
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB"), np.float32)
    assert shot.std() > 20
    box = page.locator("#output").bounding_box()
    crop = shot[int(box["y"]):int(box["y"] + box["height"]), int(box["x"]):int(box["x"] + box["width"])]
    assert crop.size and crop.std() > 20  # a stylized picture, not an empty canvas
    assert "ms on 2 thread(s)" in page.inner_text("#output-caption")
    with page.expect_download() as info:
        page.click("#download")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name.startswith("kodak_kodim21_") and path.suffix == ".png"
    saved = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255
    out = decode_floats(run["output"], run["height"], run["width"])[0]
    assert saved.shape == out.shape and np.abs(saved - np.clip(out, 0, 1)).max() <= 1 / 255 + 1e-6


def test_webcam_with_chromiums_fake_camera(page, site):
    manifest = {m["id"]: m for m in json.loads((site / "manifest.json").read_text())["models"]}
    page.select_option("#size", "256")
    page.click("#camera")
    page.wait_for_function("window.nstPage.state.camera && window.nstPage.state.camera.frames >= 4", timeout=60_000)
    fps = page.evaluate("window.nstPage.state.camera.fps")
    assert fps > 0 and "frames per second" in page.inner_text("#fps")
    run = page.evaluate("window.nstPage.lastRunArrays()")
    assert run["origin"] == "camera"
    out = decode_floats(run["output"], run["height"], run["width"])
    assert np.abs(out - python_onnxruntime(site, manifest[run["modelId"]], run)).max() <= TOLERANCE
    # the frame is the photograph the fake camera plays (through YUV 4:2:0 and the browser's scaling).
    # Chromium's default test pattern is flat colour, where instance norm amplifies rounding far
    # beyond 1e-4 between any two implementations (results/bench_web measures it), so it is not used.
    frame = decode_floats(run["input"], run["height"], run["width"])[0]
    from nst.io.images import load_image

    ref = load_image(CAMERA_PHOTO, size=(run["height"], run["width"]))
    assert (run["width"], run["height"]) == (256, 192) and np.abs(frame - ref).mean() < 0.03
    page.click("#camera")
    assert page.evaluate("window.nstPage.state.camera") is None and page.inner_text("#camera") == "Start camera"


def test_a_file_that_is_not_an_image_shows_its_message(page, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    fake = tmp_path / "holiday.jpg"
    fake.write_bytes(b"\xff\xd8 garbage")
    for bad in (notes, fake):
        page.set_input_files("#file", str(bad))
        page.wait_for_selector("#message:not([hidden])")
        text = page.inner_text("#message")
        assert f"“{bad.name}” is not an image" in text
        assert page.evaluate("window.nstPage.state.runs") == 0


def test_a_model_that_fails_to_load_shows_its_message(browser, site, tmp_path):
    from nst.web import served

    broken = tmp_path / "page"
    shutil.copytree(site, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    corrupt, missing, mismatched = manifest["models"][1], manifest["models"][2], manifest["models"][3]
    garbage = b"this is not an onnx model" * 100
    (broken / corrupt["file"]).write_bytes(garbage)
    import hashlib

    corrupt["sha256"] = hashlib.sha256(garbage).hexdigest()  # only onnxruntime-web can tell it is broken
    (broken / missing["file"]).unlink()
    (broken / mismatched["file"]).write_bytes(garbage)  # the manifest's digest no longer matches
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with served(broken) as url:
        pg = browser.new_page()
        pg.goto(url)
        assert pg.evaluate("window.nstPage.ready") is True
        for entry, why in ((corrupt, ""), (missing, "HTTP 404"), (mismatched, "SHA-256")):
            assert pg.evaluate(f"window.nstPage.selectModel('{entry['id']}')") is False
            text = pg.inner_text("#message")
            assert f"“{entry['label']}” ({entry['precision']}) could not be loaded" in text and why in text
        assert pg.evaluate(f"window.nstPage.selectModel('{manifest['models'][0]['id']}')") is True
        assert pg.locator("#message").is_hidden()
        pg.close()


def test_a_camera_that_cannot_be_opened_shows_its_message(playwright, url):
    b = launch_chromium(playwright, fake_camera=False)  # no fake camera and no permission: getUserMedia fails
    try:
        pg = b.new_page()
        pg.goto(url)
        assert pg.evaluate("window.nstPage.ready") is True
        pg.click("#camera")
        pg.wait_for_selector("#message:not([hidden])")
        assert pg.inner_text("#message").startswith("The camera could not be opened:")
        assert pg.evaluate("window.nstPage.state.camera") is None
    finally:
        b.close()


def test_without_isolation_headers_the_page_says_it_runs_on_one_thread(browser, site):
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    plain = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(site)))
    plain.extensions_map = {}
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    try:
        pg = browser.new_page()
        pg.goto(f"http://127.0.0.1:{plain.server_address[1]}/")
        assert pg.evaluate("window.nstPage.ready") is True
        assert pg.evaluate("[self.crossOriginIsolated, window.nstPage.threads]") == [False, 1]
        assert "not cross-origin isolated" in pg.inner_text("#runtime")
        pg.close()
    finally:
        plain.shutdown()
        plain.server_close()


def test_a_photo_dropped_on_the_page_is_stylized(page):
    import base64

    runs = page.evaluate("window.nstPage.state.runs")
    data = base64.b64encode(PHOTO.read_bytes()).decode()
    page.evaluate("""([data, name]) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, { type: 'image/jpeg' }));
        document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true }));
    }""", [data, PHOTO.name])
    run = wait_for_run(page, runs)
    assert run["origin"] == "photo" and page.inner_text("#input-caption").startswith(PHOTO.name)
