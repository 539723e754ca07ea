"""Benchmark: the page's onnxruntime-web (wasm, 1 and 2 threads) against Python onnxruntime and JAX.

    python -m experiments.benchmarks.bench_web [--sizes 256 512] [--threads 1 2] [--repeats 5]
        [--models johnson_starry_night dumoulin_8styles] [--out results/bench_web]

* latency of one network pass (``session.run`` in the page, ``InferenceSession.run`` in Python,
  the jitted ``stylize_batch`` in JAX) on the same square photo at each size, style 0, warm
  median of ``--repeats`` after one untimed run; every exported model in float32 and float16;
* agreement: max |wasm − Python onnxruntime| on those inputs, and on a frame of Chromium's fake
  camera (a flat synthetic pattern), with Python onnxruntime − JAX on the same frame for scale;
* the page's download weight per model: the files the page fetches (page, runtime, manifest,
  thumbnails, one model), raw and gzip level 6 (what a typical server sends; ``nst web serve``
  sends them raw);
* ``screenshot.png``: the page after stylizing a photo with the 8-style model.

Each browser thread count is its own Chromium process; Python onnxruntime and JAX each run in
their own subprocess.  The site is built by `nst.web.build_site` from the committed models.
"""

from __future__ import annotations

import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "data" / "content" / "eval" / "kodak_kodim23.jpg"
SCREENSHOT_PHOTO = ROOT / "data" / "content" / "eval" / "kodak_kodim21.jpg"


def square_photo(size: int) -> np.ndarray:
    from nst.io.images import load_image

    return load_image(PHOTO, size=(size, size))[None]


def one_hot(num_styles: int) -> list[float]:
    return [1.0] + [0.0] * (num_styles - 1)


def child_onnxruntime(site: Path, threads: int, sizes: list[int], repeats: int) -> list[dict]:
    import onnxruntime as ort

    from nst.export import run_onnx

    manifest = json.loads((site / "manifest.json").read_text())
    rows = []
    for entry in manifest["models"]:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        session = ort.InferenceSession(str(site / entry["file"]), opts, providers=["CPUExecutionProvider"])
        index = np.asarray(one_hot(entry["num_styles"]), np.float32) if entry["num_styles"] > 1 else None
        for size in sizes:
            x = square_photo(size)
            run_onnx(session, x, index)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                out = run_onnx(session, x, index)
                times.append(1000 * (time.perf_counter() - t0))
            np.save(site / f"ort_{entry['id']}_{size}.npy", out)
            rows.append({"runtime": "onnxruntime (Python)", "threads": threads, "model": entry["id"],
                         "size": size, "median_ms": statistics.median(times), "min_ms": min(times)})
    return rows


def child_jax(site: Path, sizes: list[int], repeats: int) -> list[dict]:
    import nst

    manifest = json.loads((site / "manifest.json").read_text())
    rows = []
    for name in dict.fromkeys(m["name"] for m in manifest["models"]):
        model = nst.load(ROOT / "results" / "models" / f"{name}.nst")
        w = np.asarray([one_hot(model.num_styles)], np.float32)
        for size in sizes:
            x = square_photo(size)
            model.stylize_batch(x, w)  # compile
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                np.asarray(model.stylize_batch(x, w))
                times.append(1000 * (time.perf_counter() - t0))
            rows.append({"runtime": "JAX (nst)", "threads": "all", "model": f"{name} (float32)", "size": size,
                         "median_ms": statistics.median(times), "min_ms": min(times)})
    return rows


def browser_rows(site: Path, threads: int, sizes: list[int], repeats: int) -> tuple[list[dict], str]:
    from playwright.sync_api import sync_playwright

    from nst.web import served
    from nst.web.browser import decode_floats, encode_floats, launch_chromium

    manifest = json.loads((site / "manifest.json").read_text())
    rows = []
    with served(site) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        version = browser.version
        page = browser.new_page()
        page.goto(f"{url}?threads={threads}")
        assert page.evaluate("window.nstPage.ready") is True, page.inner_text("#message")
        actual = page.evaluate("window.nstPage.threads")
        assert actual == threads, f"asked for {threads} threads, the page runs {actual}"
        for entry in manifest["models"]:
            assert page.evaluate(f"window.nstPage.selectModel('{entry['id']}')") is True
            for size in sizes:
                x = square_photo(size)
                res = page.evaluate("([a, w, h, wt, n]) => window.nstPage.runArray(a, w, h, wt, n)",
                                    [encode_floats(x), size, size, one_hot(entry["num_styles"]), repeats + 1])
                times = res["times"][1:]
                out = decode_floats(res["output"], size, size)
                ref = np.load(site / f"ort_{entry['id']}_{size}.npy")
                rows.append({"runtime": "browser wasm", "threads": threads, "model": entry["id"], "size": size,
                             "median_ms": statistics.median(times), "min_ms": min(times),
                             "max_abs_diff_vs_onnxruntime": float(np.abs(out - ref).max())})
        browser.close()
    return rows, version


def camera_frame_check(site: Path, video: Path | None = None) -> dict:
    """wasm vs Python onnxruntime vs JAX on one frame of Chromium's fake camera, 256 px.

    Without ``video`` the camera shows Chromium's synthetic test pattern; with it, that .y4m file.
    """
    from playwright.sync_api import sync_playwright

    import nst
    from nst.export import onnx_session, run_onnx
    from nst.web import served
    from nst.web.browser import decode_floats, launch_chromium

    manifest = {m["id"]: m for m in json.loads((site / "manifest.json").read_text())["models"]}
    out = {}
    with served(site) as url, sync_playwright() as p:
        browser = launch_chromium(p, fake_camera=True, camera_video=video)
        page = browser.new_context(permissions=["camera"]).new_page()
        page.goto(url)
        assert page.evaluate("window.nstPage.ready") is True
        # float32 weights, so that the onnxruntime − JAX column compares the same arithmetic
        multi = max(manifest.values(), key=lambda m: (m["num_styles"], m["precision"] == "float32"))
        assert page.evaluate(f"window.nstPage.selectModel('{multi['id']}')") is True
        page.select_option("#size", "256")
        page.click("#camera")
        page.wait_for_function("window.nstPage.state.camera && window.nstPage.state.camera.frames >= 3",
                               timeout=60_000)
        page.click("#camera")
        run = page.evaluate("window.nstPage.lastRunArrays()")
        browser.close()
    entry = manifest[run["modelId"]]
    x = decode_floats(run["input"], run["height"], run["width"])
    wasm = decode_floats(run["output"], run["height"], run["width"])
    index = np.asarray(run["weights"], np.float32) if entry["num_styles"] > 1 else None
    native = run_onnx(onnx_session(site / entry["file"]), x, index)
    model = nst.load(ROOT / "results" / "models" / f"{entry['name']}.nst")
    jax_out = model.stylize_batch(x, np.asarray([run["weights"]], np.float32))
    out.update({"source": "a photograph (y4m)" if video else "Chromium's test pattern", "model": entry["id"], "height": run["height"], "width": run["width"],
                "colours_in_frame": int(len(np.unique(x.reshape(-1, 3), axis=0))),
                "max_abs_wasm_vs_onnxruntime": float(np.abs(wasm - native).max()),
                "max_abs_onnxruntime_vs_jax": float(np.abs(native - jax_out).max())})
    return out


def download_weight(site: Path) -> list[dict]:
    manifest = json.loads((site / "manifest.json").read_text())
    common = ["index.html", "app.mjs", "style.css", "manifest.json", *manifest["ort_assets"]]
    rows = []
    for entry in manifest["models"]:
        files = common + [s["thumbnail"] for s in entry["styles"] if s["thumbnail"]] + [entry["file"]]
        raw = sum((site / f).stat().st_size for f in files)
        gz = sum(len(gzip.compress((site / f).read_bytes(), compresslevel=6)) for f in files)
        model_raw = (site / entry["file"]).stat().st_size
        model_gz = len(gzip.compress((site / entry["file"]).read_bytes(), compresslevel=6))
        rows.append({"model": entry["id"], "files": len(files), "raw_mb": raw / 1e6, "gzip_mb": gz / 1e6,
                     "model_raw_mb": model_raw / 1e6, "model_gzip_mb": model_gz / 1e6})
    return rows


def screenshot(site: Path, path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from nst.web import served
    from nst.web.browser import launch_chromium

    manifest = json.loads((site / "manifest.json").read_text())
    multi = max(manifest["models"], key=lambda m: (m["num_styles"], m["precision"] == "float32"))
    with served(site) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1200, "height": 960})
        page.goto(f"{url}?model={multi['id']}&threads=2")
        assert page.evaluate("window.nstPage.ready") is True
        page.select_option("#size", "512")
        page.set_input_files("#file", str(SCREENSHOT_PHOTO))
        page.wait_for_function("window.nstPage.state.runs >= 1", timeout=60_000)
        page.wait_for_selector("#download:not([hidden])")
        page.screenshot(path=str(path))
        browser.close()


def run_child(args: list[str]) -> list[dict]:
    from experiments.runner import run_child as run

    return run("experiments.benchmarks.bench_web", args)


def write_summary(out: Path) -> None:
    data = json.loads((out / "results.json").read_text())
    rows, meta = data["rows"], data["meta"]
    sizes = sorted({r["size"] for r in rows})
    threads = sorted({r["threads"] for r in rows if r["runtime"] == "browser wasm"})
    lines = [f"Machine: {meta['cpu']} ({meta['cores']} cores); Chromium {meta['chromium']} (headless), "
             f"onnxruntime-web {meta['onnxruntime_web']} wasm, onnxruntime {meta['onnxruntime']} (Python), "
             f"JAX {meta['jax']}. Command: `{meta['command']}`", "",
             "Latency of one network pass on one square photo, warm median in ms (style 0; the exported graph "
             "includes the reflection border `stylize` adds: by default 8 px around the residual blocks' "
             "quarter-resolution map, `nst.core.networks.STYLIZE_BORDER`).", ""]
    by = {(r["runtime"], r["threads"], r["model"], r["size"]): r for r in rows}
    models = list(dict.fromkeys(r["model"] for r in rows if r["runtime"] == "browser wasm"))
    header = ["model", "size"] + [f"wasm {t} thread{'s' if t > 1 else ''}" for t in threads] + \
             [f"onnxruntime {t}" for t in threads] + ["JAX", "wasm/onnxruntime (2 threads)", "max abs wasm − onnxruntime"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for size in sizes:
        for m in models:
            wasm = [by[("browser wasm", t, m, size)] for t in threads]
            native = [by[("onnxruntime (Python)", t, m, size)] for t in threads]
            jax_row = by.get(("JAX (nst)", "all", f"{m.rsplit('.', 1)[0]} (float32)", size))
            ratio = wasm[-1]["median_ms"] / native[-1]["median_ms"]
            lines.append("| " + " | ".join([m, f"{size}×{size}"] + [f"{r['median_ms']:.0f}" for r in wasm + native] +
                                           [f"{jax_row['median_ms']:.0f}" if jax_row else "—", f"{ratio:.1f}×",
                                            f"{max(r['max_abs_diff_vs_onnxruntime'] for r in wasm):.1e}"]) + " |")
    lines += ["", "One frame of Chromium's fake camera through the webcam path:", "",
              "| camera shows | frame | distinct colours | model | max abs wasm − onnxruntime | max abs onnxruntime − JAX |",
              "|---|---|---|---|---|---|"]
    for cam in data["camera_frame"]:
        lines.append(f"| {cam['source']} | {cam['width']}×{cam['height']} | {cam['colours_in_frame']} | {cam['model']} | "
                     f"{cam['max_abs_wasm_vs_onnxruntime']:.1e} | {cam['max_abs_onnxruntime_vs_jax']:.1e} |")
    lines += ["", "The test pattern's flat colour regions amplify rounding through instance norm, between any two "
              "implementations; the browser tests therefore play a photograph to the fake camera and hold it, like "
              "the photos, to 1e-4.", "", "Download weight of the page with one model (page, runtime, manifest, thumbnails, the model):", "",
              "| model | files | raw MB | gzip MB | of which the model, raw | gzip |", "|---|---|---|---|---|---|"]
    for w in data["download"]:
        lines.append(f"| {w['model']} | {w['files']} | {w['raw_mb']:.1f} | {w['gzip_mb']:.1f} | "
                     f"{w['model_raw_mb']:.1f} | {w['model_gzip_mb']:.1f} |")
    lines += ["", "![The page after stylizing a photo with the 8-style model](screenshot.png)", ""]
    (out / "summary.md").write_text("\n".join(lines))


def main() -> None:
    from experiments.runner import benchmark_parser

    ap = benchmark_parser(__doc__, "bench_web", "+")
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--models", nargs="+", default=["johnson_starry_night", "dumoulin_8styles"])
    args = ap.parse_args()
    if args.summarize:
        write_summary(args.summarize)
        return
    if args.child:
        kind, site, *rest = args.child
        rows = (child_onnxruntime(Path(site), int(rest[0]), args.sizes, args.repeats) if kind == "ort"
                else child_jax(Path(site), args.sizes, args.repeats))
        from experiments.runner import child_result

        child_result(rows)
        return

    import onnxruntime

    from experiments.runner import machine_info, save_benchmark
    from nst.web import build_site, find_web_dir
    from nst.web.build import pinned_ort_version

    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench_web_") as tmp:
        site = Path(tmp) / "site"
        build_site(site, models=[ROOT / "results" / "models" / f"{m}.nst" for m in args.models], verbose=False)
        common = ["--sizes", *map(str, args.sizes), "--repeats", str(args.repeats)]
        rows: list[dict] = []
        for t in args.threads:  # Python onnxruntime first: its outputs are the browser's references
            rows += run_child(["--child", "ort", str(site), str(t), *common])
            print(f"onnxruntime {t} thread(s): done", flush=True)
        rows += run_child(["--child", "jax", str(site), *common])
        print("JAX: done", flush=True)
        chromium = ""
        for t in args.threads:
            new, chromium = browser_rows(site, t, args.sizes, args.repeats)
            rows += new
            print(f"browser wasm {t} thread(s): done", flush=True)
        from nst.io.images import load_image
        from nst.web.browser import write_y4m

        video = write_y4m(Path(tmp) / "camera.y4m", [load_image(PHOTO, size=(240, 320))])
        camera = [camera_frame_check(site), camera_frame_check(site, video)]
        download = download_weight(site)
        screenshot(site, args.out / "screenshot.png")
    meta = {**machine_info(), "command": " ".join(["python -m experiments.benchmarks.bench_web", *sys.argv[1:]]),
            "start": started, "end": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "chromium": chromium,
            "onnxruntime_web": pinned_ort_version(find_web_dir()), "onnxruntime": onnxruntime.__version__,
            "sizes": args.sizes, "threads": args.threads, "repeats": args.repeats}
    save_benchmark(args.out, meta, rows=rows, camera_frame=camera, download=download)
    write_summary(args.out)
    print((args.out / "summary.md").read_text())


if __name__ == "__main__":
    main()
