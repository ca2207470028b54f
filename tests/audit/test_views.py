"""The audit pages: who may read them, what each company sees, filters, detail and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
import time_machine
from django.urls import reverse

from incassa.audit.context import audit_context
from incassa.audit.models import AuditAction, AuditEntry, Source
from incassa.audit.recording import record
from incassa.ledger.models import Role
from tests.factories import CompanyFactory, CustomerFactory, UserFactory
from tests.web.test_customers import logged_in, member

pytestmark = pytest.mark.django_db

LIST = reverse("audit:entries")
EXPORT = reverse("audit:export")
# Entries are written at 10:00 in Rome on 30/03, 31/03 and 01/04/2026.
DAYS = [dt.datetime(2026, 3, d, 8, 0, tzinfo=dt.UTC) for d in (30, 31)] + [
    dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)
]


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-entry="(\d+)">', html)


@pytest.fixture
def trail(company):
    """Three changes of ``company`` by Paola (one a day), a sign-in of a member, and the
    other company's entries (its change, its member's sign-in)."""
    paola = member(company, Role.CREDIT_MANAGER, username="paola")
    other = CompanyFactory(code="other")
    stranger = UserFactory(username="stranger")
    made = {}
    with audit_context(user=paola, source=Source.WEB):
        with time_machine.travel(DAYS[0], tick=False):
            made["customer"] = CustomerFactory(company=company, code="001", name="Rossi S.r.l.")
        with time_machine.travel(DAYS[1], tick=False):
            made["customer"].name = "Rossi & Figli S.r.l."
            made["customer"].save()
        with time_machine.travel(DAYS[2], tick=False):
            made["formula"] = CustomerFactory(company=company, code="=1+1", name="Formula")
    with time_machine.travel(DAYS[2], tick=False):
        made["login"] = record(action=AuditAction.LOGIN, obj=paola, user=paola)
        made["stranger_login"] = record(action=AuditAction.LOGIN, obj=stranger, user=stranger)
        made["foreign"] = CustomerFactory(company=other, code="999", name="Altra S.r.l.")
    made["paola"] = paola
    made["other"] = other
    return made


def entry_of(obj, action: str = "create") -> AuditEntry:
    return AuditEntry.objects.get(
        object_type=obj._meta.label_lower, object_id=str(obj.pk), action=action
    )


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMINISTRATOR, 200),
        (Role.AUDITOR, 200),
        (Role.CREDIT_MANAGER, 403),
        (Role.COLLECTOR, 403),
        (Role.SALES_AGENT, 403),
    ],
)
def test_only_administrators_and_auditors_read_it(client, company, trail, role, status):
    logged_in(client, company, role)
    detail = reverse("audit:entry", args=[entry_of(trail["customer"]).pk])
    for url in (LIST, detail, EXPORT):
        assert client.get(url).status_code == status, url


def test_anonymous_visitors_are_sent_to_sign_in(client, trail):
    for url in (LIST, EXPORT):
        assert client.get(url)["Location"].startswith(reverse("login"))


def test_the_list_shows_the_companys_entries_and_its_members_sign_ins(client, company, trail):
    logged_in(client, company, Role.AUDITOR)
    listed = rows(client.get(LIST).content.decode())
    assert str(entry_of(trail["customer"]).pk) in listed
    assert str(trail["login"].pk) in listed
    # Never another company's change, nor the sign-in of someone not in the company.
    assert str(entry_of(trail["foreign"]).pk) not in listed
    assert str(trail["stranger_login"].pk) not in listed
    foreign = reverse("audit:entry", args=[entry_of(trail["foreign"]).pk])
    assert client.get(foreign).status_code == 404
    stranger = reverse("audit:entry", args=[trail["stranger_login"].pk])
    assert client.get(stranger).status_code == 404


def test_the_other_companys_auditor_sees_only_theirs(client, trail):
    logged_in(client, trail["other"], Role.AUDITOR, username="other-auditor")
    listed = rows(client.get(LIST).content.decode())
    assert str(entry_of(trail["foreign"]).pk) in listed
    assert str(entry_of(trail["customer"]).pk) not in listed
    assert str(trail["login"].pk) not in listed


def test_filters(client, company, trail):
    logged_in(client, company, Role.ADMINISTRATOR)
    created = entry_of(trail["customer"]).pk
    renamed = entry_of(trail["customer"], "update").pk
    formula = entry_of(trail["formula"]).pk
    login = trail["login"].pk
    paola = trail["paola"].pk

    def listed(**params) -> list[int]:
        return [int(pk) for pk in rows(client.get(LIST, params).content.decode())]

    # Paola's: the sign-in and the formula's creation (01/04, newest first), the rename
    # (31/03), the creation (30/03).
    assert listed(user=paola) == [login, formula, renamed, created]
    assert listed(user=paola, action="update") == [renamed]
    assert listed(user=paola, type="ledger.customer", **{"from": "2026-03-31"}) == [
        formula,
        renamed,
    ]
    # 30/03 to 31/03, both days whole.
    assert listed(user=paola, **{"from": "2026-03-30", "to": "2026-03-31"}) == [renamed, created]
    # Nonsense is ignored, not an error.
    assert listed(user=paola, action="nonsense", **{"from": "yesterday"}) == [
        login,
        formula,
        renamed,
        created,
    ]


def test_the_detail_shows_before_and_after(client, company, trail):
    logged_in(client, company, Role.AUDITOR)
    renamed = entry_of(trail["customer"], "update")
    html = client.get(reverse("audit:entry", args=[renamed.pk])).content.decode()
    row = re.search(r'<tr class="audit-diff__changed">(.*?)</tr>', html, re.S).group(1)
    assert '<th scope="row">name</th>' in row
    assert "Rossi S.r.l." in row and "Rossi &amp; Figli S.r.l." in row
    assert "paola" in html


def test_the_csv_export_neutralises_formulas(client, company, trail):
    logged_in(client, company, Role.ADMINISTRATOR, language="en")
    response = client.get(EXPORT, {"type": "ledger.customer"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="audit-acme-' in response["Content-Disposition"]
    content = b"".join(response.streaming_content).decode()
    lines = list(csv.reader(io.StringIO(content)))
    assert lines[0][:6] == ["When", "User", "Action", "Object type", "Object id", "Object"]
    # The three customer entries of acme, newest first; the one whose text starts with "="
    # is kept as text by a leading apostrophe.
    assert [line[2] for line in lines[1:]] == ["Created", "Changed", "Created"]
    assert [line[5] for line in lines[1:]] == [
        "'=1+1 Formula",
        "001 Rossi & Figli S.r.l.",
        "001 Rossi S.r.l.",
    ]
    assert lines[1][0] == "2026-04-01T10:00:00+02:00"  # 08:00 UTC, in Rome
    assert lines[1][1] == "paola"
    assert '"code": "=1+1"' in lines[1][7]
    assert (lines[2][6], lines[2][7]) == (
        '{"name": "Rossi S.r.l."}',
        '{"name": "Rossi & Figli S.r.l."}',
    )
