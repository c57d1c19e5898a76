"""Bulk runs (docs/bulk.md): a JSONL file in Cloud Storage, one Pub/Sub message a line.

Loaded on the first bulk body or bulk item only: a request that is neither never imports it.
`BulkRuns` submits and reports runs; the lines are checked up front (`parse_bulk_file`,
`check_lines`) and each outcome becomes an output line (`output_line`, `openai_line`);
`BulkStore` is Cloud Storage; `read_manifest` the run an item must be listed in.
Each item message is run and written once (`run_bulk_item`), a dead-lettered one written as its
final error line (`finish_dead_lettered`).
"""

from ._finish import CHECK_SECONDS, RunFinisher, completion_publisher
from ._gate import ItemGate, item_cache_id
from ._items import (
    DEAD_LETTER_COUNT,
    BulkItemAttributes,
    bulk_attributes,
    dead_letter_deliveries,
    finish_dead_lettered,
    run_bulk_item,
    shared_store,
)
from ._lease import LEASE_SECONDS, PublishLease
from ._lines import (
    MAX_BAD_LINES_SHOWN,
    BulkItem,
    check_lines,
    openai_line,
    output_line,
    parse_bulk_file,
    split_lines,
)
from ._manifest import MANIFEST, Manifest, read_manifest
from ._rest import GoogleRest
from ._runs import BulkRuns, decode_bulk_body, item_metadata
from ._store import COMPOSE_MAX_SOURCES, PARTS, BulkStore, GsPath, allowed_bucket
from ._submit import BULK_MAX_BYTES, BULK_MAX_ITEMS, READ_CHUNK

__all__ = [
    "BULK_MAX_BYTES",
    "BULK_MAX_ITEMS",
    "CHECK_SECONDS",
    "COMPOSE_MAX_SOURCES",
    "DEAD_LETTER_COUNT",
    "LEASE_SECONDS",
    "MANIFEST",
    "MAX_BAD_LINES_SHOWN",
    "PARTS",
    "READ_CHUNK",
    "BulkItem",
    "BulkItemAttributes",
    "BulkRuns",
    "BulkStore",
    "GoogleRest",
    "GsPath",
    "ItemGate",
    "Manifest",
    "PublishLease",
    "RunFinisher",
    "allowed_bucket",
    "bulk_attributes",
    "check_lines",
    "completion_publisher",
    "dead_letter_deliveries",
    "decode_bulk_body",
    "finish_dead_lettered",
    "item_cache_id",
    "item_metadata",
    "openai_line",
    "output_line",
    "parse_bulk_file",
    "read_manifest",
    "run_bulk_item",
    "shared_store",
    "split_lines",
]
