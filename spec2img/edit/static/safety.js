// Never lose an edit: ask before the tab closes with unsaved edits, and offer the
// unsaved edits a previous session left (restore or discard).
import { ApiError, getJSON, postJSON } from './api.js';

const banner = document.querySelector('#recovery');
let unsaved = false, leaving = false;

async function refresh() {
  try {
    const st = await getJSON('api/state');
    unsaved = !!st.unsaved;
    document.body.dataset.unsaved = String(unsaved);
    const rec = st.recovery;
    banner.hidden = !rec;
    if (rec) {
      document.querySelector('#recovery-text').textContent =
        `A previous session of this recording left ${rec.edits} unsaved edit(s)` +
        (rec.started ? ` (started ${rec.started})` : '') + '.';
    }
  } catch (e) { /* the page itself reports a server that is gone */ }
}

window.addEventListener('spec2img-change', () => { unsaved = true; refresh(); });
window.addEventListener('beforeunload', (e) => {
  if (unsaved && !leaving) { e.preventDefault(); e.returnValue = ''; }
});

banner.querySelectorAll('[data-recovery]').forEach((b) => b.addEventListener('click', async () => {
  banner.querySelectorAll('button').forEach((x) => { x.disabled = true; });
  try {
    await postJSON('api/recovery', { action: b.dataset.recovery });
    leaving = true;
    location.reload(); // the page starts again from the restored (or unedited) state
  } catch (e) {
    document.querySelector('#recovery-text').textContent = e instanceof ApiError ? e.message : String(e);
    banner.querySelectorAll('button').forEach((x) => { x.disabled = false; });
  }
}));

refresh();
setInterval(refresh, 3000);
