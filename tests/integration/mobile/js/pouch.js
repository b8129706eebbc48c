// PouchDB as the reference peer for interop tests and the benchmark.
// usage: node pouch.js <command>  with the JSON arguments on stdin
//   seed-push {dir, url, docs, conflicts}   write docs into a leveldb PouchDB, replicate it to url
//   pull-report {dir, url}                  replicate url into a fresh leveldb PouchDB, report its contents
//   push {dir, url} / pull {dir, url}       replicate only, report timings (benchmark)
// Prints one JSON object on stdout.
'use strict';
const path = require('path');
const enginePath = process.env.ONETRIP_ENGINE_DIR || path.resolve(__dirname, '../../../../engine');
const PouchDB = require(path.join(enginePath, 'node_modules', 'pouchdb'));
const crypto = require('crypto');

function md5(buf) { return 'md5-' + crypto.createHash('md5').update(buf).digest('base64'); }

async function report(db) {
  const changes = await db.changes({style: 'all_docs', include_docs: true, conflicts: true});
  const docs = {};
  for (const row of changes.results) {
    const doc = row.doc;
    const atts = {};
    for (const [name, att] of Object.entries(doc._attachments || {})) {
      const data = await db.getAttachment(doc._id, name, {rev: doc._rev});
      atts[name] = {digest: att.digest, md5: md5(data), length: data.length};
    }
    docs[row.id] = {rev: doc._rev, deleted: !!doc._deleted, conflicts: (doc._conflicts || []).sort(), atts,
                    body: Object.fromEntries(Object.entries(doc).filter(([k]) => !k.startsWith('_')))};
  }
  return docs;
}

async function main() {
  const command = process.argv[2];
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const args = JSON.parse(Buffer.concat(chunks).toString() || '{}');
  const db = new PouchDB(args.dir);
  const remote = new PouchDB(args.url);
  const started = Date.now();
  let out = {};
  if (command === 'seed-push') {
    for (const doc of args.docs || []) {
      for (const att of Object.values(doc._attachments || {})) att.data = Buffer.from(att.data, 'base64');
      const res = await db.put(doc);
      if (doc.then_delete) {
        await db.remove(doc._id, res.rev);
      }
    }
    if (args.conflicts && args.conflicts.length) await db.bulkDocs(args.conflicts, {new_edits: false});
    const result = await db.replicate.to(remote);
    out = {docs_written: result.docs_written, report: await report(db)};
  } else if (command === 'pull-report') {
    const result = await db.replicate.from(remote);
    out = {docs_written: result.docs_written, report: await report(db)};
  } else if (command === 'push' || command === 'pull') {
    const result = command === 'push' ? await db.replicate.to(remote, {batch_size: args.batch_size || 100})
      : await db.replicate.from(remote, {batch_size: args.batch_size || 100});
    out = {docs_written: result.docs_written, seconds: (Date.now() - started) / 1000};
  } else {
    throw new Error('unknown command ' + command);
  }
  await db.close();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => { process.stderr.write(String(err && err.stack || err) + '\n'); process.exit(1); });
