"""The test-and-learn report: pure functions from per-variant-key counts to an `ExperimentReport`.

Input: one `VariantTally` per recorded variant key (``headline=warm;intro=holdout``, or None for a
template without experiments): recipients assigned (a decision was recorded), recipients rendered,
render seconds spent, and per metric (`METRICS`) the distinct recipients reached. A recipient has
exactly one key per campaign, so a key's counts add to every experiment it names, each sum exact.
The template's experiments arrive as `ExperimentDesign`s, with the campaign's global control share.

Per experiment the report holds each arm (the default variant, every other variant, ``holdout``,
``control``) with its counts and rates, and each non-default variant against the default on every
metric (`renderer.engagement.experiment_stats`: lifts with 95% intervals, z test, always-valid
sequential p-value, minimum detectable effect), Holm-Bonferroni adjusted across all of the
experiment's variants and metrics (the z tests' p-values and, separately, the sequential ones); a
sample-ratio-mismatch check of the assigned counts against the design's shares (control, then
holdout, then the variants' weights); and the holdout's lift (every recipient in the experiment's
variants against the holdout). The report adds the global control group's lift (every recipient
outside the control group against it).

Every rate's denominator is the arm's recipients rendered, also for the page-view-based metrics
(CTA clicks, form submits): a variant may change whether a page is opened at all, so a rate per
page view would compare self-selected groups; per recipient rendered compares the randomised
arms as assigned (intention to treat).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from renderer.engagement.experiment_stats import (
    ALPHA,
    Interval,
    RateComparison,
    SampleRatioCheck,
    compare_rates,
    holm,
    rate_interval,
    sample_ratio_check,
)

METRICS = ("page_views", "video_plays", "video_completions", "cta_clicks", "form_submits")
HOLDOUT, CONTROL = "holdout", "control"
Role = Literal["default", "variant", "holdout", "control"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class VariantTally:
    """The counts of one variant key: recipients assigned and rendered, render seconds, and per
    metric name the distinct recipients reached (a missing metric reads 0)."""

    recipients: int
    rendered: int
    render_seconds: float = 0.0
    reached: Mapping[str, int] = field(default_factory=dict)

    def __add__(self, other: VariantTally) -> VariantTally:
        reached = {
            m: self.reached.get(m, 0) + other.reached.get(m, 0) for m in {*self.reached, *other.reached}
        }
        return VariantTally(
            self.recipients + other.recipients,
            self.rendered + other.rendered,
            self.render_seconds + other.render_seconds,
            reached,
        )


EMPTY = VariantTally(0, 0)


class ExperimentDesign(_Frozen):
    """One experiment of the template: variant -> weight, the default variant, the holdout share."""

    variants: dict[str, float]
    default: str
    holdout: float = Field(default=0.0, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _check(self) -> ExperimentDesign:
        if not self.variants or any(weight <= 0 for weight in self.variants.values()):
            raise ValueError("an experiment needs variants, each with a positive weight")
        if self.default not in self.variants:
            raise ValueError(f"the default variant {self.default!r} is not one of the variants")
        if {HOLDOUT, CONTROL} & set(self.variants):
            raise ValueError("'holdout' and 'control' are reserved: no variant may be named so")
        return self


class MetricRate(_Frozen):
    """Recipients reached on one metric and the rate per recipient rendered (Wilson 95%)."""

    metric: str
    count: int
    rate: Interval | None  # None when nothing was rendered


class ArmResult(_Frozen):
    """One arm of an experiment: its counts, render seconds and every metric's rate."""

    arm: str
    role: Role
    recipients: int
    rendered: int
    render_seconds: float
    metrics: tuple[MetricRate, ...]


class VariantComparison(RateComparison):
    """A variant against the default variant on one metric, with the Holm-adjusted p-values."""

    variant: str
    baseline: str
    metric: str
    p_value_holm: float | None
    sequential_p_value_holm: float
    significant: bool  # p_value_holm < alpha
    sequential_significant: bool  # sequential_p_value_holm < alpha


class GroupLift(RateComparison):
    """A group (the experiment's variants, or everyone outside the control group) against a
    baseline group (the holdout, or the control group) on one metric."""

    group: str
    baseline: str
    metric: str
    rate: Interval | None
    baseline_rate: Interval | None


class ExperimentResult(_Frozen):
    """Everything the report says about one experiment."""

    experiment: str
    default: str
    variants: tuple[str, ...]
    holdout: float
    arms: tuple[ArmResult, ...]
    comparisons: tuple[VariantComparison, ...]
    holdout_lift: tuple[GroupLift, ...]
    sample_ratio: SampleRatioCheck
    unassigned: int  # recipients whose key does not name this experiment (or names an unknown arm)


class ExperimentReport(_Frozen):
    """The test-and-learn report of one campaign."""

    template: str | None = None
    campaign: str | None = None
    metrics: tuple[str, ...]
    alpha: float
    control_group: float
    recipients: int
    rendered: int
    experiments: tuple[ExperimentResult, ...]
    control_lift: tuple[GroupLift, ...]
    srm: bool  # any experiment's sample ratio mismatches


def parse_variant_key(key: str | None) -> dict[str, str]:
    """``"headline=warm;intro=holdout"`` -> ``{"headline": "warm", "intro": "holdout"}``; None or
    "" -> {}; a part without ``=`` is skipped."""
    pairs = (part.split("=", 1) for part in (key or "").split(";") if "=" in part)
    return {experiment: arm for experiment, arm in pairs}


def _sum(tallies: Iterable[VariantTally]) -> VariantTally:
    return sum(tallies, EMPTY)


def arm_tallies(
    tallies: Mapping[str | None, VariantTally], experiment: str, arms: Iterable[str]
) -> tuple[dict[str, VariantTally], VariantTally]:
    """The tallies of one experiment's arms (summed over every key naming each), and the sum of
    the keys that name no arm of it (another template's experiment, an unknown arm, None)."""
    found = {arm: EMPTY for arm in arms}
    unassigned = EMPTY
    for key, tally in tallies.items():
        arm = parse_variant_key(key).get(experiment)
        if arm in found:
            found[arm] = found[arm] + tally
        else:
            unassigned = unassigned + tally
    return found, unassigned


def _metric_rates(tally: VariantTally) -> tuple[MetricRate, ...]:
    return tuple(
        MetricRate(
            metric=m,
            count=tally.reached.get(m, 0),
            rate=rate_interval(tally.reached.get(m, 0), tally.rendered),
        )
        for m in METRICS
    )


def _arm(name: str, role: Role, tally: VariantTally) -> ArmResult:
    return ArmResult(
        arm=name,
        role=role,
        recipients=tally.recipients,
        rendered=tally.rendered,
        render_seconds=tally.render_seconds,
        metrics=_metric_rates(tally),
    )


def group_lifts(
    group: str, treated: VariantTally, baseline: str, base: VariantTally
) -> tuple[GroupLift, ...]:
    """`treated` against `base` on every metric (rates per recipient rendered)."""
    lifts = []
    for m in METRICS:
        x1, x0 = treated.reached.get(m, 0), base.reached.get(m, 0)
        comparison = compare_rates(x1, treated.rendered, x0, base.rendered)
        lifts.append(
            GroupLift(
                **comparison.model_dump(),
                group=group,
                baseline=baseline,
                metric=m,
                rate=rate_interval(x1, treated.rendered),
                baseline_rate=rate_interval(x0, base.rendered),
            )
        )
    return tuple(lifts)


def variant_comparisons(
    design: ExperimentDesign, arms: Mapping[str, VariantTally], alpha: float = ALPHA
) -> tuple[VariantComparison, ...]:
    """Every non-default variant against the default on every metric, variants in declared order,
    metrics in `METRICS` order, with Holm-adjusted p-values over all of them."""
    base = arms[design.default]
    raw = [
        (
            variant,
            m,
            compare_rates(
                arms[variant].reached.get(m, 0), arms[variant].rendered, base.reached.get(m, 0), base.rendered
            ),
        )
        for variant in design.variants
        if variant != design.default
        for m in METRICS
    ]
    p_holm = holm([c.p_value for _, _, c in raw])
    seq_holm = holm([c.sequential_p_value for _, _, c in raw])
    return tuple(
        VariantComparison(
            **c.model_dump(),
            variant=variant,
            baseline=design.default,
            metric=m,
            p_value_holm=p,
            sequential_p_value_holm=s if s is not None else 1.0,
            significant=p is not None and p < alpha,
            sequential_significant=s is not None and s < alpha,
        )
        for (variant, m, c), p, s in zip(raw, p_holm, seq_holm, strict=True)
    )


def design_shares(design: ExperimentDesign, control_group: float) -> dict[str, float]:
    """The expected share of every arm among all recipients: control `control_group`, holdout
    ``(1 - control) * holdout``, each variant ``(1 - control) * (1 - holdout) * weight / total``."""
    total = sum(design.variants.values())
    inside = (1.0 - control_group) * (1.0 - design.holdout)
    shares = {variant: inside * weight / total for variant, weight in design.variants.items()}
    return {**shares, HOLDOUT: (1.0 - control_group) * design.holdout, CONTROL: control_group}


def experiment_result(
    experiment: str,
    design: ExperimentDesign,
    tallies: Mapping[str | None, VariantTally],
    control_group: float,
    alpha: float = ALPHA,
) -> ExperimentResult:
    """The report of one experiment (see the module docstring)."""
    order = [design.default, *(v for v in design.variants if v != design.default)]
    arms, unassigned = arm_tallies(tallies, experiment, [*order, HOLDOUT, CONTROL])
    roles: list[tuple[str, Role]] = [(design.default, "default")]
    roles += [(v, "variant") for v in order[1:]] + [(HOLDOUT, "holdout"), (CONTROL, "control")]
    shares = design_shares(design, control_group)
    names = [name for name, _ in roles]
    treated = _sum(arms[v] for v in order)
    return ExperimentResult(
        experiment=experiment,
        default=design.default,
        variants=tuple(order),
        holdout=design.holdout,
        arms=tuple(_arm(name, role, arms[name]) for name, role in roles),
        comparisons=variant_comparisons(design, arms, alpha),
        holdout_lift=group_lifts("experiment", treated, HOLDOUT, arms[HOLDOUT]),
        sample_ratio=sample_ratio_check(
            names, [arms[n].recipients for n in names], [shares[n] for n in names]
        ),
        unassigned=unassigned.recipients,
    )


def _is_control(key: str | None) -> bool:
    arms = parse_variant_key(key).values()
    return bool(arms) and all(arm == CONTROL for arm in arms)


def experiment_report(
    tallies: Mapping[str | None, VariantTally],
    experiments: Mapping[str, ExperimentDesign],
    control_group: float = 0.0,
    *,
    template: str | None = None,
    campaign: str | None = None,
    alpha: float = ALPHA,
) -> ExperimentReport:
    """The test-and-learn report of one campaign from its tallies per variant key, the template's
    experiments (in declared order) and the campaign's global control share. Pure: no store, no
    clock; the same counts give the same report. The control group's lift compares the keys with
    an experiment that are not control against the control keys (None keys are in neither)."""
    results = tuple(experiment_result(e, d, tallies, control_group, alpha) for e, d in experiments.items())
    control = _sum(t for k, t in tallies.items() if _is_control(k))
    rest = _sum(t for k, t in tallies.items() if parse_variant_key(k) and not _is_control(k))
    every = _sum(tallies.values())
    return ExperimentReport(
        template=template,
        campaign=campaign,
        metrics=METRICS,
        alpha=alpha,
        control_group=control_group,
        recipients=every.recipients,
        rendered=every.rendered,
        experiments=results,
        control_lift=group_lifts("everyone else", rest, CONTROL, control),
        srm=any(r.sample_ratio.srm for r in results),
    )
