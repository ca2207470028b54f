"""Dunning's reactions to the ledger: a new company gets the standard strategy, and a
snapshot that closes items cancels what was still to go out for them."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from incassa.ledger.models import Company
from incassa.ledger.signals import snapshot_applied
from incassa.payments.signals import payments_booked


@receiver(post_save, sender=Company, dispatch_uid="dunning_standard_strategy")
def install_standard_strategy(sender: Any, instance: Company, created: bool, **kwargs: Any) -> None:
    if created and not kwargs.get("raw"):
        from incassa.dunning.services import strategy_install_standard

        strategy_install_standard(company=instance)


@receiver(snapshot_applied, dispatch_uid="dunning_cancel_paid")
def cancel_pending_for_paid_items(
    sender: Any, company: Company, closed: int, **kwargs: Any
) -> None:
    if closed:
        from incassa.dunning.services import pending_cancel_for_closed

        pending_cancel_for_closed(company=company)


@receiver(payments_booked, dispatch_uid="dunning_cancel_paid_by_bank")
def cancel_pending_for_bank_paid(sender: Any, company: Company, closed: int, **kwargs: Any) -> None:
    if closed:
        from incassa.dunning.services import pending_cancel_for_closed

        pending_cancel_for_closed(company=company)
