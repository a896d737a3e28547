// spec2img edit: the page.  Plain ES modules, canvas, Web Audio; nothing from the network.
import { ApiError, download, getAudio, getJSON, getTile, postBinary, postJSON } from './api.js';
import { embedded, host, root } from './env.js';
import { Player } from './player.js';
import './safety.js';
import { formatTime, View } from './view.js';

const $ = (sel) => root.querySelector(sel);
const body = host;
const status = $('#status');

const app = {
  info: null, view: null, player: null, tool: 'erase', selection: null, drag: null,
  brush: null, lasso: null, ghost: null, pending: 0, audioReady: false, earlyAudio: false, shownQueued: -1, version: 0, loopOn: false, tileTimer: null,
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
  const khz = info.sample_rate % 1000 ? (info.sample_rate / 1000).toFixed(2) : info.sample_rate / 1000;
  $('#resolution').textContent = `${info.scale === 'mel' ? `${info.rows} mel bands, ` : ''}n_fft ${info.n_fft}, hop ${info.hop_length} (${(1000 * info.hop_length / info.sample_rate).toFixed(1)} ms, ${(info.sample_rate / info.n_fft).toFixed(1)} Hz per bin), ${khz} kHz`;
  const sel = $('#colormap');
  for (const name of Object.keys(maps)) sel.add(new Option(name, name));
  app.maps = maps;
  const view = new View(info, $('#spectrogram'), $('#freq-axis'), $('#time-axis'));
  app.view = view;
  view.lut = maps.magma;
  view.dbHigh = Math.round(info.db_max - info.headroom_db); // the session's headroom above the top
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
  const n = app.info.n_samples, chunk = app.info.max_audio_samples;
  const fill = async (which, also) => {
    for (let s = 0; s < n; s += chunk) {
      const part = await getAudio(which, s, Math.min(n, s + chunk));
      app.player.write(which, s, part);
      if (also) app.player.write(also, s, part);
    }
  };
  const opening = () => `${app.info.name}: a coarse view while the full spectrogram is prepared — play, select and edit meanwhile (edits wait for it)`;
  let early = false;
  if (app.info.preview) {
    // A recording being opened: its samples are there at once (original and edited
    // are the same until an edit), so it plays while the rest is prepared.
    say(opening());
    try { await fill('original', 'edited'); early = app.earlyAudio = true; app.player.loaded.original = true; } catch (e) { /* ready first */ }
  }
  // The server may still be decoding an image without kept phase: wait for it.
  let st;
  for (;;) {
    st = await getJSON('api/state');
    if (st.error) { say(st.error, true); return; }
    if (st.ready) break;
    if (app.pending === 0 && app.shownQueued !== (st.queued || 0)) { // say it once, not over the last answer
      app.shownQueued = st.queued || 0;
      if (st.queued) say(`edits queued (${st.queued}): applied when the full spectrogram is ready (a coarse view meanwhile)`);
      else say(app.info.preview ? opening() : 'decoding the image…');
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  if (app.info.preview) await reloadPictures();
  updateHistory(st); app.version = st.version;
  if (!early || st.version > 0) await fill('edited'); // the queued edits are in it now
  app.player.loaded.edited = true;
  if (early && app.player.which === 'edited') app.player.refresh();
  app.audioReady = true;
  setState();
  say(st.dropped && st.dropped.length ? `not applied: ${st.dropped.join('; ')}` : `${app.info.name}: ready — space plays, drag to ${app.tool}, Ctrl+Z undoes`, !!(st.dropped && st.dropped.length));
  if (!app.player.loaded.original) { await fill('original'); app.player.loaded.original = true; }
}

// The coarse first view of a long recording is replaced by the full pictures (and
// the exact levels) once the server has them.
async function reloadPictures() {
  const v = app.view, old = app.info, info = await getJSON('api/info');
  const levelsUntouched = v.dbHigh === Math.round(old.db_max - old.headroom_db) && v.dbLow === v.dbHigh - 90;
  app.info = info; v.info = info;
  if (levelsUntouched) {
    v.dbHigh = Math.round(info.db_max - info.headroom_db); v.dbLow = v.dbHigh - 90;
    $('#db-low').value = v.dbLow; $('#db-high').value = v.dbHigh;
  }
  v.overview = await Promise.all(Array.from({ length: info.channels }, (_, c) => getTile(c, 0, info.frames, info.overview_step)));
  v.detail = [];
  v.dirty = true; paint();
  await fetchDetail();
}

// ---------------------------------------------------------------- drawing

let frameRequested = false;
function paint() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    const v = app.view;
    v.paint({ selection: app.selection, drag: app.drag, brush: app.brush, lasso: app.lasso, ghost: app.ghost,
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

// The canvas changes size with the window and with the tool bar's height (options shown
// per tool): lay out again whenever it does, so that pointer positions stay true.
new ResizeObserver(() => { if (app.view) { app.view.layout(); viewChanged(); } }).observe($('#spectrogram'));

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
  if (change.queued !== undefined) { // the recording is still being opened
    updateHistory(change);
    app.shownQueued = change.queued;
    say(`${change.label}: queued (${change.queued}) — applied when the full spectrogram is ready`);
    return;
  }
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

// The current selection as the server takes it: a rectangle, a lasso polygon or a
// wand seed (the server finds the wand's cells), and the feather.
function selectionRequest(sel = app.selection) {
  const req = { channels: sel.channels };
  const feather = +$('#feather').value;
  if (feather > 0) req.feather = Math.min(64, feather);
  if (sel.kind === 'lasso') req.lasso = sel.poly.slice(0, 5000);
  else if (sel.kind === 'wand') req.wand = { seed: sel.seed, channel: sel.ch, tolerance_db: sel.tol };
  else { req.frames = [sel.t0, sel.t1]; req.rows = [sel.r0, sel.r1]; }
  return req;
}

function needSelection(what) {
  if (app.selection) return true;
  say(`${what}: select something first (rectangle S, lasso O or wand W)`, true);
  return false;
}

async function onSelection(op) {
  if (!needSelection(op)) return;
  const req = { op, ...selectionRequest() };
  if (op === 'gain') req.gain_db = +$('#gain-db').value;
  await sendEdit(req); // a wand keeps the cells it outlined (after an erase its seed is silent)
}

async function copySelection() {
  if (!needSelection('copy')) return;
  const r = await busy(() => postJSON('api/copy', selectionRequest()));
  if (r) { app.clipboard = r; say(`copied ${r.frames[1] - r.frames[0]} frames x ${r.rows[1] - r.rows[0]} rows — Ctrl+V pastes at the playhead`); }
}

async function paste() {
  if (!app.clipboard) { say('paste: copy (Ctrl+C) or cut (Ctrl+X) a selection first', true); return; }
  const frame = Math.max(0, Math.min(app.info.frames - 1, Math.round(app.view.timeFrame(app.player ? app.player.position() : 0))));
  await sendEdit({ op: 'paste', frame });
}

async function cut() {
  if (!needSelection('cut')) return;
  const req = { op: 'cut', ...selectionRequest() };
  const r = app.selection;
  await sendEdit(req);
  app.clipboard = { frames: [r.t0, r.t1] };
}

async function solo() {
  if (!needSelection('solo')) return;
  if (!app.player || !app.audioReady) { say('the audio is not ready yet'); return; }
  const got = await busy(() => postBinary('api/solo', selectionRequest()));
  if (!got) return;
  app.player.playClip(got.start / app.info.sample_rate, got.channels);
  say('solo: only the selected cells');
}

async function outlineWand(sel) {
  const got = await busy(() => postBinary('api/select', selectionRequest(sel), Uint8Array));
  if (!got) { if (app.selection === sel) app.selection = null; paint(); return; }
  const [t0, t1] = got.headers.get('x-frames').split(',').map(Number);
  const [r0, r1] = got.headers.get('x-rows').split(',').map(Number);
  sel.mask = { t0, t1, r0, r1, data: got.data };
  Object.assign(sel, { t0, t1, r0, r1, hz0: app.view.rowHz(r0 - 0.5), hz1: app.view.rowHz(r1 - 0.5) });
  paint();
}

function importImage() {
  const sel = app.selection;
  if (!sel || sel.kind !== 'rect') { say('picture: select a rectangle (S) to place it in first', true); return; }
  $('#image-file').click();
}

$('#image-file').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  e.target.value = '';
  const sel = app.selection;
  if (!file || !sel) return;
  if (file.size > 700000) { say(`${file.name}: larger than 700 kB; use a smaller picture`, true); return; }
  const data = await new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).split(',')[1]);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
  await sendEdit({ op: 'image', data, frames: [sel.t0, sel.t1], rows: [sel.r0, sel.r1], channels: sel.channels, level_db: +$('#paint-db').value });
});

// Frames and frequency ratio a drag from a to b moves the selection by: the ratio of
// the frequencies under the pointer, snapped to whole semitones (Alt: free; Shift:
// time only), so a drag from a note to its octave moves it exactly an octave.
function moveOf(a, b, e) {
  const by = Math.round(b.frame - a.frame);
  let ratio = e.shiftKey ? 1 : Math.max(0.125, Math.min(8, b.hz / Math.max(1e-9, a.hz)));
  if (!e.altKey) ratio = 2 ** (Math.round(12 * Math.log2(ratio)) / 12);
  if (Math.abs(ratio - 1) < 1e-3) ratio = 1;
  return { by, ratio };
}

function inSelection(at) {
  const s = app.selection;
  if (!s || !s.channels.includes(at.ch) || s.t0 === undefined) return false;
  return at.frame >= s.t0 - 0.5 && at.frame <= s.t1 - 0.5 && at.hz >= s.hz0 && at.hz <= s.hz1;
}

function shiftSelection(s, by, ratio) {
  const v = app.view;
  if (s.kind === 'lasso') s.poly = s.poly.map(([f, r]) => [f + by, v.hzRow(v.rowHz(r) * ratio)]);
  if (s.kind === 'wand') { s.seed = [s.seed[0] + by, Math.round(v.hzRow(v.rowHz(s.seed[1]) * ratio))]; s.mask = null; }
  s.t0 += by; s.t1 += by; s.hz0 *= ratio; s.hz1 *= ratio;
  s.r0 = Math.max(0, Math.floor(v.hzRow(s.hz0))); s.r1 = Math.min(app.info.rows, Math.ceil(v.hzRow(s.hz1)) + 1);
}

function noteName(hz) {
  if (!(hz > 0)) return '';
  const names = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'];
  const midi = 69 + 12 * Math.log2(hz / 440), n = Math.round(midi);
  const cents = Math.round(100 * (midi - n));
  return `${names[((n % 12) + 12) % 12]}${Math.floor(n / 12) - 1}${cents ? (cents > 0 ? ' +' : ' ') + cents + '¢' : ''}`;
}

function showReadout(at) {
  const v = app.view, src = v.source(at.ch);
  let level = 'silence';
  if (src) {
    const col = Math.floor((Math.round(at.frame) - src.t0) / src.step);
    const row = Math.floor(Math.round(at.row) / app.info.row_step);
    if (col >= 0 && col < src.cols && row >= 0 && row < src.rows) {
      const px = src.data[row * src.cols + col];
      const top = app.info.db_max - app.info.headroom_db;
      if (px > 0) level = `${(app.info.db_min + px * app.info.db_step - top).toFixed(1)} dB`;
    }
  }
  const hz = at.hz >= 1000 ? `${at.hz.toFixed(0)} Hz` : `${at.hz.toFixed(1)} Hz`;
  $('#readout').textContent = `${Math.max(0, at.t).toFixed(3)} s · ${hz} ${noteName(at.hz)} · ${level}`;
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
  const selecting = ['select', 'lasso', 'wand'].includes(app.tool);
  if (selecting && inSelection(at)) { // drag the selection to move it
    app.ghost = { ...app.selection, by: 0, ratio: 1 };
    app.moving = { a: at, start: p, moved: false, keep: e.ctrlKey || e.metaKey }; // Ctrl: a copy
  } else if (app.tool === 'brush' || app.tool === 'paint') {
    const r = app.tool === 'paint' ? paintRadius() : brushRadius();
    app.brush = { ch: at.ch, points: [[at.frame, at.row]], trail: [[p.x, p.y]], r, gain: app.tool === 'paint' ? 1 : +$('#brush-db').value, panel, start: p, moved: false };
  } else if (app.tool === 'lasso') {
    app.lasso = { ch: at.ch, panel, points: [], trail: [[p.x, p.y]], start: p, moved: false };
    app.lasso.points.push(lassoPoint(p));
  } else {
    app.drag = { a: at, b: at, panel, start: p, moved: false, channels: channelsFor(at.ch), t0: at.frame, t1: at.frame, hz0: at.hz, hz1: at.hz };
  }
  paint();
});

canvas.addEventListener('pointermove', (e) => {
  if (!app.view) return;
  const p = local(e);
  const v = app.view;
  showReadout(v.at(Math.max(0, Math.min(v.cssW, p.x)), p.y));
  if (app.moving) {
    const m = app.moving, b = v.at(p.x, p.y);
    m.moved = m.moved || Math.hypot(p.x - m.start.x, p.y - m.start.y) > 3;
    Object.assign(app.ghost, moveOf(m.a, b, e));
    const semis = Math.round(12 * Math.log2(app.ghost.ratio) * 100) / 100;
    say(`${app.moving.keep ? 'duplicate' : 'move'}: ${(app.ghost.by * v.secondsPerFrame).toFixed(3)} s, ${semis >= 0 ? '+' : ''}${semis} semitones (Shift: time only, Alt: free pitch)`);
    paint(); return;
  }
  if (app.lasso) {
    app.lasso.points.push(lassoPoint(p)); app.lasso.trail.push([p.x, p.y]);
    app.lasso.moved = app.lasso.moved || Math.hypot(p.x - app.lasso.start.x, p.y - app.lasso.start.y) > 3;
    paint(); return;
  }
  if (app.brush && app.brush.points) {
    const at = v.at(p.x, Math.max(app.brush.panel.top, Math.min(app.brush.panel.top + app.brush.panel.height, p.y)));
    app.brush.points.push([at.frame, at.row]); app.brush.trail.push([p.x, p.y]);
    app.brush.moved = app.brush.moved || Math.hypot(p.x - app.brush.start.x, p.y - app.brush.start.y) > 3;
    paint(); return;
  }
  if ((app.tool === 'brush' || app.tool === 'paint') && !app.drag) {
    app.brush = { cursor: [p.x, p.y], r: app.tool === 'paint' ? paintRadius() : brushRadius(), gain: app.tool === 'paint' ? 1 : +$('#brush-db').value, trail: [] };
    paint(); return;
  }
  if (!app.drag) return;
  const d = app.drag;
  const y = Math.max(d.panel.top, Math.min(d.panel.top + d.panel.height, p.y));
  d.b = { ...v.at(Math.max(0, Math.min(v.cssW, p.x)), y), x: p.x, y };
  d.moved = d.moved || Math.hypot(p.x - d.start.x, p.y - d.start.y) > 3;
  const r = rectFromDrag(d);
  Object.assign(d, { t0: Math.min(d.a.frame, d.b.frame), t1: Math.max(d.a.frame, d.b.frame), hz0: r.hz0, hz1: r.hz1, channels: r.channels,
    stroke: app.tool === 'erase' ? 'rgba(255,110,90,0.95)' : app.tool === 'select' ? null : 'rgba(255,210,90,0.95)',
    fill: app.tool === 'erase' ? 'rgba(255,80,60,0.15)' : null });
  paint();
});

// Pixels of the brush on screen -> its radius in frames and rows at the stroke's start.
function strokeRadius(b) {
  const v = app.view;
  const framesPerPx = v.span / v.cssW;
  const f0 = Math.min(1, 1 - (b.start.y - b.panel.top) / b.panel.height);
  const rowsPerPx = Math.max(0.5, Math.abs(v.hzRow(v.fracHz(Math.min(1, f0 + b.r / b.panel.height))) - b.points[0][1]) / b.r);
  return [Math.max(0.5, b.r * framesPerPx), Math.max(0.5, b.r * rowsPerPx)];
}

function finish(e) {
  if (!app.view) return;
  const p = local(e);
  if (app.moving) {
    const m = app.moving, g = app.ghost; app.moving = null; app.ghost = null;
    if (!m.moved) { clickTime(p.x); paint(); return; }
    if (g.by === 0 && g.ratio === 1) { paint(); return; }
    const sel = app.selection;
    const req = { op: 'move', ...selectionRequest(sel), by: g.by, ratio: g.ratio, keep: m.keep };
    sendEdit(req).then(() => { if (app.selection === sel) { shiftSelection(sel, g.by, g.ratio); if (sel.kind === 'wand') outlineWand(sel); paint(); } });
    paint(); return;
  }
  if (app.lasso) {
    const l = app.lasso; app.lasso = null;
    if (!l.moved || l.points.length < 3) { clickTime(p.x); paint(); return; }
    const v = app.view, fr = l.points.map((q) => q[0]), rows = l.points.map((q) => q[1]);
    const r0 = Math.min(...rows), r1 = Math.max(...rows);
    app.selection = { kind: 'lasso', poly: l.points, channels: channelsFor(l.ch), t0: Math.ceil(Math.min(...fr)), t1: Math.floor(Math.max(...fr)) + 1,
      r0: Math.max(0, Math.ceil(r0)), r1: Math.min(app.info.rows, Math.floor(r1) + 1), hz0: v.rowHz(Math.max(0, r0)), hz1: v.rowHz(Math.min(app.info.rows - 1, r1)) };
    if (app.loopOn) app.player.setLoop(selectionSeconds());
    paint(); return;
  }
  if (app.brush && app.brush.points) {
    const b = app.brush; app.brush = null;
    if (!b.moved && b.points.length < 2) { clickTime(p.x); paint(); return; }
    const radius = strokeRadius(b);
    if (app.tool === 'paint') {
      sendEdit({ op: 'paint', channels: channelsFor(b.ch), points: b.points.slice(0, 20000), radius,
                 level_db: +$('#paint-db').value, softness: +$('#paint-soft').value,
                 harmonics: Math.max(0, Math.min(16, Math.round(+$('#paint-harmonics').value || 0))),
                 mode: $('#paint-mode').value, seed: Math.floor(Math.random() * 2 ** 31) });
    } else {
      sendEdit({ op: 'brush', channels: channelsFor(b.ch), points: b.points.slice(0, 20000), radius,
                 gain_db: +$('#brush-db').value, softness: +$('#brush-soft').value });
    }
    paint(); return;
  }
  const d = app.drag; app.drag = null;
  if (!d) return;
  if (!d.moved) {
    if (app.tool === 'wand') {
      const at = d.a;
      const sel = { kind: 'wand', seed: [Math.round(at.frame), Math.round(at.row)], ch: at.ch, tol: +$('#wand-tol').value, channels: channelsFor(at.ch) };
      app.selection = sel;
      outlineWand(sel).then(() => { if (app.loopOn && app.selection === sel) app.player.setLoop(selectionSeconds()); });
    } else clickTime(p.x);
    paint(); return;
  }
  const rect = rectFromDrag(d);
  if (app.tool === 'select' || app.tool === 'wand' || app.tool === 'lasso') {
    app.selection = { ...rect, kind: 'rect', cells: true };
    if (app.loopOn) app.player.setLoop(selectionSeconds());
  } else editRect(app.tool, rect);
  paint();
}
canvas.addEventListener('pointerup', finish);
canvas.addEventListener('pointercancel', () => { app.drag = null; app.brush = null; app.lasso = null; app.moving = null; app.ghost = null; paint(); });
canvas.addEventListener('pointerleave', () => { if (app.brush && !app.brush.points) { app.brush = null; paint(); } });

// A lasso vertex [frame, row]; at the panel's top or bottom edge (with the whole
// frequency range shown there) past the last or first row, so that the rows on the
// edge lie inside the outline.
function lassoPoint(p) {
  const v = app.view, l = app.lasso, at = v.at(p.x, p.y);
  if (p.y <= l.panel.top + 1 && v.vHi >= 1) return [at.frame, app.info.rows];
  if (p.y >= l.panel.top + l.panel.height - 1 && v.vLo <= 0) return [at.frame, -1];
  return [at.frame, at.row];
}

function paintRadius() { return +$('#paint-size').value / 2; }

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
  if (e.ctrlKey || e.altKey) { // zoom the frequency axis around the pointer
    const p = local(e), at = v.at(p.x, p.y), panel = v.panels()[at.ch];
    v.zoomFreq(Math.exp(e.deltaY * 0.0015), Math.max(0, Math.min(1, 1 - (p.y - panel.top) / panel.height)));
  } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
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
  root.querySelectorAll('.options .opt:not(.always)').forEach((o) => o.classList.toggle('show', o.dataset.for.split(' ').includes(name)));
  canvas.style.cursor = name === 'brush' || name === 'paint' ? 'none' : 'crosshair';
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
  if (!app.player || !(app.audioReady || app.earlyAudio)) { say('the audio is not ready yet'); return; }
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
  'zoom-fit': () => { const v = app.view; v.start = 0; v.span = app.info.frames; v.vLo = 0; v.vHi = 1; v.dirty = true; viewChanged(); },
  'freq-zoom-in': () => { app.view.zoomFreq(0.5); viewChanged(); },
  'freq-zoom-out': () => { app.view.zoomFreq(2); viewChanged(); },
  erase: () => onSelection('erase'), gain: () => onSelection('gain'), heal: () => onSelection('heal'),
  copy: copySelection, cut, paste, solo, 'import-image': importImage,
  'export-audio': () => busy(async () => say(`downloaded ${await download('api/export/audio?format=wav')}`)),
  'export-flac': () => busy(async () => say(`downloaded ${await download('api/export/audio?format=flac')}`)),
  'export-image': () => busy(async () => {
    const a = await download('api/export/image?part=spectrogram');
    const b = await download('api/export/image?part=phase');
    say(`downloaded ${a} and ${b} (keep them in one folder)`);
  }),
  'export-edits': () => busy(async () => say(`downloaded ${await download('api/edits')}`)),
  save: () => busy(async () => { const r = await postJSON('api/save'); say(r.warning || `saved ${r.saved}`, !!r.warning); }),
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
  if (mod && key === 'c') { e.preventDefault(); copySelection(); return; }
  if (mod && key === 'x') { e.preventDefault(); cut(); return; }
  if (mod && key === 'v') { e.preventDefault(); paste(); return; }
  if (mod) return;
  if (e.code === 'Space' || e.key === ' ') { e.preventDefault(); togglePlay(); return; }
  const tools = { s: 'select', o: 'lasso', w: 'wand', p: 'paint', e: 'erase', g: 'gain', b: 'brush', h: 'heal' };
  if (tools[key]) { selectTool(tools[key]); return; }
  if (key === '+' || key === '=') zoom(0.5);
  else if (key === '-') zoom(2);
  else if (key === '0') actions['zoom-fit']();
  else if (key === 'l') toggleLoop();
  else if (key === 'a') toggleAB();
  else if ((key === 'delete' || key === 'backspace') && app.selection) { e.preventDefault(); onSelection('erase'); }
  else if (key === 'escape') { app.selection = null; paint(); }
  else if (key === 'home') { if (app.player) app.player.seek(0); paint(); }
});

selectTool('erase');
start().catch((e) => { say(`cannot load: ${e.message || e}`, true); });
