"""The published engagement metrics on the seeded events (tests/fixture_engagement.py), every
number worked out by hand from the plan there: stored through a real job store (duplicates sent
twice, shuffled batches), read back, measured; zero denominators; the per-variant split."""

from __future__ import annotations

import random
from typing import Any

from fixture_engagement import (
    CAMPAIGN,
    DELIVERED,
    DELIVERED_BY_VARIANT,
    LAYOUT,
    TEMPLATE,
    seeded_events,
    shuffled_with_duplicates,
)

from renderer.engagement.metrics import EngagementMetrics, Layout, Ratio, measure_engagement
from renderer.jobs.store import JobStore


def r(numerator: int, denominator: int | None, value: float | None) -> Ratio:
    return Ratio(numerator=numerator, denominator=denominator, value=value)


def _stored(store: JobStore) -> Any:
    events = seeded_events()
    for batch in shuffled_with_duplicates(events):
        store.events.add(batch)
    assert store.events.count(TEMPLATE, CAMPAIGN) == 45  # 45 planned events, the 15 retries ignored
    return store.events.for_campaign(TEMPLATE, CAMPAIGN)


def _drop_off(m: EngagementMetrics) -> list[tuple[str, Ratio, Ratio]]:
    return [(scene.scene, scene.stopped_in, scene.still_watching) for scene in m.drop_off]


def test_overall_metrics_equal_the_hand_computed_values(job_store: JobStore) -> None:
    report = measure_engagement(
        _stored(job_store), LAYOUT, DELIVERED, DELIVERED_BY_VARIANT, template=TEMPLATE, campaign=CAMPAIGN
    )
    m = report.overall
    assert (report.template, report.campaign, m.variant, m.delivered) == (TEMPLATE, CAMPAIGN, None, 7)
    assert m.page_views == 8  # v1a v1b v2 v3a v3b v4 v5a v5b
    assert m.page_view_rate == r(5, 7, 5 / 7)  # R1-R5 viewed, R6 (no JavaScript) and R7 never did
    assert m.video_play_rate == r(4, 5, 0.8)  # R1 R3 R4 R5 played; R2 did not
    assert m.average_percentage_viewed == r(175, 400, 0.4375)  # (100 + 0 + 75 + 0) / (100 * 4)
    assert m.completion_rate == r(1, 4, 0.25)  # R1 reached 100
    # furthest events: R1 @28 outro, R3 @3 intro, R4 @22 tips (@99 "bonus" is no scene), R5 none
    assert _drop_off(m) == [
        ("intro", r(1, 4, 0.25), r(3, 4, 0.75)),
        ("amount", r(0, 4, 0.0), r(2, 4, 0.5)),
        ("tips", r(1, 4, 0.25), r(2, 4, 0.5)),
        ("outro", r(1, 4, 0.25), r(1, 4, 0.25)),
    ]
    assert m.players_unplaced == 1  # R5
    jumps = m.chapter_jumps
    assert (jumps.jumps, jumps.recipients) == (3, 2)  # R1 -> amount, R1 -> tips, R4 -> tips
    assert [(c.chapter, c.jumps, c.recipients) for c in jumps.chapters] == [("amount", 1, 1), ("tips", 2, 2)]
    pay, switch = m.ctas
    assert pay.cta == "pay-now" and switch.cta == "switch-plan"
    assert pay.view_rate == r(3, 8, 0.375)  # shown in v1a, v4, v5a
    assert pay.click_rate == r(1, 3, 1 / 3)  # clicked in v4; v2's click was never shown
    assert pay.clicks_not_shown == 1
    assert switch.view_rate == r(2, 8, 0.25)  # v1b, v4
    assert (switch.click_rate, switch.clicks_not_shown) == (r(1, 2, 0.5), 0)  # v1b
    [form] = m.forms
    assert form.form == "preferences"
    assert form.submit_rate == r(2, 3, 2 / 3)  # views v1b v3b v4 saw it; v1b v4 submitted
    assert form.recipient_submit_rate == r(3, 3, 1.0)  # R1 R4 R6 submitted; R1 R3 R4 saw it
    assert form.submits_without_view == 1  # R6
    assert m.chat_open_rate == r(2, 8, 0.25)  # v3a, v5b
    assert m.pdf_download_rate == r(2, 8, 0.25)  # v2, v5b
    f = m.funnel
    assert (f.delivered, f.viewed, f.played, f.completed, f.cta_clicked, f.form_submitted) == (
        7,
        5,
        4,
        1,
        3,
        3,
    )


def test_per_variant_metrics_equal_the_hand_computed_values(job_store: JobStore) -> None:
    report = measure_engagement(_stored(job_store), LAYOUT, DELIVERED, DELIVERED_BY_VARIANT)
    none, b = report.variants
    assert (none.variant, none.delivered, b.variant, b.delivered) == (None, 4, "B", 3)
    # no experiment: R1 R2 R3 R6
    assert (none.page_views, none.page_view_rate, none.video_play_rate) == (5, r(3, 4, 0.75), r(2, 3, 2 / 3))
    assert none.average_percentage_viewed == r(100, 200, 0.5)  # R1 100, R3 0
    assert none.completion_rate == r(1, 2, 0.5)
    assert _drop_off(none) == [
        ("intro", r(1, 2, 0.5), r(2, 2, 1.0)),
        ("amount", r(0, 2, 0.0), r(1, 2, 0.5)),
        ("tips", r(0, 2, 0.0), r(1, 2, 0.5)),
        ("outro", r(1, 2, 0.5), r(1, 2, 0.5)),
    ]
    assert none.players_unplaced == 0
    assert (none.chapter_jumps.jumps, none.chapter_jumps.recipients) == (2, 1)
    pay, switch = none.ctas
    assert (pay.view_rate, pay.click_rate, pay.clicks_not_shown) == (r(1, 5, 0.2), r(0, 1, 0.0), 1)
    assert (switch.view_rate, switch.click_rate) == (r(1, 5, 0.2), r(1, 1, 1.0))
    [form] = none.forms
    assert (form.submit_rate, form.recipient_submit_rate, form.submits_without_view) == (
        r(1, 2, 0.5),
        r(2, 2, 1.0),
        1,
    )
    assert (none.chat_open_rate, none.pdf_download_rate) == (r(1, 5, 0.2), r(1, 5, 0.2))
    # variant B: R4 R5
    assert (b.page_views, b.page_view_rate, b.video_play_rate) == (3, r(2, 3, 2 / 3), r(2, 2, 1.0))
    assert (b.average_percentage_viewed, b.completion_rate) == (r(75, 200, 0.375), r(0, 2, 0.0))
    assert [still for _, _, still in _drop_off(b)] == [r(1, 2, 0.5), r(1, 2, 0.5), r(1, 2, 0.5), r(0, 2, 0.0)]
    assert [stopped.numerator for _, stopped, _ in _drop_off(b)] == [0, 0, 1, 0]
    assert b.players_unplaced == 1
    assert [(c.chapter, c.jumps) for c in b.chapter_jumps.chapters] == [("amount", 0), ("tips", 1)]
    pay, switch = b.ctas
    assert (pay.view_rate, pay.click_rate) == (r(2, 3, 2 / 3), r(1, 2, 0.5))
    assert (switch.view_rate, switch.click_rate) == (r(1, 3, 1 / 3), r(0, 1, 0.0))
    assert b.forms[0].submit_rate == r(1, 1, 1.0) and b.forms[0].submits_without_view == 0
    assert (b.chat_open_rate, b.pdf_download_rate) == (r(1, 3, 1 / 3), r(1, 3, 1 / 3))
    f = b.funnel
    assert (f.delivered, f.viewed, f.played, f.completed, f.cta_clicked, f.form_submitted) == (
        3,
        2,
        2,
        0,
        1,
        1,
    )


def test_arrival_order_changes_nothing() -> None:
    events = seeded_events()
    expected = measure_engagement(events, LAYOUT, DELIVERED, DELIVERED_BY_VARIANT)
    for seed in range(5):
        shuffled = list(events)
        random.Random(seed).shuffle(shuffled)
        assert measure_engagement(iter(shuffled), LAYOUT, DELIVERED, DELIVERED_BY_VARIANT) == expected


def test_zero_denominators_give_null_values() -> None:
    report = measure_engagement([], LAYOUT, 0, {None: 0})
    m = report.overall
    for rate in (m.page_view_rate, m.video_play_rate, m.average_percentage_viewed, m.completion_rate):
        assert rate == r(0, 0, None)
    assert [scene.still_watching for scene in m.drop_off] == [r(0, 0, None)] * 4
    assert [(c.view_rate, c.click_rate) for c in m.ctas] == [(r(0, 0, None), r(0, 0, None))] * 2
    assert m.forms[0].submit_rate == r(0, 0, None) and m.chat_open_rate == r(0, 0, None)
    assert [v.variant for v in report.variants] == [None]
    # a variant without a delivered count: its page view rate is unknown, not a division
    only_r5 = measure_engagement(seeded_events()[-7:-1], LAYOUT, 3)  # R5's six events, variant B
    assert [v.variant for v in only_r5.variants] == ["B"]
    assert only_r5.variants[0].page_view_rate == r(1, None, None)
    assert only_r5.overall.page_view_rate == r(1, 3, 1 / 3)


def test_targets_only_events_name_follow_the_declared_ones() -> None:
    events = seeded_events()
    extra = [
        e.__class__(**{**e.__dict__, "event_id": f"x{n}", "target": target})
        for n, (e, target) in enumerate([(events[4], "zz-old"), (events[4], "=cmd"), (events[2], "bonus")])
    ]
    report = measure_engagement([*events, *extra], LAYOUT, DELIVERED)
    assert [c.cta for c in report.overall.ctas] == ["pay-now", "switch-plan", "=cmd", "zz-old"]
    assert [c.chapter for c in report.overall.chapter_jumps.chapters] == ["amount", "tips", "bonus"]
    assert report.overall.ctas[2].view_rate == r(1, 8, 0.125)
    # drop-off still follows the layout's scenes only
    assert [s.scene for s in measure_engagement(events, Layout(), DELIVERED).overall.drop_off] == []
