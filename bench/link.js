// PouchDB as the reference peer of bench/link.py, through the gateway like a phone: a bearer token.
// usage: node link.js pull|push  with {dir, url, token?} on stdin; prints {docs_written, seconds}.
// PouchDB's HTTP adapter takes a `fetch` option; it is wrapped to add the Authorization header.
'use strict';
const path = require('path');
const enginePath = process.env.ONETRIP_ENGINE_DIR || path.resolve(__dirname, '../engine');
const PouchDB = require(path.join(enginePath, 'node_modules', 'pouchdb'));

async function main() {
  const command = process.argv[2];
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const args = JSON.parse(Buffer.concat(chunks).toString() || '{}');
  const db = new PouchDB(args.dir);
  const options = {};
  if (args.token) {
    options.fetch = (url, opts) => {
      opts.headers.set('Authorization', 'Bearer ' + args.token);
      return PouchDB.fetch(url, opts);
    };
  }
  const remote = new PouchDB(args.url, options);
  const started = Date.now();
  const result = command === 'push' ? await db.replicate.to(remote, {batch_size: 100})
    : await db.replicate.from(remote, {batch_size: 100});
  const out = {docs_written: result.docs_written, seconds: (Date.now() - started) / 1000,
               failures: result.doc_write_failures};
  await db.close();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => { process.stderr.write(String(err && err.stack || err) + '\n'); process.exit(1); });
