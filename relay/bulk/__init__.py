"""Bulk runs (docs/bulk.md): a JSONL file in Cloud Storage, one Pub/Sub message a line.

Loaded on the first bulk body or bulk item only: a request that is neither never imports it.
`BulkRuns` submits and reports runs; the lines are checked up front (`parse_bulk_file`) and each
outcome becomes an output line (`output_line`, `openai_line`); `BulkStore` is Cloud Storage.
Each item message is run and written once (`run_bulk_item`), a dead-lettered one written as its
final error line (`finish_dead_lettered`).
"""

from ._items import (
    DEAD_LETTER_COUNT,
    BulkItemAttributes,
    bulk_attributes,
    dead_letter_deliveries,
    finish_dead_lettered,
    run_bulk_item,
    shared_store,
)
from ._lines import MAX_BAD_LINES_SHOWN, BulkItem, openai_line, output_line, parse_bulk_file
from ._runs import (
    BULK_MAX_BYTES,
    BULK_MAX_ITEMS,
    MANIFEST,
    BulkRuns,
    decode_bulk_body,
    item_metadata,
)
from ._store import COMPOSE_MAX_SOURCES, PARTS, BulkStore, GsPath, publish_items

__all__ = [
    "BULK_MAX_BYTES",
    "BULK_MAX_ITEMS",
    "COMPOSE_MAX_SOURCES",
    "DEAD_LETTER_COUNT",
    "MANIFEST",
    "MAX_BAD_LINES_SHOWN",
    "PARTS",
    "BulkItem",
    "BulkItemAttributes",
    "BulkRuns",
    "BulkStore",
    "GsPath",
    "bulk_attributes",
    "dead_letter_deliveries",
    "decode_bulk_body",
    "finish_dead_lettered",
    "item_metadata",
    "openai_line",
    "output_line",
    "parse_bulk_file",
    "publish_items",
    "run_bulk_item",
    "shared_store",
]
