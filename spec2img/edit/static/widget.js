// The editor in a notebook cell: anywidget's entry point (spec2img/edit/widget.py).
// It runs the page's own modules (app.js, view.js, player.js, api.js) unchanged: each
// view loads fresh copies of them from blob URLs, with env.js swapped for one that names
// this view's element and a fetch that sends each request over the kernel's channel
// (the widget's model messages) and turns the answer back into a standard Response.
// No port, no token, no proxy: the kernel's own connection carries everything.

let views = 0;

function transport(model) {
  const pending = new Map();
  let next = 0;
  const prefix = `v${++views}-${Math.random().toString(36).slice(2)}-`;
  model.on('msg:custom', (msg, buffers) => {
    if (!msg || msg.kind !== 'response' || !pending.has(msg.id)) return;
    const resolve = pending.get(msg.id);
    pending.delete(msg.id);
    const b = buffers && buffers[0];
    const body = b ? b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) : null;
    resolve(new Response(body, { status: msg.status, headers: msg.headers }));
  });
  return (url, init = {}) => new Promise((resolve) => {
    const id = prefix + next++;
    pending.set(id, resolve);
    const body = typeof init.body === 'string' ? init.body : '';
    model.send({ kind: 'request', id, method: init.method || 'GET', url: String(url), body });
  });
}

// The page's CSS, its document selectors turned into the view's own.
function scopedCss(css) {
  return css.replace(/:root\b/g, ':host').replace(/\bhtml\b/g, ':host').replace(/\bbody\b/g, '.s2i-body');
}

// Blob URLs for the modules, each import of './name.js' pointing at its blob.
function link(sources) {
  const urls = {};
  const made = [];
  // `import ... from './x.js'` and `import './x.js'`, either quote
  const spec = /((?:from|import)\s*)(['"])\.\/([\w-]+\.js)\2/g;
  const deps = (src) => [...src.matchAll(spec)].map((m) => m[3]);
  let left = Object.keys(sources);
  while (left.length) {
    const ready = left.filter((name) => deps(sources[name]).every((d) => d in urls));
    if (!ready.length) throw new Error(`cannot order the modules: ${left.join(', ')}`);
    for (const name of ready) {
      const src = sources[name].replace(spec, (_, kw, q, d) => `${kw}'${urls[d]}'`);
      urls[name] = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
      made.push(urls[name]);
    }
    left = left.filter((name) => !(name in urls));
  }
  return { urls, made };
}

async function render({ model, el }) {
  const page = model.get('_page');
  el.dataset.lmSuppressShortcuts = 'true'; // JupyterLab: our keys (space, E, Z...) are ours
  const shadow = el.attachShadow({ mode: 'open' });
  const style = document.createElement('style');
  style.textContent = scopedCss(page.css) +
    // the height is the spectrogram's (with its axes): the tool bars, which wrap to the
    // cell's width, come on top of it and never squeeze it
    `:host { display: block; } .s2i-body { border: 1px solid var(--line); }` +
    ` .s2i-body .view { flex: none; height: ${model.get('height')}px; }`;
  const host = document.createElement('div');
  host.className = 's2i-body';
  host.dataset.state = 'loading';
  host.dataset.playing = 'false';
  host.innerHTML = page.html;
  shadow.append(style, host);
  const key = `spec2img-${views + 1}-${Date.now()}`;
  const registry = (globalThis.__spec2img_views ||= {});
  registry[key] = { root: shadow, host, request: transport(model) };
  const env = `const e = globalThis.__spec2img_views[${JSON.stringify(key)}];\n` +
    'export const root = e.root; export const host = e.host;\n' +
    'export const embedded = true; export const request = e.request;\n';
  const { urls, made } = link({ ...page.modules, 'env.js': env });
  await import(urls['app.js']);
  return () => {
    delete registry[key];
    made.forEach((u) => URL.revokeObjectURL(u));
  };
}

export default { render };
