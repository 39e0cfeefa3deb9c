// Pre-deploy check outside Spin: loads the lookup component (transpiled to
// JavaScript by `jco transpile`) in Node and answers a list of URLs.
//
//   node host/check-urls.mjs LOOKUP_JS [FILE|-] [--fail-on-404]
//
// Each input line is a URL (`https://host/path?query`) or a path
// (`/path?query`); blank lines and `#` comments are skipped. Each output
// line is `status<TAB>location<TAB>input` (404 and `-` where no rule
// matches); a summary goes to stderr. `./x check-urls` runs this for you.
import fs from 'node:fs';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const failOn404 = args.includes('--fail-on-404');
const [modulePath, file = '-'] = args.filter((a) => a !== '--fail-on-404');
if (!modulePath) {
  console.error('usage: check-urls.mjs LOOKUP_JS [FILE|-] [--fail-on-404]');
  process.exit(2);
}
const { lookup } = await import(pathToFileURL(modulePath).href);

function request(line) {
  const m = /^https?:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/i.exec(line);
  if (m) {
    const host = m[1].replace(/:\d+$/, '').toLowerCase();
    return { host, path: m[2] || '/', query: m[3] };
  }
  const q = line.indexOf('?');
  return q < 0 ? { path: line } : { path: line.slice(0, q), query: line.slice(q + 1) };
}

const input = file === '-' ? process.stdin : fs.createReadStream(file);
let total = 0;
let missing = 0;
const out = [];
for await (const raw of readline.createInterface({ input, crlfDelay: Infinity })) {
  const line = raw.trim();
  if (!line || line.startsWith('#')) continue;
  total += 1;
  const found = lookup.lookup(request(line));
  if (found) {
    out.push(`${found.status}\t${found.location}\t${line}`);
  } else {
    missing += 1;
    out.push(`404\t-\t${line}`);
  }
}
process.stdout.write(out.length ? out.join('\n') + '\n' : '');
console.error(`${total} URLs: ${total - missing} redirect, ${missing} have no rule (404)`);
process.exit(failOn404 && missing > 0 ? 1 : 0);
