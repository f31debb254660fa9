// promptseg viewer: axial, sagittal and coronal slices of a case on its T2W grid; a click
// segments a lesion on the server, the mask comes back as an overlay. No external code.
"use strict";

const params = new URLSearchParams(location.search);
const token = params.get("token");
const PALETTE = [[255, 214, 0], [0, 200, 255], [255, 80, 200], [120, 255, 90], [255, 140, 40], [180, 120, 255]];

const S = {
  caseId: null, dims: null, spacing: null, vols: {}, channel: "t2w", wl: {},
  labels: null, entropy: null, k: 0, ci: 0, cj: 0, state: null, busy: false,
};
window.promptseg = S;

const $ = (id) => document.getElementById(id);

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (token) h["Authorization"] = "Bearer " + token;
  return h;
}

async function call(method, path, body, kind) {
  const opts = { method, headers: headers() };
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) {
    opts.body = JSON.stringify(body);
    opts.headers["Content-Type"] = "application/json";
  }
  const r = await fetch(path, opts);
  if (!r.ok) {
    let msg = r.status + " " + r.statusText;
    try { msg = (await r.json()).detail || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  if (kind === "bin") return r.arrayBuffer();
  if (kind === "blob") return r;
  return r.json();
}

function q(extra) {
  return "?case=" + encodeURIComponent(S.caseId) + (extra || "");
}

function status(text, error) {
  const el = $("status");
  el.textContent = text;
  el.dataset.error = error ? "1" : "0";
}

function busy(on) {
  S.busy = on;
  $("status").dataset.busy = on ? "1" : "0";
}

async function listCases() {
  const r = await call("GET", "/api/cases");
  const sel = $("case-select");
  sel.innerHTML = "";
  for (const c of r.cases) {
    const o = document.createElement("option");
    o.value = c.id;
    o.textContent = c.id + (c.has_label ? " (label)" : "");
    sel.appendChild(o);
  }
  const want = params.get("case");
  if (want) sel.value = want;
}

function percentiles(a) {
  const step = Math.max(1, Math.floor(a.length / 20000));
  const s = [];
  for (let i = 0; i < a.length; i += step) if (a[i] !== 0) s.push(a[i]);
  if (!s.length) return [0, 1];
  s.sort((x, y) => x - y);
  const lo = s[Math.floor(0.01 * (s.length - 1))];
  const hi = s[Math.floor(0.99 * (s.length - 1))];
  return [lo, hi > lo ? hi : lo + 1];
}

function autoWL(ch) {
  const [lo, hi] = percentiles(S.vols[ch]);
  S.wl[ch] = { lo: lo, hi: hi, range: [Math.min(lo, 0), hi * 1.5] };
  syncSliders();
}

function syncSliders() {
  const w = S.wl[S.channel];
  if (!w) return;
  const [rmin, rmax] = w.range;
  const span = rmax - rmin || 1;
  $("window").value = Math.round(((w.hi - w.lo) / span) * 1000);
  $("level").value = Math.round((((w.hi + w.lo) / 2 - rmin) / span) * 1000);
  $("wl-values").textContent = "W " + (w.hi - w.lo).toFixed(0) + " / L " + ((w.hi + w.lo) / 2).toFixed(0);
}

function slidersChanged() {
  const w = S.wl[S.channel];
  if (!w) return;
  const [rmin, rmax] = w.range;
  const span = rmax - rmin || 1;
  const width = Math.max(1e-6, ($("window").value / 1000) * span);
  const level = rmin + ($("level").value / 1000) * span;
  w.lo = level - width / 2;
  w.hi = level + width / 2;
  $("wl-values").textContent = "W " + width.toFixed(0) + " / L " + level.toFixed(0);
  render();
}

async function loadChannel(ch) {
  if (!S.vols[ch]) {
    S.vols[ch] = new Float32Array(await call("GET", "/api/volume" + q("&channel=" + ch), undefined, "bin"));
    autoWL(ch);
  }
}

async function openCase(id) {
  busy(true);
  try {
    status("opening " + id + " ...");
    S.caseId = id;
    S.vols = {};
    S.wl = {};
    S.entropy = null;
    const st = await call("POST", "/api/open" + q());
    S.dims = st.dims;
    S.spacing = st.spacing;
    S.k = Math.floor(st.dims[2] / 2);
    S.ci = Math.floor(st.dims[0] / 2);
    S.cj = Math.floor(st.dims[1] / 2);
    await loadChannel(S.channel);
    sizeCanvases();
    await applyState(st);
    document.body.dataset.case = id;
    status("opened " + id + " (" + st.dims.join(" x ") + " voxels)");
  } catch (e) {
    status("open failed: " + e.message, true);
  } finally {
    busy(false);
  }
}

async function applyState(st) {
  S.state = st;
  S.labels = new Uint8Array(await call("GET", "/api/labels" + q(), undefined, "bin"));
  if ($("show-entropy").checked) await loadEntropy();
  else S.entropy = null;
  $("undo-button").disabled = !st.can_undo;
  $("redo-button").disabled = !st.can_redo;
  $("download-button").disabled = false;
  $("save-button").disabled = false;
  $("summary").textContent = st.lesions.length + " lesion(s), " + st.voxels + " voxels, " +
    st.volume_ml.toFixed(2) + " mL; call: " + st.call;
  $("summary").dataset.voxels = st.voxels;
  const list = $("lesion-list");
  list.innerHTML = "";
  st.lesions.forEach((l, n) => {
    const li = document.createElement("li");
    const c = PALETTE[n % PALETTE.length];
    li.innerHTML = '<span class="swatch" style="background:rgb(' + c.join(",") + ')"></span>';
    li.appendChild(document.createTextNode(
      "#" + l.id + " at " + l.prompt.join(",") + ": " + l.voxels + " voxels, " + l.volume_ml.toFixed(2) +
      " mL, " + (l.negative ? "negative" : "positive") + " (" + Math.round(l.ms) + " ms) "));
    const b = document.createElement("button");
    b.textContent = "Delete";
    b.dataset.lesion = l.id;
    b.onclick = () => edit("/api/delete" + q("&lesion=" + l.id));
    li.appendChild(b);
    list.appendChild(li);
  });
  document.body.dataset.version = st.version;
  render();
}

async function loadEntropy() {
  S.entropy = new Float32Array(await call("GET", "/api/volume" + q("&channel=entropy"), undefined, "bin"));
}

function sizeCanvases() {
  const [nx, ny, nz] = S.dims;
  const [sx, sy, sz] = S.spacing;
  const fit = (c, w, h, mmw, mmh, box) => {
    c.width = w; c.height = h;
    const scale = box / Math.max(mmw, mmh);
    c.style.width = Math.round(mmw * scale) + "px";
    c.style.height = Math.round(mmh * scale) + "px";
  };
  fit($("axial"), nx, ny, nx * sx, ny * sy, 560);
  fit($("sagittal"), ny, nz, ny * sy, nz * sz, 270);
  fit($("coronal"), nx, nz, nx * sx, nz * sz, 270);
}

// Draws one slice: `at(u, v)` gives the voxel offset of pixel (u, v).
function draw(canvas, w, h, at) {
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  const vol = S.vols[S.channel];
  const wl = S.wl[S.channel];
  const scale = 255 / Math.max(1e-6, wl.hi - wl.lo);
  const showMask = $("show-mask").checked && S.labels;
  const ent = S.entropy;
  for (let v = 0; v < h; v++) {
    for (let u = 0; u < w; u++) {
      const o = at(u, v);
      let g = (vol[o] - wl.lo) * scale;
      g = g < 0 ? 0 : g > 255 ? 255 : g;
      let r = g, gg = g, b = g;
      if (ent && ent[o] > 0) {
        const a = Math.min(1, ent[o] / 0.6931) * 0.6;
        r = r * (1 - a) + 255 * a; gg = gg * (1 - a) + 40 * a; b = b * (1 - a) + 40 * a;
      }
      if (showMask && S.labels[o]) {
        const c = PALETTE[(S.labels[o] - 1) % PALETTE.length];
        r = r * 0.5 + c[0] * 0.5; gg = gg * 0.5 + c[1] * 0.5; b = b * 0.5 + c[2] * 0.5;
      }
      const p = 4 * (u + w * v);
      img.data[p] = r; img.data[p + 1] = gg; img.data[p + 2] = b; img.data[p + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}

function render() {
  if (!S.dims || !S.vols[S.channel]) return;
  const [nx, ny, nz] = S.dims;
  const k = S.k, ci = S.ci, cj = S.cj;
  draw($("axial"), nx, ny, (u, v) => u + nx * (v + ny * k));
  draw($("sagittal"), ny, nz, (u, v) => ci + nx * (u + ny * (nz - 1 - v)));
  draw($("coronal"), nx, nz, (u, v) => u + nx * (cj + ny * (nz - 1 - v)));
  $("slice-label").textContent = "k = " + k + " / " + (nz - 1);
  $("slice-label").dataset.k = k;
  $("sag-label").textContent = "i = " + ci;
  $("cor-label").textContent = "j = " + cj;
}

function setSlice(k) {
  if (!S.dims) return;
  S.k = Math.max(0, Math.min(S.dims[2] - 1, k));
  render();
}

function voxelAt(view, e) {
  const c = e.target;
  const rect = c.getBoundingClientRect();
  const fu = (e.clientX - rect.left) / rect.width;
  const fv = (e.clientY - rect.top) / rect.height;
  const u = Math.min(c.width - 1, Math.max(0, Math.floor(fu * c.width)));
  const v = Math.min(c.height - 1, Math.max(0, Math.floor(fv * c.height)));
  const nz = S.dims[2];
  if (view === "axial") return [u, v, S.k];
  if (view === "sagittal") return [S.ci, u, nz - 1 - v];
  return [u, S.cj, nz - 1 - v];
}

async function edit(path, body) {
  if (S.busy) return;
  busy(true);
  try {
    const st = await call("POST", path, body);
    await applyState(st);
    return st;
  } catch (e) {
    status(e.message, true);
  } finally {
    busy(false);
  }
}

async function clickAt(view, e) {
  if (!S.caseId || S.busy) return;
  const p = voxelAt(view, e);
  const background = e.shiftKey;
  status((background ? "removing the lesion at " : "segmenting from ") + p.join(",") + " ...");
  const st = await edit("/api/click" + q(), { point: p, background: background });
  if (!st) return;
  if (background) status("background click at " + p.join(",") + ": removed " + st.removed + " lesion(s)");
  else {
    const l = st.added;
    status("lesion #" + l.id + ": " + l.voxels + " voxels, " + l.volume_ml.toFixed(2) + " mL, " +
      (l.negative ? "negative (nothing found)" : "positive") + " in " + Math.round(l.ms) + " ms");
  }
}

async function download() {
  try {
    const r = await call("GET", "/api/download" + q(), undefined, "blob");
    const cd = r.headers.get("Content-Disposition") || "";
    const m = /filename="([^"]+)"/.exec(cd);
    const blob = await r.blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = m ? m[1] : "promptseg_mask.nii.gz";
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  } catch (e) {
    status("download failed: " + e.message, true);
  }
}

function wire() {
  $("open-button").onclick = () => openCase($("case-select").value);
  for (const [view, id] of [["axial", "axial"], ["sagittal", "sagittal"], ["coronal", "coronal"]]) {
    const c = $(id);
    c.addEventListener("click", (e) => clickAt(view, e));
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      if (!S.dims) return;
      const d = e.deltaY > 0 ? -1 : 1;
      if (view === "axial") setSlice(S.k + d);
      else if (view === "sagittal") { S.ci = Math.max(0, Math.min(S.dims[0] - 1, S.ci + d)); render(); }
      else { S.cj = Math.max(0, Math.min(S.dims[1] - 1, S.cj + d)); render(); }
    }, { passive: false });
  }
  $("axial").addEventListener("mousemove", (e) => {
    if (!S.dims) return;
    const p = voxelAt("axial", e);
    S.ci = p[0]; S.cj = p[1];
    render();
  });
  document.querySelectorAll("input[name=channel]").forEach((r) => {
    r.onchange = async () => { S.channel = r.value; await loadChannel(S.channel); syncSliders(); render(); };
  });
  $("window").oninput = slidersChanged;
  $("level").oninput = slidersChanged;
  $("auto-wl").onclick = () => { autoWL(S.channel); render(); };
  $("show-mask").onchange = render;
  $("show-entropy").onchange = async () => {
    if ($("show-entropy").checked && S.caseId) await loadEntropy(); else S.entropy = null;
    render();
  };
  $("undo-button").onclick = () => edit("/api/undo" + q());
  $("redo-button").onclick = () => edit("/api/redo" + q());
  $("download-button").onclick = download;
  $("save-button").onclick = async () => {
    const st = await edit("/api/save" + q());
    if (st) status("saved " + st.saved);
  };
  $("upload-form").onsubmit = async (e) => {
    e.preventDefault();
    const fd = new FormData(e.target);
    const id = fd.get("id");
    fd.delete("id");
    try {
      await call("POST", "/api/upload?id=" + encodeURIComponent(id), fd);
      await listCases();
      $("case-select").value = id;
      await openCase(id);
    } catch (err) {
      status("upload failed: " + err.message, true);
    }
  };
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT" && e.target.type !== "radio" && e.target.type !== "checkbox") return;
    const key = e.key;
    if ((e.ctrlKey || e.metaKey) && (key === "z" || key === "Z")) {
      e.preventDefault();
      if (e.shiftKey) $("redo-button").click(); else $("undo-button").click();
    } else if ((e.ctrlKey || e.metaKey) && (key === "y" || key === "Y")) {
      e.preventDefault();
      $("redo-button").click();
    } else if (key === "ArrowUp" || key === "PageUp") { e.preventDefault(); setSlice(S.k + 1); }
    else if (key === "ArrowDown" || key === "PageDown") { e.preventDefault(); setSlice(S.k - 1); }
    else if (key === "Home") setSlice(0);
    else if (key === "End" && S.dims) setSlice(S.dims[2] - 1);
    else if (key === "1" || key === "2" || key === "3") {
      const ch = ["t2w", "adc", "hbv"][Number(key) - 1];
      const r = document.querySelector("input[name=channel][value=" + ch + "]");
      r.checked = true;
      r.onchange();
    } else if (key === "e" || key === "E") {
      $("show-entropy").checked = !$("show-entropy").checked;
      $("show-entropy").onchange();
    }
  });
}

wire();
listCases().then(() => { if (params.get("case")) openCase(params.get("case")); })
  .catch((e) => status("cannot list cases: " + e.message, true));
