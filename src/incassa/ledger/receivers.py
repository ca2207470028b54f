"""The ledger's own reactions: open balances follow every change between two snapshots."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from incassa.ledger.models import Company
from incassa.ledger.signals import ledger_changed

logger = logging.getLogger(__name__)


@receiver(ledger_changed, dispatch_uid="ledger_balances_after_change")
def refresh_balances(sender: Any, company: Company, as_of: Any, **kwargs: Any) -> None:
    def refresh() -> None:
        from incassa.ledger.balances import open_balances_refresh

        try:
            open_balances_refresh(company=company, as_of=as_of)
        except Exception:  # the change is committed; the lists compute live meanwhile
            logger.exception("refreshing the open balances of %s", company)

    transaction.on_commit(refresh)
