"""The customer's page as a 360 (its own aging, the whole history with its filters) and the
item's page with the item's history.

On the story of tests/workspace/test_history (Rossi, 02/03 to 10/04/2026), seen on
15/04/2026: F1 300,00 due 01/02 (73 days late), F2 550,00 due 01/03 (45), F3 300,00 due
15/03 (31) are open.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incassa.comms.models import Message
from incassa.ledger.models import Role
from incassa.workspace.models import Activity, Case
from tests.web.test_customers import get, it, logged_in, section
from tests.workspace.test_history import item, operator, story  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 4, 15, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


URL = reverse("web:customer", args=["R01"])


def kinds(html: str) -> list[str]:
    return re.findall(r'<li class="timeline__entry timeline__entry--(\w+)">', html)


def chips(html: str) -> dict[str, tuple[str, bool]]:
    """Each filter's link: its count, and whether it is the chosen one."""
    found = re.findall(
        r'<a class="chips__chip" href="\?([^"#]*)#history-title"( aria-current="true")?>'
        r'[^<]*<span class="chips__count">(\d+)</span>',
        html,
    )
    return {query: (count, bool(current)) for query, current, count in found}


def test_the_customers_aging(client, company, story):  # noqa: F811
    html = get(logged_in(client, company), URL)
    aging = section(html, "aging-title")
    rows = re.findall(
        r'<th scope="row"><span class="swatch swatch--(\w+)"[^>]*></span>[^<]*</th>\s*'
        r'<td class="num">(\d+)</td>\s*<td class="num">([^<]*)</td>',
        aging,
    )
    assert rows == [
        ("not_due", "0", "0,00\xa0€"),
        ("1_30", "0", "0,00\xa0€"),
        ("31_60", "2", "850,00\xa0€"),  # F2 550,00 (45 days) + F3 300,00 (31 days)
        ("61_90", "1", "300,00\xa0€"),  # F1 (73 days)
        ("91_180", "0", "0,00\xa0€"),
        ("over_180", "0", "0,00\xa0€"),
    ]
    # The bars: 850 / 1.150 = 73,9% and 300 / 1.150 = 26,1%.
    assert 'bars__bar--31_60" style="width: 73.9%"' in aging
    assert 'bars__bar--61_90" style="width: 26.1%"' in aging
    assert "1.150,00\xa0€" in aging  # the total


def test_no_aging_without_open_items(client, company):
    from tests.factories import ReceivableFactory

    ReceivableFactory(company=company, customer__code="PAID", status="closed")
    html = get(logged_in(client, company), reverse("web:customer", args=["PAID"]))
    assert "aging-title" not in html


def test_the_whole_history_newest_first_with_links(client, company, story):  # noqa: F811
    html = get(logged_in(client, company), URL)
    history = section(html, "history-title")
    found = kinds(history)
    assert len(found) == 28
    assert found[:3] == ["case_closed", "settlement_closed", "hold_released"]
    assert found[-3:] == ["item_created"] * 3
    for kind in ("payment", "message", "activity", "promise", "dispute", "plan", "instalment"):
        assert kind in found, kind
    # The message as it went out, with its PDF; the case with its dossier.
    message = Message.objects.get(status="sent")
    assert f'href="{reverse("web:message_document", args=[message.pk])}"' in history
    assert "Sollecito di pagamento" in history
    case = Case.objects.get()
    assert f'href="{reverse("web:case_dossier_pdf", args=[case.pk])}"' in history
    assert f'href="{reverse("web:case_dossier_csv", args=[case.pk])}"' in history
    # Who did it, and the items each entry concerns, linked.
    assert "Maria Bianchi" in history
    assert f'href="{reverse("web:item", args=[item("F1").pk])}"' in history
    # The activity's time in Rome, the payment's amount.
    assert '06/03/2026 <span class="timeline__time">10:00</span>' in history
    assert "400,00\xa0€" in history


def test_the_filters(client, company, story):  # noqa: F811
    logged_in(client, company)
    html = get(client, URL)
    assert chips(html) == {
        "": ("28", True),
        "history=ledger": ("8", False),
        "history=communications": ("1", False),
        "history=activities": ("1", False),
        "history=agreements": ("10", False),
        "history=dunning": ("8", False),
    }
    history = section(get(client, URL, {"history": "communications"}), "history-title")
    assert kinds(history) == ["message"]
    assert chips(history)["history=communications"] == ("1", True)
    assert chips(history)[""] == ("28", False)
    history = section(get(client, URL, {"history": "ledger"}), "history-title")
    # Newest first: F1's payment (31/03), F3 reopened and F2 increased (25/03, one import),
    # F3 closed (20/03), F1's payment (10/03), the three items created (02/03).
    assert kinds(history)[0] == "payment"
    assert sorted(kinds(history)[1:3]) == ["amount_increased", "item_reopened"]
    assert kinds(history)[3:] == ["item_closed", "payment", *["item_created"] * 3]
    activities = section(get(client, URL, {"history": "activities"}), "history-title")
    assert kinds(activities) == ["activity"]
    assert it("Call") in activities
    # An unknown filter shows everything.
    assert len(kinds(section(get(client, URL, {"history": "x"}), "history-title"))) == 28


def test_a_long_history_shows_the_newest_first_and_the_rest_on_request(
    client,
    company,
    story,  # noqa: F811
    monkeypatch,
):
    from incassa.web import customers as pages

    monkeypatch.setattr(pages, "TIMELINE_SHOWN", 3)
    logged_in(client, company)
    history = section(get(client, URL), "history-title")
    assert kinds(history) == ["case_closed", "settlement_closed", "hold_released"]
    assert 'href="?timeline=all#history-title"' in history
    assert len(kinds(section(get(client, URL, {"timeline": "all"}), "history-title"))) == 28
    # The whole history of one filter keeps the filter.
    history = section(get(client, URL, {"history": "ledger"}), "history-title")
    assert len(kinds(history)) == 3
    assert 'href="?history=ledger&amp;timeline=all#history-title"' in history
    everything = section(
        get(client, URL, {"history": "ledger", "timeline": "all"}), "history-title"
    )
    assert len(kinds(everything)) == 8
    assert "timeline=all" not in everything  # nothing more to show


def test_the_items_history(client, company, story):  # noqa: F811
    logged_in(client, company, Role.AUDITOR)
    url = reverse("web:item", args=[item("F3").pk])
    history = section(get(client, url), "history-title")
    # Newest first: the case closed (10/04) and opened (02/04) with its hold, reopened
    # (25/03), the dispute resolved with its hold released and the item closed (20/03),
    # the dispute opened with its hold (11/03), created (02/03).
    assert kinds(history) == [
        "case_closed",
        "case",
        "hold_placed",
        "item_reopened",
        "dispute_resolved",
        "hold_released",
        "item_closed",
        "dispute",
        "hold_placed",
        "item_created",
    ]
    assert chips(history)["history=agreements"] == ("4", False)
    agreements = section(get(client, url, {"history": "agreements"}), "history-title")
    assert kinds(agreements) == ["case_closed", "case", "dispute_resolved", "dispute"]


def test_the_page_reads_no_more_for_a_longer_history(client, company, story, operator):  # noqa: F811
    logged_in(client, company)
    client.get(URL)  # the session and the caches settle
    with CaptureQueriesContext(connection) as before:
        client.get(URL)
    for minute in range(10):
        Activity.objects.create(
            company=company,
            customer=story,
            kind="note",
            happened_at=dt.datetime(2026, 4, 14, 8, minute, tzinfo=dt.UTC),
            operator=operator,
        ).items.set([item("F1"), item("F2")])
    with CaptureQueriesContext(connection) as after:
        html = client.get(URL).content.decode()
    assert len(kinds(section(html, "history-title"))) == 38
    assert len(after) == len(before)
