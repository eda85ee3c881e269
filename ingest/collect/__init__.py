"""Live collection: read an AWS environment with boto3 and write a snapshot folder.

`collect(settings)` writes exactly the layout that `ingest.snapshot.load_snapshot` reads
(docs/snapshot-format.md), plus a `manifest.json` that records the accounts, regions and
every gap of the collection.
"""
