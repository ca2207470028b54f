"""The customers list, a customer's page and an item's page, and the actions on them."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from incassa.comms.services import outbox_deliver
from incassa.dunning import services as dunning
from incassa.dunning.models import (
    Action,
    ActionStatus,
    CategoryStrategy,
    CustomerStrategy,
    Exclusion,
    Hold,
    ItemStep,
    Step,
    Strategy,
    Suspension,
)
from incassa.ledger.demo import vat_number
from incassa.ledger.models import (
    Customer,
    CustomerCategory,
    OpenBalanceState,
    Receivable,
    Role,
    SalesAgent,
)
from incassa.ledger.services import receivables_import
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    MembershipFactory,
    ReceivableFactory,
    UserFactory,
)

# Today is 01/04/2026 in Rome for every test here.
TODAY = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 4, 1)
CUSTOMERS = reverse("web:customers")
HEADER = (
    "Codice cliente;Ragione sociale;Partita IVA;Email;Agente;Categoria;"
    "Numero documento;Data scadenza;Importo"
)
# Serial numbers chosen so that no VAT number holds a customer code ("003").
VAT = {
    code: vat_number(serial, office=15)
    for code, serial in [("001", 1234567), ("002", 2345678), ("003", 3456789), ("004", 4567891)]
}


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


def snapshot(tmp_path: Path, company, as_of: dt.date, rows: list[str]) -> None:
    path = tmp_path / f"scadenziario-{as_of}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    receivables_import(company=company, path=path, as_of=as_of)


# Who each customer is: name, VAT number, email, sales agent, category.
PEOPLE = {
    "001": f"Rossi S.r.l.;{VAT['001']};amm@rossi.it;Mario Rossi;INGROSSO",
    "002": f"Bianchi S.p.A.;{VAT['002']};amm@bianchi.it;Anna Verdi;DETTAGLIO",
    "003": f"Verdi S.n.c.;{VAT['003']};amm@verdi.it;Mario Rossi;DETTAGLIO",
    "004": f"Neri S.r.l.;{VAT['004']};amm@neri.it;Anna Verdi;INGROSSO",
}


def rows(f1_amount: str = "1.000,00", with_f5: bool = True) -> list[str]:
    """The items: customer, document, due date, open amount."""
    items = [
        ("001", "F1", "01/03/2026", f1_amount),
        ("001", "F2", "30/04/2026", "500,00"),
        ("002", "F3", "15/02/2026", "2.000,00"),
        ("003", "F4", "10/04/2026", "300,00"),
    ]
    if with_f5:
        items.append(("004", "F5", "01/02/2026", "100,00"))
    return [f"{code};{PEOPLE[code]};{doc};{due};{amount}" for code, doc, due, amount in items]


@pytest.fixture
def ledger(tmp_path, company):
    """The ledger of 01/04/2026, built by the real import and engine.

    20/03: five items imported; Mario Rossi has an email, Anna Verdi none. The engine
    sends the agent notice for F1 (19 days late) and skips it for F3 and F5 (Anna cannot be
    reached); the outbox sends F1's. The courtesy call needs approval here.
    24/03: the courtesy call (7 days, gap 4) for F1, F3 and F5: three actions waiting.
    31/03: F1 partly paid (1,000.00 -> 800.00), F5 paid (gone): its call is cancelled.
    """
    snapshot(tmp_path, company, dt.date(2026, 3, 20), rows())
    SalesAgent.objects.filter(company=company, name="Mario Rossi").update(email="mario@agenzia.it")
    Step.objects.filter(strategy__company=company, code="courtesy-call").update(needs_approval=True)
    dunning.dunning_run(company=company, as_of=dt.date(2026, 3, 20))
    outbox_deliver(company=company, today=dt.date(2026, 3, 20))
    dunning.dunning_run(company=company, as_of=dt.date(2026, 3, 24))
    snapshot(tmp_path, company, dt.date(2026, 3, 31), rows("800,00", with_f5=False))
    return company


def member(company, role: str, **user_fields):
    user = UserFactory(**({"username": f"{role.replace('_', '-')}-web"} | user_fields))
    MembershipFactory(user=user, company=company, role=role)
    return user


def logged_in(client, company, role: str = Role.CREDIT_MANAGER, language: str = "it", **fields):
    client.force_login(member(company, role, **fields))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def get(client, url: str, params: dict | None = None, status: int = 200) -> str:
    response = client.get(url, params or {})
    assert response.status_code == status, response.content.decode()[:500]
    return response.content.decode()


def customer_url(code: str) -> str:
    return reverse("web:customer", args=[code])


def item_of(company, document: str) -> Receivable:
    return Receivable.objects.get(company=company, document_number=document)


def item_url(company, document: str) -> str:
    return reverse("web:item", args=[item_of(company, document).pk])


def codes_listed(html: str) -> list[str]:
    return re.findall(r'<span class="debtor__code">([^<]+)</span>', html)


def shown_messages(response) -> list[str]:
    """The messages the page redirected to shows (which uses them up)."""
    html = get(response.client, response["Location"])
    found = re.findall(r'<div class="notice notice--\w+" role="\w+">\s*<p>(.*?)</p>', html, re.S)
    return [unescape(text) for text in found]


def post(client, url: str, data: dict, status: int = 302):
    response = client.post(url, data)
    assert response.status_code == status, response.content.decode()[:500]
    return response


def pending_action(company, code: str) -> Action:
    return Action.objects.get(company=company, customer__code=code, step__code="courtesy-call")


# --------------------------------------------------------------------------------------
# Login, companies and roles
# --------------------------------------------------------------------------------------


def test_login_is_required(client, ledger):
    urls = [CUSTOMERS, customer_url("001"), item_url(ledger, "F1")]
    for url in urls:
        for response in (client.get(url), client.post(url, {"op": "exclude", "reason": "x"})):
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("login"))
    assert not Exclusion.objects.exists()


def test_a_user_without_company_is_refused(client, ledger):
    client.force_login(UserFactory())
    for url in [CUSTOMERS, customer_url("001"), item_url(ledger, "F1")]:
        assert client.get(url).status_code == 403


def test_another_companys_customers_and_items_are_404(client, ledger):
    other = CompanyFactory(code="altra", name="Altra S.r.l.")
    # The same customer code in another company, and an item there.
    foreign = ReceivableFactory(company=other, customer__code="001", customer__name="Segreto")
    foreign_only = ReceivableFactory(company=other, customer__code="999")
    logged_in(client, ledger)
    assert codes_listed(get(client, CUSTOMERS, {"q": "Segreto"})) == []
    assert "Segreto" not in get(client, customer_url("001"))  # ours, not theirs
    get(client, customer_url("999"), status=404)
    get(client, reverse("web:item", args=[foreign.pk]), status=404)
    get(client, reverse("web:item", args=[foreign_only.pk]), status=404)
    get(client, reverse("web:item", args=[999_999]), status=404)
    # Acting on them is a 404 too, and changes nothing.
    post(client, customer_url("999"), {"op": "exclude", "reason": "x"}, status=404)
    post(client, reverse("web:item", args=[foreign.pk]), {"op": "hold", "kind": "manual"}, 404)
    assert not Exclusion.objects.exists()
    assert not Hold.objects.exists()
    # Choosing the other company by its code is refused as on the dashboard.
    get(client, CUSTOMERS, {"company": "altra"}, status=404)


def test_an_action_or_a_hold_of_another_customer_is_404(client, ledger):
    logged_in(client, ledger)
    theirs = pending_action(ledger, "002")
    post(client, customer_url("001"), {"op": "approve", "action": theirs.pk}, status=404)
    post(client, customer_url("001"), {"op": "approve", "action": "nonsense"}, status=404)
    hold = dunning.hold_place(receivable=item_of(ledger, "F3"), kind="manual", starts_on=DAY)
    post(client, item_url(ledger, "F1"), {"op": "release", "hold": hold.pk}, status=404)
    theirs.refresh_from_db()
    hold.refresh_from_db()
    assert theirs.status == ActionStatus.CREATED
    assert hold.released_on is None


READ_ONLY = [Role.SALES_AGENT, Role.AUDITOR]
POSTS = [
    ("customer", {"op": "exclude", "reason": "Cliente strategico"}),
    ("customer", {"op": "include"}),
    ("customer", {"op": "suspend", "until": "2026-05-01", "reason": "Ferie"}),
    ("customer", {"op": "approve"}),
    ("customer", {"op": "reject", "reason": "No"}),
    ("customer", {"op": "done"}),
    ("item", {"op": "hold", "kind": "dispute", "reason": "Merce difettosa"}),
    ("item", {"op": "release"}),
]


@pytest.mark.parametrize("role", READ_ONLY)
@pytest.mark.parametrize(("page", "data"), POSTS)
def test_read_only_roles_may_not_act(client, ledger, role, page, data):
    user = member(ledger, role)
    # The sales agent's own customer, so that the 403 is about the role, not visibility.
    SalesAgent.objects.filter(company=ledger, name="Mario Rossi").update(user=user)
    client.force_login(user)
    action = pending_action(ledger, "001")
    hold = dunning.hold_place(receivable=item_of(ledger, "F1"), kind="manual", starts_on=DAY)
    dunning.customer_exclude(customer=Customer.objects.get(code="001"), reason="Prima")
    url = customer_url("001") if page == "customer" else item_url(ledger, "F1")
    response = client.post(url, {**data, "action": action.pk, "hold": hold.pk})
    assert response.status_code == 403
    # Nothing changed: the action still waits, the one hold is still in force, the
    # exclusion is the one made above, no suspension.
    action.refresh_from_db()
    hold.refresh_from_db()
    assert action.status == ActionStatus.CREATED
    assert hold.released_on is None
    assert Hold.objects.count() == 1
    assert Exclusion.objects.get().reason == "Prima"
    assert not Suspension.objects.exists()
    # They still read the page, without the forms.
    html = get(client, url)
    assert 'name="op"' not in html


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.CREDIT_MANAGER, Role.COLLECTOR])
def test_acting_roles_see_the_forms_and_may_act(client, ledger, role):
    logged_in(client, ledger, role)
    assert 'value="exclude"' in get(client, customer_url("001"))
    assert 'value="hold"' in get(client, item_url(ledger, "F1"))
    post(client, customer_url("001"), {"op": "exclude", "reason": "Cliente strategico"})
    assert Exclusion.objects.get().customer.code == "001"


def test_superusers_act_in_every_company(client, ledger):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    post(client, customer_url("002"), {"op": "exclude", "reason": "Gruppo"})
    assert Exclusion.objects.get().customer.code == "002"


def test_a_sales_agent_sees_only_their_customers(client, ledger):
    user = member(ledger, Role.SALES_AGENT)
    SalesAgent.objects.filter(company=ledger, name="Mario Rossi").update(user=user)
    client.force_login(user)
    # Mario Rossi is the agent of 001 and 003; 002 and 004 are Anna Verdi's.
    html = get(client, CUSTOMERS)
    assert codes_listed(html) == ["001", "003"]
    assert "Anna Verdi" not in html  # not even in the agents filter
    assert codes_listed(get(client, CUSTOMERS, {"q": "Bianchi"})) == []
    # Asking for the other agent's customers by filter shows none of them.
    anna = SalesAgent.objects.get(company=ledger, name="Anna Verdi")
    assert codes_listed(get(client, CUSTOMERS, {"agent": anna.pk})) == []
    get(client, customer_url("001"))
    get(client, item_url(ledger, "F1"))
    get(client, customer_url("002"), status=404)
    get(client, item_url(ledger, "F3"), status=404)


def test_a_sales_agent_without_customers_sees_none(client, ledger):
    logged_in(client, ledger, Role.SALES_AGENT)
    assert codes_listed(get(client, CUSTOMERS)) == []
    get(client, customer_url("001"), status=404)


def test_auditors_see_every_customer(client, ledger):
    logged_in(client, ledger, Role.AUDITOR)
    assert codes_listed(get(client, CUSTOMERS)) == ["002", "001", "003", "004"]
    get(client, customer_url("002"))


def test_posts_need_the_csrf_token(ledger):
    client = Client(enforce_csrf_checks=True)
    logged_in(client, ledger)
    response = client.post(customer_url("001"), {"op": "exclude", "reason": "x"})
    assert response.status_code == 403
    assert not Exclusion.objects.exists()


# --------------------------------------------------------------------------------------
# The customers list
# --------------------------------------------------------------------------------------


def test_list_is_ranked_by_overdue_amount(client, ledger):
    html = get(logged_in(client, ledger), CUSTOMERS)
    # Overdue on 01/04: 002 owes F3 (2,000.00, due 15/02); 001 owes F1 (800.00 after the
    # partial payment, due 01/03) and F2 (500.00, not due until 30/04); 003 owes only F4,
    # not yet due (300.00); 004 paid F5 and owes nothing.
    assert codes_listed(html) == ["002", "001", "003", "004"]
    assert "4 clienti" in html
    row = html[html.index(">001<") :]
    row = row[: row.index("</tr>")]
    assert "INGROSSO" in row
    assert "Mario Rossi" in row
    assert "1.300,00\xa0€" in row  # open: 800.00 + 500.00
    assert "800,00\xa0€" in row  # overdue: F1 only
    assert "01/03/2026" in row  # the oldest due date, F1's
    neri = html[html.index(">004<") :]
    neri = neri[: neri.index("</tr>")]
    assert neri.count("0,00\xa0€") == 2  # open and overdue
    assert "—" in neri  # no oldest due date: nothing open
    assert f'href="{customer_url("001")}"' in html


def test_list_in_english(client, ledger):
    html = get(logged_in(client, ledger, language="en"), CUSTOMERS)
    assert "4 customers" in html
    assert "€1,300.00" in html
    assert "Overdue only" in html


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("rossi", ["001"]),  # part of the name, any case (the agent's name is not searched)
        ("BIANCHI s.p.a.", ["002"]),
        ("003", ["003"]),  # the code
        ("00", ["002", "001", "003", "004"]),  # part of every code
        (VAT["002"], ["002"]),  # the VAT number
        (f"IT{VAT['004']}", ["004"]),  # with its country prefix
        ("nessuno", []),
        ("100%", []),  # LIKE's wildcards are taken literally
    ],
)
def test_list_search(client, ledger, search, expected):
    html = get(logged_in(client, ledger), CUSTOMERS, {"q": search})
    assert codes_listed(html) == expected
    if not expected:
        assert "Nessun cliente corrisponde." in html


def test_list_filters(client, ledger):
    logged_in(client, ledger)
    retail = CustomerCategory.objects.get(company=ledger, code="DETTAGLIO")
    mario = SalesAgent.objects.get(company=ledger, name="Mario Rossi")
    # DETTAGLIO: 002 and 003; Mario Rossi: 001 and 003; overdue: 002 and 001 (003 owes
    # only F4, due 10/04; 004 owes nothing).
    assert codes_listed(get(client, CUSTOMERS, {"category": retail.pk})) == ["002", "003"]
    assert codes_listed(get(client, CUSTOMERS, {"agent": mario.pk})) == ["001", "003"]
    assert codes_listed(get(client, CUSTOMERS, {"overdue": "1"})) == ["002", "001"]
    html = get(client, CUSTOMERS, {"category": retail.pk, "overdue": "1"})
    assert codes_listed(html) == ["002"]
    assert "1 cliente" in html
    assert codes_listed(get(client, CUSTOMERS, {"agent": mario.pk, "q": "verdi"})) == ["003"]
    # The chosen filters stay chosen; nonsense is ignored.
    html = get(client, CUSTOMERS, {"category": retail.pk, "overdue": "1"})
    assert f'value="{retail.pk}" selected' in html
    assert 'value="1" checked' in html
    assert codes_listed(get(client, CUSTOMERS, {"category": "x", "page": "y"})) == [
        "002",
        "001",
        "003",
        "004",
    ]


def balances_unknown(company) -> None:
    """Customers and items made by factories, not by an import (whose scores refresh the
    customers' precomputed balances): the lists must compute live, as they do when the
    balances are older than the latest snapshot."""
    OpenBalanceState.objects.filter(company=company).delete()


def test_list_pages(client, ledger):
    CustomerFactory.create_batch(60, company=ledger)
    balances_unknown(ledger)
    logged_in(client, ledger)
    # 64 customers: our four first (002, 001, 003 owe something; 004 sorts before the
    # factory's codes C00001... by code), then 60 owing nothing; 50 per page.
    html = get(client, CUSTOMERS)
    assert len(codes_listed(html)) == 50
    assert codes_listed(html)[:4] == ["002", "001", "003", "004"]
    assert "Pagina 1 di 2 (1–50)" in html
    assert 'rel="next" href="?page=2"' in html
    html = get(client, CUSTOMERS, {"page": 2})
    assert len(codes_listed(html)) == 14
    assert "Pagina 2 di 2 (51–64)" in html
    assert 'rel="prev" href="?page=1"' in html
    # Past the last page: the last page.
    assert "Pagina 2 di 2" in get(client, CUSTOMERS, {"page": 99})
    # The filters go along with the pages: "C0" matches the 60 factory codes only.
    html = get(client, CUSTOMERS, {"q": "C0"})
    assert 'href="?q=C0&amp;page=2"' in html
    assert len(codes_listed(get(client, CUSTOMERS, {"q": "C0", "page": 2}))) == 10


def test_queries_do_not_grow_with_the_rows(client, ledger, django_assert_num_queries):
    CustomerFactory.create_batch(60, company=ledger)
    rossi = Customer.objects.get(code="001")
    ReceivableFactory.create_batch(30, company=ledger, customer=rossi)
    balances_unknown(ledger)
    logged_in(client, ledger)
    # Session, user, companies, role; whether the open balances are fresh (not computed
    # here: the ranking is live); then the count, the ranking, the page's customers, their
    # oldest due dates, their credit standing, and the categories and agents of the
    # filters.
    with django_assert_num_queries(12):
        client.get(CUSTOMERS)
    # With "overdue only" the ranking brings the count along.
    with django_assert_num_queries(11):
        client.get(CUSTOMERS, {"overdue": "1", "q": "s"})
    # Session, user, companies, role, the customer; its strategy (own, category's,
    # default), suspensions, exclusion; totals; open items, their progress, steps and
    # holds; waiting actions; the messages sent; the credit standing and its trend (not
    # scored yet: no weights to read); its last activities (the aging comes from the open
    # items read above); the history: the
    # customer's items, the union of the item tables, the dunning timeline's events, holds
    # and steps, messages, activities, promises, disputes, plans (no instalments to read
    # without plans), settlements and cases; the agreements' panel: promises, disputes,
    # plans, settlements and cases.
    # 32 items or 2 alike.
    with django_assert_num_queries(37):
        client.get(customer_url("001"))
    # Session, user, companies, role, the item; its progress, steps and holds; the history:
    # the dunning timeline's events, holds and steps, the messages that listed it,
    # activities, promises, disputes, plans, settlements and cases; the e-invoice it came
    # with, the bank payments set against it, and whether the ERP still shows it open.
    url = item_url(ledger, "F1")
    with django_assert_num_queries(21):
        client.get(url)


def test_a_customer_code_with_a_slash(client, company):
    ReceivableFactory(company=company, customer__code="A/1", customer__name="Barra S.r.l.")
    logged_in(client, company)
    assert f'href="{customer_url("A/1")}"' in get(client, CUSTOMERS)
    assert customer_url("A/1") == "/customers/A/1/"
    assert "Barra S.r.l." in get(client, customer_url("A/1"))


def test_navigation_and_dashboard_links(client, ledger):
    logged_in(client, ledger)
    html = get(client, reverse("web:dashboard"))
    assert f'href="{CUSTOMERS}"' in html
    assert f'href="{customer_url("002")}"' in html  # the largest debtor
    html = get(client, CUSTOMERS)
    assert f'href="{CUSTOMERS}" aria-current="page"' in html
    assert f'href="{reverse("web:dashboard")}"' in html


# --------------------------------------------------------------------------------------
# A customer's page
# --------------------------------------------------------------------------------------


def section(html: str, title_id: str) -> str:
    start = html.index(f'id="{title_id}"')
    return html[start : html.index("</section>", start)]


def test_customer_page_in_italian(client, ledger):
    customer = Customer.objects.get(code="001")
    Customer.objects.filter(pk=customer.pk).update(
        pec="rossi@pec.it",
        phone="051 123456",
        address="Via Emilia 10",
        postal_code="40100",
        city="Bologna",
        province="BO",
        fiscal_code=VAT["001"],
        credit_limit=Decimal("1000.00"),
    )
    html = get(logged_in(client, ledger), customer_url("001"))
    assert "Rossi S.r.l." in html
    data = section(html, "contact-title")
    for text in [
        VAT["001"],
        "amm@rossi.it",
        "rossi@pec.it",
        'href="tel:051123456"',
        "Via Emilia 10",
        "40100 Bologna (BO)",
        "INGROSSO",
        "Mario Rossi",
        "Standard",
        "la strategia predefinita dell&#x27;azienda",
        "Attivo",
    ]:
        assert text in data, text
    # Open 1,300.00 of a 1,000.00 limit: 130% used.
    assert "1.300,00\xa0€" in html
    assert "130% usato" in html
    assert "800,00\xa0€" in html  # overdue: F1
    assert "2 partite aperte" in html

    items = section(html, "items-title")
    f1 = items[items.index(">F1<") : items.index(">F2<")]
    assert "01/03/2026" in f1
    assert ">31<" in f1  # days overdue: 01/03 to 01/04
    assert "800,00\xa0€" in f1
    assert "Telefonata di cortesia" in f1
    assert "24/03/2026" in f1
    assert "Creato" in f1
    f2 = items[items.index(">F2<") :]
    assert "—" in f2  # F2 is not due and reached no step

    actions = section(html, "actions-title")
    assert "Telefonata di cortesia" in actions
    assert "In attesa di approvazione" in actions
    assert 'value="approve"' in actions
    assert 'value="done"' not in actions  # approve it first


def it(msgid: str) -> str:
    """A text as the Italian pages show it (whether or not it is translated yet)."""
    with translation.override("it"):
        return gettext(msgid)


def test_customer_history_in_italian(client, ledger):
    html = get(logged_in(client, ledger), customer_url("001"))
    history = section(html, "history-title")
    # Newest first: the email to the agent as it went out (the outbox delivered it at 11:00
    # in Rome on 01/04, the clock of these tests), F1's partial payment of 200,00 (31/03),
    # its courtesy call waiting for approval (24/03), the agent notice, sent (20/03), and
    # the two items first seen (20/03).
    entries = re.findall(r'<li class="timeline__entry timeline__entry--(\w+)">', history)
    assert entries == ["message", "payment", "step", "step", "item_created", "item_created"]
    order = [
        '01/04/2026 <span class="timeline__time">11:00</span>',
        "Pagamenti in ritardo del cliente Rossi S.r.l.",  # the email's subject
        f"<strong>{it('Payment')}</strong>",
        "200,00\xa0€",  # 1.000,00 - 800,00
        it("open amount from %(before)s to %(after)s")
        % {"before": "1.000,00\xa0€", "after": "800,00\xa0€"},
        "Telefonata di cortesia",
        "Avviso all&#x27;agente",
        "Email all&#x27;agente",
        "19 giorni di ritardo",  # F1 on 20/03
    ]
    positions = [history.index(text) for text in order]
    assert positions == sorted(positions)
    assert history.count(">Creato<") == 1  # the call's step
    assert history.count(it("New item")) == 2  # F1's and F2's creation
    assert "31/03/2026" in history
    assert f'href="{item_url(ledger, "F2")}"' in history


def test_history_of_skipped_cancelled_and_closed(client, ledger):
    logged_in(client, ledger)
    history = section(get(client, customer_url("004")), "history-title")
    # Neri's agent has no email: the agent notice was skipped, with the engine's note; the
    # courtesy call was cancelled when the 31/03 snapshot no longer listed F5 (paid).
    for text in [
        it("Closed: paid"),
        "Annullato",
        "Saltato",
        "the customer has no sales agent with an email address",
    ]:
        assert text in history, text
    html = get(client, customer_url("004"))
    assert "Questo cliente non ha partite aperte." in html
    assert "actions-title" not in html  # nothing waiting


def test_customer_page_in_english(client, ledger):
    html = get(logged_in(client, ledger, language="en"), customer_url("001"))
    for text in [
        "€1,300.00",
        "the company&#x27;s default strategy",
        "Payment",
        "open amount from €1,000.00 to €800.00",
        "Sent",
        "Email to the sales agent",
        "Waiting for approval",
        "History",
    ]:
        assert text in html, text
    assert "Inviato" not in html


def test_strategy_of_the_category_and_of_the_customer(client, ledger):
    retail = CustomerCategory.objects.get(company=ledger, code="DETTAGLIO")
    gentle = Strategy.objects.create(company=ledger, code="gentle", name="Gentile")
    strict = Strategy.objects.create(company=ledger, code="strict", name="Severa")
    CategoryStrategy.objects.create(category=retail, strategy=gentle)
    CustomerStrategy.objects.create(customer=Customer.objects.get(code="003"), strategy=strict)
    logged_in(client, ledger)
    data = section(get(client, customer_url("002")), "contact-title")  # retail
    assert "Gentile" in data
    assert "la strategia della sua categoria" in data
    data = section(get(client, customer_url("003")), "contact-title")  # retail, own override
    assert "Severa" in data
    assert "la strategia propria del cliente" in data


# --------------------------------------------------------------------------------------
# Actions on a customer's page
# --------------------------------------------------------------------------------------


def test_exclude_and_include(client, ledger):
    logged_in(client, ledger)
    url = customer_url("001")
    response = post(client, url, {"op": "exclude", "reason": "  "})
    assert shown_messages(response) == ["Motivo: Questo campo è obbligatorio."]
    assert not Exclusion.objects.exists()

    response = post(client, url, {"op": "exclude", "reason": "Cliente strategico"})
    assert response["Location"] == url
    assert shown_messages(response) == ["Il cliente è escluso dai solleciti."]
    exclusion = Exclusion.objects.get(customer__code="001")
    assert exclusion.reason == "Cliente strategico"
    assert exclusion.created_by.username == "credit-manager-web"
    html = get(client, url)
    assert "Escluso dai solleciti" in html
    assert "Cliente strategico" in html
    assert 'value="include"' in html

    response = post(client, url, {"op": "include"})
    assert shown_messages(response) == ["Il cliente è di nuovo incluso nei solleciti."]
    assert not Exclusion.objects.exists()
    response = post(client, url, {"op": "include"})
    assert shown_messages(response) == ["Il cliente non era escluso."]


def test_suspend(client, ledger):
    logged_in(client, ledger)
    url = customer_url("001")
    response = post(client, url, {"op": "suspend", "until": "2026-04-01", "reason": "Ferie"})
    assert shown_messages(response) == ["Fino al: Scegli un giorno successivo a oggi."]
    response = post(client, url, {"op": "suspend", "until": "2026-05-01", "reason": ""})
    assert shown_messages(response) == ["Motivo: Questo campo è obbligatorio."]
    assert not Suspension.objects.exists()

    response = post(client, url, {"op": "suspend", "until": "2026-05-01", "reason": "Ferie"})
    assert shown_messages(response) == ["Il cliente è sospeso fino al 01/05/2026."]
    suspension = Suspension.objects.get(customer__code="001")
    assert (suspension.starts_on, suspension.until) == (DAY, dt.date(2026, 5, 1))
    html = get(client, url)
    assert "Sospeso fino al 01/05/2026" in html
    assert "Ferie" in html
    # The engine leaves the customer alone meanwhile: F1 would be due its first reminder
    # on 01/04 (courtesy call 24/03 + 8 days) once the call is done.
    dunning.action_approve(action=pending_action(ledger, "001"))
    dunning.action_mark_done(action=pending_action(ledger, "001"))
    dunning.dunning_run(company=ledger, as_of=DAY)
    assert not ItemStep.objects.filter(receivable__customer__code="001", reached_on=DAY)


def test_approve_then_mark_done(client, ledger):
    logged_in(client, ledger)
    url = customer_url("001")
    action = pending_action(ledger, "001")
    response = post(client, url, {"op": "done", "action": action.pk})
    assert shown_messages(response) == ["Prima approva l'azione."]

    response = post(client, url, {"op": "approve", "action": action.pk})
    assert shown_messages(response) == ["Azione approvata."]
    action.refresh_from_db()
    assert action.status == ActionStatus.APPROVED
    assert action.decided_by.username == "credit-manager-web"
    items = section(get(client, url), "items-title")
    assert "Approvato" in items  # F1's step follows its action

    # Approving twice is the user's mistake, told as a message.
    response = post(client, url, {"op": "approve", "action": action.pk})
    assert shown_messages(response) == [
        "Si può approvare solo un'azione in attesa di approvazione."
    ]

    response = post(client, url, {"op": "done", "action": action.pk})
    assert shown_messages(response) == ["Azione segnata come fatta."]
    action.refresh_from_db()
    assert action.status == ActionStatus.DONE  # a call: done, not sent
    history = section(get(client, url), "history-title")
    assert "Fatto" in history
    assert "actions-title" not in get(client, url)  # nothing waiting any more
    response = post(client, url, {"op": "done", "action": action.pk})
    assert shown_messages(response) == ["Questa azione è già chiusa."]


def test_reject(client, ledger):
    logged_in(client, ledger)
    url = customer_url("002")
    action = pending_action(ledger, "002")
    response = post(client, url, {"op": "reject", "action": action.pk, "reason": ""})
    assert shown_messages(response) == ["Motivo: Questo campo è obbligatorio."]
    action.refresh_from_db()
    assert action.status == ActionStatus.CREATED

    data = {"op": "reject", "action": action.pk, "reason": "In trattativa con il cliente"}
    response = post(client, url, data)
    assert shown_messages(response) == ["Azione respinta."]
    action.refresh_from_db()
    assert action.status == ActionStatus.REJECTED
    assert action.note == "In trattativa con il cliente"
    history = section(get(client, url), "history-title")
    assert "Respinto" in history
    assert "In trattativa con il cliente" in history
    response = post(client, url, data)
    assert shown_messages(response) == ["Si può respingere solo un'azione non ancora partita."]


def test_unknown_operation(client, ledger):
    logged_in(client, ledger)
    post(client, customer_url("001"), {"op": "delete"}, status=400)
    post(client, item_url(ledger, "F1"), {}, status=400)


# --------------------------------------------------------------------------------------
# An item's page and its holds
# --------------------------------------------------------------------------------------


def test_item_page(client, ledger):
    html = get(logged_in(client, ledger), item_url(ledger, "F1"))
    data = section(html, "item-title")
    for text in [
        "Rossi S.r.l.",
        "Fattura F1",
        "01/03/2026",  # due
        ">31<",  # days overdue on 01/04
        "800,00\xa0€",  # open after the partial payment
        "Aperta",
        "20/03/2026",  # first seen
        "31/03/2026",  # last changed
    ]:
        assert text in data, text
    dunning_panel = section(html, "step-title")
    assert "Telefonata di cortesia" in dunning_panel
    assert "Telefonata" in dunning_panel  # the channel
    assert "24/03/2026" in dunning_panel
    assert "Creato" in dunning_panel
    assert "Nessuno." in dunning_panel  # no hold
    history = section(html, "history-title")
    entries = re.findall(r"timeline__entry--(\w+)", history)
    # The email to the agent that listed F1, its payment, its two steps, its creation; not
    # F2's creation.
    assert entries == ["message", "payment", "step", "step", "item_created"]
    assert f'href="{customer_url("001")}"' in html


def test_closed_item_page(client, ledger):
    html = get(logged_in(client, ledger), item_url(ledger, "F5"))
    assert "Chiusa il" in html
    assert "31/03/2026" in section(html, "item-title")  # closed by the 31/03 snapshot
    assert "Annullato" in html
    assert 'value="hold"' not in html  # nothing to hold
    response = post(client, item_url(ledger, "F5"), {"op": "hold", "kind": "manual"})
    assert shown_messages(response) == ["Questa partita è chiusa: non c'è nulla da bloccare."]
    assert not Hold.objects.exists()


def test_place_and_release_a_hold(client, ledger):
    logged_in(client, ledger)
    url = item_url(ledger, "F4")  # due 10/04: its reminder before the due date is on 05/04
    response = post(client, url, {"op": "hold", "kind": "nonsense"})
    assert len(shown_messages(response)) == 1
    response = post(client, url, {"op": "hold", "kind": "promise", "until": "2026-03-31"})
    assert shown_messages(response) == ["Fino al: Scegli un giorno successivo a oggi."]
    assert not Hold.objects.exists()

    data = {"op": "hold", "kind": "dispute", "until": "", "reason": "Merce difettosa"}
    response = post(client, url, data)
    assert response["Location"] == url
    assert shown_messages(response) == ["La partita è bloccata: Contestazione."]
    hold = Hold.objects.get()
    assert (hold.kind, hold.starts_on, hold.until, hold.reason) == (
        "dispute",
        DAY,
        None,
        "Merce difettosa",
    )
    assert hold.created_by.username == "credit-manager-web"
    html = get(client, url)
    assert "Merce difettosa" in section(html, "step-title")
    assert "fino allo sblocco" in section(html, "step-title")
    assert "Contestazione" in section(html, "history-title")
    # On the customer's page the item shows its hold.
    assert "Contestazione" in section(get(client, customer_url("003")), "items-title")
    # Held, F4 gets no reminder on 05/04.
    dunning.dunning_run(company=ledger, as_of=dt.date(2026, 4, 5))
    assert not ItemStep.objects.filter(receivable__document_number="F4").exists()

    response = post(client, url, {"op": "release", "hold": hold.pk})
    assert shown_messages(response) == ["Il blocco è stato tolto."]
    hold.refresh_from_db()
    assert hold.released_on == DAY
    response = post(client, url, {"op": "release", "hold": hold.pk})
    assert shown_messages(response) == ["Questo blocco non è più in vigore."]
    html = get(client, url)
    assert "Nessuno." in section(html, "step-title")
    assert "timeline__entry--hold_released" in section(html, "history-title")
    # Released, the next run sends it.
    dunning.dunning_run(company=ledger, as_of=dt.date(2026, 4, 6))
    assert ItemStep.objects.get(receivable__document_number="F4").step.code == "pre-due"


def test_a_promise_until_a_date(client, ledger):
    logged_in(client, ledger)
    url = item_url(ledger, "F1")
    data = {"op": "hold", "kind": "promise", "until": "2026-04-15", "reason": "Pagherà il 15"}
    response = post(client, url, data)
    assert shown_messages(response) == ["La partita è bloccata: Promessa di pagamento."]
    assert Hold.objects.get().until == dt.date(2026, 4, 15)
    assert "fino al 15/04/2026" in section(get(client, url), "step-title")


def test_a_long_history_shows_the_newest_entries_first_and_the_rest_on_request(
    client_logged_in, company, monkeypatch
):
    from incassa.web import customers as pages
    from tests.factories import CustomerFactory, ReceivableEventFactory, ReceivableFactory

    monkeypatch.setattr(pages, "TIMELINE_SHOWN", 2)
    customer = CustomerFactory(company=company, code="LONG")
    item = ReceivableFactory(company=company, customer=customer)
    for _ in range(3):
        ReceivableEventFactory(receivable=item)
    page = client_logged_in.get("/customers/LONG/")
    # Three events, two shown: the link offers the whole history of 3 entries.
    assert len(page.context["timeline"]) == 2
    assert page.context["timeline_total"] == 3
    assert "?timeline=all" in page.content.decode()
    everything = client_logged_in.get("/customers/LONG/?timeline=all")
    assert len(everything.context["timeline"]) == 3


def test_the_customer_page_lists_the_messages_and_serves_their_pdf(
    client_logged_in, company, tmp_path
):
    from incassa.comms.models import Message
    from incassa.comms.services import print_batch_create
    from incassa.ledger.models import Receivable
    from incassa.ledger.services import receivables_import
    from tests.factories import action_with_items

    path = tmp_path / "s.csv"
    path.write_text(
        "Codice cliente;Ragione sociale;Numero documento;Data scadenza;Importo\n"
        "L01;Lettere S.r.l.;FT-77;01/03/2026;250,00\n",
        encoding="utf-8",
    )
    day = dt.date(2026, 3, 16)  # 15 days late: the first written reminder, a letter
    receivables_import(company=company, path=path, as_of=day)
    item = Receivable.objects.get(document_number="FT-77")
    action_with_items(company, item.customer, "first-reminder", [item], day=day)
    print_batch_create(company=company, day=day)
    message = Message.objects.get()
    page = client_logged_in.get("/customers/L01/")
    assert page.status_code == 200
    assert message.subject in page.content.decode()
    pdf = client_logged_in.get(f"/messages/{message.pk}/document/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")


def test_another_companys_message_is_not_found(client_logged_in, company):
    from incassa.comms.models import Message
    from tests.factories import CompanyFactory, CustomerFactory

    other = CompanyFactory()
    customer = CustomerFactory(company=other)
    message = Message.objects.create(
        company=other,
        customer=customer,
        medium="letter",
        status="to_print",
        language="it",
        subject="x",
        body_text="x",
    )
    assert client_logged_in.get(f"/messages/{message.pk}/document/").status_code == 404


# --------------------------------------------------------------------------------------
# Credit standing
# --------------------------------------------------------------------------------------


@pytest.fixture
def scored(ledger):
    from incassa.credit.services import scores_recompute

    scores_recompute(company=ledger, as_of=TODAY)
    return ledger


def test_the_customer_page_explains_the_score(client, scored):
    from incassa.credit.models import CustomerCredit

    credit = CustomerCredit.objects.get(customer__code="001")
    html = get(logged_in(client, scored), customer_url("001"))
    assert "Posizione creditizia" in html and "Perché questo punteggio" in html
    assert f"credit-class--{credit.credit_class}" in html
    # Every component is named in Italian, with its input shown as a person reads it.
    assert "Giorni di ritardo nei pagamenti (12 mesi)" in html
    assert "Oltre il fido" in html


def test_a_credit_manager_blocks_and_everyone_sees_it(client, scored):
    from incassa.credit.models import CustomerCredit

    manager = member(scored, Role.CREDIT_MANAGER)
    client.force_login(manager)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "it"
    response = client.post(customer_url("001"), {"op": "block", "reason": "Insoluti ripetuti"})
    assert response.status_code == 302
    assert CustomerCredit.objects.get(customer__code="001").blocked
    # An auditor, who only reads, sees the block on the customers list.
    html = get(logged_in(client, scored, Role.AUDITOR), CUSTOMERS, {"blocked": "1"})
    assert "Bloccato" in html and customer_url("001") in html
    client.force_login(manager)
    client.post(customer_url("001"), {"op": "unblock"})
    assert not CustomerCredit.objects.get(customer__code="001").blocked


def test_a_collector_may_not_block(client, scored):
    logged_in(client, scored, Role.COLLECTOR)
    response = client.post(customer_url("001"), {"op": "block", "reason": "x"})
    assert response.status_code == 403


def test_the_customers_list_filters_by_class(client, scored):
    from incassa.credit.models import CustomerCredit

    klass = CustomerCredit.objects.get(customer__code="001").credit_class
    others = set(
        CustomerCredit.objects.exclude(credit_class=klass).values_list("customer__code", flat=True)
    )
    html = get(logged_in(client, scored), CUSTOMERS, {"class": klass})
    assert customer_url("001") in html
    for code in others:
        assert customer_url(code) not in html


def test_the_dashboard_lists_the_most_critical_items(client, scored):
    from incassa.credit.models import ItemCriticality

    top = ItemCriticality.objects.order_by("-score").select_related("receivable").first()
    html = get(logged_in(client, scored), reverse("web:dashboard"))
    assert "Partite più critiche" in html
    assert top.receivable.document_number in html
