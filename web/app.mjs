// nst on device: the exported networks (manifest.json) run in this page with onnxruntime-web's wasm backend.
//
// The model's convention (nst.export): input "image" float32 NCHW RGB in [0, 1]; multi-style models take
// "index", one weight per style, which the graph does not renormalise, so the page divides by the sum.
// Output "stylizedImage" has the input's size.  Nothing here sends data anywhere: the page fetches only
// its own files (manifest, models, thumbnails, the runtime).
//
// window.nstPage exposes the state and a few functions for the browser tests and the benchmark
// (tests/test_web_browser.py, experiments/benchmarks/bench_web.py).

import * as ort from './ort/ort.wasm.min.mjs';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const MAX_SIDE = 1024;  // the largest output the size menu offers

const state = {
  manifest: null,
  model: null,        // the manifest entry of the loaded model
  session: null,
  loadToken: 0,
  weights: [],        // slider values, one per style (renormalised before each run)
  source: null,       // ImageBitmap of the photo
  sourceName: 'photo',
  camera: null,
  runs: 0,
  lastRun: null,
  lastMessage: '',
  queue: Promise.resolve(),
  downloadUrl: null,
};

class PageError extends Error {}

// ---------- messages ----------

function showMessage(text) {
  state.lastMessage = text;
  const box = $('message');
  box.textContent = text;
  box.hidden = false;
}

function clearMessage() {
  $('message').hidden = true;
  $('message').textContent = '';
}

function reason(err) {
  const text = String((err && err.message) || err || 'unknown error');
  return text.split('\n')[0].slice(0, 240);
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

// ---------- runtime ----------

function configureRuntime() {
  const isolated = self.crossOriginIsolated === true;
  const requested = Number(params.get('threads') || 0);
  const threads = requested > 0 ? requested : Math.min(navigator.hardwareConcurrency || 1, 4);
  ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;
  ort.env.wasm.numThreads = isolated ? threads : 1;  // threads need SharedArrayBuffer, i.e. isolation
  ort.env.logLevel = 'error';
  $('ort-version').textContent = ort.env.versions?.web || '?';
  $('runtime').textContent = `WebAssembly on ${ort.env.wasm.numThreads} thread(s)` + (isolated ? '.'
    : ' — this page is not cross-origin isolated, so wasm runs on one thread (serve it with nst web serve).');
  return ort.env.wasm.numThreads;
}

// ---------- manifest and models ----------

async function loadManifest() {
  let resp;
  try {
    resp = await fetch('manifest.json', { cache: 'no-cache' });
  } catch (err) {
    throw new PageError(`manifest.json could not be fetched (${reason(err)}): serve the page with nst web serve`);
  }
  if (!resp.ok) throw new PageError(`manifest.json could not be loaded (HTTP ${resp.status}): build the page with nst web build`);
  const manifest = await resp.json();
  if (!Array.isArray(manifest.models) || manifest.models.length === 0) throw new PageError('manifest.json lists no models');
  return manifest;
}

function fillModelMenu(manifest) {
  const menu = $('model');
  menu.replaceChildren(...manifest.models.map((m) => {
    const o = document.createElement('option');
    o.value = m.id;
    o.textContent = `${m.label} · ${m.precision} · ${mb(m.bytes)}`;
    return o;
  }));
  menu.disabled = false;
}

function defaultModelId(manifest) {
  const asked = params.get('model');
  if (asked && manifest.models.some((m) => m.id === asked)) return asked;
  const multi = manifest.models.find((m) => m.num_styles > 1 && m.precision === 'float16');
  return (multi || manifest.models[0]).id;
}

async function sha256Hex(bytes) {
  if (!crypto.subtle) return null;  // not a secure context: skip the check rather than fail
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function selectModel(id) {
  const entry = state.manifest.models.find((m) => m.id === id);
  if (!entry) throw new PageError(`manifest.json has no model ${id}`);
  const token = ++state.loadToken;
  clearMessage();
  $('model').value = id;
  $('stylize').disabled = true;
  $('output-caption').textContent = `Loading ${entry.label} (${entry.precision}, ${mb(entry.bytes)})…`;
  let session;
  try {
    const resp = await fetch(entry.file);
    if (!resp.ok) throw new Error(`HTTP ${resp.status} for ${entry.file}`);
    const bytes = new Uint8Array(await resp.arrayBuffer());
    const digest = await sha256Hex(bytes);
    if (digest && entry.sha256 && digest !== entry.sha256) {
      throw new Error('the downloaded file does not match manifest.json (SHA-256); rebuild the page');
    }
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  } catch (err) {
    if (token !== state.loadToken) return false;
    state.model = null;
    state.session = null;
    $('output-caption').textContent = 'No model loaded';
    showMessage(`The model “${entry.label}” (${entry.precision}) could not be loaded: ${reason(err)}`);
    return false;
  }
  if (token !== state.loadToken) { session.release(); return false; }
  if (state.session) state.session.release();
  state.session = session;
  state.model = entry;
  state.weights = entry.styles.map((_, i) => (i === 0 ? 1 : 0));
  renderStyles();
  $('output-caption').textContent = `${entry.label} loaded`;
  $('stylize').disabled = !state.source;
  if (state.source && !state.camera) await stylizePhoto();
  return true;
}

// ---------- styles and blends ----------

function normalisedWeights() {
  const sum = state.weights.reduce((a, b) => a + b, 0);
  if (!(sum > 0)) return null;
  return state.weights.map((w) => w / sum);
}

function styleDescription(weights) {
  const styles = state.model.styles;
  if (styles.length === 1) return styles[0].label;
  const parts = weights.map((w, i) => [w, styles[i].label]).filter(([w]) => w > 0);
  if (parts.length === 1) return parts[0][1];
  return parts.map(([w, label]) => `${Math.round(w * 100)}% ${label}`).join(' + ');
}

function renderStyles() {
  const box = $('styles');
  const model = state.model;
  const multi = model.num_styles > 1;
  box.replaceChildren(...model.styles.map((style, i) => {
    const row = document.createElement('div');
    row.className = 'style-row';
    const img = document.createElement('img');
    img.alt = style.label;
    if (style.thumbnail) img.src = style.thumbnail;
    const name = document.createElement('button');
    name.type = 'button';
    name.textContent = style.label;
    name.title = multi ? `Use only ${style.label}` : style.label;
    const weight = document.createElement('span');
    weight.className = 'weight';
    row.append(img, name, weight);
    if (multi) {
      const slider = document.createElement('input');
      slider.type = 'range';
      slider.min = '0';
      slider.max = '100';
      slider.step = '1';
      slider.setAttribute('aria-label', `Weight of ${style.label}`);
      slider.dataset.index = String(i);
      slider.addEventListener('input', () => {
        state.weights[i] = Number(slider.value) / 100;
        updateWeightLabels();
        scheduleRestylize();
      });
      name.addEventListener('click', () => setWeights(model.styles.map((_, j) => (j === i ? 1 : 0))));
      row.append(slider);
    }
    return row;
  }));
  $('blend-note').textContent = multi
    ? 'Click a name for one style, or move several sliders to blend; the weights are divided by their sum.'
    : 'This network was trained for one style.';
  updateWeightLabels();
}

function updateWeightLabels() {
  const norm = normalisedWeights();
  const rows = $('styles').querySelectorAll('.style-row');
  rows.forEach((row, i) => {
    const slider = row.querySelector('input[type=range]');
    if (slider) slider.value = String(Math.round(state.weights[i] * 100));
    row.querySelector('.weight').textContent = norm ? `${Math.round(norm[i] * 100)}%` : '—';
    row.classList.toggle('selected', !!norm && norm[i] > 0);
  });
  if (!norm) showMessage('Give at least one style a weight above zero.');
  else if (state.lastMessage.startsWith('Give at least one style')) clearMessage();
}

function setWeights(weights) {
  if (!state.model) throw new PageError('no model is loaded');
  if (weights.length !== state.model.num_styles) {
    throw new PageError(`${state.model.id} has ${state.model.num_styles} style(s), got ${weights.length} weights`);
  }
  state.weights = weights.map(Number);
  updateWeightLabels();
  scheduleRestylize();
}

let restyleTimer = null;
function scheduleRestylize() {
  if (!state.source || state.camera) return;
  clearTimeout(restyleTimer);
  restyleTimer = setTimeout(() => { stylizePhoto(); }, 150);
}

// ---------- pictures in and out ----------

function targetSize(width, height) {
  const side = Number($('size').value) || 512;
  const scale = Math.min(side, MAX_SIDE) / Math.max(width, height);
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const min = state.manifest?.min_size || 64;
  if (w < min || h < min) {
    throw new PageError(`At ${side} px this picture would be ${w}×${h} px; the networks need at least ${min} px a side. ` +
                        'Choose a larger output size or a less elongated photo.');
  }
  return [w, h];
}

// Draw ``source`` at w×h into the input canvas and read it back as NCHW floats in [0, 1].
function toTensorData(source, w, h) {
  const canvas = $('input');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, w, h);
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const plane = w * h;
  const data = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    data[i] = rgba[4 * i] / 255;
    data[plane + i] = rgba[4 * i + 1] / 255;
    data[2 * plane + i] = rgba[4 * i + 2] / 255;
  }
  return data;
}

function drawOutput(data, w, h) {
  const canvas = $('output');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(w, h);
  const px = image.data;  // Uint8ClampedArray: rounds and clamps to 0..255
  const plane = w * h;
  for (let i = 0; i < plane; i++) {
    px[4 * i] = data[i] * 255;
    px[4 * i + 1] = data[plane + i] * 255;
    px[4 * i + 2] = data[2 * plane + i] * 255;
    px[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

// One run at a time: onnxruntime-web sessions do not run concurrently.
function exclusive(task) {
  const next = state.queue.then(task, task);
  state.queue = next.catch(() => {});
  return next;
}

async function runNetwork(input, w, h, weights) {
  if (!state.session) throw new PageError('no model is loaded');
  const feeds = { image: new ort.Tensor('float32', input, [1, 3, h, w]) };
  if (state.model.num_styles > 1) {
    feeds.index = new ort.Tensor('float32', Float32Array.from(weights), [state.model.num_styles]);
  }
  const t0 = performance.now();
  const results = await state.session.run(feeds);
  const ms = performance.now() - t0;
  const out = results.stylizedImage;
  const output = out.data.slice();
  out.dispose?.();
  return { output, ms };
}

async function stylizeSource(source, origin) {
  const weights = normalisedWeights();
  if (!state.session || !weights) return null;
  return exclusive(async () => {
    const [w, h] = targetSize(source.width || source.videoWidth, source.height || source.videoHeight);
    const input = toTensorData(source, w, h);
    const { output, ms } = await runNetwork(input, w, h, weights);
    drawOutput(output, w, h);
    state.runs += 1;
    state.lastRun = { run: state.runs, origin, modelId: state.model.id, weights, width: w, height: h, input, output, ms };
    $('output-caption').textContent =
      `${styleDescription(weights)} · ${state.model.method} ${state.model.precision} · ${w}×${h} px · ` +
      `${ms.toFixed(0)} ms on ${ort.env.wasm.numThreads} thread(s)`;
    return state.lastRun;
  });
}

async function stylizePhoto() {
  if (!state.source) return null;
  try {
    const run = await stylizeSource(state.source, 'photo');
    if (run) await offerDownload();
    return run;
  } catch (err) {
    showMessage(err instanceof PageError ? err.message : `Stylizing failed: ${reason(err)}`);
    return null;
  }
}

async function offerDownload() {
  const blob = await new Promise((resolve) => $('output').toBlob(resolve, 'image/png'));
  if (!blob) return;
  if (state.downloadUrl) URL.revokeObjectURL(state.downloadUrl);
  state.downloadUrl = URL.createObjectURL(blob);
  const link = $('download');
  const style = styleDescription(state.lastRun.weights).replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '');
  link.href = state.downloadUrl;
  link.download = `${state.sourceName}_${style || 'stylized'}.png`;
  link.hidden = false;
}

async function openFile(file) {
  if (!file) return;
  clearMessage();
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch (err) {
    showMessage(`“${file.name}” is not an image this browser can open (${file.type || 'unknown type'}). ` +
                'Choose a JPEG, PNG or WebP photo.');
    return;
  }
  if (state.source) state.source.close?.();
  state.source = bitmap;
  state.sourceName = file.name.replace(/\.[^.]*$/, '') || 'photo';
  $('input-caption').textContent = `${file.name} · ${bitmap.width}×${bitmap.height} px`;
  $('stylize').disabled = !state.session;
  if (state.camera) stopCamera();
  await stylizePhoto();
}

// ---------- camera ----------

function cameraReason(err) {
  switch (err && err.name) {
    case 'NotAllowedError': return 'permission was denied';
    case 'NotFoundError': case 'OverconstrainedError': return 'no camera was found';
    case 'NotReadableError': return 'the camera is in use by another program';
    default: return reason(err);
  }
}

async function startCamera() {
  clearMessage();
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showMessage('The camera could not be opened: this browser offers none to this page (it needs localhost or https).');
    return false;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  } catch (err) {
    showMessage(`The camera could not be opened: ${cameraReason(err)}.`);
    return false;
  }
  const video = $('video');
  video.srcObject = stream;
  try {
    await video.play();
  } catch (err) {
    stream.getTracks().forEach((t) => t.stop());
    showMessage(`The camera could not be opened: ${reason(err)}.`);
    return false;
  }
  state.camera = { stream, frames: 0, fps: 0, times: [] };
  $('camera').textContent = 'Stop camera';
  $('input-caption').textContent = 'Camera';
  cameraLoop(state.camera);
  return true;
}

function stopCamera() {
  if (!state.camera) return;
  state.camera.stream.getTracks().forEach((t) => t.stop());
  state.camera = null;
  $('video').srcObject = null;
  $('camera').textContent = 'Start camera';
  $('fps').textContent = '';
}

async function cameraLoop(camera) {
  const video = $('video');
  while (state.camera === camera) {
    if (state.session && video.videoWidth > 0 && normalisedWeights()) {
      try {
        await stylizeSource(video, 'camera');
        const now = performance.now();
        camera.frames += 1;
        camera.times.push(now);
        while (camera.times.length > 1 && now - camera.times[0] > 2000) camera.times.shift();
        if (camera.times.length > 1) {
          camera.fps = (camera.times.length - 1) / ((now - camera.times[0]) / 1000);
          $('fps').textContent = `Camera: ${camera.fps.toFixed(1)} frames per second at ${state.lastRun.width}×${state.lastRun.height} px`;
        }
      } catch (err) {
        showMessage(err instanceof PageError ? err.message : `Stylizing the camera failed: ${reason(err)}`);
        stopCamera();
        return;
      }
    } else {
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => requestAnimationFrame(r));
  }
}

// ---------- wiring ----------

function wire() {
  $('model').addEventListener('change', () => selectModel($('model').value));
  $('size').addEventListener('change', () => scheduleRestylize());
  $('file').addEventListener('change', (e) => openFile(e.target.files[0]));
  $('stylize').addEventListener('click', () => stylizePhoto());
  $('camera').addEventListener('click', () => (state.camera ? stopCamera() : startCamera()));
  const drop = $('drop');
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  for (const type of ['dragleave', 'drop']) {
    drop.addEventListener(type, () => drop.classList.remove('over'));
  }
  drop.addEventListener('drop', (e) => { e.preventDefault(); e.stopPropagation(); openFile(e.dataTransfer.files[0]); });
  // a file dropped next to the box opens too, rather than the browser navigating away from the page
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => { e.preventDefault(); if (e.dataTransfer.files[0]) openFile(e.dataTransfer.files[0]); });
}

// ---------- hooks for the tests and the benchmark ----------

function toBase64(floats) {
  const bytes = new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text) {
  const s = atob(text);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

const page = {
  state,
  threads: 1,
  selectModel,
  setWeights,
  startCamera,
  stopCamera,
  toBase64,
  // The last run's input and output as base64 float32 (NCHW), for comparison with Python onnxruntime.
  lastRunArrays() {
    const r = state.lastRun;
    if (!r) return null;
    return { run: r.run, origin: r.origin, modelId: r.modelId, weights: r.weights, width: r.width, height: r.height,
             ms: r.ms, input: toBase64(r.input), output: toBase64(r.output) };
  },
  // Run the loaded network on a given NCHW float32 array (base64) ``repeats`` times; times in ms.
  async runArray(inputBase64, width, height, weights, repeats = 1) {
    const input = fromBase64(inputBase64);
    const w = weights ? weights.map(Number) : [1];
    return exclusive(async () => {
      const times = [];
      let output = null;
      for (let k = 0; k < repeats; k++) {
        const r = await runNetwork(input, width, height, w);
        times.push(r.ms);
        output = r.output;
      }
      return { times, output: toBase64(output) };
    });
  },
};
window.nstPage = page;

async function start() {
  page.threads = configureRuntime();
  wire();
  state.manifest = await loadManifest();
  fillModelMenu(state.manifest);
  await selectModel(defaultModelId(state.manifest));
}

page.ready = start().then(() => true, (err) => {
  showMessage(err instanceof PageError ? err.message : `The page could not start: ${reason(err)}`);
  $('runtime').textContent = 'Not running.';
  return false;
});
