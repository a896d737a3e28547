// Where the editor lives and how it reaches its session.  The page served by
// `spec2img edit`: the whole document, and HTTP to the server that sent it.
// In a notebook cell (spec2img/edit/widget.py) this module is swapped for one that
// names the widget's own element and a fetch that travels over the kernel's channel,
// so the other modules run unchanged in both places.
export const root = document;          // where the page's elements are looked up
export const host = document.body;     // the element that carries data-state, data-playing
export const embedded = false;         // true in a notebook: leave the address bar and title alone
export const request = (url, init) => fetch(url, init);
