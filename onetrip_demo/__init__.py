"""The demo township (演示乡镇) that `onetrip up` seeds into an empty data folder.

It plays every part of the real system — agents' phones (the app's own store, view-models
and replicator from `mobile`), township staff through the gateway, the county through the
outbox, simulator and signed callback (`sync_server.county`), citizens through the tracking
page — so it is the one package that imports both `mobile` and `sync_server` (docs/design.md §Layering
keeps those two apart). `onetrip up` runs it as a separate process, `python -m onetrip_demo`.

    plan.py      what to seed: citizens, cases and their stories, relative to today
    images.py    sample material images marked 样本 SAMPLE
    devices.py   an agent's or staff member's phone
    county.py    the county loop for the forwarded cases
    township.py  the whole seeding, in order
"""
