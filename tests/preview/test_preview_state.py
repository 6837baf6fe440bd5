"""The studio's pure parts: the shareable query string, the recipient data it names, field
errors, forced variants, which outputs a saved file affects, and the loopback rule."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from renderer.errors import RenderError, TailorError
from renderer.outputs.load import load_template
from renderer.outputs.template import Template
from renderer.preview.serve import bind_socket, is_loopback, served_hosts
from renderer.preview.state import PreviewState, checked_forced, field_errors, recipient_data
from renderer.preview.studio import affected_outputs
from renderer.settings import Settings


def test_the_query_string_reads_back_what_it_wrote() -> None:
    state = PreviewState("fa-IR", {"first_name": "Ada & Co", "line_items": [{"a": 1}]}, {"headline": "warm"})
    query = state.to_query()
    assert PreviewState.from_query(dict(parse_qsl(query)), "en-US") == state
    assert PreviewState.from_query({}, "en-US") == PreviewState("en-US")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"edits": "{not json"}, "parameter 'edits' is not JSON"),
        ({"edits": "[1, 2]"}, "parameter 'edits' must be a JSON object"),
        ({"force": "headline"}, "parameter 'force' must be experiment:variant pairs"),
        ({"edits": "x" * 300_000}, "parameter 'edits' is over 256 KiB"),
    ],
)
def test_a_bad_query_string_names_its_parameter(query: dict[str, str], message: str) -> None:
    with pytest.raises(RenderError, match=message):
        PreviewState.from_query(query, "en-US")


def test_edits_go_over_the_sample_and_errors_name_the_field_not_the_value(bill: Template) -> None:
    state = PreviewState("de-DE", {"first_name": "Grace"})
    raw = recipient_data(bill, state)
    assert raw["first_name"] == "Grace" and raw["customer_id"] == bill.samples["de-DE"]["customer_id"]
    assert field_errors(bill, raw) == {}
    broken = {**raw, "first_name": "", "plan": "platinum-secret", "currency": "EURO"}
    errors = field_errors(bill, broken)
    assert set(errors) == {"first_name", "plan", "currency"}
    assert "platinum-secret" not in str(errors) and "EURO" not in str(errors)
    with pytest.raises(RenderError, match="has no sample 'xx-XX'"):
        recipient_data(bill, PreviewState("xx-XX"))


def test_forced_variants_are_checked_against_the_experiments(bill: Template) -> None:
    assert checked_forced(bill, {"headline": "warm"}) == {"headline": "warm"}
    with pytest.raises(RenderError, match="experiment 'headline' has no variant 'loud'"):
        checked_forced(bill, {"headline": "loud"})
    with pytest.raises(RenderError, match="has no experiment 'colour'"):
        checked_forced(bill, {"colour": "red"})


def test_a_saved_file_affects_the_outputs_that_read_it(bill: Template) -> None:
    root = bill.root
    assert affected_outputs(bill, [root / "pdf" / "bill.css"]) == ("pdf",)
    assert affected_outputs(bill, [root / "microsite" / "site.css"]) == ("microsite",)
    assert affected_outputs(bill, [root / "microsite" / "partial.html"]) == ("microsite", "pdf")
    every = ("microsite", "pdf", "video")
    assert affected_outputs(bill, [root / "template.yaml"]) == every
    assert affected_outputs(bill, [root / "samples" / "de-DE.json"]) == every
    assert affected_outputs(bill, [bill.assets_dir / "brand" / "logo.png"]) == every


def test_only_loopback_is_served_unless_allowed() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.com")
    with pytest.raises(TailorError, match=r"refusing to serve the preview on '0\.0\.0\.0'.*--allow-remote"):
        bind_socket("0.0.0.0", 0, allow_remote=False)
    sock = bind_socket("127.0.0.1", 0, allow_remote=False)
    sock.close()
    assert served_hosts("192.168.1.4") == ["127.0.0.1", "localhost", "::1", "[::1]", "192.168.1.4"]
    assert served_hosts("0.0.0.0") == ["*"] and served_hosts("::") == ["*"]


@pytest.fixture(name="bill", scope="module")
def bill_fixture(settings: Settings) -> Template:
    return load_template("bill-summary", settings)
