"""Make README's picture of the test-and-learn report: a real campaign of 3,000 synthetic
welcome-onboarding recipients (microsites, local process pool, SQLite job store), then simulated
engagement (each recipient's page views, plays, completions, clicks and submits drawn from fixed
rates, a little higher for the `tour` scene: a seeded, made-up effect so the page has something to
show), then the report page written and photographed in Debian's Chromium.

    .venv/bin/python scripts/screenshot-report.py [OUT.png]      (default docs/report.png)
"""

from __future__ import annotations

import csv
import random
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import sync_playwright
from sqlalchemy import insert, select

from renderer.data.synthetic import synthetic_rows
from renderer.engagement.campaign_experiments import campaign_experiments
from renderer.engagement.experiment_page import write_report_page
from renderer.jobs.local import CampaignSpec, run_campaign
from renderer.jobs.schema import EngagementEvent, RenderDecision
from renderer.jobs.store import open_store
from renderer.outputs.load import load_template
from renderer.settings import PROJECT_ROOT, load_settings

CHROMIUM = "/usr/bin/chromium"
TEMPLATE, CAMPAIGN, ROWS = "welcome-onboarding", "welcome-2026-12", 3000
# per recipient rendered: P(page view), then P(play | view), P(complete | play), P(click | view),
# P(submit | click); the tour scene's lift is made up for the picture
RATES = {"default": (0.55, 0.6, 0.45, 0.2, 0.35), "tour": (0.55, 0.66, 0.52, 0.24, 0.35)}


def _data(folder: Path, settings) -> Path:  # type: ignore[no-untyped-def]
    template = load_template(TEMPLATE, settings)
    locales = [str(sample["locale"]) for sample in template.samples.values()]
    rows = list(synthetic_rows(template.manifest.contract, locales, ROWS, seed=5))
    path = folder / "recipients.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _events(settings) -> int:  # type: ignore[no-untyped-def]
    """Simulated events of every decided recipient, with its recorded variant key."""
    store, now, rows = open_store(settings.database_url), datetime.now(UTC), []
    with store.engine.connect() as connection:
        decided = connection.execute(
            select(RenderDecision.recipient_id, RenderDecision.variant_key).where(
                RenderDecision.campaign == CAMPAIGN
            )
        ).all()
    for number, (recipient, key) in enumerate(decided):
        view, play, complete, click, submit = RATES[
            "tour" if "welcome_scene=tour" in (key or "") else "default"
        ]
        draw = random.Random(f"{recipient}").random
        kinds = []
        if draw() < view:
            kinds.append("page_view")
            if draw() < play:
                kinds.append("video_play")
                kinds += ["video_progress"] if draw() < complete else []
            if draw() < click:
                kinds.append("cta_click")
                kinds += ["form_submit"] if draw() < submit else []
        for step, kind in enumerate(kinds):
            rows.append({
                "template": TEMPLATE, "campaign": CAMPAIGN, "recipient_id": recipient,
                "event_id": f"ev{number:07d}{step}", "view": f"view{number:07d}", "kind": kind,
                "scene": None, "target": "offer" if kind == "cta_click" else None,
                "value": 100.0 if kind == "video_progress" else None, "position": None,
                "variant": key, "occurred_at": now, "received_at": now,
            })  # fmt: skip
    with store.engine.begin() as connection:
        connection.execute(insert(EngagementEvent), rows)
    store.close()
    return len(rows)


def main() -> None:
    """Run the campaign, simulate its engagement, write and photograph the report page."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_ROOT / "docs" / "report.png"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = load_settings(
            storage_url=str(folder / "out"), database_url=f"sqlite:///{folder / 'jobs.db'}"
        )
        spec = CampaignSpec(TEMPLATE, _data(folder, settings), ("microsite",), CAMPAIGN, folder / "reports")
        stats = run_campaign(spec, settings)
        print(f"campaign: {stats.rendered} rendered; {_events(settings)} simulated events")
        store = open_store(settings.database_url)
        report = campaign_experiments(store, load_template(TEMPLATE, settings), CAMPAIGN)
        store.close()
        page = write_report_page(report, folder / "page")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            view = browser.new_page(viewport={"width": 1280, "height": 1900}, device_scale_factor=1)
            view.goto(page.as_uri())
            view.screenshot(path=str(out))  # the top of the page: the design, the charts, the results
            browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
