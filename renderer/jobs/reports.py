"""A campaign's reports, streamed from the job store in row order: ``manifest.jsonl`` (the rendered
recipients and their output keys) and ``rejects.csv`` (rows refused by validation, duplicates,
failed renders). The CLI's `run_campaign` writes them beside the campaign's outputs.
"""

from __future__ import annotations

import json
from pathlib import Path

from renderer.data.sources import RejectsWriter
from renderer.jobs.store import JobStore
from renderer.outputs.render import output_entries
from renderer.outputs.template import Template


def write_reports(store: JobStore, campaign_id: str, report_dir: Path, template: Template) -> None:
    """``manifest.jsonl`` (one line per rendered recipient: row, id, output keys) and
    ``rejects.csv`` (row, field, reason; recipient ids only when the contract says they are not
    personal), streamed from the job store in row order."""
    report_dir.mkdir(parents=True, exist_ok=True)
    contract = template.manifest.contract
    hide_ids = contract.ids_are_personal
    with (report_dir / "manifest.jsonl").open("w", encoding="utf-8") as manifest:
        for row in store.rows.results(campaign_id):
            if row.status == "done":
                outputs = output_entries(row.outputs or {})
                line = {"row": row.row, "recipient_id": row.recipient_id, "outputs": outputs}
                manifest.write(json.dumps(line, ensure_ascii=False) + "\n")
    with (report_dir / "rejects.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = RejectsWriter(handle)
        write_rejects(store, campaign_id, writer, hide_ids)
        for row in store.rows.results(campaign_id):
            if row.status in ("failed", "quarantined"):
                writer.write(
                    row.row, "(render)", row.error or row.status, "" if hide_ids else row.recipient_id
                )


def write_rejects(store: JobStore, campaign_id: str, writer: RejectsWriter, hide_ids: bool) -> None:
    """Write the data file's rejects (validation and duplicate ids), in row order, with the row's
    recipient id when the contract says ids are not personal and the id itself was valid."""
    for reject in store.rows.rejects(campaign_id):
        writer.write(reject.row, reject.field, reject.reason, "" if hide_ids else reject.recipient_id or "")
