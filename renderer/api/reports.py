"""Campaign results and rejects as JSON Lines or CSV, streamed a page at a time from the store.

CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) get a leading apostrophe (`neutralise`); JSON Lines are left exact.
Rejects are the rows validation refused (row, field, reason) merged in row order with the rows
whose render failed or was quarantined (field ``(render)``), like the CLI's ``rejects.csv``.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from renderer.data.sources import neutralise
from renderer.jobs.schema import CampaignRecord, RowRecord
from renderer.jobs.store import JobStore
from renderer.outputs.render import output_entries

FORMATS = {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8"}
LINES_PER_CHUNK = 500
PageLink = Callable[[RowRecord], str]

__all__ = ["FORMATS", "neutralise", "rejects_lines", "results_lines"]


def _csv_chunks(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for count, row in enumerate(rows, 1):
        writer.writerow([neutralise(cell) if isinstance(cell, str) else cell for cell in row])
        if count % LINES_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _jsonl_chunks(items: Iterable[dict[str, Any]]) -> Iterator[str]:
    lines: list[str] = []
    for item in items:
        lines.append(json.dumps(item, ensure_ascii=False) + "\n")
        if len(lines) >= LINES_PER_CHUNK:
            yield "".join(lines)
            lines.clear()
    yield "".join(lines)


def _result(row: RowRecord, page_link: PageLink | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "row": row.row,
        "recipient_id": row.recipient_id,
        "status": row.status,
        "outputs": output_entries(row.outputs) if row.outputs is not None else None,
        "error": row.error,
    }
    if page_link is not None:
        item["page_url"] = page_link(row) if row.status == "done" else None
    return item


def _explained(store: JobStore, campaign: CampaignRecord, item: dict[str, Any]) -> dict[str, Any]:
    """`item` with its recipient's variant key and decision trace (None when none was recorded)."""
    decided = store.decisions.get(campaign.template, campaign.id, str(item["recipient_id"]))
    item["variant_key"] = decided.variant_key if decided else None
    item["decisions"] = decided.trace if decided else None
    return item


def results_lines(
    store: JobStore,
    campaign: CampaignRecord,
    fmt: str,
    page_link: PageLink | None = None,
    explain: bool = False,
) -> Iterator[str]:
    """Every row of the campaign with its status, output keys and error; with `page_link`, a fresh
    page link for each rendered row; with `explain`, its variant key and (JSON Lines) its decision
    trace, one lookup per row."""
    rows = store.rows.results(campaign.id)
    if fmt == "jsonl":
        items = (_result(row, page_link) for row in rows)
        return _jsonl_chunks(_explained(store, campaign, item) if explain else item for item in items)
    outputs = list(campaign.outputs)
    header = ["row", "recipient_id", "status", *outputs, "error"] + (["page_url"] if page_link else [])
    header += ["variant_key"] if explain else []

    def cells(row: RowRecord) -> list[Any]:
        keys = row.outputs or {}
        line = [row.row, row.recipient_id, row.status, *(keys.get(o, "") for o in outputs), row.error or ""]
        line += [page_link(row) if row.status == "done" else ""] if page_link else []
        if explain:
            line.append(store.decisions.variant_key(campaign.template, campaign.id, row.recipient_id) or "")
        return line

    return _csv_chunks(header, map(cells, rows))


def _rejects(store: JobStore, campaign_id: str, hide_ids: bool) -> Iterator[tuple[int, str, str, str]]:
    refused = ((r.row, r.field, r.reason, r.recipient_id or "") for r in store.rows.rejects(campaign_id))
    failed = (
        (r.row, "(render)", r.error or r.status, r.recipient_id)
        for r in store.rows.results(campaign_id)
        if r.status in ("failed", "quarantined")
    )
    merged = heapq.merge(refused, failed, key=lambda item: item[0])
    return ((row, field, reason, "" if hide_ids else rid) for row, field, reason, rid in merged)


def rejects_lines(store: JobStore, campaign_id: str, fmt: str, hide_ids: bool = True) -> Iterator[str]:
    """Every refused or failed row: row number, field, reason (never the row's values) and the
    recipient id, empty when `hide_ids` (the contract marks ids personal) or the id was invalid."""
    rejects = _rejects(store, campaign_id, hide_ids)
    header = ["row", "field", "reason", "recipient_id"]
    if fmt == "jsonl":
        return _jsonl_chunks(dict(zip(header, reject, strict=True)) for reject in rejects)
    return _csv_chunks(header, (list(reject) for reject in rejects))
