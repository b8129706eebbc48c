// PouchDB (node) live-pulling through the gateway: its longpolls, with heartbeat, go through
// the gateway's own longpoll (ADR 0104). Prints "ready" once the first pass is done, then exits
// with one JSON line when the document `wait_for` has arrived.
// Usage: node pouchdb_live.js '{"remote": URL, "token": T, "dir": TMP, "wait_for": ID}'
const path = require('path');
const PouchDB = require('pouchdb');  // from engine/node_modules (NODE_PATH)

const config = JSON.parse(process.argv[2]);
const seen = [];
const fetchWithToken = (url, opts) => {
  opts.headers.set('Authorization', 'Bearer ' + config.token);
  seen.push(String(url).split('?')[1] || '');
  return PouchDB.fetch(url, opts);
};
const remote = new PouchDB(config.remote, { fetch: fetchWithToken, skip_setup: true });
const local = new PouchDB(path.join(config.dir, 'live'));
const live = local.replicate.from(remote, { live: true, retry: true, batch_size: 10 });
let ready = false;
live.on('paused', () => {
  if (!ready) { ready = true; console.log('ready'); }
});
live.on('change', async () => {
  try {
    await local.get(config.wait_for);
  } catch (err) {
    return;
  }
  live.cancel();
  const longpolls = seen.filter((q) => q.includes('feed=longpoll')).length;
  console.log(JSON.stringify({ arrived: config.wait_for, longpolls }));
  process.exit(0);
});
live.on('error', (err) => { console.error(JSON.stringify(err)); process.exit(1); });
