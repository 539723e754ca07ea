r"""On device in the browser: a static page that runs the exported networks with onnxruntime-web.

* `build` — ``build_site(out)``: the page (``web/`` of the checkout), the pinned onnxruntime-web
  wasm assets (``web/package-lock.json``), every model exported to ONNX with `nst.export`, the
  styles' thumbnails and a ``manifest.json`` the page reads;
* `serve` — ``serve_site(folder)``: a static server on 127.0.0.1 only, with the cross-origin
  isolation headers (COOP ``same-origin``, COEP ``require-corp``) that multi-threaded wasm needs;
* `browser` — the page in headless Chromium (Playwright), for the browser tests and the benchmark.

``nst web build OUT`` and ``nst web serve OUT`` (which builds first when ``OUT`` holds no site)
are the command line.  Nothing leaves the browser: the page fetches only its own files.
"""

from __future__ import annotations

from .build import MANIFEST_NAME, ORT_ASSETS, build_site, find_web_dir, ort_assets_dir, read_manifest
from .serve import SITE_HEADERS, make_server, serve_site, served

__all__ = ["MANIFEST_NAME", "ORT_ASSETS", "SITE_HEADERS", "build_site", "find_web_dir", "make_server",
           "ort_assets_dir", "read_manifest", "serve_site", "served"]
