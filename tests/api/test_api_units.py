"""Pure and small parts of the API: JSON Schema of contracts, formula-safe CSV, log redaction, 500s."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixture_api import ApiServer, api_fixture  # noqa: F401

from renderer.api.errors import ApiError
from renderer.api.middleware import RedactTokens
from renderer.api.reports import neutralise, rejects_lines, results_lines
from renderer.api.routes.recipients import folder_of
from renderer.api.sources import parse_outputs
from renderer.api.uploads import safe_filename
from renderer.data.schema import contract_schema
from renderer.jobs.store import JobStore, open_store
from renderer.template.models import Contract


def test_contract_schema_maps_every_type() -> None:
    contract = Contract.model_validate(
        {
            "recipient_id": "id",
            "locale_field": "lang",
            "fields": {
                "id": {"type": "integer", "required": True, "minimum": 1, "maximum": 10**9},
                "lang": {"type": "locale", "required": True},
                "site": {"type": "url", "personal": True},
                "ratio": {"type": "decimal", "minimum": "0.5", "default": "1.5"},
                "born": {"type": "date", "description": "Birthday"},
                "vip": {"type": "bool", "default": False},
                "cur": {"type": "currency"},
                "tags": {
                    "type": "list",
                    "max_items": 3,
                    "items": {"name": {"type": "string", "min_length": 2}},
                },
            },
        }
    )
    schema = contract_schema(contract, "demo recipient")
    json.dumps(schema)  # JSON-safe throughout (Decimals and dates converted)
    fields = schema["properties"]
    assert schema["required"] == ["id", "lang"] and schema["x-locale-field"] == "lang"
    assert fields["id"] == {"type": "integer", "x-tailor-type": "integer", "minimum": 1, "maximum": 10**9}
    assert fields["site"]["format"] == "uri" and fields["site"]["x-personal"] is True
    assert fields["ratio"]["minimum"] == 0.5 and fields["ratio"]["default"] == "1.5"
    assert fields["ratio"]["type"] == ["number", "string"]
    assert fields["born"] == {
        "type": "string",
        "format": "date",
        "x-tailor-type": "date",
        "description": "Birthday",
    }
    assert fields["vip"]["default"] is False and fields["cur"]["pattern"] == "^[A-Za-z]{3}$"
    assert fields["tags"]["items"]["properties"]["name"]["minLength"] == 2 and fields["tags"]["maxItems"] == 3


def test_csv_cells_that_spreadsheets_would_run_are_neutralised() -> None:
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(cell) == "'" + cell
    for cell in ("C-1", "", "1=1", "plain"):
        assert neutralise(cell) == cell


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield opened
    opened.close()


def test_results_and_rejects_csv_are_formula_safe(store: JobStore) -> None:
    campaign, _ = store.campaigns.create("bill-summary", ["microsite"], "_uploads/x/r.csv")
    store.rows.add(campaign.id, [(2, "=HYPERLINK(evil)"), (3, "C-3")])
    store.rows.start(campaign.id, 2)
    store.rows.finish(campaign.id, 2, {"microsite": "bill-summary/c/=HYPERLINK(evil)/index.html"})
    store.rows.fail(campaign.id, 3, "-broken: microsite output", max_attempts=1)
    store.rows.add_rejects(campaign.id, [(4, "pay_url", "@is not a valid URL")])
    table = list(csv.reader(io.StringIO("".join(results_lines(store, campaign, "csv")))))
    assert table[0] == ["row", "recipient_id", "status", "microsite", "error"]
    assert table[1][:3] == ["2", "'=HYPERLINK(evil)", "done"]
    assert table[2][4] == "'-broken: microsite output"
    exact = [json.loads(line) for line in "".join(results_lines(store, campaign, "jsonl")).splitlines()]
    assert exact[0]["recipient_id"] == "=HYPERLINK(evil)"  # JSON Lines stay exact
    rejects = list(csv.reader(io.StringIO("".join(rejects_lines(store, campaign.id, "csv")))))
    assert rejects == [  # ids hidden by default (as for a contract that marks them personal)
        ["row", "field", "reason", "recipient_id"],
        ["3", "(render)", "'-broken: microsite output", ""],
        ["4", "pay_url", "'@is not a valid URL", ""],
    ]
    store.rows.add(campaign.id, [(5, "+SUM(A1)")])
    store.rows.start(campaign.id, 5)
    store.rows.fail(campaign.id, 5, "pdf output: broken", max_attempts=1)
    shown = list(csv.reader(io.StringIO("".join(rejects_lines(store, campaign.id, "csv", hide_ids=False)))))
    assert shown[1][3] == "C-3" and shown[2][3] == ""  # a reject stores an id only when valid
    assert shown[3] == ["5", "(render)", "pdf output: broken", "'+SUM(A1)"]  # ids are neutralised too


def test_upload_names_and_outputs_are_parsed_safely() -> None:
    assert safe_filename("C:\\Users\\me\\recipients.csv") == "recipients.csv"
    assert safe_filename("../../etc/data.JSONL") == "data.JSONL"
    assert safe_filename("my data.csv") == "my%20data.csv"
    assert safe_filename(".hidden.csv") == "%2Ehidden.csv"
    with pytest.raises(ApiError) as refused:
        safe_filename("payload.exe")
    assert refused.value.status == 415
    assert parse_outputs(["microsite, pdf"]) == ["microsite", "pdf"]
    assert parse_outputs(['["pdf"]', "video"]) == ["pdf", "video"]
    assert parse_outputs(None) is None
    with pytest.raises(ApiError):
        parse_outputs(['["pdf"'])
    assert folder_of("bill-summary/c1/C-1/index.html") == "bill-summary/c1/C-1/"
    assert folder_of("bill-summary/c1/C-1/hls/seg.ts") == "bill-summary/c1/C-1/"
    assert folder_of("loose.csv") is None


def test_access_logs_never_show_page_tokens() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/r/AbCdEf0123456789_-xyzABCD/bill-summary/api/C-1/index.html", "1.1", 200),
        None,
    )  # fmt: skip
    RedactTokens().filter(record)
    assert "AbCdEf" not in record.getMessage() and "/r/***/bill-summary" in record.getMessage()


def test_unexpected_errors_answer_500_and_log_no_values(
    api: ApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> None:
        raise KeyError("emily.johnson@example.com")

    api.app.add_api_route("/boom-for-tests", boom)
    with caplog.at_level(logging.ERROR, logger="tailor.api"):
        answer = api.client().get("/boom-for-tests")
    assert answer.status_code == 500
    assert answer.json()["error"] == {
        "code": "internal_error", "message": "an unexpected error occurred", "field": None, "row": None,
    }  # fmt: skip
    assert "unexpected KeyError in GET /boom-for-tests" in caplog.text
    assert "emily" not in caplog.text and "emily" not in answer.text
