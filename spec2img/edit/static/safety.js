// Never lose an edit: ask before the tab closes with unsaved edits, and offer the
// unsaved edits a previous session left (restore or discard).  In a notebook cell
// (env.js's `embedded`) the kernel holds the session and no tab closes it: only the
// offer, and after the choice the view loads the session again (no page to reload).
import { ApiError, getJSON, postJSON } from './api.js';
import { embedded, host, root } from './env.js';

const banner = root.querySelector('#recovery');
let unsaved = false, leaving = false, offered = false, timer = null;

async function refresh() {
  try {
    const st = await getJSON('api/state');
    unsaved = !!st.unsaved;
    host.dataset.unsaved = String(unsaved);
    const rec = st.recovery;
    banner.hidden = !(rec && st.ready && !st.busy); // the choice is taken once it is ready
    if (rec) {
      offered = true;
      root.querySelector('#recovery-text').textContent =
        `A previous session of this recording left ${rec.edits} unsaved edit(s)` +
        (rec.started ? ` (started ${rec.started})` : '') + '.';
    } else if (embedded) {
      // resolved here or in another view of the same widget: show what the kernel has
      if (offered) host.dispatchEvent(new Event('spec2img-reload'));
      offered = false;
      if (timer !== null) { clearInterval(timer); timer = null; } // nothing more to offer
    }
  } catch (e) { /* the page itself reports a server that is gone */ }
}

function watch() {
  window.addEventListener('spec2img-change', () => { unsaved = true; refresh(); });
  if (!embedded) {
    window.addEventListener('beforeunload', (e) => {
      if (unsaved && !leaving) { e.preventDefault(); e.returnValue = ''; }
    });
  }
  banner.querySelectorAll('[data-recovery]').forEach((b) => b.addEventListener('click', async () => {
    banner.querySelectorAll('button').forEach((x) => { x.disabled = true; });
    try {
      await postJSON('api/recovery', { action: b.dataset.recovery });
      leaving = true;
      if (embedded) await refresh();
      else location.reload(); // the page starts again from the restored (or unedited) state
    } catch (e) {
      root.querySelector('#recovery-text').textContent = e instanceof ApiError ? e.message : String(e);
    } finally {
      banner.querySelectorAll('button').forEach((x) => { x.disabled = false; });
    }
  }));
  refresh();
  timer = setInterval(refresh, 3000);
}

if (banner) watch();
