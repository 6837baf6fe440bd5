"""The standard tests of the experiment report, as thin pure wrappers over scipy and statsmodels
that return plain floats (never numpy scalars, never NaN: an undefined value is None).

* `rate_interval`: one rate's 95% interval, Wilson score (`proportion_confint(method="wilson")`),
  well behaved at 0 and 1 and on small counts.
* `compare_rates`: arm 1 against arm 0 (a variant against the default, the experiment against the
  holdout): the absolute lift ``p1 - p0`` with Newcombe's hybrid score interval
  (`confint_proportions_2indep(compare="diff", method="newcomb")`, recommended by Fagerland,
  Lydersen & Laake 2015 for its coverage at small counts and rates near 0); the relative lift
  ``p1 / p0 - 1`` with the Katz log interval with a 0.5 adjustment for zero cells
  (`compare="ratio", method="log-adjusted"`), minus 1; the pooled two-proportion z test
  (`proportions_ztest`); the always-valid mSPRT p-value (`renderer.engagement.sequential`); and
  the minimum detectable effect at the current sample size (`minimum_detectable_effect`).
* `minimum_detectable_effect`: the smallest absolute rise over the baseline rate that a two-sided
  test at alpha 0.05 finds with 80% power at these arm sizes, on Cohen's arcsine effect size
  ``h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p0))`` (statsmodels' `proportion_effectsize`), in closed
  form: ``h = (z_{1 - alpha/2} + z_{power}) * sqrt(1/n1 + 1/n0)``, turned back into a rate:
  ``p1 = sin(asin(sqrt(p0)) + h / 2)^2``. `NormalIndPower().solve_power` finds the same MDE to
  within its root finder's tolerance (1e-5; it also counts the far tail, about 1e-9 of power), at
  10 ms a call: the report makes dozens.
* `sample_ratio_check`: scipy's `chisquare` of the observed arm counts against the design's
  shares; a mismatch (`srm`) when p < 0.001.
* `holm`: Holm's step-down adjustment over the p-values that exist: the k-th smallest of m times
  ``m - k + 1``, made non-decreasing, capped at 1; what statsmodels' `multipletests(method="holm")`
  returns (the tests check it value for value), written out because statsmodels runs a full
  `gc.collect()` on every Holm call (80 ms each in a test process, more in a large API process).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

from pydantic import BaseModel, ConfigDict

from renderer.engagement.sequential import sequential_p_value

ALPHA = 0.05
POWER = 0.8
SRM_ALPHA = 0.001
# scipy and statsmodels are imported where they are used: importing them takes seconds, which
# every CLI command and API start would pay otherwise
_Z_ALPHA, _Z_POWER = NormalDist().inv_cdf(1 - ALPHA / 2), NormalDist().inv_cdf(POWER)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Interval(_Frozen):
    """A point estimate and its 95% confidence interval."""

    estimate: float
    low: float
    high: float


class RateComparison(_Frozen):
    """Arm 1 against arm 0 on one metric (see the module docstring for each method)."""

    absolute_lift: Interval | None  # None when an arm has no recipients
    relative_lift: Interval | None  # None also when the baseline rate is 0
    z: float | None  # None when an arm is empty or nobody (or everybody) converted
    p_value: float | None
    sequential_p_value: float
    mde: float | None  # absolute; None when no rise below 100% is detectable (or an arm is empty)


class SampleRatioCheck(_Frozen):
    """Observed arm counts against the design's expected ones: chi-square statistic, p-value."""

    arms: tuple[str, ...]
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    statistic: float | None  # None when a recipient is in an arm of zero share (p = 0)
    p_value: float
    srm: bool  # p_value < SRM_ALPHA


def _float(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def rate_interval(count: int, nobs: int) -> Interval | None:
    """count / nobs with its Wilson score 95% interval; None when nobs is 0 (a count above nobs
    is read as nobs, see `compare_rates`)."""
    if nobs <= 0:
        return None
    count = min(count, nobs)
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(count, nobs, alpha=ALPHA, method="wilson")
    return Interval(estimate=count / nobs, low=float(low), high=float(high))


def _lifts(x1: int, n1: int, x0: int, n0: int) -> tuple[Interval, Interval | None]:
    from statsmodels.stats.proportion import confint_proportions_2indep

    low, high = confint_proportions_2indep(x1, n1, x0, n0, compare="diff", method="newcomb", alpha=ALPHA)
    absolute = Interval(estimate=x1 / n1 - x0 / n0, low=float(low), high=float(high))
    if x0 == 0:
        return absolute, None
    low, high = confint_proportions_2indep(
        x1, n1, x0, n0, compare="ratio", method="log-adjusted", alpha=ALPHA
    )
    relative = Interval(estimate=(x1 / n1) / (x0 / n0) - 1.0, low=float(low) - 1.0, high=float(high) - 1.0)
    return absolute, relative


def z_test(x1: int, n1: int, x0: int, n0: int) -> tuple[float | None, float | None]:
    """The pooled two-proportion z statistic and two-sided p-value (`proportions_ztest`); (None,
    None) when an arm is empty or the pooled rate is 0 or 1 (the test is undefined)."""
    if n1 <= 0 or n0 <= 0 or x1 + x0 in (0, n1 + n0):
        return None, None
    from statsmodels.stats.proportion import proportions_ztest

    z, p = proportions_ztest([x1, x0], [n1, n0])
    return _float(z), _float(p)


def minimum_detectable_effect(baseline: float, n1: int, n0: int) -> float | None:
    """The smallest absolute rise over `baseline` detectable with 80% power by a two-sided test
    at alpha 0.05 with arms of n1 (treatment) and n0 (baseline); None when an arm is empty or
    the detectable rate would pass 100%."""
    if n1 <= 0 or n0 <= 0:
        return None
    h = (_Z_ALPHA + _Z_POWER) * math.sqrt(1 / n1 + 1 / n0)
    angle = math.asin(math.sqrt(baseline)) + h / 2
    if angle > math.pi / 2:
        return None
    return math.sin(angle) ** 2 - baseline


def compare_rates(x1: int, n1: int, x0: int, n0: int) -> RateComparison:
    """Arm 1 (x1 of n1) against arm 0 (x0 of n0): lifts with intervals, z test, sequential
    p-value, MDE; every undefined value None (an empty arm gives lifts, test and MDE of None).
    A count above its arm's size (events of a recipient whose latest render failed) is read as
    the arm's size, so every rate stays a proportion."""
    x1, x0 = min(x1, max(n1, 0)), min(x0, max(n0, 0))
    if n1 <= 0 or n0 <= 0:
        return RateComparison(
            absolute_lift=None, relative_lift=None, z=None, p_value=None, sequential_p_value=1.0, mde=None
        )
    absolute, relative = _lifts(x1, n1, x0, n0)
    z, p = z_test(x1, n1, x0, n0)
    return RateComparison(
        absolute_lift=absolute,
        relative_lift=relative,
        z=z,
        p_value=p,
        sequential_p_value=sequential_p_value(x1, n1, x0, n0),
        mde=minimum_detectable_effect(x0 / n0, n1, n0),
    )


def sample_ratio_check(
    arms: Sequence[str], observed: Sequence[int], shares: Sequence[float]
) -> SampleRatioCheck:
    """Chi-square goodness of fit of `observed` counts against `shares` (summing to 1) of their
    total. An arm with a zero share is left out of the test, but any recipient in one is a
    mismatch (p = 0); fewer than two arms to compare, or no recipients, give p = 1."""
    total = sum(observed)
    expected = tuple(total * share for share in shares)
    stray = any(count > 0 and share <= 0 for count, share in zip(observed, shares, strict=True))
    tested = [(count, e) for count, e, share in zip(observed, expected, shares, strict=True) if share > 0]
    statistic: float | None = 0.0
    p_value = 1.0
    if stray:
        statistic, p_value = None, 0.0
    elif total > 0 and len(tested) >= 2:
        from scipy.stats import chisquare

        result = chisquare([c for c, _ in tested], [e for _, e in tested])
        statistic, p_value = float(result.statistic), float(result.pvalue)
    return SampleRatioCheck(
        arms=tuple(arms),
        observed=tuple(observed),
        expected=expected,
        statistic=statistic,
        p_value=p_value,
        srm=p_value < SRM_ALPHA,
    )


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (equal to `multipletests(method="holm")`) over the
    p-values that are not None, in the same order; None stays None."""
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(present):
        running = max(running, min(1.0, (len(present) - rank) * p))
        adjusted[index] = running
    return adjusted
