"""Assignment: deterministic, stable across processes, split by weight, seeds independent."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from scipy.stats import chisquare

from renderer.decisions.assign import assign_arm, draw, in_control_group, pick_weighted
from renderer.template.decisions import ExperimentSpec

ROOT = Path(__file__).resolve().parents[2]
HEADLINE = ExperimentSpec(seed="headline-2026", variants={"plain": 2, "warm": 1, "bold": 1}, default="plain")
SCENE = ExperimentSpec(seed="scene-2026", variants={"tour": 1, "checklist": 1}, default="tour", holdout=0.1)
IDS = [f"C-{n:06d}" for n in range(100_000)]

_CHILD = """
import json, sys
from renderer.decisions.assign import assign_arm
from renderer.template.decisions import ExperimentSpec
spec = ExperimentSpec.model_validate_json(sys.argv[1])
print(json.dumps([assign_arm(spec, f"C-{n:06d}", False).arm for n in range(2000)]))
"""


def test_the_hash_is_fixed_by_its_inputs_and_keeps_them_apart() -> None:
    # a known value: a change of the hash scheme must be a new ASSIGNMENT_VERSION, never silent
    assert draw("variant", "seed", "C-1") == draw("variant", "seed", "C-1")
    assert round(draw("variant", "seed", "C-1"), 12) == round(0.6526399375940148, 12)
    assert draw("variant", "ab", "c") != draw("variant", "a", "bc")
    assert draw("variant", "a:b", "c") != draw("variant", "a", "b:c")
    assert draw("holdout", "s", "u") != draw("variant", "s", "u")


def test_assignment_is_stable_across_two_processes_and_a_restart() -> None:
    here = [assign_arm(HEADLINE, f"C-{n:06d}", False).arm for n in range(2000)]
    runs = []
    for _ in range(2):  # two fresh interpreters: a restart, and another process
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, HEADLINE.model_dump_json()],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "random", "PATH": "/usr/bin:/bin"},
        )
        runs.append(json.loads(child.stdout))
    assert runs[0] == runs[1] == here


def test_over_100000_ids_the_split_matches_the_weights() -> None:
    counts = Counter(assign_arm(HEADLINE, unit, False).arm for unit in IDS)
    expected = [len(IDS) * w / 4 for w in HEADLINE.variants.values()]
    result = chisquare([counts[name] for name in HEADLINE.variants], expected)
    assert result.pvalue > 0.01, (counts, result.pvalue)


def test_the_holdout_takes_its_share_and_gets_the_default() -> None:
    arms = [assign_arm(SCENE, unit, False) for unit in IDS]
    counts = Counter(arm.arm for arm in arms)
    observed = [counts["holdout"], counts["tour"], counts["checklist"]]
    assert chisquare(observed, [10_000, 45_000, 45_000]).pvalue > 0.01
    assert {arm.variant for arm in arms if arm.arm == "holdout"} == {"tour"}


def test_changing_one_seed_leaves_other_experiments_unchanged() -> None:
    reseeded = HEADLINE.model_copy(update={"seed": "headline-2027"})
    before = [assign_arm(SCENE, unit, False).arm for unit in IDS[:20_000]]
    after = [assign_arm(SCENE, unit, False).arm for unit in IDS[:20_000]]
    moved = sum(
        assign_arm(HEADLINE, u, False).arm != assign_arm(reseeded, u, False).arm for u in IDS[:20_000]
    )
    assert before == after
    assert moved > 5_000  # the reseeded experiment itself reshuffles (about 5/8 move)


def test_the_global_control_group_is_per_campaign_and_gets_defaults() -> None:
    spring = [in_control_group(0.05, "spring", unit) for unit in IDS]
    autumn = [in_control_group(0.05, "autumn", unit) for unit in IDS]
    assert chisquare([sum(spring), len(IDS) - sum(spring)], [5_000, 95_000]).pvalue > 0.01
    assert spring != autumn
    assert assign_arm(HEADLINE, IDS[0], True).arm == "control"
    assert assign_arm(HEADLINE, IDS[0], True).variant == "plain"
    assert not any(in_control_group(0.0, "spring", unit) for unit in IDS[:1000])


def test_pick_weighted_follows_the_cumulative_shares() -> None:
    weights = {"a": 1.0, "b": 3.0}
    assert pick_weighted(weights, 0.0) == "a"
    assert pick_weighted(weights, 0.2499) == "a"
    assert pick_weighted(weights, 0.25) == "b"
    assert pick_weighted(weights, 0.999999) == "b"
