"""``GET /templates`` and ``GET /templates/{name}``: what can be rendered and the data it needs."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from renderer.api.deps import State, require_api_key
from renderer.api.errors import ApiError
from renderer.api.models import ErrorOut, TemplateDetail, TemplateSummary
from renderer.data.schema import contract_schema
from renderer.outputs.render import offered_outputs
from renderer.outputs.template import Template

log = logging.getLogger("tailor.api")
router = APIRouter(
    prefix="/templates",
    tags=["templates"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut}},
)


def _summary(template: Template) -> TemplateSummary:
    manifest = template.manifest
    return TemplateSummary(
        name=manifest.name,
        title=manifest.title,
        version=manifest.version,
        description=manifest.description.strip(),
        outputs=offered_outputs(template),
    )


@router.get("", response_model=list[TemplateSummary])
async def list_templates(state: State) -> list[TemplateSummary]:
    """Every template that loads; a broken one is left out of the list (and logged)."""
    summaries = []
    for name in state.template_names():
        try:
            template = await run_in_threadpool(state.template, name)
        except ApiError as exc:
            log.warning("template %r left out of the listing: %s", name, exc.code)
            continue
        summaries.append(_summary(template))
    return summaries


@router.get("/{name}", response_model=TemplateDetail, responses={404: {"model": ErrorOut}})
async def get_template(name: str, state: State, sample: str | None = None) -> TemplateDetail:
    """A template's outputs, its data contract as JSON Schema, and one of its sample recipients
    (fictional values): the one named by `sample`, else the one in the default locale."""
    template = await run_in_threadpool(state.template, name)
    contract = template.manifest.contract
    samples = sorted(template.samples)
    if sample is not None and sample not in template.samples:
        raise ApiError(404, "sample_not_found", f"template {name!r} has no sample {sample!r}", field="sample")
    default = contract.default_locale.replace("_", "-")
    chosen = sample or (default if default in template.samples else (samples[0] if samples else None))
    return TemplateDetail(
        **_summary(template).model_dump(),
        recipient_id_field=contract.recipient_id,
        contract=contract_schema(contract, f"{template.name} recipient"),
        samples=samples,
        sample=template.samples[chosen] if chosen else None,
    )
