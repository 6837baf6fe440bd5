"""A seeded campaign of engagement events whose every metric the tests compute by hand.

Seven pages delivered (D = 7; four outside any experiment, three in variant ``B``), six
recipients with events, eight page views::

    R1 (none)  v1a: page_view, video_play @0 intro, chapter_jump -> amount @2, progress 25 @5,
                    cta_shown pay-now @10 amount, progress 50 @12 amount, video_pause @14 amount
               v1b: page_view, video_play @14 amount, chapter_jump -> tips @18, cta_shown
                    switch-plan @19 tips, progress 75 @20 tips, cta_click switch-plan @21,
                    form_view + form_submit preferences, progress 100 @28 outro
    R2 (none)  v2:  page_view, cta_click pay-now (never shown), pdf_download
    R3 (none)  v3a: page_view, chat_open;  v3b: page_view, video_play @0 intro, video_pause @3
                    intro, form_view preferences
    R4 (B)     v4:  page_view, video_play @0 intro, progress 25 @5, cta_shown pay-now @10 amount,
                    cta_click pay-now @11, progress 50 @12, chapter_jump -> tips @13 amount,
                    cta_shown switch-plan @19 tips, progress 75 @20, form_view + form_submit
                    preferences, video_pause @22 tips, video_pause @99 in scene "bonus" (a scene
                    the template does not have: it places no one)
    R5 (B)     v5a: page_view, cta_shown pay-now (in-page, no position)
               v5b: page_view, video_play without position or scene, pdf_download, chat_open
    R6 (none)  form_submit preferences without a view id (a post without JavaScript)
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from renderer.engagement.metrics import Layout
from renderer.jobs.schema import EventRecord

TEMPLATE, CAMPAIGN = "bill-summary", "october"
LAYOUT = Layout(
    scenes=("intro", "amount", "tips", "outro"),
    ctas=("pay-now", "switch-plan"),
    forms=("preferences",),
    chapters=("amount", "tips"),
)
DELIVERED = 7
DELIVERED_BY_VARIANT: dict[str | None, int] = {None: 4, "B": 3}
START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)

# (recipient, view, kind, scene, position, target, value)
_PLAN: list[tuple[str, str | None, str, str | None, float | None, str | None, float | None]] = [
    ("R1", "v1a", "page_view", None, None, None, None),
    ("R1", "v1a", "video_play", "intro", 0, None, None),
    ("R1", "v1a", "chapter_jump", "intro", 2, "amount", None),
    ("R1", "v1a", "video_progress", "intro", 5, None, 25),
    ("R1", "v1a", "cta_shown", "amount", 10, "pay-now", None),
    ("R1", "v1a", "video_progress", "amount", 12, None, 50),
    ("R1", "v1a", "video_pause", "amount", 14, None, None),
    ("R1", "v1b", "page_view", None, None, None, None),
    ("R1", "v1b", "video_play", "amount", 14, None, None),
    ("R1", "v1b", "chapter_jump", "amount", 18, "tips", None),
    ("R1", "v1b", "cta_shown", "tips", 19, "switch-plan", None),
    ("R1", "v1b", "video_progress", "tips", 20, None, 75),
    ("R1", "v1b", "cta_click", "tips", 21, "switch-plan", None),
    ("R1", "v1b", "form_view", None, None, "preferences", None),
    ("R1", "v1b", "form_submit", None, None, "preferences", None),
    ("R1", "v1b", "video_progress", "outro", 28, None, 100),
    ("R2", "v2", "page_view", None, None, None, None),
    ("R2", "v2", "cta_click", None, None, "pay-now", None),
    ("R2", "v2", "pdf_download", None, None, None, None),
    ("R3", "v3a", "page_view", None, None, None, None),
    ("R3", "v3a", "chat_open", None, None, "help", None),
    ("R3", "v3b", "page_view", None, None, None, None),
    ("R3", "v3b", "video_play", "intro", 0, None, None),
    ("R3", "v3b", "video_pause", "intro", 3, None, None),
    ("R3", "v3b", "form_view", None, None, "preferences", None),
    ("R4", "v4", "page_view", None, None, None, None),
    ("R4", "v4", "video_play", "intro", 0, None, None),
    ("R4", "v4", "video_progress", "intro", 5, None, 25),
    ("R4", "v4", "cta_shown", "amount", 10, "pay-now", None),
    ("R4", "v4", "cta_click", "amount", 11, "pay-now", None),
    ("R4", "v4", "video_progress", "amount", 12, None, 50),
    ("R4", "v4", "chapter_jump", "amount", 13, "tips", None),
    ("R4", "v4", "cta_shown", "tips", 19, "switch-plan", None),
    ("R4", "v4", "video_progress", "tips", 20, None, 75),
    ("R4", "v4", "form_view", None, None, "preferences", None),
    ("R4", "v4", "form_submit", None, None, "preferences", None),
    ("R4", "v4", "video_pause", "tips", 22, None, None),
    ("R4", "v4", "video_pause", "bonus", 99, None, None),
    ("R5", "v5a", "page_view", None, None, None, None),
    ("R5", "v5a", "cta_shown", None, None, "pay-now", None),
    ("R5", "v5b", "page_view", None, None, None, None),
    ("R5", "v5b", "video_play", None, None, None, None),
    ("R5", "v5b", "pdf_download", None, None, None, None),
    ("R5", "v5b", "chat_open", None, None, "help", None),
    ("R6", None, "form_submit", None, None, "preferences", None),
]
VARIANT = {"R1": None, "R2": None, "R3": None, "R4": "B", "R5": "B", "R6": None}


# the plan on the sample bill-summary template: its tips scene and chapter is "tips-plus"
BILL_SCENES = {"tips": "tips-plus"}


def seeded_events(
    campaign: str = CAMPAIGN, template: str = TEMPLATE, scenes: dict[str, str] | None = None
) -> list[EventRecord]:
    """The seeded events in plan order (ids ``e00``...), each at its own client time; `scenes`
    renames scenes and chapter targets (`BILL_SCENES` for the sample template)."""
    rename = scenes or {}
    events = []
    for n, (who, view, kind, plan_scene, position, plan_target, value) in enumerate(_PLAN):
        scene = rename.get(plan_scene, plan_scene) if plan_scene else None
        target = (
            rename.get(plan_target, plan_target) if kind == "chapter_jump" and plan_target else plan_target
        )
        at = START + timedelta(seconds=n)
        value_f = None if value is None else float(value)
        position_f = None if position is None else float(position)
        record = (template, campaign, who, f"e{n:02d}", view, kind, scene, target, value_f, position_f)
        events.append(EventRecord(*record, VARIANT[who], at, at + timedelta(seconds=1)))
    return events


def shuffled_with_duplicates(events: list[EventRecord], seed: int = 11) -> list[list[EventRecord]]:
    """The events in a shuffled order, in batches of five, every third event sent again later
    (a retry), so arrival order is neither the plan's nor the clock's."""
    rng = random.Random(seed)
    sent = [*events, *events[::3]]
    rng.shuffle(sent)
    return [sent[i : i + 5] for i in range(0, len(sent), 5)]
