// Drawing: the spectrogram of every channel (time across the full width of the canvas,
// frequency upwards), its axes, the playhead, the selection and the brush.

export const GAP = 6; // CSS px between channels

function niceStep(span, target) {
  const raw = span / Math.max(1, target);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

export function formatTime(t, step = 0.001) {
  const m = Math.floor(t / 60), s = t - 60 * m;
  const digits = step >= 1 ? 0 : step >= 0.1 ? 1 : step >= 0.01 ? 2 : 3;
  const text = s.toFixed(digits).padStart(digits ? 3 + digits : 2, '0');
  return `${m}:${text}`;
}

function formatHz(f) {
  return f >= 1000 ? `${+(f / 1000).toFixed(f % 1000 ? 1 : 0)}k` : `${Math.round(f)}`;
}

export class View {
  // Frame coordinates: cell f is centred on f (so it spans [f - 0.5, f + 0.5)), the
  // coordinate f is the centre time of frame f, and the view shows [start, start + span).
  constructor(info, canvas, freqAxis, timeAxis) {
    this.info = info;
    this.canvas = canvas;
    this.freqAxis = freqAxis;
    this.timeAxis = timeAxis;
    this.start = 0;                  // first frame shown (float)
    this.span = info.frames;         // frames shown
    this.scale = 'linear';
    this.lut = null;
    this.dbLow = info.db_min;
    this.dbHigh = info.db_max;
    this.overview = [];              // per channel, tile of the whole recording
    this.detail = [];                // per channel, tile of the visible part or null
    this.cache = document.createElement('canvas');
    this.dirty = true;
    const hz = info.row_hz;
    this.fLow = hz.length > 1 ? hz[0] : 0;
    this.fHigh = hz[hz.length - 1] + (hz.length > 1 ? (hz[hz.length - 1] - hz[hz.length - 2]) / 2 : 1);
    this.vLo = 0; this.vHi = 1;      // the visible part of the frequency axis (fractions of the whole)
  }

  // The whole axis in the display's scale: frequency <-> 0..1 over [fLow, fHigh].
  _warp(hz) {
    if (this.scale === 'log') { const lo = this.logLow(); return Math.log(Math.max(hz, lo) / lo) / Math.log(this.fHigh / lo); }
    if (this.scale === 'mel') { const m = (f) => 2595 * Math.log10(1 + f / 700); return (m(hz) - m(this.fLow)) / (m(this.fHigh) - m(this.fLow)); }
    return (hz - this.fLow) / (this.fHigh - this.fLow);
  }

  _unwarp(u) {
    if (this.scale === 'log') { const lo = this.logLow(); return lo * (this.fHigh / lo) ** u; }
    if (this.scale === 'mel') {
      const m = (f) => 2595 * Math.log10(1 + f / 700);
      const v = m(this.fLow) + u * (m(this.fHigh) - m(this.fLow));
      return 700 * (10 ** (v / 2595) - 1);
    }
    return this.fLow + u * (this.fHigh - this.fLow);
  }

  logLow() { return Math.max(this.fLow > 0 ? this.fLow : this.info.row_hz[1] || 1, 20); }

  // Zoom the frequency axis by factor around the panel fraction f (0 bottom, 1 top).
  zoomFreq(factor, f = 0.5) {
    const anchor = this.vLo + f * (this.vHi - this.vLo);
    let span = Math.min(1, Math.max(1 / 256, (this.vHi - this.vLo) * factor));
    let lo = anchor - f * span;
    lo = Math.max(0, Math.min(1 - span, lo));
    this.vLo = lo; this.vHi = lo + span;
    this.dirty = true;
  }

  // Centre frequency of a fractional row.
  rowHz(row) {
    const r = this.info.row_hz, n = r.length;
    if (row <= 0) return r[0];
    if (row >= n - 1) return r[n - 1];
    const i = Math.floor(row);
    return r[i] + (row - i) * (r[i + 1] - r[i]);
  }

  get secondsPerFrame() { return this.info.hop_length / this.info.sample_rate; }
  frameTime(f) { return f * this.secondsPerFrame + (this.info.center ? 0 : this.info.n_fft / 2 / this.info.sample_rate); }
  timeFrame(t) { return (t - this.frameTime(0)) / this.secondsPerFrame; }

  layout() {
    const dpr = window.devicePixelRatio || 1;
    const r = this.canvas.getBoundingClientRect();
    this.cssW = Math.max(1, r.width); this.cssH = Math.max(1, r.height);
    this.w = Math.round(this.cssW * dpr); this.h = Math.round(this.cssH * dpr);
    this.dpr = dpr;
    for (const c of [this.canvas, this.cache]) { c.width = this.w; c.height = this.h; }
    const fa = this.freqAxis.getBoundingClientRect(), ta = this.timeAxis.getBoundingClientRect();
    this.freqAxis.width = Math.round(fa.width * dpr); this.freqAxis.height = Math.round(fa.height * dpr);
    this.timeAxis.width = Math.round(ta.width * dpr); this.timeAxis.height = Math.round(ta.height * dpr);
    this.plotTop = r.top - fa.top; // freq axis canvas starts above the plot? keep offsets
    this.dirty = true;
  }

  // Channel panels in CSS px: [{top, height}]
  panels() {
    const c = this.info.channels;
    const h = (this.cssH - GAP * (c - 1)) / c;
    return Array.from({ length: c }, (_, i) => ({ top: i * (h + GAP), height: h }));
  }

  // Fraction of the panel height (0 bottom, 1 top) -> frequency, Hz (through the
  // visible part of the axis and the display's scale).
  fracHz(f) { return this._unwarp(this.vLo + f * (this.vHi - this.vLo)); }

  hzFrac(hz) { return (this._warp(hz) - this.vLo) / (this.vHi - this.vLo); }

  // Frequency -> fractional row (row_hz is increasing).
  hzRow(hz) {
    const r = this.info.row_hz;
    if (hz <= r[0]) return 0;
    let lo = 0, hi = r.length - 1;
    if (hz >= r[hi]) return hi;
    while (hi - lo > 1) { const m = (lo + hi) >> 1; if (r[m] <= hz) lo = m; else hi = m; }
    return lo + (hz - r[lo]) / (r[hi] - r[lo]);
  }

  // CSS point -> {ch, frame, row, t, hz} (clamped into the panel under it)
  at(x, y) {
    const ps = this.panels();
    let ch = ps.findIndex((p) => y < p.top + p.height + GAP / 2);
    if (ch < 0) ch = ps.length - 1;
    const p = ps[ch];
    const f = Math.max(0, Math.min(1, 1 - (y - p.top) / p.height));
    const frame = this.start + (x / this.cssW) * this.span;
    const hz = this.fracHz(f);
    return { ch, frame, row: this.hzRow(hz), hz, t: this.frameTime(frame) };
  }

  xOfFrame(frame) { return ((frame - this.start) / this.span) * this.cssW; }
  yOfHz(ch, hz) { const p = this.panels()[ch]; return p.top + (1 - this.hzFrac(hz)) * p.height; }

  clampView() {
    const F = this.info.frames;
    this.span = Math.max(Math.min(F, 8), Math.min(F, this.span));
    this.start = Math.max(0, Math.min(F - this.span, this.start));
  }

  zoom(factor, aroundX = this.cssW / 2) {
    const anchor = this.start + (aroundX / this.cssW) * this.span;
    this.span *= factor;
    this.clampView();
    this.start = anchor - (aroundX / this.cssW) * this.span;
    this.clampView();
    this.dirty = true;
  }

  // Which tile (detail or overview) to draw channel ch from.
  source(ch) {
    const d = this.detail[ch];
    const fpp = this.span / this.w;
    if (d && d.t0 <= this.start && d.t1 >= Math.min(this.info.frames, this.start + this.span) - 1e-6 && d.step <= Math.max(1, fpp) * 1.01) return d;
    return this.overview[ch];
  }

  // The tile request that would draw the current view sharply, or null if the overview will do.
  wantDetail(ch) {
    const fpp = this.span / this.w;
    const ostep = this.overview[ch] ? this.overview[ch].step : 1;
    if (fpp >= ostep) return null;
    const step = Math.max(1, Math.floor(fpp));
    const d = this.detail[ch];
    if (d && d.step === step && d.t0 <= this.start && d.t1 >= Math.min(this.info.frames, this.start + this.span) && !d.stale) return null;
    const F = this.info.frames, rows = Math.ceil(this.info.rows / this.info.row_step);
    let t0 = Math.floor(this.start - this.span / 2), t1 = Math.ceil(this.start + 1.5 * this.span);
    if (((t1 - t0) / step) * rows > this.info.max_tile_cells) { t0 = Math.floor(this.start); t1 = Math.ceil(this.start + this.span); }
    t0 = Math.max(0, t0); t1 = Math.min(F, t1);
    return { ch, t0, t1, step };
  }

  render() {
    if (!this.lut || !this.overview.length) return;
    const ctx = this.cache.getContext('2d');
    const img = ctx.createImageData(this.w, this.h);
    const out = img.data;
    const lut = this.lut;
    const { db_min: dbMin, db_step: dbStep } = this.info;
    const k = 255 / Math.max(1e-6, this.dbHigh - this.dbLow);
    const a = (dbMin - this.dbLow) * k, b = dbStep * k; // lut index = a + b * pixel
    const dpr = this.dpr;
    this.panels().forEach((p, ch) => {
      const src = this.source(ch);
      if (!src) return;
      const y0 = Math.round(p.top * dpr), y1 = Math.round((p.top + p.height) * dpr);
      // Each screen row shows the loudest of the rows it spans (a log or zoomed axis
      // packs several into one pixel: sampling one would drop thin lines).
      const rowLo = new Int32Array(y1 - y0), rowHi = new Int32Array(y1 - y0);
      const rs = this.info.row_step, last = src.rows - 1;
      const rowAt = (f) => Math.max(0, Math.min(last, Math.floor(Math.round(this.hzRow(this.fracHz(f))) / rs)));
      for (let y = y0; y < y1; y++) {
        const a = rowAt(1 - (y + 1 - y0) / (y1 - y0)), b = rowAt(1 - (y - y0) / (y1 - y0));
        const c = rowAt(1 - (y + 0.5 - y0) / (y1 - y0));
        rowLo[y - y0] = Math.min(c, a + (a < b ? 1 : 0)); rowHi[y - y0] = Math.max(c, b);
      }
      const colOf = new Int32Array(this.w);
      const fpp = this.span / this.w;
      for (let x = 0; x < this.w; x++) {
        const frame = this.start + (x + 0.5) * fpp;
        colOf[x] = Math.max(0, Math.min(src.cols - 1, Math.floor((Math.floor(frame + 0.5) - src.t0) / src.step)));
      }
      const data = src.data, cols = src.cols;
      for (let y = y0; y < y1; y++) {
        const lo = rowLo[y - y0], hi = rowHi[y - y0];
        let o = y * this.w * 4;
        for (let x = 0; x < this.w; x++, o += 4) {
          let v = data[lo * cols + colOf[x]];
          for (let r = lo + 1; r <= hi; r++) { const u = data[r * cols + colOf[x]]; if (u > v) v = u; }
          let i = v === 0 ? 0 : (a + b * v) | 0;
          i = i < 0 ? 0 : i > 255 ? 255 : i;
          out[o] = lut[3 * i]; out[o + 1] = lut[3 * i + 1]; out[o + 2] = lut[3 * i + 2]; out[o + 3] = 255;
        }
      }
    });
    ctx.putImageData(img, 0, 0);
    this.drawAxes();
    this.dirty = false;
  }

  // Cached spectrogram plus what moves: playhead, selection, brush.
  paint(overlay) {
    if (this.dirty) this.render();
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.w, this.h);
    ctx.drawImage(this.cache, 0, 0);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const { selection, playhead, brush, drag, lasso, ghost } = overlay;
    if (selection && selection.kind && selection.kind !== 'rect') this.drawShape(ctx, selection, false);
    if (ghost) this.drawShape(ctx, ghost, true);
    if (lasso && lasso.trail.length > 1) {
      ctx.strokeStyle = 'rgba(120,190,255,0.95)'; ctx.setLineDash([5, 4]); ctx.lineWidth = 1.5;
      ctx.beginPath(); lasso.trail.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y))); ctx.stroke();
      ctx.setLineDash([]);
    }
    for (const s of [selection, drag].filter((s) => s && (!s.kind || s.kind === 'rect'))) {
      const off = s.cells ? -0.5 : 0;
      const x0 = this.xOfFrame(s.t0 + off), x1 = this.xOfFrame(s.t1 + off);
      for (const ch of s.channels) {
        const y0 = this.yOfHz(ch, s.hz1), y1 = this.yOfHz(ch, s.hz0);
        ctx.fillStyle = s.fill || 'rgba(120,190,255,0.12)';
        ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
        ctx.strokeStyle = s.stroke || 'rgba(120,190,255,0.95)';
        ctx.setLineDash(s === drag ? [5, 4] : []);
        ctx.lineWidth = 1.5;
        ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      }
    }
    ctx.setLineDash([]);
    if (brush) {
      ctx.strokeStyle = brush.gain < 0 ? 'rgba(255,255,255,0.8)' : 'rgba(255,200,80,0.9)';
      ctx.lineWidth = 1;
      for (const pt of brush.trail) { ctx.beginPath(); ctx.arc(pt[0], pt[1], brush.r, 0, 2 * Math.PI); ctx.stroke(); }
      if (brush.cursor) { ctx.beginPath(); ctx.arc(brush.cursor[0], brush.cursor[1], brush.r, 0, 2 * Math.PI); ctx.stroke(); }
    }
    if (playhead !== null) {
      const x = this.xOfFrame(this.timeFrame(playhead));
      if (x >= 0 && x <= this.cssW) {
        ctx.strokeStyle = '#f0a030'; ctx.lineWidth = 1.5;
        ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, this.cssH); ctx.stroke();
      }
    }
  }

  // A lasso (polygon) or wand (mask) selection: filled lightly, outlined.
  drawShape(ctx, s, dashed) {
    ctx.save();
    ctx.lineWidth = 1.5;
    ctx.setLineDash(dashed ? [5, 4] : []);
    ctx.strokeStyle = 'rgba(120,190,255,0.95)'; ctx.fillStyle = 'rgba(120,190,255,0.18)';
    const dt = s.by || 0, ratio = s.ratio || 1;
    for (const ch of s.channels) {
      if (s.kind === 'rect') {
        const x0 = this.xOfFrame(s.t0 - 0.5 + dt), x1 = this.xOfFrame(s.t1 - 0.5 + dt);
        const y0 = this.yOfHz(ch, s.hz1 * ratio), y1 = this.yOfHz(ch, s.hz0 * ratio);
        ctx.fillRect(x0, y0, x1 - x0, y1 - y0); ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      } else if (s.kind === 'lasso') {
        ctx.beginPath();
        s.poly.forEach(([fr, row], i) => {
          const x = this.xOfFrame(fr + dt), y = this.yOfHz(ch, this.rowHz(row) * ratio);
          if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        });
        ctx.closePath(); ctx.fill(); ctx.stroke();
      } else if (s.kind === 'wand' && s.mask) {
        const m = s.mask, w = m.t1 - m.t0;
        ctx.fillStyle = 'rgba(120,190,255,0.45)';
        for (let r = m.r0; r < m.r1; r++) {
          const ya = this.yOfHz(ch, this.rowHz(r + 0.5) * ratio), yb = this.yOfHz(ch, this.rowHz(r - 0.5) * ratio);
          let run = -1;
          for (let c = 0; c <= w; c++) {
            const on = c < w && m.data[(r - m.r0) * w + c];
            if (on && run < 0) run = c;
            if (!on && run >= 0) {
              const xa = this.xOfFrame(m.t0 + run - 0.5 + dt), xb = this.xOfFrame(m.t0 + c - 0.5 + dt);
              ctx.fillRect(xa, ya, Math.max(1, xb - xa), Math.max(1, yb - ya));
              run = -1;
            }
          }
        }
        const x0 = this.xOfFrame(m.t0 - 0.5 + dt), x1 = this.xOfFrame(m.t1 - 0.5 + dt);
        const y0 = this.yOfHz(ch, this.rowHz(m.r1 - 0.5) * ratio), y1 = this.yOfHz(ch, this.rowHz(m.r0 - 0.5) * ratio);
        ctx.setLineDash([3, 3]); ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      }
    }
    ctx.restore();
  }

  drawAxes() {
    const dpr = this.dpr;
    // time axis
    let ctx = this.timeAxis.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const tw = this.timeAxis.width / dpr, th = this.timeAxis.height / dpr;
    ctx.clearRect(0, 0, tw, th);
    ctx.fillStyle = '#8a909b'; ctx.strokeStyle = '#5a606b'; ctx.font = '11px system-ui, sans-serif';
    const t0 = this.frameTime(this.start), t1 = this.frameTime(this.start + this.span);
    const step = niceStep(t1 - t0, tw / 90);
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const x = this.xOfFrame(this.timeFrame(t));
      ctx.beginPath(); ctx.moveTo(x + 0.5, 0); ctx.lineTo(x + 0.5, 5); ctx.stroke();
      ctx.textAlign = x < 20 ? 'left' : x > tw - 30 ? 'right' : 'center';
      const digits = step >= 1 ? 0 : step >= 0.1 ? 1 : step >= 0.01 ? 2 : 3;
      ctx.fillText(t1 < 60 ? `${t.toFixed(digits)} s` : formatTime(t, step), x, 17);
    }
    // frequency axis: one per channel panel
    ctx = this.freqAxis.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const fw = this.freqAxis.width / dpr;
    ctx.clearRect(0, 0, fw, this.freqAxis.height / dpr);
    ctx.fillStyle = '#8a909b'; ctx.strokeStyle = '#5a606b'; ctx.font = '11px system-ui, sans-serif';
    ctx.textAlign = 'right';
    const names = this.info.channels === 2 ? ['L', 'R'] : null;
    this.panels().forEach((p, ch) => {
      const ticks = [];
      const lo = this.fracHz(0), hi = this.fracHz(1);
      if (this.scale !== 'linear') {
        for (let d = 10; d <= hi; d *= 10) for (const m of [1, 2, 5]) ticks.push(d * m);
        if (ticks.filter((f) => f >= lo && f <= hi).length < 4) {
          const st = niceStep(hi - lo, p.height / 40);
          for (let f = Math.ceil(lo / st) * st; f <= hi; f += st) ticks.push(f);
        }
      } else {
        const st = niceStep(hi - lo, p.height / 40);
        for (let f = Math.ceil(lo / st) * st; f <= hi; f += st) ticks.push(f);
      }
      for (const f of ticks) {
        const fr = this.hzFrac(f);
        if (fr < 0 || fr > 1) continue;
        const y = p.top + (1 - fr) * p.height;
        if (y < p.top + 6 || y > p.top + p.height - 2) continue;
        ctx.beginPath(); ctx.moveTo(fw - 5, y + 0.5); ctx.lineTo(fw, y + 0.5); ctx.stroke();
        ctx.fillText(formatHz(f), fw - 7, y + 4);
      }
      ctx.save(); ctx.textAlign = 'left'; ctx.fillStyle = '#c0c4cc';
      ctx.fillText(names ? names[ch] : (this.info.channels > 1 ? `ch ${ch + 1}` : 'Hz'), 2, p.top + 11);
      ctx.restore();
    });
  }
}
