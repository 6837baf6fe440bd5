"""A campaign's test-and-learn report, read from the job store: the decisions recorded per variant
key (recipients assigned and rendered, render seconds), the distinct recipients reached per key
and metric, and the template's experiments, measured by the pure `experiment_report`. The API
(``GET /campaigns/{id}/report``, ``/report.html``) and ``tailor report`` both build it here.
"""

from __future__ import annotations

from renderer.engagement.experiments import (
    ExperimentDesign,
    ExperimentReport,
    VariantTally,
    experiment_report,
)
from renderer.jobs.store import JobStore
from renderer.outputs.template import Template


def experiment_designs(template: Template) -> dict[str, ExperimentDesign]:
    """The template's experiments as the report reads them, in declared order."""
    return {
        exp: ExperimentDesign(variants=dict(spec.variants), default=spec.default, holdout=spec.holdout)
        for exp, spec in template.manifest.decisions.experiments.items()
    }


def campaign_tallies(store: JobStore, template: str, campaign: str) -> dict[str | None, VariantTally]:
    """Per variant key of (template, campaign): its decisions' counts and the recipients reached,
    two GROUP BY queries (keys with events but no decision count no recipient)."""
    decided = store.decisions.tallies(template, campaign)
    reached = store.events.reach_by_variant(template, campaign)
    tallies = {}
    for key in {*decided, *reached}:
        counts = decided.get(key)
        tallies[key] = VariantTally(
            recipients=counts.recipients if counts else 0,
            rendered=counts.rendered if counts else 0,
            render_seconds=counts.render_seconds if counts else 0.0,
            reached=dict(reached.get(key, {})),
        )
    return tallies


def campaign_experiments(store: JobStore, template: Template, campaign: str) -> ExperimentReport:
    """The experiment report of one campaign of `template` (empty experiments when it has none)."""
    tallies = campaign_tallies(store, template.name, campaign)
    designs = experiment_designs(template)
    section = template.manifest.decisions
    return experiment_report(
        tallies, designs, section.control_group, template=template.name, campaign=campaign
    )
