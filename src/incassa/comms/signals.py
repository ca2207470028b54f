"""A new company starts with the default message texts, as it starts with the standard
strategy."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from incassa.ledger.models import Company


@receiver(post_save, sender=Company, dispatch_uid="comms_default_templates")
def install_default_templates(sender: Any, instance: Company, created: bool, **kwargs: Any) -> None:
    if created and not kwargs.get("raw"):
        from incassa.comms.services import templates_install_defaults

        templates_install_defaults(company=instance)
