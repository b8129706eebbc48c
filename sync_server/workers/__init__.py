"""Server workers (后台任务): reactions to the changes feed of every village database.

    discovery   finds the village databases (`_db_updates`, else polling `_all_dbs`)
    lease       one process follows a database at a time (`lease:<db>` in ot-server)
    follower    reads one database's `_changes`, runs the transitions, saves `checkpoint:<db>`
    transition  the contract: name, filter(change), apply(change), in one ordered list
    conflicts   merges conflicting case leaves (docs/design.md §Conflicts) → merged doc, event, review
    deadlines   deadlines and supervision cards (电子监察) → `supervision:<db>:<case>` in ot-server
    supervision the pure record of one case and the township summary
    runner      `Workers` / `run_workers(couch, settings, stop)`: all of the above together
    api         `/api/reviews`, `/api/supervision` for township staff
    component   the `onetrip up` stack component; `python -m sync_server.workers` runs them alone

Errors raised by transitions are logged and do not stop the other transitions; an
unreachable CouchDB stops the batch so the checkpoint never passes an unprocessed change.
"""
