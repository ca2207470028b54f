"""Agreements follow the ledger: after a snapshot (or bank payments) is committed, promises,
plans and settlements are reviewed against it (kept, broken, paid, missed...)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from incassa.credit.signals import kpi_snapshot_taken
from incassa.ledger.models import Company
from incassa.ledger.signals import snapshot_applied
from incassa.payments.signals import payments_booked

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


@receiver(payments_booked, dispatch_uid="workspace_agreements_after_payments")
def review_after_payments(sender: Any, company: Company, on_date: Any, **kwargs: Any) -> None:
    """A payment the bank reported keeps a promise or pays an instalment at once, without
    waiting for the ERP's next snapshot."""
    review_after_import(sender, company=company, as_of=on_date)


@receiver(kpi_snapshot_taken, dispatch_uid="workspace_effectiveness_after_kpi_snapshot")
def effectiveness_after_kpi_snapshot(
    sender: Any, company: Company, as_of: Any, **kwargs: Any
) -> None:
    """The effectiveness page reads its default period's figures stored: compute them as of
    the day the key figures were kept (docs/effectiveness.md)."""
    from incassa.workspace.report_snapshots import effectiveness_snapshot_take

    try:
        with transaction.atomic():  # a failure leaves the caller's transaction usable
            effectiveness_snapshot_take(company=company, today=as_of)
    except Exception:  # the key figures are kept; the page computes it when asked
        logger.exception("computing the effectiveness of %s after the KPI snapshot", company)
