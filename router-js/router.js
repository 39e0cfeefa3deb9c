// The HTTP router in JavaScript: the same contract as router/ (Rust), built
// with componentize-js and plugged onto the very same lookup.wasm by
// `wac plug`. `./x build-js` builds it; the end-to-end tests serve it.
import { lookup } from 'redirects:lookup/lookup@0.1.0';

function handle(request) {
  const url = new URL(request.url);
  const query = url.search.length > 1 ? url.search.slice(1) : undefined;
  const found = lookup({ host: url.hostname || undefined, path: url.pathname, query });
  if (found) {
    return new Response(null, { status: found.status, headers: { location: found.location } });
  }
  return new Response('no redirect for this path\n', {
    status: 404,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  });
}

addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
