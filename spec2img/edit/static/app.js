// spec2img edit: the page.  Plain ES modules, canvas, Web Audio; nothing from the network.
import { ApiError, download, getAudio, getJSON, getTile, postJSON } from './api.js';
import { embedded, host, root } from './env.js';
import { Player } from './player.js';
import './safety.js';
import { formatTime, View } from './view.js';

const $ = (sel) => root.querySelector(sel);
const body = host;
const status = $('#status');

const app = {
  info: null, view: null, player: null, tool: 'erase', selection: null, drag: null,
  brush: null, pending: 0, audioReady: false, version: 0, loopOn: false, tileTimer: null,
};

function say(text, error = false) {
  status.textContent = text;
  status.classList.toggle('error', error);
}

function setState() {
  if (!app.view || app.view.overview.length < app.info.channels) body.dataset.state = 'loading';
  else body.dataset.state = app.pending > 0 || !app.audioReady ? 'busy' : 'ready';
}

async function busy(fn) {
  app.pending++; setState();
  try { return await fn(); } catch (e) {
    say(e instanceof ApiError ? e.message : `error: ${e.message || e}`, true);
    return null;
  } finally { app.pending--; setState(); }
}

// ---------------------------------------------------------------- loading

async function start() {
  if (!embedded && location.search.includes('token=')) history.replaceState(null, '', location.pathname); // keep the token out of the address bar
  const [info, maps] = await Promise.all([getJSON('api/info'), getJSON('api/colormaps')]);
  app.info = info; app.version = info.version;
  if (!embedded) document.title = `${info.name} — spec2img edit`;
  $('#name').textContent = info.name;
  const sel = $('#colormap');
  for (const name of Object.keys(maps)) sel.add(new Option(name, name));
  app.maps = maps;
  const view = new View(info, $('#spectrogram'), $('#freq-axis'), $('#time-axis'));
  app.view = view;
  view.lut = maps.magma;
  view.dbHigh = Math.round(info.db_max - 24); // the session adds 24 dB of headroom
  view.dbLow = Math.round(view.dbHigh - 90);
  $('#db-low').value = view.dbLow; $('#db-high').value = view.dbHigh;
  if (info.save_to) { const b = $('[data-action=save]'); b.hidden = false; b.title = `Save to ${info.save_to}`; }
  view.layout();
  say(`${info.name}: ${info.channels} channel(s), ${(info.n_samples / info.sample_rate).toFixed(2)} s at ${info.sample_rate} Hz — loading…`);
  const step = info.overview_step;
  view.overview = await Promise.all(Array.from({ length: info.channels }, (_, c) => getTile(c, 0, info.frames, step)));
  view.dirty = true;
  paint();
  setState();
  updateHistory(info);
  app.player = new Player(info.sample_rate, info.channels, info.n_samples, onPlaying);
  await loadAudio();
}

async function loadAudio() {
  // The server may still be decoding an image without kept phase: wait for it.
  for (;;) {
    const st = await getJSON('api/state');
    if (st.error) { say(st.error, true); return; }
    if (st.ready) break;
    say('decoding the image…');
    await new Promise((r) => setTimeout(r, 300));
  }
  const n = app.info.n_samples, chunk = app.info.max_audio_samples;
  for (let s = 0; s < n; s += chunk) {
    const e = Math.min(n, s + chunk);
    app.player.write('edited', s, await getAudio('edited', s, e));
  }
  app.player.loaded.edited = true;
  app.audioReady = true;
  setState();
  say(`${app.info.name}: ready — space plays, drag to ${app.tool}, Ctrl+Z undoes`);
  for (let s = 0; s < n; s += chunk) {
    const e = Math.min(n, s + chunk);
    app.player.write('original', s, await getAudio('original', s, e));
  }
  app.player.loaded.original = true;
}

// ---------------------------------------------------------------- drawing

let frameRequested = false;
function paint() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    const v = app.view;
    v.paint({ selection: app.selection, drag: app.drag, brush: app.brush,
              playhead: app.player ? app.player.position() : 0 });
    const t = app.player ? app.player.position() : 0;
    $('#clock').textContent = formatTime(t);
    if (app.player && app.player.playing) {
      followPlayhead(t);
      paint();
    }
  });
}

function followPlayhead(t) {
  const v = app.view, f = v.timeFrame(t);
  if (f > v.start + v.span || f < v.start) { v.start = f - v.span * 0.05; v.clampView(); v.dirty = true; viewChanged(); }
}

function viewChanged() {
  const v = app.view;
  const scroll = $('#scroll');
  const room = app.info.frames - v.span;
  scroll.disabled = room <= 0;
  scroll.value = room > 0 ? Math.round((v.start / room) * 1000) : 0;
  paint();
  clearTimeout(app.tileTimer);
  app.tileTimer = setTimeout(fetchDetail, 60);
}

async function fetchDetail() {
  const v = app.view;
  for (let ch = 0; ch < app.info.channels; ch++) {
    const want = v.wantDetail(ch);
    if (!want) continue;
    try {
      v.detail[ch] = await getTile(ch, want.t0, want.t1, want.step);
      v.dirty = true; paint();
    } catch (e) { say(e.message, true); }
  }
}

window.addEventListener('resize', () => { if (app.view) { app.view.layout(); viewChanged(); } });
// In a notebook the cell changes size without the window doing so.
if (embedded) new ResizeObserver(() => { if (app.view) { app.view.layout(); viewChanged(); } }).observe($('#spectrogram'));

// ---------------------------------------------------------------- editing

function channelsFor(ch) { return $('#link').checked ? [...Array(app.info.channels).keys()] : [ch]; }

function rectFromDrag(d) {
  const v = app.view;
  // the cells whose centres lie inside the rectangle
  const t0 = Math.max(0, Math.ceil(Math.min(d.a.frame, d.b.frame)));
  const t1 = Math.min(app.info.frames, Math.floor(Math.max(d.a.frame, d.b.frame)) + 1);
  const hz0 = Math.min(d.a.hz, d.b.hz), hz1 = Math.max(d.a.hz, d.b.hz);
  let r0 = Math.ceil(v.hzRow(hz0) - 1e-9), r1 = Math.floor(v.hzRow(hz1) + 1e-9) + 1;
  // a drag to the bottom or top edge takes the lowest or highest row too
  if (Math.min(d.a.y, d.b.y) <= d.panel.top + 1) r1 = app.info.rows;
  if (Math.max(d.a.y, d.b.y) >= d.panel.top + d.panel.height - 1) r0 = 0;
  r0 = Math.max(0, r0); r1 = Math.min(app.info.rows, Math.max(r0 + 1, r1));
  return { t0, t1: Math.max(t0 + 1, t1), r0, r1, hz0, hz1, channels: channelsFor(d.a.ch) };
}

async function sendEdit(req) {
  const change = await busy(() => postJSON('api/edit', req));
  if (change) await applyChange(change);
}

async function applyChange(change) {
  app.version = change.version;
  updateHistory(change);
  const v = app.view, [f0, f1] = change.frames, info = app.info;
  await busy(async () => {
    // the overview columns of the edited frames, then the visible detail, then the audio
    const st = info.overview_step;
    const a = Math.floor(f0 / st) * st, b = Math.min(info.frames, Math.ceil(f1 / st) * st);
    for (let ch = 0; ch < info.channels; ch++) {
      const part = await getTile(ch, a, b, st);
      const o = v.overview[ch], c0 = a / st;
      for (let r = 0; r < o.rows; r++) o.data.set(part.data.subarray(r * part.cols, (r + 1) * part.cols), r * o.cols + c0);
      if (v.detail[ch]) v.detail[ch].stale = true;
    }
    v.dirty = true; paint();
    const [s0, s1] = change.samples;
    if (s1 > s0 && app.player) {
      for (let s = s0; s < s1; s += info.max_audio_samples) {
        const e = Math.min(s1, s + info.max_audio_samples);
        app.player.write('edited', s, await getAudio('edited', s, e));
      }
      if (app.player.which === 'edited') app.player.refresh();
    }
    await fetchDetail();
    say(`${change.label}: re-synthesised ${((s1 - s0) / info.sample_rate).toFixed(2)} s in ${(change.seconds * 1000).toFixed(0)} ms`);
  });
}

function updateHistory(s) {
  $('[data-action=undo]').disabled = !s.can_undo;
  $('[data-action=redo]').disabled = !s.can_redo;
}

async function undo() { const c = await busy(() => postJSON('api/undo')); if (c) await applyChange(c); }
async function redo() { const c = await busy(() => postJSON('api/redo')); if (c) await applyChange(c); }

function editRect(op, rect) {
  const req = { op, frames: [rect.t0, rect.t1], rows: [rect.r0, rect.r1], channels: rect.channels };
  if (op === 'gain') req.gain_db = +$('#gain-db').value;
  return sendEdit(req);
}

// ---------------------------------------------------------------- mouse

const canvas = $('#spectrogram');

function local(e) {
  const r = canvas.getBoundingClientRect();
  return { x: e.clientX - r.left, y: e.clientY - r.top };
}

canvas.addEventListener('pointerdown', (e) => {
  if (!app.view || e.button !== 0) return;
  canvas.setPointerCapture(e.pointerId);
  canvas.focus();
  const p = local(e), at = { ...app.view.at(p.x, p.y), ...p };
  const panel = app.view.panels()[at.ch];
  if (app.tool === 'brush') {
    app.brush = { ch: at.ch, points: [[at.frame, at.row]], trail: [[p.x, p.y]], r: brushRadius(), gain: +$('#brush-db').value, panel, start: p, moved: false };
  } else {
    app.drag = { a: at, b: at, panel, start: p, moved: false, channels: channelsFor(at.ch), t0: at.frame, t1: at.frame, hz0: at.hz, hz1: at.hz };
  }
  paint();
});

canvas.addEventListener('pointermove', (e) => {
  if (!app.view) return;
  const p = local(e);
  if (app.brush && app.brush.points) {
    const v = app.view, at = v.at(p.x, Math.max(app.brush.panel.top, Math.min(app.brush.panel.top + app.brush.panel.height, p.y)));
    app.brush.points.push([at.frame, at.row]); app.brush.trail.push([p.x, p.y]);
    app.brush.moved = app.brush.moved || Math.hypot(p.x - app.brush.start.x, p.y - app.brush.start.y) > 3;
    paint(); return;
  }
  if (app.tool === 'brush' && !app.drag) { app.brush = { cursor: [p.x, p.y], r: brushRadius(), gain: +$('#brush-db').value, trail: [] }; paint(); return; }
  if (!app.drag) return;
  const d = app.drag;
  const y = Math.max(d.panel.top, Math.min(d.panel.top + d.panel.height, p.y));
  d.b = { ...app.view.at(Math.max(0, Math.min(app.view.cssW, p.x)), y), x: p.x, y };
  d.moved = d.moved || Math.hypot(p.x - d.start.x, p.y - d.start.y) > 3;
  const r = rectFromDrag(d);
  Object.assign(d, { t0: Math.min(d.a.frame, d.b.frame), t1: Math.max(d.a.frame, d.b.frame), hz0: r.hz0, hz1: r.hz1, channels: r.channels,
    stroke: app.tool === 'erase' ? 'rgba(255,110,90,0.95)' : app.tool === 'select' ? null : 'rgba(255,210,90,0.95)',
    fill: app.tool === 'erase' ? 'rgba(255,80,60,0.15)' : null });
  paint();
});

function finish(e) {
  if (!app.view) return;
  const p = local(e);
  if (app.brush && app.brush.points) {
    const b = app.brush; app.brush = null;
    if (!b.moved && b.points.length < 2) { clickTime(p.x); }
    const v = app.view;
    const framesPerPx = v.span / v.cssW;
    const rowsPerPx = Math.max(0.5, (v.hzRow(v.fracHz(Math.min(1, 1 - (b.start.y - b.panel.top) / b.panel.height) + b.r / b.panel.height)) - b.points[0][1]) / b.r);
    sendEdit({ op: 'brush', channels: channelsFor(b.ch), points: b.points.slice(0, 20000),
               radius: [Math.max(0.5, b.r * framesPerPx), Math.max(0.5, b.r * rowsPerPx)],
               gain_db: +$('#brush-db').value, softness: +$('#brush-soft').value });
    paint(); return;
  }
  const d = app.drag; app.drag = null;
  if (!d) return;
  if (!d.moved) { clickTime(p.x); paint(); return; }
  const rect = rectFromDrag(d);
  if (app.tool === 'select') {
    app.selection = { ...rect, cells: true };
    if (app.loopOn) app.player.setLoop(selectionSeconds());
  } else editRect(app.tool, rect);
  paint();
}
canvas.addEventListener('pointerup', finish);
canvas.addEventListener('pointercancel', () => { app.drag = null; app.brush = null; paint(); });
canvas.addEventListener('pointerleave', () => { if (app.brush && !app.brush.points) { app.brush = null; paint(); } });

function brushRadius() { return +$('#brush-size').value / 2; }

function clickTime(x) {
  if (!app.player) return;
  const v = app.view;
  app.player.seek(v.frameTime(v.start + (x / v.cssW) * v.span));
  paint();
}

canvas.addEventListener('wheel', (e) => {
  if (!app.view) return;
  e.preventDefault();
  const v = app.view;
  if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
    v.start += ((e.shiftKey ? e.deltaY : e.deltaX) / v.cssW) * v.span; v.clampView();
  } else v.zoom(Math.exp(e.deltaY * 0.0015), local(e).x);
  v.dirty = true; viewChanged();
}, { passive: false });

$('#scroll').addEventListener('input', (e) => {
  const v = app.view; v.start = (+e.target.value / 1000) * (app.info.frames - v.span); v.clampView(); v.dirty = true; viewChanged();
});

// ---------------------------------------------------------------- buttons and keys

function selectTool(name) {
  app.tool = name;
  root.querySelectorAll('[data-tool]').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.tool === name)));
  root.querySelectorAll('.options .opt:not(.always)').forEach((o) => o.classList.toggle('show', o.dataset.for === name));
  canvas.style.cursor = name === 'brush' ? 'none' : 'crosshair';
}
root.querySelectorAll('[data-tool]').forEach((b) => b.addEventListener('click', () => selectTool(b.dataset.tool)));

function selectionSeconds() {
  const s = app.selection, v = app.view;
  return s ? [Math.max(0, v.frameTime(s.t0 - 0.5)), Math.min(app.player.duration, v.frameTime(s.t1 - 0.5))] : null;
}

function onPlaying(on) {
  body.dataset.playing = String(on);
  $('[data-action=play]').innerHTML = on ? '&#x275A;&#x275A; Pause' : '&#x25B6; Play';
  paint();
}

function togglePlay() {
  if (!app.player || !app.audioReady) { say('the audio is not ready yet'); return; }
  app.player.toggle(); paint();
}

function toggleLoop() {
  app.loopOn = !app.loopOn;
  $('[data-action=loop]').setAttribute('aria-pressed', String(app.loopOn));
  if (app.player) app.player.setLoop(app.loopOn ? selectionSeconds() : null);
  if (app.loopOn && !app.selection) say('loop: select a rectangle with the select tool (S) to loop it');
}

function toggleAB() {
  if (!app.player) return;
  const which = app.player.which === 'edited' ? 'original' : 'edited';
  if (which === 'original' && !app.player.loaded.original) { say('the original audio is still loading'); return; }
  app.player.use(which);
  const b = $('[data-action=ab]');
  b.textContent = which === 'edited' ? 'B: edited' : 'A: original';
  b.setAttribute('aria-pressed', String(which === 'original'));
}

function zoom(f) { app.view.zoom(f); viewChanged(); }

const actions = {
  play: togglePlay, undo, redo, loop: toggleLoop, ab: toggleAB,
  'zoom-in': () => zoom(0.5), 'zoom-out': () => zoom(2),
  'zoom-fit': () => { app.view.start = 0; app.view.span = app.info.frames; app.view.dirty = true; viewChanged(); },
  'export-audio': () => busy(async () => say(`downloaded ${await download('api/export/audio?format=wav')}`)),
  'export-flac': () => busy(async () => say(`downloaded ${await download('api/export/audio?format=flac')}`)),
  'export-image': () => busy(async () => {
    const a = await download('api/export/image?part=spectrogram');
    const b = await download('api/export/image?part=phase');
    say(`downloaded ${a} and ${b} (keep them in one folder)`);
  }),
  'export-edits': () => busy(async () => say(`downloaded ${await download('api/edits')}`)),
  save: () => busy(async () => { const r = await postJSON('api/save'); say(`saved ${r.saved}`); }),
};
root.querySelectorAll('[data-action]').forEach((b) => b.addEventListener('click', (e) => {
  b.blur(); // the space bar is for playback, not for pressing the last button again
  if (app.view) actions[b.dataset.action]();
}));

$('#freq-scale').addEventListener('change', (e) => { app.view.scale = e.target.value; app.view.dirty = true; paint(); e.target.blur(); });
$('#colormap').addEventListener('change', (e) => { app.view.lut = app.maps[e.target.value]; app.view.dirty = true; paint(); e.target.blur(); });
for (const id of ['#db-low', '#db-high']) {
  $(id).addEventListener('input', () => {
    const lo = +$('#db-low').value, hi = +$('#db-high').value;
    if (Number.isFinite(lo) && Number.isFinite(hi) && hi > lo) { app.view.dbLow = lo; app.view.dbHigh = hi; app.view.dirty = true; paint(); }
  });
}

function typing(el) { return el && (el.tagName === 'INPUT' && el.type !== 'range' && el.type !== 'checkbox' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable); }

(embedded ? host : document).addEventListener('keydown', (e) => {
  if (!app.view || typing(root.activeElement)) return;
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  if (mod && key === 'z') { e.preventDefault(); if (e.shiftKey) redo(); else undo(); return; }
  if (mod && key === 'y') { e.preventDefault(); redo(); return; }
  if (mod) return;
  if (e.code === 'Space' || e.key === ' ') { e.preventDefault(); togglePlay(); return; }
  const tools = { s: 'select', e: 'erase', g: 'gain', b: 'brush', h: 'heal' };
  if (tools[key]) { selectTool(tools[key]); return; }
  if (key === '+' || key === '=') zoom(0.5);
  else if (key === '-') zoom(2);
  else if (key === '0') actions['zoom-fit']();
  else if (key === 'l') toggleLoop();
  else if (key === 'a') toggleAB();
  else if ((key === 'delete' || key === 'backspace') && app.selection) { e.preventDefault(); editRect('erase', app.selection); }
  else if (key === 'escape') { app.selection = null; paint(); }
  else if (key === 'home') { if (app.player) app.player.seek(0); paint(); }
});

selectTool('erase');
start().catch((e) => { say(`cannot load: ${e.message || e}`, true); });
