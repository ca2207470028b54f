"""Agreements follow the ledger: after a snapshot is committed, promises, plans and
settlements are reviewed against it (kept, broken, paid, missed...)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from incassa.ledger.models import Company
from incassa.ledger.signals import snapshot_applied

logger = logging.getLogger(__name__)


@receiver(snapshot_applied, dispatch_uid="workspace_agreements_after_import")
def review_after_import(sender: Any, company: Company, as_of: Any, **kwargs: Any) -> None:
    def review() -> None:
        from incassa.workspace.agreements import agreements_review

        try:
            agreements_review(company=company, as_of=as_of)
        except Exception:  # the import is committed; the review can run again on its own
            logger.exception("reviewing the agreements of %s after the import", company)

    transaction.on_commit(review)
