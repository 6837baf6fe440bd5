"""An always-valid sequential test of two proportions: the mixture sequential probability ratio
test (mSPRT) of Johari, Koomen, Pekelis and Walsh, "Peeking at A/B Tests: Why it matters, and
what to do about it", KDD 2017 (https://doi.org/10.1145/3097983.3097992).

A fixed-horizon z test is valid only when read once, at a sample size chosen in advance; read
every day and stopped at the first p < 0.05, its false-positive rate climbs far above 5%. The
mSPRT's p-value stays valid however often it is read: with the mixture likelihood ratio
``Lambda_n`` (a nonnegative martingale under the null hypothesis, so by Ville's inequality
``P(sup_n Lambda_n >= 1/alpha) <= alpha``), ``p_n = min(1, 1 / Lambda_n)`` falls below `alpha` at
any time with probability at most `alpha`. statsmodels has no such test, hence this module.

The statistic, for the difference ``Delta = p1 - p0`` of two rates with the normal approximation
of its estimate (variance ``v``) and a normal mixing distribution ``Delta ~ N(0, tau^2)`` over
the alternative (Johari et al., section 4, generalised to unequal arm sizes)::

    Lambda = sqrt(v / (v + tau^2)) * exp(tau^2 * Delta_hat^2 / (2 * v * (v + tau^2)))

with equal arms of ``n`` (``v = 2 sigma^2 / n``) this is the paper's
``sqrt(2 sigma^2 / (2 sigma^2 + n tau^2)) exp(n^2 tau^2 Delta^2 / (4 sigma^2 (2 sigma^2 + n tau^2)))``.
The variance is the null's, pooled: ``v = p (1 - p) (1/n1 + 1/n0)`` with ``p`` the rate of both
arms together (``sigma^2 = p (1 - p)``, the plug-in the paper uses for Bernoulli data). The mixing
standard deviation is set on the standardised effect: ``tau = MIXING_SD * sigma``, so the prior
puts most of its weight on effects up to a few tenths of a standard deviation, the size A/B tests
of messages see (Cohen's "small" effect is 0.2).

Everything is vectorised over numpy arrays (the A/A simulation of the tests runs 1,000
experiments at once); `sequential_p_value` is the one-shot form the report uses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

MIXING_SD = 0.1  # tau, in units of the outcome's standard deviation sigma


def mixture_likelihood_ratio(
    count1: ArrayLike,
    nobs1: ArrayLike,
    count0: ArrayLike,
    nobs0: ArrayLike,
    *,
    mixing_sd: float = MIXING_SD,
) -> NDArray[np.float64]:
    """The mSPRT statistic ``Lambda`` of arm 1 against arm 0 (elementwise over arrays).

    Guarantees: 1.0 (no evidence) where an arm is empty or the pooled rate is 0 or 1 (no
    variance); otherwise a finite positive number (``inf`` only on overflow of overwhelming
    evidence), symmetric in the two arms, and below 1 when the two observed rates are equal.
    """
    x1, n1, x0, n0 = (np.asarray(a, dtype=np.float64) for a in (count1, nobs1, count0, nobs0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pooled = (x1 + x0) / (n1 + n0)
        sigma2 = pooled * (1.0 - pooled)
        v = sigma2 * (1.0 / n1 + 1.0 / n0)
        tau2 = mixing_sd**2 * sigma2
        delta = x1 / n1 - x0 / n0
        log_ratio = 0.5 * np.log(v / (v + tau2)) + tau2 * delta**2 / (2.0 * v * (v + tau2))
        ratio: NDArray[np.float64] = np.exp(log_ratio)
    defined = (n1 > 0) & (n0 > 0) & (sigma2 > 0)
    return np.where(defined, ratio, 1.0)


def sequential_p_value(
    count1: int, nobs1: int, count0: int, nobs0: int, *, mixing_sd: float = MIXING_SD
) -> float:
    """The always-valid p-value ``min(1, 1 / Lambda)`` of one look at the counts, in [0, 1].

    The report keeps no history of earlier looks, so this is the current value, not the running
    minimum; rejecting the first time it falls below alpha keeps the false-positive rate at or
    under alpha however often the report is read (the event ``p_n <= alpha`` for some n is the
    event ``sup Lambda_n >= 1/alpha``). 1.0 when either arm is empty or nothing varies.
    """
    ratio = float(mixture_likelihood_ratio(count1, nobs1, count0, nobs0, mixing_sd=mixing_sd))
    return min(1.0, 1.0 / ratio)


def always_valid_p_values(
    count1: ArrayLike,
    nobs1: ArrayLike,
    count0: ArrayLike,
    nobs0: ArrayLike,
    *,
    mixing_sd: float = MIXING_SD,
) -> NDArray[np.float64]:
    """The always-valid p-value process over a sequence of looks: arrays of cumulative counts
    whose last axis is time; ``p_n = min(1, min_{k <= n} 1 / Lambda_k)``, non-increasing along it."""
    ratio = mixture_likelihood_ratio(count1, nobs1, count0, nobs0, mixing_sd=mixing_sd)
    running: NDArray[Any] = np.maximum.accumulate(ratio, axis=-1)
    return np.minimum(1.0, 1.0 / running)
