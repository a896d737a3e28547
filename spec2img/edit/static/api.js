// Talking to the spec2img edit server: JSON requests and raw arrays.
// The token travels as a cookie set on the first load; no request names a file.
// Every request carries the page's anti-forgery header (a cookie alone authorizes
// nothing but the page itself), and every URL is relative to the page, so the editor
// also works below a prefix (a proxy's /proxy/PORT/).  Requests go through env.js's
// `request` (HTTP on the page, the kernel's channel in a notebook), which answers with a
// standard Response.
import { request } from './env.js';

export class ApiError extends Error {}

const CSRF = document.querySelector('meta[name="spec2img-csrf"]')?.content || ''; // none in a notebook

// A leading slash is dropped: every path means the page's own, wherever it is served.
function url(path) { return path.replace(/^\/+/, ''); }

function send(path, init = {}) {
  const headers = { 'X-Spec2img-CSRF': CSRF, ...(init.headers || {}) };
  return request(url(path), { credentials: 'same-origin', ...init, headers });
}

async function check(r) {
  if (r.ok) return r;
  let msg = `${r.status} ${r.statusText}`;
  try {
    const body = await r.json();
    if (body && body.error) msg = body.error;
  } catch (e) { /* not JSON */ }
  throw new ApiError(msg);
}

export async function getJSON(path) {
  return (await check(await send(path))).json();
}

export async function postJSON(path, data = {}) {
  try {
    const r = await send(path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(data),
    });
    return (await check(r)).json();
  } finally {
    window.dispatchEvent(new Event('spec2img-change')); // safety.js: is anything unsaved?
  }
}

// POST JSON, get raw bytes back: {headers, data} (data a Uint8Array), or, for audio
// (Float32 with x-channels / x-samples / x-start headers), {start, channels: [Float32Array]}.
export async function postBinary(path, data = {}, kind = Float32Array) {
  const r = await check(await send(path, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(data),
  }));
  const buf = await r.arrayBuffer();
  if (kind === Uint8Array) return { headers: r.headers, data: new Uint8Array(buf) };
  const c = +r.headers.get('x-channels'), n = +r.headers.get('x-samples');
  const all = new Float32Array(buf), channels = [];
  for (let i = 0; i < c; i++) channels.push(all.subarray(i * n, (i + 1) * n));
  return { start: +r.headers.get('x-start'), channels };
}

// A max-pooled block of 16-bit pixels: {rows, cols, data: Uint16Array (rows x cols, row 0 lowest)}.
export async function getTile(ch, t0, t1, step) {
  const r = await check(await send(`api/tile?ch=${ch}&t0=${t0}&t1=${t1}&step=${step}`));
  const rows = +r.headers.get('x-rows'), cols = +r.headers.get('x-cols');
  return { rows, cols, t0, t1, step, version: +r.headers.get('x-version'),
           data: new Uint16Array(await r.arrayBuffer()) };
}

// Samples [start, end) of 'edited' or 'original' audio: Float32Array per channel.
export async function getAudio(which, start, end) {
  const r = await check(await send(`api/audio?which=${which}&start=${start}&end=${end}`));
  const c = +r.headers.get('x-channels'), n = +r.headers.get('x-samples');
  const all = new Float32Array(await r.arrayBuffer());
  const out = [];
  for (let i = 0; i < c; i++) out.push(all.subarray(i * n, (i + 1) * n));
  return out;
}

// Fetch a file and hand it to the browser as a download.
export async function download(path) {
  const r = await check(await send(path));
  const cd = r.headers.get('content-disposition') || '';
  const m = /filename="([^"]+)"/.exec(cd);
  const blob = await r.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url; a.download = m ? m[1] : 'download';
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return a.download;
}
