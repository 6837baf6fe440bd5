"""Deterministic assignment: a recipient's arm in an experiment, and whether they are in the
campaign's global control group, from versioned hashes only (stable across runs, machines and
Python versions; no random state).

A draw is the first 8 bytes of SHA-256 over the JSON array ``["tailor-assign/1", purpose, seed,
unit]`` read as an unsigned integer over 2**64: JSON quoting keeps every input apart (``"ab","c"``
never equals ``"a","bc"``), and `purpose` makes the holdout, variant and control draws independent.
Changing one experiment's seed moves only that experiment's recipients.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from renderer.template.decisions import ExperimentSpec

ASSIGNMENT_VERSION = "tailor-assign/1"
HOLDOUT, CONTROL = "holdout", "control"


def draw(purpose: str, seed: str, unit: str) -> float:
    """A uniform number in [0, 1) fixed by (purpose, seed, unit) and the assignment version."""
    message = json.dumps([ASSIGNMENT_VERSION, purpose, seed, unit], ensure_ascii=True, separators=(",", ":"))
    head = hashlib.sha256(message.encode("ascii")).digest()[:8]
    return int.from_bytes(head, "big") / 2**64


@dataclass(frozen=True)
class Arm:
    """Where a recipient is in one experiment: `arm` is a variant name, ``holdout`` or ``control``;
    `variant` is what they are shown (the default for holdout and control)."""

    arm: str
    variant: str


def pick_weighted(weights: dict[str, float], u: float) -> str:
    """The key whose share of the cumulative `weights` (in their order) holds `u` in [0, 1)."""
    total = sum(weights.values())
    running = 0.0
    for name, weight in weights.items():
        running += weight / total
        if u < running:
            return name
    return next(reversed(weights))  # u within rounding of 1


def assign_arm(experiment: ExperimentSpec, unit: str, in_control_group: bool) -> Arm:
    """The recipient's arm: ``control`` in the global control group, ``holdout`` for the holdout
    share, else a variant by weight (holdout and variant draws are independent, so changing the
    holdout share moves recipients in or out of the holdout without reshuffling variants)."""
    if in_control_group:
        return Arm(CONTROL, experiment.default)
    if experiment.holdout and draw("holdout", experiment.seed, unit) < experiment.holdout:
        return Arm(HOLDOUT, experiment.default)
    variant = pick_weighted(experiment.variants, draw("variant", experiment.seed, unit))
    return Arm(variant, variant)


def in_control_group(share: float, campaign: str, unit: str) -> bool:
    """Whether `unit` is in `campaign`'s global control group of `share` (each campaign its own)."""
    return share > 0 and draw("control", campaign, unit) < share
