"""A campaign's engagement report, read from the job store: pages delivered, every stored event of
the campaign, the template's layout, measured by the pure `measure_engagement`.

Pages delivered (D) are the recipients whose microsite was rendered: a campaign's rows that are
done with a ``microsite`` output, or, for the one-off renders of the API (campaign ``api`` or
``api-<key id>``, `renderer.jobs.render_jobs.api_campaign`), the distinct recipients of done
render jobs with one. The API and the CLI both build their report here.
"""

from __future__ import annotations

import re

from renderer.engagement.metrics import EngagementReport, Layout, measure_engagement
from renderer.jobs.store import JobStore
from renderer.outputs.microsite import MICROSITE
from renderer.outputs.registry import OUTPUT_KINDS
from renderer.outputs.template import Template

# the campaign segment of the API's one-off renders: "api" (no key) or "api-<key id>"
API_RENDERS = re.compile(r"api(?:-(?P<key>.+))?")


def template_layout(template: Template) -> Layout:
    """The scene ids of the template's outputs in video order, its call-to-action and form ids
    and its chapter scenes, in the order ``template.yaml`` declares them."""
    manifest = template.manifest
    scenes = [
        scene
        for name in manifest.outputs.offered()
        for scene in OUTPUT_KINDS[name].anchors(getattr(manifest.outputs, name))
    ]
    section = manifest.interactions
    return Layout(
        scenes=tuple(scenes),
        ctas=tuple(cta.id for cta in section.ctas),
        forms=tuple(form.id for form in section.forms),
        chapters=tuple(chapter.scene for chapter in section.chapters),
    )


def delivered_pages(store: JobStore, template: str, campaign: str) -> int:
    """Recipients of (template, campaign) whose microsite was rendered: done campaign rows with a
    microsite output, else (an ``api``/``api-<key id>`` campaign the store does not know as a
    campaign) distinct recipients of done API render jobs with one; 0 for anything else."""
    record = store.campaigns.get(campaign)
    if record is not None:
        if record.template != template:
            return 0
        rows = store.rows.results(campaign)
        return sum(1 for row in rows if row.status == "done" and MICROSITE.name in (row.outputs or {}))
    found = API_RENDERS.fullmatch(campaign)
    if found is None:
        return 0
    jobs = store.render_jobs.done_results(template, found["key"])
    return len({recipient for recipient, result in jobs if MICROSITE.name in result})


def campaign_report(store: JobStore, template: str, campaign: str, layout: Layout) -> EngagementReport:
    """The engagement report of one campaign of one template, every event read once, a page at a
    time. No variant is assigned at render yet, so every delivered page is in the no-experiment
    group (variant None)."""
    delivered = delivered_pages(store, template, campaign)
    events = store.events.for_campaign(template, campaign)
    return measure_engagement(
        events, layout, delivered, {None: delivered}, template=template, campaign=campaign
    )
