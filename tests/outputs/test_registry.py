"""The output registry is the one list of output kinds: the manifest's sections, the links a page
shows, the API's choices and which outputs answer a request now are all read from it."""

from __future__ import annotations

from renderer.api.models import OutputName
from renderer.outputs.kind import RenderOptions
from renderer.outputs.load import load_template
from renderer.outputs.registry import OUTPUT_KINDS, Outputs
from renderer.outputs.render import offered_outputs
from renderer.settings import Settings


def test_the_manifest_has_one_optional_section_per_kind() -> None:
    assert list(Outputs.model_fields) == list(OUTPUT_KINDS)
    for name, kind in OUTPUT_KINDS.items():
        assert Outputs.model_fields[name].annotation == kind.section | None
        assert Outputs.model_fields[name].default is None


def test_each_kind_links_exactly_the_names_it_declares(settings: Settings) -> None:
    bill = load_template("bill-summary", settings)
    for name in offered_outputs(bill):
        kind = OUTPUT_KINDS[name]
        section = getattr(bill.manifest.outputs, name)
        assert set(kind.links(bill, section, RenderOptions())) == set(kind.link_names), name
    assert [link for kind in OUTPUT_KINDS.values() for link in kind.link_names] == [
        "pdf",
        "video",
        "hls",
        "poster",
        "captions",
        "chapters",
        "scenes",
    ]


def test_a_draft_video_links_no_stream_and_no_poster(settings: Settings) -> None:
    bill = load_template("bill-summary", settings)
    video = OUTPUT_KINDS["video"]
    links = video.links(bill, bill.manifest.outputs.video, RenderOptions(draft=True))
    assert set(links) == {"video", "captions", "chapters", "scenes"}


def test_the_api_and_the_default_outputs_follow_the_registry(settings: Settings) -> None:
    bill = load_template("bill-summary", settings)
    assert OutputName.__metadata__[0].json_schema["enum"] == list(OUTPUT_KINDS)  # type: ignore[attr-defined]
    assert offered_outputs(bill) == ["microsite", "pdf", "video"]
    assert offered_outputs(bill, background=False) == ["microsite", "pdf"]
