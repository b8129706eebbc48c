// PouchDB (node) replicating through the gateway with a bearer token: a client we did not write.
// Usage: node pouchdb_sync.js '{"remote": URL, "token": T, "dir": TMP, "docs": [...]}' → one JSON line.
const path = require('path');
const PouchDB = require('pouchdb');  // 9.0.0 from engine/node_modules (NODE_PATH)

async function main() {
  const config = JSON.parse(process.argv[2]);
  const fetchWithToken = (url, opts) => {
    opts.headers.set('Authorization', 'Bearer ' + config.token);
    return PouchDB.fetch(url, opts);
  };
  const remote = new PouchDB(config.remote, { fetch: fetchWithToken, skip_setup: true });
  const phone = new PouchDB(path.join(config.dir, 'phone'));
  await phone.bulkDocs(config.docs);
  const push = await phone.replicate.to(remote, { batch_size: 10 });
  const other = new PouchDB(path.join(config.dir, 'other'));
  const pull = await other.replicate.from(remote, { batch_size: 10 });
  const all = await other.allDocs({ include_docs: true, attachments: true });
  const attachments = {};
  for (const row of all.rows) {
    for (const [name, att] of Object.entries(row.doc._attachments || {})) {
      attachments[row.id + '/' + name] = att.data.length;
    }
  }
  console.log(JSON.stringify({
    pushed: push.docs_written, push_failures: push.doc_write_failures, push_errors: push.errors.length,
    pulled: pull.docs_written, ids: all.rows.map((r) => r.id), attachments,
  }));
}

main().catch((err) => { console.error(err && (err.stack || JSON.stringify(err))); process.exit(1); });
