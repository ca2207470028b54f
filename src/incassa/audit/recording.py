"""Writing the audit trail.

``record(...)`` writes one entry. ``connect()`` (run when the app is ready) attaches the
generic recorder to every model of the Incassa apps and to Django's users: before a row is
saved its stored values are read, after it is saved the fields that changed are written as
``before`` and ``after`` (a new row: every field in ``after``; a deleted one: every field in
``before``). The entry is written through the same database connection inside the same
transaction as the change, so a change that is rolled back leaves no entry.

Bulk work is summarised instead of being recorded row by row: an import is one ``import``
entry (from its ``ImportRun`` once finished, with its counts), an engine run one
``engine_run`` entry, and every message that goes out one ``message_sent`` entry. Set-based
writes (raw SQL, ``bulk_create``, ``QuerySet.update``) send no signals, so the import and
engine paths cost nothing here; the tables below are also excluded outright.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable
from functools import cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.fields.files import FieldFile
from django.db.models.signals import post_delete, post_save, pre_save

from incassa.audit.context import current
from incassa.audit.models import AuditAction, AuditEntry, Source

# The apps whose models are recorded (``api`` when it is installed).
RECORDED_APPS = ("ledger", "payments", "dunning", "comms", "credit", "workspace", "cycle", "api")
# Beyond them: who may sign in, with which rights, and the companies' security rules.
EXTRA_MODELS = ("auth.user", "auth.group", "audit.companysecurity")

# Tables never recorded row by row, and why. All of them are derived from other data or
# written set-based by the import, the engine or the daily recomputation; the work that
# writes them is summarised by one entry.
EXCLUDED_MODELS: dict[str, str] = {
    "ledger.receivableevent": "the items' own change history, written in bulk by each import "
    "(summarised by the import's entry)",
    "ledger.importrun": "one `import` entry per file when it finishes, with its counts",
    "dunning.itemstep": "the engine's per-item step history, written in bulk by each run "
    "(summarised by the `engine_run` entry)",
    "dunning.itemprogress": "the engine's current step of each item, rewritten by each run",
    "dunning.run": "one `engine_run` entry per run",
    "comms.messageitem": "the lines of a message, written with it in bulk",
    "comms.deliveryreceipt": "the server's acceptance of each message, written by the outbox "
    "(the `message_sent` entry records it)",
    "cycle.cyclerun": "the daily cycle's own record of each run, shown on its page",
    "cycle.cyclestage": "the stages of a run, written as the run goes",
    "cycle.inboxfile": "the files the inbox received and what became of them, shown on the "
    "cycle's page (each import has its own entry)",
    "payments.paymentallocation": "the parts of a payment set against items, written in bulk "
    "with it (the payment's own entry records who matched it)",
    "credit.scorehistory": "daily scores, recomputed in bulk after every import",
    "credit.itemcriticality": "criticality of each item, recomputed in bulk after every import",
    "credit.kpisnapshot": "daily key figures, recomputed in bulk",
    "ledger.openbalancestate": "when the customers' balances the long lists rank by were last "
    "computed, with every snapshot and every computation of the scores",
}
# Tables the engine and the outbox change row by row many times a day: recorded when a
# person changes them (approves an action, retries a message), not when the automatic flow
# moves them on (which the `engine_run` and `message_sent` entries summarise).
PERSON_ONLY_MODELS: dict[str, str] = {
    "dunning.action": "each delivery attempt changes its status; a person's approval, "
    "rejection or completion is recorded",
    "comms.message": "written by the engine's outbox; each one that goes out is a "
    "`message_sent` entry, a person's retry or edit is recorded",
}
# Fields never recorded, per model: they change on every sign-in or say nothing.
IGNORED_FIELDS: dict[str, frozenset[str]] = {
    "auth.user": frozenset({"last_login"}),
    "api.apitoken": frozenset({"last_used_at"}),
}
# Fields whose value must not be copied into the trail: only the fact that they changed.
REDACTED_NAMES = frozenset({"password", "secret", "key", "token", "key_hash", "token_hash"})
REDACTED = "***"
# Longer texts (a message's body) are cut: the record they come from keeps them whole.
MAX_TEXT = 10_000
# A message has gone out in these states (an email accepted, a letter posted).
SENT_STATUSES = frozenset({"sent", "posted"})

_MISSING = object()


# --------------------------------------------------------------------------------------
# Writing one entry
# --------------------------------------------------------------------------------------


def record(
    *,
    action: str,
    obj: models.Model | None = None,
    company: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    user: Any = _MISSING,
    username: str | None = None,
    source: str | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    using: str = "default",
) -> AuditEntry:
    """Write one audit entry. The user and source default to the current context's."""
    context = current()
    if user is _MISSING:
        user = context.acting_user()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or ("" if obj.pk is None else str(obj.pk))
        object_repr = object_repr or _repr(obj)
    company_id = getattr(company, "pk", company)
    return AuditEntry.objects.using(using).create(
        user_id=getattr(user, "pk", None),
        username=(username if username is not None else _username(user))[:150],
        company_id=company_id,
        action=action,
        object_type=object_type[:100],
        object_id=object_id[:64],
        object_repr=object_repr[:200],
        before=before,
        after=after,
        source=source or context.source,
        request_id=context.request_id,
        ip=context.ip,
    )


def _username(user: Any) -> str:
    if user is None:
        return ""
    return user.get_username() if hasattr(user, "get_username") else str(user)


def _repr(obj: models.Model) -> str:
    try:
        return str(obj)
    except Exception:  # a deleted relation, say: the label and id still identify it
        return f"{obj._meta.verbose_name} #{obj.pk}"


def plain(value: Any) -> Any:
    """A value as JSON keeps it: amounts and dates as strings, files as their name."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, bytes | memoryview):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return str(value)


# --------------------------------------------------------------------------------------
# Which models and fields
# --------------------------------------------------------------------------------------


def recorded_models() -> list[type[models.Model]]:
    """Every model the generic recorder follows."""
    chosen = []
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in EXCLUDED_MODELS or model._meta.proxy:
            continue
        ours = model._meta.app_label in RECORDED_APPS and model.__module__.startswith("incassa.")
        if ours or label in EXTRA_MODELS:
            chosen.append(model)
    return chosen


@cache
def _fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    ignored = IGNORED_FIELDS.get(model._meta.label_lower, frozenset())
    return tuple(
        field
        for field in model._meta.concrete_fields
        if not field.primary_key
        and field.name not in ignored
        and not getattr(field, "auto_now", False)
    )


def _fields_for(model: type[models.Model], update_fields: Iterable[str] | None):
    fields = _fields(model)
    if update_fields is None:
        return fields
    wanted = set(update_fields)
    return tuple(f for f in fields if f.name in wanted or f.attname in wanted)


def _normal(field: models.Field, value: Any) -> Any:
    """The value as the field reads it, so that ``"2026-03-31"`` equals the date and
    ``Decimal("5")`` equals ``Decimal("5.00")``."""
    if value is None or isinstance(value, FieldFile):
        return value
    try:
        return field.to_python(value)
    except (ValidationError, TypeError, ValueError):
        return value


def _shown(field: models.Field, value: Any) -> Any:
    if field.name in REDACTED_NAMES and value not in (None, ""):
        return REDACTED
    return plain(_normal(field, value))


def _snapshot(instance: models.Model, fields: Iterable[models.Field]) -> dict[str, Any]:
    return {field.name: _shown(field, field.value_from_object(instance)) for field in fields}


def _policy_allows(model: type[models.Model]) -> bool:
    """Person-only tables are recorded only when someone acts."""
    if model._meta.label_lower not in PERSON_ONLY_MODELS:
        return True
    return current().acting_user() is not None


# --------------------------------------------------------------------------------------
# Company of a row
# --------------------------------------------------------------------------------------


@cache
def _company_route(model: type[models.Model], depth: int = 0) -> tuple[str, Any, str] | None:
    """How to find the company of a row: (attname of the foreign key to follow, the model
    it points to, the lookup of ``company_id`` there); None when there is no company."""
    company_model = apps.get_model("ledger", "Company")
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    for field in model._meta.concrete_fields:
        if not field.is_relation or not (field.many_to_one or field.one_to_one):
            continue
        target = field.related_model
        if target is company_model:
            return (field.attname, None, "")
    if depth >= 2:
        return None
    for field in model._meta.concrete_fields:
        if not field.is_relation or not (field.many_to_one or field.one_to_one):
            continue
        target = field.related_model
        if target is user_model or target is model:
            continue
        route = _company_route(target, depth + 1)
        if route is None:
            continue
        attname, further, lookup = route
        if further is None:
            return (field.attname, target, attname)
        next_field = target._meta.get_field(attname.removesuffix("_id")).name
        return (field.attname, target, f"{next_field}__{lookup}")
    return None


def company_id_of(instance: models.Model, using: str = "default") -> int | None:
    """The company a row belongs to, following its foreign keys (Hold → item → company)."""
    if instance._meta.label_lower == "ledger.company":
        return instance.pk
    route = _company_route(type(instance))
    if route is None:
        return None
    attname, target, lookup = route
    value = getattr(instance, attname, None)
    if target is None or value is None:
        return value
    field = instance._meta.get_field(attname.removesuffix("_id"))
    if field.is_cached(instance) and "__" not in lookup:
        related = field.get_cached_value(instance)
        if related is not None:
            return getattr(related, lookup, None)
    return target._base_manager.using(using).filter(pk=value).values_list(lookup, flat=True).first()


# --------------------------------------------------------------------------------------
# The generic recorder
# --------------------------------------------------------------------------------------


def _stored_row(sender: type[models.Model], instance: models.Model, fields, using: str):
    return (
        sender._base_manager.using(using)
        .filter(pk=instance.pk)
        .values(*[f.attname for f in fields])
        .first()
    )


def _before_save(
    sender: type[models.Model],
    instance: models.Model,
    raw: bool = False,
    using: str = "default",
    update_fields: Iterable[str] | None = None,
    **kwargs: Any,
) -> None:
    if instance._state.adding or instance.pk is None or not _policy_allows(sender):
        instance._audit_before = None
        return
    fields = _fields_for(sender, update_fields)
    instance._audit_before = _stored_row(sender, instance, fields, using)


def _after_save(
    sender: type[models.Model],
    instance: models.Model,
    created: bool,
    raw: bool = False,
    using: str = "default",
    update_fields: Iterable[str] | None = None,
    **kwargs: Any,
) -> None:
    stored = instance.__dict__.pop("_audit_before", _MISSING)
    if not _policy_allows(sender):
        return
    fields = _fields_for(sender, update_fields)
    if created or stored is None:
        record(
            action=AuditAction.CREATE,
            obj=instance,
            company=company_id_of(instance, using),
            after=_snapshot(instance, fields),
            using=using,
        )
        return
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for field in fields:
        new = field.value_from_object(instance)
        if stored is not _MISSING:
            old = stored.get(field.attname)
            if _normal(field, old) == _normal(field, new):
                continue
            before[field.name] = _shown(field, old)
        after[field.name] = _shown(field, new)
    if not after:
        return
    record(
        action=AuditAction.UPDATE,
        obj=instance,
        company=company_id_of(instance, using),
        before=before if stored is not _MISSING else None,
        after=after,
        using=using,
    )


def _after_delete(
    sender: type[models.Model], instance: models.Model, using: str = "default", **kwargs: Any
) -> None:
    if not _policy_allows(sender):
        return
    record(
        action=AuditAction.DELETE,
        obj=instance,
        company=company_id_of(instance, using),
        before=_snapshot(instance, _fields(sender)),
        using=using,
    )


# --------------------------------------------------------------------------------------
# Summaries of bulk work
# --------------------------------------------------------------------------------------

IMPORT_FIELDS = (
    "kind",
    "file_name",
    "as_of",
    "status",
    "is_partial",
    "is_forced",
    "rows_read",
    "rows_rejected",
    "created",
    "updated",
    "closed",
    "reopened",
    "unchanged",
    "customers_created",
    "message",
    "source",
)
RUN_FIELDS = ("as_of", "items_considered", "actions", "item_steps", "skipped", "cancelled")
MESSAGE_FIELDS = (
    "medium",
    "status",
    "recipients",
    "subject",
    "sent_at",
    "customer_id",
    "action_id",
    "message_id",
    "registered_number",
    "item_count",
    "total_amount",
)


def _automatic_source(default: str) -> str:
    """A request's source when there is one; else what the automatic flow is."""
    source = current().source
    return source if source in {Source.WEB, Source.API} else default


def _import_finished(sender: Any, instance: Any, using: str = "default", **kwargs: Any) -> None:
    """One entry per import, with its counts, when the run is finished (applied,
    rejected, refused or failed): in the import's transaction when it applies."""
    if instance.finished_at is None or getattr(instance, "_audit_recorded", False):
        return
    instance._audit_recorded = True
    user = instance.imported_by if instance.imported_by_id else current().acting_user()
    record(
        action=AuditAction.IMPORT,
        obj=instance,
        company=instance.company_id,
        after={name: plain(getattr(instance, name)) for name in IMPORT_FIELDS},
        user=user,
        source=_automatic_source(Source.COMMAND),
        using=using,
    )


def _engine_ran(
    sender: Any, instance: Any, created: bool, using: str = "default", **kwargs: Any
) -> None:
    if not created:
        return
    after = {name: plain(getattr(instance, name)) for name in RUN_FIELDS}
    after["summary"] = plain(instance.summary)
    record(
        action=AuditAction.ENGINE_RUN,
        obj=instance,
        company=instance.company_id,
        after=after,
        source=_automatic_source(Source.ENGINE),
        using=using,
    )


def _message_before_save(
    sender: Any,
    instance: Any,
    raw: bool = False,
    using: str = "default",
    update_fields: Iterable[str] | None = None,
    **kwargs: Any,
) -> None:
    _before_save(sender, instance, raw=raw, using=using, update_fields=update_fields)
    if instance._state.adding or instance.pk is None:
        instance._audit_old_status = None
    elif update_fields is not None and "status" not in update_fields:
        instance._audit_old_status = instance.status  # unchanged by this save
    elif instance._audit_before is not None and "status" in instance._audit_before:
        instance._audit_old_status = instance._audit_before["status"]
    else:
        instance._audit_old_status = (
            sender._base_manager.using(using)
            .filter(pk=instance.pk)
            .values_list("status", flat=True)
            .first()
        )


def _message_after_save(
    sender: Any, instance: Any, created: bool, using: str = "default", **kwargs: Any
) -> None:
    old = instance.__dict__.pop("_audit_old_status", None)
    _after_save(sender, instance, created, using=using, **kwargs)
    if instance.status in SENT_STATUSES and old != instance.status:
        record(
            action=AuditAction.MESSAGE_SENT,
            obj=instance,
            company=instance.company_id,
            after={name: plain(getattr(instance, name)) for name in MESSAGE_FIELDS},
            source=_automatic_source(Source.ENGINE),
            using=using,
        )


def messages_sent(messages: Iterable[Any], using: str = "default") -> int:
    """The ``message_sent`` entries of messages the outbox marked sent in bulk (an update
    that sends no signals): the same entries one by one saving would write, in one insert."""
    context = current()
    user = context.acting_user()
    source = _automatic_source(Source.ENGINE)
    entries = [
        AuditEntry(
            user_id=getattr(user, "pk", None),
            username=_username(user)[:150],
            company_id=message.company_id,
            action=AuditAction.MESSAGE_SENT,
            object_type=message._meta.label_lower,
            object_id=str(message.pk),
            object_repr=_repr(message)[:200],
            before=None,
            after={name: plain(getattr(message, name)) for name in MESSAGE_FIELDS},
            source=source,
            request_id=context.request_id,
            ip=context.ip,
        )
        for message in messages
    ]
    AuditEntry.objects.using(using).bulk_create(entries)
    return len(entries)


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record(action=AuditAction.LOGOUT, obj=user, user=user)


def connect() -> None:
    """Attach the recorders; called once from ``AuditConfig.ready``."""
    message_model = apps.get_model("comms", "Message")
    for model in recorded_models():
        uid = f"audit_{model._meta.label_lower}"
        if model is message_model:
            pre_save.connect(_message_before_save, sender=model, dispatch_uid=uid)
            post_save.connect(_message_after_save, sender=model, dispatch_uid=uid)
        else:
            pre_save.connect(_before_save, sender=model, dispatch_uid=uid)
            post_save.connect(_after_save, sender=model, dispatch_uid=uid)
        post_delete.connect(_after_delete, sender=model, dispatch_uid=uid)
    post_save.connect(
        _import_finished, sender=apps.get_model("ledger", "ImportRun"), dispatch_uid="audit_import"
    )
    post_save.connect(
        _engine_ran, sender=apps.get_model("dunning", "Run"), dispatch_uid="audit_engine_run"
    )
    user_logged_out.connect(_logged_out, dispatch_uid="audit_logout")
