"""The experiment report's statistics against independent values: statsmodels' and scipy's own
calls on fixed counts, closed forms worked by hand, and a seeded table of recipients counted
directly (not through the tallies) for every arm."""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare, norm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportion_effectsize,
    proportions_ztest,
)

from renderer.engagement.experiment_stats import (
    compare_rates,
    holm,
    minimum_detectable_effect,
    rate_interval,
    sample_ratio_check,
)
from renderer.engagement.experiments import (
    METRICS,
    ExperimentDesign,
    ExperimentReport,
    VariantTally,
    design_shares,
    experiment_report,
    parse_variant_key,
)
from renderer.engagement.sequential import sequential_p_value

HEADLINE = ExperimentDesign(variants={"plain": 1, "warm": 1}, default="plain", holdout=0.1)


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-12, abs=1e-15)


def tally(recipients: int, rendered: int, seconds: float = 0.0, **reached: int) -> VariantTally:
    return VariantTally(recipients, rendered, seconds, reached)


def test_a_comparison_equals_statsmodels_own_calls() -> None:
    x1, n1, x0, n0 = 130, 1000, 100, 1010
    c = compare_rates(x1, n1, x0, n0)
    z, p = proportions_ztest([x1, x0], [n1, n0])
    assert (c.z, c.p_value) == (approx(float(z)), approx(float(p)))
    low, high = confint_proportions_2indep(x1, n1, x0, n0, compare="diff", method="newcomb")
    assert c.absolute_lift is not None
    assert (c.absolute_lift.estimate, c.absolute_lift.low, c.absolute_lift.high) == (
        approx(x1 / n1 - x0 / n0),
        approx(float(low)),
        approx(float(high)),
    )
    low, high = confint_proportions_2indep(x1, n1, x0, n0, compare="ratio", method="log-adjusted")
    assert c.relative_lift is not None
    assert (c.relative_lift.low, c.relative_lift.high) == (approx(float(low) - 1), approx(float(high) - 1))
    assert c.relative_lift.estimate == approx((x1 / n1) / (x0 / n0) - 1)
    assert c.sequential_p_value == sequential_p_value(x1, n1, x0, n0)


def test_the_z_test_and_newcombe_interval_equal_their_closed_forms() -> None:
    x1, n1, x0, n0 = 130, 1000, 100, 1000
    c = compare_rates(x1, n1, x0, n0)
    pooled = (x1 + x0) / (n1 + n0)
    z = (x1 / n1 - x0 / n0) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    assert c.z == pytest.approx(z, rel=1e-12)
    assert c.p_value == pytest.approx(2 * norm.sf(abs(z)), rel=1e-9)
    # Newcombe (1998) method 10: the two Wilson intervals combined
    (l1, u1), (l0, u0) = (proportion_confint(x, n, method="wilson") for x, n in ((x1, n1), (x0, n0)))
    d = x1 / n1 - x0 / n0
    assert c.absolute_lift is not None
    assert c.absolute_lift.low == pytest.approx(d - math.hypot(x1 / n1 - l1, u0 - x0 / n0), rel=1e-9)
    assert c.absolute_lift.high == pytest.approx(d + math.hypot(u1 - x1 / n1, x0 / n0 - l0), rel=1e-9)


def test_the_minimum_detectable_effect_is_the_arcsine_closed_form() -> None:
    n1, n0, baseline = 800, 1200, 0.1
    mde = minimum_detectable_effect(baseline, n1, n0)
    h = (norm.ppf(0.975) + norm.ppf(0.8)) * math.sqrt(1 / n1 + 1 / n0)  # the normal-power closed form
    assert mde is not None
    assert float(proportion_effectsize(baseline + mde, baseline)) == pytest.approx(h, rel=1e-12)
    # statsmodels' power solver (which also counts the far tail) finds the same effect size
    solved = NormalIndPower().solve_power(effect_size=None, nobs1=n0, alpha=0.05, power=0.8, ratio=n1 / n0)
    assert math.sin(math.asin(math.sqrt(baseline)) + float(solved) / 2) ** 2 - baseline == pytest.approx(
        mde, rel=1e-5
    )
    assert minimum_detectable_effect(0.999, 10, 10) is None  # nothing below 100% is detectable
    assert minimum_detectable_effect(0.1, 0, 10) is None


def test_holm_equals_multipletests_and_keeps_missing_values() -> None:
    p = [0.01, 0.04, None, 0.03, 0.2, 0.001]
    expected = multipletests([v for v in p if v is not None], method="holm")[1]
    adjusted = holm(p)
    assert adjusted[2] is None
    assert [v for v in adjusted if v is not None] == [approx(float(v)) for v in expected]
    assert holm([None, None]) == [None, None]
    rng = np.random.default_rng(5)
    for size in (1, 2, 7, 30):
        values = list(rng.random(size) ** 3)
        values[0] = values[-1]  # a tie
        assert holm(values) == [approx(float(v)) for v in multipletests(values, method="holm")[1]]


def test_an_injected_sixty_forty_split_on_a_fifty_fifty_design_is_a_mismatch() -> None:
    design = ExperimentDesign(variants={"a": 1, "b": 1}, default="a")
    skewed = {"ab=a": tally(600, 600), "ab=b": tally(400, 400)}
    report = experiment_report(skewed, {"ab": design})
    check = report.experiments[0].sample_ratio
    assert check.srm and report.srm
    expected = chisquare([600, 400], [500, 500])
    assert check.p_value == approx(float(expected.pvalue)) and check.p_value < 0.001
    assert check.arms == ("a", "b", "holdout", "control")
    even = experiment_report({"ab=a": tally(507, 507), "ab=b": tally(493, 493)}, {"ab": design})
    assert not even.srm and even.experiments[0].sample_ratio.p_value > 0.5


def test_the_expected_shares_include_control_and_holdout() -> None:
    shares = design_shares(ExperimentDesign(variants={"a": 3, "b": 1}, default="a", holdout=0.2), 0.1)
    assert shares == {
        "a": approx(0.9 * 0.8 * 0.75),
        "b": approx(0.9 * 0.8 * 0.25),
        "holdout": approx(0.18),
        "control": 0.1,
    }
    assert sum(shares.values()) == approx(1.0)


def test_a_recipient_in_an_arm_without_share_is_a_mismatch() -> None:
    check = sample_ratio_check(["a", "b", "holdout"], [50, 50, 1], [0.5, 0.5, 0.0])
    assert check.srm and check.p_value == 0.0 and check.statistic is None
    assert not sample_ratio_check(["a", "b"], [0, 0], [0.5, 0.5]).srm


def test_variant_keys_parse_and_add_to_every_experiment_they_name() -> None:
    assert parse_variant_key("headline=warm;intro=holdout") == {"headline": "warm", "intro": "holdout"}
    assert parse_variant_key(None) == {} == parse_variant_key("")
    intro = ExperimentDesign(variants={"classic": 1, "story": 1}, default="classic")
    tallies = {
        "headline=warm;intro=story": tally(10, 9, 2.0, page_views=4),
        "headline=warm;intro=classic": tally(20, 20, 3.0, page_views=5),
        "headline=plain;intro=story": tally(30, 30, 4.0, page_views=6),
        None: tally(7, 7),
    }
    report = experiment_report(tallies, {"headline": HEADLINE, "intro": intro})
    arms = {e.experiment: {a.arm: a for a in e.arms} for e in report.experiments}
    assert (arms["headline"]["warm"].recipients, arms["headline"]["warm"].rendered) == (30, 29)
    assert arms["headline"]["warm"].render_seconds == 5.0
    assert arms["intro"]["story"].metrics[0].count == 10 and arms["intro"]["story"].recipients == 40
    assert report.experiments[0].unassigned == 7 and report.recipients == 67


def _seeded_recipients(seed: int = 13, count: int = 3000) -> list[tuple[str, bool, float, dict[str, bool]]]:
    """Recipients with a key (headline arm drawn at the design's shares, 5% control), rendered or
    not, render seconds and per metric reached or not, from a seeded generator."""
    rng = np.random.default_rng(seed)
    arms = rng.choice(["plain", "warm", "holdout", "control"], size=count, p=[0.4275, 0.4275, 0.095, 0.05])
    rates = {"plain": 0.10, "warm": 0.14, "holdout": 0.08, "control": 0.07}
    people = []
    for arm in arms:
        rendered = bool(rng.random() < 0.98)
        reached = {m: rendered and bool(rng.random() < rates[arm] * (1 + i)) for i, m in enumerate(METRICS)}
        people.append((f"headline={arm}", rendered, float(rng.integers(1, 5)) / 4, reached))
    return people


def _tallies(people: list[tuple[str, bool, float, dict[str, bool]]]) -> dict[str | None, VariantTally]:
    grouped: dict[str | None, VariantTally] = {}
    for key, rendered, seconds, reached in people:
        one = VariantTally(1, int(rendered), seconds, {m: int(v) for m, v in reached.items()})
        grouped[key] = grouped[key] + one if key in grouped else one
    return grouped


def test_report_numbers_equal_counts_made_by_hand_on_a_seeded_table() -> None:
    people = _seeded_recipients()
    report = experiment_report(_tallies(people), {"headline": HEADLINE}, 0.05, template="t", campaign="c")
    result = report.experiments[0]
    by_arm: dict[str, list[tuple[str, bool, float, dict[str, bool]]]] = {}
    for person in people:
        by_arm.setdefault(person[0].split("=")[1], []).append(person)
    for arm in result.arms:
        group = by_arm[arm.arm]
        rendered = sum(p[1] for p in group)
        assert (arm.recipients, arm.rendered) == (len(group), rendered)
        assert arm.render_seconds == approx(sum(p[2] for p in group))
        for rate in arm.metrics:
            count = sum(p[3][rate.metric] for p in group)
            assert rate.count == count and rate.rate is not None
            assert rate.rate.estimate == approx(count / rendered)
    count = Counter(p[0] for p in people)
    assert result.sample_ratio.observed == tuple(
        count[f"headline={a}"] for a in ("plain", "warm", "holdout", "control")
    )
    hand = {a: (sum(p[3]["cta_clicks"] for p in g), sum(p[1] for p in g)) for a, g in by_arm.items()}
    warm = next(c for c in result.comparisons if c.metric == "cta_clicks")
    assert warm.absolute_lift is not None
    assert warm.absolute_lift.estimate == approx(
        hand["warm"][0] / hand["warm"][1] - hand["plain"][0] / hand["plain"][1]
    )
    assert warm.p_value == compare_rates(*hand["warm"], *hand["plain"]).p_value
    p_values = [c.p_value for c in result.comparisons]
    assert [c.p_value_holm for c in result.comparisons] == [
        approx(float(v)) for v in multipletests(p_values, method="holm")[1]
    ]
    inside = (hand["warm"][0] + hand["plain"][0], hand["warm"][1] + hand["plain"][1])
    holdout = next(lift for lift in result.holdout_lift if lift.metric == "cta_clicks")
    assert holdout.model_dump(include={"z", "p_value", "absolute_lift"}) == compare_rates(
        *inside, *hand["holdout"]
    ).model_dump(include={"z", "p_value", "absolute_lift"})
    others = (inside[0] + hand["holdout"][0], inside[1] + hand["holdout"][1])
    control = next(lift for lift in report.control_lift if lift.metric == "cta_clicks")
    assert control.absolute_lift == compare_rates(*others, *hand["control"]).absolute_lift
    assert not report.srm


def test_small_tallies_give_the_numbers_worked_by_hand() -> None:
    tallies = {
        "headline=plain": tally(100, 100, 10.0, page_views=50, cta_clicks=20),
        "headline=warm": tally(100, 100, 12.5, page_views=60, cta_clicks=30),
        "headline=holdout": tally(20, 20, 2.0, page_views=8, cta_clicks=2),
    }
    result = experiment_report(tallies, {"headline": HEADLINE}).experiments[0]
    warm = next(c for c in result.comparisons if c.metric == "cta_clicks")
    assert warm.absolute_lift is not None and warm.relative_lift is not None
    assert warm.absolute_lift.estimate == approx(0.1)  # 30% - 20%
    assert warm.relative_lift.estimate == approx(0.5)  # 30% / 20% - 1
    assert warm.z == approx(0.1 / math.sqrt(0.25 * 0.75 * 0.02))  # pooled 25%
    lift = next(g for g in result.holdout_lift if g.metric == "cta_clicks")
    assert lift.rate is not None and lift.baseline_rate is not None
    assert (lift.rate.estimate, lift.baseline_rate.estimate) == (approx(0.25), approx(0.1))  # 50/200, 2/20
    assert [a.render_seconds for a in result.arms] == [10.0, 12.5, 2.0, 0.0]
    assert rate_interval(20, 100) == result.arms[0].metrics[3].rate
    assert result.arms[0].metrics[3].rate is not None
    assert (result.arms[0].metrics[3].rate.low, result.arms[0].metrics[3].rate.high) == tuple(
        approx(float(v)) for v in proportion_confint(20, 100, method="wilson")
    )
    plays = next(c for c in result.comparisons if c.metric == "video_plays")  # nobody played: no test
    assert (plays.z, plays.p_value, plays.p_value_holm, plays.relative_lift) == (None, None, None, None)
    assert plays.sequential_p_value == 1.0 and not plays.significant


def test_empty_and_degenerate_counts_report_without_warnings_or_nan() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = experiment_report({}, {"headline": HEADLINE}, 0.05)
        odd = experiment_report(
            {"headline=warm": tally(5, 5, page_views=5), "headline=plain": tally(0, 0)},
            {"headline": HEADLINE},
        )
    for report in (empty, odd):
        text = report.model_dump_json()
        assert "NaN" not in text and "Infinity" not in text
        assert ExperimentReport.model_validate_json(text) == report
    assert empty.experiments[0].arms[0].metrics[0].rate is None
    assert odd.experiments[0].comparisons[0].absolute_lift is None
    assert json.loads(empty.model_dump_json())["srm"] is False


@pytest.mark.parametrize(
    "fields",
    [
        {"variants": {"a": 1}, "default": "b"},
        {"variants": {"a": 1, "holdout": 1}, "default": "a"},
        {"variants": {"a": 0, "b": 1}, "default": "b"},
        {"variants": {}, "default": "a"},
        {"variants": {"a": 1}, "default": "a", "holdout": 1.0},
    ],
)
def test_a_design_that_cannot_be_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ExperimentDesign.model_validate(fields)


def test_the_report_is_frozen() -> None:
    report = experiment_report({}, {"headline": HEADLINE})
    with pytest.raises(ValueError):
        report.srm = True  # type: ignore[misc]


def test_counts_above_the_arm_size_stay_proportions() -> None:
    """Events of a recipient whose latest render failed can outnumber the rendered: no error."""
    from renderer.engagement.experiment_stats import compare_rates, rate_interval

    compared = compare_rates(120, 100, 90, 100)
    assert compared.absolute_lift is not None and compared.absolute_lift.estimate == pytest.approx(0.1)
    interval = rate_interval(7, 5)
    assert interval is not None and interval.estimate == 1.0
