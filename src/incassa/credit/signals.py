"""Credit health follows the ledger: after a snapshot is committed, every score is computed
again and the day's key figures are kept (unless INCASSA_SCORES_AFTER_IMPORT is off, for a
bulk reload that recomputes once at the end with ``incassa scores``)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal, receiver

from incassa.ledger.models import Company
from incassa.ledger.signals import snapshot_applied

logger = logging.getLogger(__name__)

# Sent after the day's key figures were kept (after an import's scores, by ``incassa kpi
# --snapshot`` and the daily cycle), with ``company`` and ``as_of``: the reports that the
# pages read precomputed follow (the workspace's effectiveness).
kpi_snapshot_taken = Signal()


@receiver(snapshot_applied, dispatch_uid="credit_scores_after_import")
def recompute_after_import(sender: Any, company: Company, as_of: Any, **kwargs: Any) -> None:
    if not getattr(settings, "INCASSA_SCORES_AFTER_IMPORT", True):
        return

    def recompute() -> None:
        from incassa.credit.services import kpi_snapshot_take, scores_recompute

        try:
            scores_recompute(company=company, as_of=as_of)
            kpi_snapshot_take(company=company, as_of=as_of)
        except Exception:  # the import is committed; scores can be recomputed on their own
            logger.exception("recomputing the scores of %s after the import", company)

    transaction.on_commit(recompute)
