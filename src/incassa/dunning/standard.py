"""The ``standard`` strategy that ships with Incassa and that a new company starts with."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class StepSpec:
    code: str
    name: str
    channel: str
    days_overdue: int
    needs_approval: bool = False


STANDARD_CODE = "standard"
STANDARD_NAME = _("Standard")
STANDARD_STEPS: tuple[StepSpec, ...] = (
    StepSpec("pre-due", _("Friendly reminder before the due date"), "email", -5),
    StepSpec("agent-notice", _("Notice to the sales agent"), "agent_email", 3),
    StepSpec("courtesy-call", _("Courtesy call"), "call", 7),
    StepSpec("first-reminder", _("First written reminder"), "letter", 15),
    StepSpec("second-call", _("Second call"), "call", 25),
    StepSpec(
        "formal-notice",
        _("Formal notice (diffida ad adempiere)"),
        "registered_letter",
        40,
        needs_approval=True,
    ),
    StepSpec("final-call", _("Final call"), "call", 50),
    StepSpec(
        "escalation",
        _("Hand-over to a collection agency or lawyer"),
        "escalation",
        65,
        needs_approval=True,
    ),
)
