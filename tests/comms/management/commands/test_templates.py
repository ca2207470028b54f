"""``incassa templates list|check|install``: the message texts of a company."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incassa.comms import services
from incassa.comms.defaults import default_templates
from incassa.comms.models import MessageTemplate, TemplateVersion
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

# 4 message steps in 2 languages: an email each, a letter each but the agent notice: 7 x 2.
SHIPPED = 14


def templates_command(*args: str) -> str:
    out = StringIO()
    call_command("templates", *args, stdout=out)
    return out.getvalue()


def shipped(code: str, kind: str, language: str):
    return next(
        d for d in default_templates() if (d.code, d.kind, d.language) == (code, kind, language)
    )


def test_list(company):
    lines = templates_command("list").splitlines()
    assert len(lines) == SHIPPED
    pre_due = shipped("pre-due", "email", "it")
    assert f"{'pre-due':<20} {'email':<7} it  v1  {pre_due.name}" in lines
    assert all("  v1  " in line for line in lines)


def test_list_shows_the_version(company):
    template = MessageTemplate.objects.get(
        company=company, code="pre-due", kind="letter", language="en"
    )
    services.template_update(template=template, subject="Due soon", body="{{ items_table }}")
    (line,) = [line for line in templates_command("list").splitlines() if " v2 " in line]
    assert line.startswith("pre-due") and " letter  en  v2  " in line


def test_check(company):
    lines = templates_command("check").splitlines()
    assert len(lines) == SHIPPED
    assert all(line.endswith("  ok") for line in lines)


def test_check_exits_1_on_a_broken_template(company):
    # Saved around the services (which refuse it), as an old database might hold it.
    MessageTemplate.objects.filter(
        company=company, code="first-reminder", kind="email", language="it"
    ).update(body="Gentile {{ cliente }}")
    out = StringIO()
    with pytest.raises(SystemExit) as caught:
        call_command("templates", "check", stdout=out)
    assert caught.value.code == 1
    lines = out.getvalue().splitlines()
    (broken,) = [line for line in lines if not line.endswith("  ok")]
    assert broken.startswith("first-reminder") and "'cliente' is undefined" in broken
    assert len(lines) == SHIPPED


def test_install_adds_only_what_is_missing(company):
    assert templates_command("install").strip() == "Installed 0 template(s)."
    MessageTemplate.objects.filter(company=company, code="formal-notice", language="en").delete()
    # Its email and its letter.
    assert templates_command("install").strip() == "Installed 2 template(s)."
    template = MessageTemplate.objects.get(
        company=company, code="formal-notice", kind="letter", language="en"
    )
    default = shipped("formal-notice", "letter", "en")
    assert (template.subject, template.body, template.version) == (
        default.subject,
        default.body,
        1,
    )
    assert list(template.versions.values_list("number", flat=True)) == [1]
    assert MessageTemplate.objects.filter(company=company).count() == SHIPPED


def test_install_overwrite_keeps_the_edited_text_in_the_history(company):
    template = MessageTemplate.objects.get(
        company=company, code="first-reminder", kind="letter", language="it"
    )
    default = shipped("first-reminder", "letter", "it")
    services.template_update(
        template=template, subject="Sollecito urgente", body="Pagate {{ total.open }}."
    )
    # Without --overwrite an edited text stays.
    assert templates_command("install").strip() == "Installed 0 template(s)."
    template.refresh_from_db()
    assert (template.subject, template.version) == ("Sollecito urgente", 2)

    assert templates_command("install", "--overwrite").strip() == "Installed 1 template(s)."
    template.refresh_from_db()
    # The shipped text is the next version, the edited one stays in the history.
    assert (template.subject, template.body, template.version) == (
        default.subject,
        default.body,
        3,
    )
    history = {
        v.number: (v.subject, v.body) for v in TemplateVersion.objects.filter(template=template)
    }
    assert history == {
        1: (default.subject, default.body),
        2: ("Sollecito urgente", "Pagate {{ total.open }}.\n"),
        3: (default.subject, default.body),
    }
    # Once everything is the shipped text there is nothing to overwrite.
    assert templates_command("install", "--overwrite").strip() == "Installed 0 template(s)."


def test_a_company_must_be_chosen_among_several(company):
    CompanyFactory(code="other")
    with pytest.raises(CommandError, match="several companies") as caught:
        templates_command("list")
    assert caught.value.returncode == 2
    assert len(templates_command("list", "--company", "other").splitlines()) == SHIPPED
