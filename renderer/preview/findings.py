"""What the pre-flight check reports: one `Finding` per problem, the `RenderCost` it measured,
and the `PreflightReport` holding both (each JSON-serialisable for the studio).

A finding names the recipient by its label (a sample's name, ``synthetic #7``) and the place
(scene, layer, output, element); its message never holds a recipient's personal value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Check = Literal["text-fit", "narration", "glyphs", "contrast", "link", "render"]
CHECKS: tuple[Check, ...] = ("text-fit", "narration", "glyphs", "contrast", "link", "render")


@dataclass(frozen=True)
class Finding:
    """One problem found for one recipient: which check, how bad (``error`` | ``warning``),
    for whom (a label, never a personal value), where, and what (a message naming the file,
    scene and layer, never a personal value)."""

    check: str
    severity: str
    recipient: str
    where: str
    message: str
    file: str | None = None  # template-relative (template.yaml, microsite/page.html) when known
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The finding as a plain dict."""
        return asdict(self)


@dataclass(frozen=True)
class RenderCost:
    """What rendering costs: seconds per output for the first recipient (cold caches) and the
    median of the others (warm), and the campaign estimate:
    ``campaign_s = cold total + (campaign_size - 1) * per_recipient_s / workers``."""

    per_output_cold: dict[str, float]
    per_output_warm: dict[str, float]
    per_recipient_s: float
    campaign_size: int
    workers: int
    campaign_s: float

    def to_json(self) -> dict[str, Any]:
        """The cost as a plain dict (seconds rounded to 0.1 ms)."""
        return {
            "per_output_cold": {k: round(v, 4) for k, v in self.per_output_cold.items()},
            "per_output_warm": {k: round(v, 4) for k, v in self.per_output_warm.items()},
            "per_recipient_s": round(self.per_recipient_s, 4),
            "campaign_size": self.campaign_size,
            "workers": self.workers,
            "campaign_s": round(self.campaign_s, 1),
        }


@dataclass(frozen=True)
class PreflightReport:
    """Every finding (errors first, then by recipient in the order checked), the measured cost
    (None when nothing rendered), and how many recipients were checked."""

    findings: list[Finding]
    cost: RenderCost | None
    recipients: int

    @property
    def errors(self) -> list[Finding]:
        """The findings of severity ``error``."""
        return [f for f in self.findings if f.severity == "error"]

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-serialisable data: findings, cost, recipients, error count."""
        return {
            "findings": [f.to_json() for f in self.findings],
            "cost": self.cost.to_json() if self.cost else None,
            "recipients": self.recipients,
            "errors": len(self.errors),
        }


def estimate_cost(durations: list[dict[str, float]], campaign_size: int, workers: int) -> RenderCost | None:
    """The cost from each recipient's per-output seconds, in render order: the first is cold,
    the median of the others is warm (the cold ones when only one rendered); None for none."""
    if not durations:
        return None
    cold = durations[0]
    rest = durations[1:] or durations
    warm = {name: _median([d[name] for d in rest if name in d]) for name in cold}
    per_recipient = sum(warm.values())
    campaign = sum(cold.values()) + max(0, campaign_size - 1) * per_recipient / max(1, workers)
    return RenderCost(cold, warm, per_recipient, campaign_size, workers, campaign)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
