"""Form submissions of recipients' pages: every validated submit kept, read per form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from renderer.jobs.schema import FormSubmission, FormSubmissionRecord
from renderer.jobs.store.base import BATCH_SIZE, ConcernStore, columns_of, to_record, utc_now

_SUBMISSION = columns_of(FormSubmissionRecord, FormSubmission)


class FormStore(ConcernStore):
    """Every read and write of form submissions; each method is one short transaction
    (`for_form`: one per page)."""

    def add(
        self,
        recipient: tuple[str, str, str],
        form_id: str,
        answers: dict[str, Any],
        *,
        variant: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Store one submit of (template, campaign, recipient id); returns its id, after the
        commit."""
        template, campaign, recipient_id = recipient
        values = {
            "template": template,
            "campaign": campaign,
            "recipient_id": recipient_id,
            "form_id": form_id,
            "answers": answers,
            "variant": variant,
            "submitted_at": now or utc_now(),
        }
        with self._write() as connection:
            inserted = connection.execute(self._insert(FormSubmission).values(values))
            key = inserted.inserted_primary_key
        assert key is not None
        return int(key[0])

    def for_form(
        self, template: str, campaign: str, form_id: str, page_size: int = BATCH_SIZE
    ) -> Iterator[FormSubmissionRecord]:
        """Every submit of one form in one campaign of one template, oldest first."""
        where = (
            (FormSubmission.template == template)
            & (FormSubmission.campaign == campaign)
            & (FormSubmission.form_id == form_id)
        )

        def page(last: tuple[Any, ...] | None) -> Select[Any]:
            query = select(*_SUBMISSION).where(where)
            if last is not None:
                query = query.where(FormSubmission.id > last[0])
            return query.order_by(FormSubmission.id)

        for row in self._pages(page, page_size):
            yield to_record(FormSubmissionRecord, row)
