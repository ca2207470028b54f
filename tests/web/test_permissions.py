"""The permission matrix of the web pages: every route of the URL configuration, for every
role, against one world of two companies.

The table ``ROUTES`` says, for each named route, which roles may open it (GET: 200, the
others 403) and which may send its form (POST: the answer in ``post_status``, the others
403), and which object its address names. ``test_every_route_is_in_the_table`` walks
``django.urls.get_resolver()``: a page added without deciding its permissions fails it.

The world (built once for the module, rolled back at its end; today is 01/04/2026):

- Alfa (``alfa``) has a member of each role. Its customers: ``A01`` *Rossi Ferramenta
  S.r.l.*, whose sales agent Mario Rossi signs in as the sales-agent member and whom the
  collector looks after by hand; ``A02`` *Bianchi Nascosto S.p.A.*, of agent Anna Verdi
  (no login): the sales agent must never see it.
- Beta (``beta``) has its own credit manager and a customer ``B01`` *Zeta Segreta S.r.l.*:
  no page of Alfa may show it, and its ids typed into Alfa's addresses are a 404.

Each of the three customers has seven overdue items of 100,00 (``1`` to ``7``): a promise
on item 1, a dispute on 2, a repayment plan on 3, a settlement on 4, a hand-over case on 5,
a manual hold on 7; item 6 is free. Each also has a letter with its PDF, a task, an
exclusion and a suspension, and the engine's courtesy call waiting for approval.

``scripts/permission_table.py`` prints the table of docs/security.md from ``ROUTES``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test.utils import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from incassa.ledger.models import Role

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 4, 1)
IMPORTED_ON = dt.date(2026, 3, 27)
ENGINE_ON = dt.date(2026, 3, 31)

ADM, CM, COL, SA, AUD = (
    Role.ADMINISTRATOR.value,
    Role.CREDIT_MANAGER.value,
    Role.COLLECTOR.value,
    Role.SALES_AGENT.value,
    Role.AUDITOR.value,
)
ROLES = (ADM, CM, COL, SA, AUD)
ALL = frozenset(ROLES)
ACTING = frozenset({ADM, CM, COL})
MANAGERS = frozenset({ADM, CM})
WHOLE_COMPANY = frozenset({ADM, CM, COL, AUD})  # every role but the sales agent
SETTINGS_READERS = frozenset({ADM, CM, AUD})
AUDIT_READERS = frozenset({ADM, AUD})
NOBODY = frozenset()

# Names that appear on no page they must not: Beta's customer on Alfa's pages, the other
# agent's customer on the sales agent's.
B_MARK = "Zeta Segreta"
HIDDEN_MARK = "Bianchi Nascosto"
B_MARKS = (B_MARK, "Luca Neri", "Beta Distribuzione")  # its customer, agent, name
HIDDEN_MARKS = (HIDDEN_MARK, "Anna Verdi")  # the other agent's customer, and the agent
CUSTOMERS = {
    "own": ("A01", "Rossi Ferramenta S.r.l.", "Mario Rossi", "INGROSSO"),
    "hidden": ("A02", f"{HIDDEN_MARK} S.p.A.", "Anna Verdi", "DETTAGLIO"),
    "b": ("B01", f"{B_MARK} S.r.l.", "Luca Neri", "INGROSSO"),
}
MISSING_ID = 999_999
HEADER = (
    "Codice cliente;Ragione sociale;Partita IVA;Agente;Categoria;"
    "Numero documento;Data scadenza;Importo"
)


# --------------------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------------------


@dataclass
class World:
    a: Any
    b: Any
    users: dict[str, Any]  # role -> Alfa's member
    outsider: Any  # Beta's credit manager, no member of Alfa
    stranger: Any  # a user of no company
    keys: dict[str, str]  # API keys: Alfa's roles, and "b" for Beta's manager
    # scope ("own", "hidden", "b", "missing") -> object name -> id or code
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def of(self, scope: str, name: str) -> Any:
        return self.objects[scope][name]


def _snapshot_rows(prefix: str, code: str, name: str, agent: str, category: str) -> list[str]:
    from incassa.ledger.demo import vat_number

    vat = vat_number(1_234_000 + sum(map(ord, code)), office=15)
    return [
        f"{code};{name};{vat};{agent};{category};{prefix}{n};01/03/2026;100,00" for n in range(1, 8)
    ]


def snapshot_file(directory: Path, company_code: str, scopes: list[str]) -> Path:
    rows = []
    for scope in scopes:
        code, name, agent, category = CUSTOMERS[scope]
        rows += _snapshot_rows(f"{code}-F", code, name, agent, category)
    path = directory / f"{company_code}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _build_company(company, directory: Path, scopes: list[str]) -> None:
    """The real import on 27/03, the engine on 27/03 and 31/03 (the courtesy call waits for
    approval), the scores of 31/03."""
    from incassa.credit.services import scores_recompute
    from incassa.dunning import services as dunning
    from incassa.dunning.models import Step
    from incassa.ledger.services import receivables_import

    receivables_import(
        company=company, path=snapshot_file(directory, company.code, scopes), as_of=IMPORTED_ON
    )
    Step.objects.filter(strategy__company=company, code="courtesy-call").update(needs_approval=True)
    dunning.dunning_run(company=company, as_of=IMPORTED_ON)
    dunning.dunning_run(company=company, as_of=ENGINE_ON)
    scores_recompute(company=company, as_of=ENGINE_ON)


def _customer_objects(company, scope: str, user, collector) -> dict[str, Any]:
    """The agreements, letter, task, exclusion, suspension and hold of one customer."""
    from incassa.comms.models import Message
    from incassa.dunning import services as dunning
    from incassa.dunning.models import Action
    from incassa.ledger.models import Receivable
    from incassa.workspace import agreements
    from tests.workspace.factories_work import TaskFactory

    code = CUSTOMERS[scope][0]
    customer = company.customers.get(code=code)
    item = {
        n: Receivable.objects.get(company=company, document_number=f"{code}-F{n}")
        for n in range(1, 8)
    }
    promise = agreements.promise_record(
        customer=customer,
        items=[item[1]],
        amount=Decimal("100.00"),
        promised_on=dt.date(2026, 4, 15),
        user=user,
    )
    dispute = agreements.dispute_open(
        customer=customer, items=[item[2]], reason="quality", owner=user, user=user
    )
    plan = agreements.plan_create(
        customer=customer,
        items=[item[3]],
        instalments=[
            (dt.date(2026, 5, 1), Decimal("50.00")),
            (dt.date(2026, 6, 1), Decimal("50.00")),
        ],
        user=user,
    )
    settlement = agreements.settlement_agree(
        customer=customer,
        items=[item[4]],
        agreed_amount=Decimal("80.00"),
        due_on=dt.date(2026, 4, 30),
        write_off_reason="stralcio",
        user=user,
    )
    case = agreements.case_open(
        customer=customer, items=[item[5]], agency="Recuperi Srl", user=user, today=TODAY
    )
    hold = dunning.hold_place(
        receivable=item[7], kind="manual", starts_on=TODAY, reason="verifica", user=user
    )
    message = Message.objects.create(
        company=company,
        customer=customer,
        medium="letter",
        status="printed",
        language="it",
        subject="Sollecito di pagamento",
        body_text="Gentile cliente...",
    )
    message.document.save("sollecito.pdf", ContentFile(b"%PDF-1.4 test"), save=True)
    task = TaskFactory(
        company=company, customer=customer, assignee=collector, due_on=dt.date(2026, 3, 31)
    )
    exclusion = dunning.customer_exclude(customer=customer, reason="trattativa", user=user)
    suspension = dunning.customer_suspend(
        customer=customer, starts_on=TODAY, until=dt.date(2026, 5, 1), reason="ferie", user=user
    )
    action = Action.objects.get(customer=customer, step__code="courtesy-call")
    return {
        "customer": code,
        "customer_id": customer.pk,
        "item": item[6].pk,
        "spare_item": item[6].pk,
        "held_item": item[7].pk,
        "hold": hold.pk,
        "message": message.pk,
        "promise": promise.pk,
        "dispute": dispute.pk,
        "plan": plan.pk,
        "settlement": settlement.pk,
        "case": case.pk,
        "task": task.pk,
        "exclusion": exclusion.pk,
        "suspension": suspension.pk,
        "action": action.pk,
    }


def _company_objects(company) -> dict[str, Any]:
    """What belongs to the company rather than to a customer."""
    from incassa.audit.models import AuditEntry
    from incassa.comms.models import MessageTemplate
    from incassa.dunning.models import Strategy
    from incassa.ledger.models import ImportRun

    strategy = Strategy.objects.get(company=company, code="standard")
    import_run = ImportRun.objects.filter(company=company).latest("id").pk
    entry, bank_paid = _payment_objects(company)
    cycle_run, inbox_file, job = _operations_objects(company)
    return {
        "import_run": import_run,
        "cycle_run": cycle_run,
        "inbox_file": inbox_file,
        "job": job,
        "entry": entry,
        "bank_paid": bank_paid,
        "strategy": strategy.pk,
        "step": strategy.steps.order_by("position").first().pk,
        "template": MessageTemplate.objects.filter(company=company).order_by("id").first().pk,
        "audit_entry": AuditEntry.objects.filter(company_id=company.pk).order_by("id").first().pk,
        "category": company.categories.order_by("id").first().pk,
    }


STATEMENT = """:20:STMT{code}
:25:IT60X0542811101000000123456
:28C:1/1
:60F:C260331EUR1000,00
:61:2603310331C777,00NTRFNONREF//{code}REF1
:86:BONIFICO DA SCONOSCIUTO SPA
:62F:C260331EUR1777,00
"""


def _payment_objects(company) -> tuple[int, int]:
    """A payment nobody can place (it waits on the matching page) and an item the bank paid
    that the ERP still shows open (on the reconciliation page)."""
    from incassa.ledger.models import BankPaidItem, BankPaidStatus, Receivable
    from incassa.payments.models import BankEntry
    from incassa.payments.services import statement_import

    statement_import(
        company=company,
        name="estratto.sta",
        data=STATEMENT.format(code=company.code.upper()).encode(),
        today=ENGINE_ON,
    )
    item = Receivable.objects.filter(company=company).order_by("id").first()
    watch = BankPaidItem.objects.create(
        receivable=item,
        company=company,
        paid_amount=Decimal("10.00"),
        paid_on=ENGINE_ON,
        status=BankPaidStatus.DIFFERS,
        erp_open_amount=item.open_amount,
        flagged_on=ENGINE_ON,
    )
    return BankEntry.objects.get(company=company).pk, watch.pk


def _operations_objects(company) -> tuple[int, int, int]:
    """A run of the daily cycle, a file of the import inbox and a finished background job."""
    from incassa.cycle.models import CycleRun, InboxFile
    from incassa.jobs.models import Job, JobKind, JobStatus

    cycle_run = CycleRun.objects.create(
        company=company, day=ENGINE_ON, trigger="command", status="succeeded"
    )
    inbox_file = InboxFile.objects.create(
        company=company,
        name="scadenziario.csv",
        checksum="0" * 64,
        kind="snapshot",
        status="done",
        received_at=NOW,
    )
    job = Job.objects.create(
        company=company,
        kind=JobKind.REPORT_RECOMPUTE,
        title="Credit report recomputed",
        function="incassa.jobs.services.report_recompute_job",
        status=JobStatus.SUCCEEDED,
    )
    return cycle_run.pk, inbox_file.pk, job.pk


def pending_statement(client, world: World, role: str) -> str:
    """A CSV statement waiting in ``role``'s session: its check page."""
    client.force_login(world.users[role])
    response = client.post(reverse("web:payments"), _statement_file(world))
    assert response.status_code == 302, response.content.decode()[:300]
    return response["Location"]


def _statement_file(w: World) -> dict[str, Any]:
    content = b"Data contabile;Importo;Descrizione\n31/03/2026;150,00;BONIFICO FT A01-F1\n"
    return {
        "op": "upload",
        "file": SimpleUploadedFile("movimenti.csv", content, content_type="text/csv"),
    }


def build_world(directory: Path) -> World:
    from incassa.api.services import api_token_create
    from incassa.ledger.models import SalesAgent
    from tests.factories import CompanyFactory, MembershipFactory, UserFactory
    from tests.workspace.factories_work import CustomerAssignmentFactory

    a = CompanyFactory(code="alfa", name="Alfa Commerciale S.p.A.")
    b = CompanyFactory(code="beta", name="Beta Distribuzione S.r.l.")
    users = {}
    for role in ROLES:
        users[role] = UserFactory(username=f"perm-{role.replace('_', '-')}")
        MembershipFactory(user=users[role], company=a, role=role)
    outsider = UserFactory(username="perm-beta-manager")
    MembershipFactory(user=outsider, company=b, role=CM)
    stranger = UserFactory(username="perm-stranger")

    directory.mkdir(parents=True, exist_ok=True)
    _build_company(a, directory, ["own", "hidden"])
    _build_company(b, directory, ["b"])
    SalesAgent.objects.filter(company=a, name="Mario Rossi").update(user=users[SA])
    b_assignment = CustomerAssignmentFactory(
        customer=b.customers.get(code="B01"), operator=outsider
    )

    a_assignment = CustomerAssignmentFactory(
        customer=a.customers.get(code="A01"), operator=users[COL]
    )
    world = World(a=a, b=b, users=users, outsider=outsider, stranger=stranger, keys={})
    a_objects = _company_objects(a)
    world.objects["own"] = {
        **a_objects,
        **_customer_objects(a, "own", users[CM], users[COL]),
        "assignment": a_assignment.pk,
    }
    world.objects["hidden"] = {**a_objects, **_customer_objects(a, "hidden", users[CM], None)}
    world.objects["b"] = {
        **_company_objects(b),
        **_customer_objects(b, "b", outsider, outsider),
        "assignment": b_assignment.pk,
    }
    world.objects["missing"] = {
        name: ("NOPE" if name == "customer" else MISSING_ID) for name in world.objects["own"]
    }
    for role in ROLES:
        world.keys[role] = api_token_create(user=users[role], company=a, name=role)[1]
    world.keys["b"] = api_token_create(user=outsider, company=b, name="beta")[1]
    return world


TEST_SETTINGS = {
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
    "EMAIL_URL": "memory://",
    "PEC_EMAIL_URL": "",
}


@pytest.fixture(scope="module")
def media_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("permissions-media")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, media_root) -> Iterator[World]:
    """The world, built once in a transaction that is rolled back after the module's
    tests; each test runs in a savepoint inside it, so what a POST changes is undone."""
    with (
        django_db_blocker.unblock(),
        time_machine.travel(NOW, tick=False),
        override_settings(
            MEDIA_ROOT=media_root,
            INCASSA_DELIVERY_JOURNAL=media_root / "journal.jsonl",
            **TEST_SETTINGS,
        ),
        transaction.atomic(),
    ):
        built = build_world(media_root / "snapshots")
        yield built
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _mail_and_files(settings, media_root):
    """Replaces the shared fixture of the same name: the world's files are under the
    module's folder, which every test must see."""
    settings.MEDIA_ROOT = media_root
    settings.INCASSA_DELIVERY_JOURNAL = media_root / "journal.jsonl"
    settings.INCASSA_INBOX_DIR = media_root / "inbox"
    for name, value in TEST_SETTINGS.items():
        setattr(settings, name, value)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(NOW, tick=False):
        yield


# --------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------

Args = Callable[[World, str], dict[str, Any]]
Data = Callable[[World], dict[str, Any]]


def _obj(name: str, kwarg: str = "pk") -> Args:
    return lambda w, scope: {kwarg: w.of(scope, name)}


def _nothing(w: World) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Route:
    """Who may do what on one page. ``customer_scoped``: its object belongs to a customer,
    so a sales agent may open it only for their own customers (404 otherwise)."""

    page: str  # what it is, for the documentation
    get: frozenset[str]
    post: frozenset[str]
    post_status: int  # what an allowed POST of ``post_data`` answers
    args: Args | None = None
    post_data: Data = _nothing
    customer_scoped: bool = False
    content_type: str = "text/html"
    queries: tuple[str, ...] = ()  # more addresses to GET, such as exports


def _import_file(w: World) -> dict[str, Any]:
    content = snapshot_file(_scratch(), w.a.code, ["own", "hidden"]).read_bytes()
    return {
        "file": SimpleUploadedFile("scadenziario.csv", content, content_type="text/csv"),
        "as_of": "2026-04-01",
    }


_SCRATCH: list[Path] = []


def _scratch() -> Path:
    return _SCRATCH[0]


ROUTES: dict[str, Route] = {
    "web:dashboard": Route(
        "Dashboard",
        ALL,
        ALL,
        200,  # no form: a POST shows the page again
    ),
    "web:customers": Route("Customers", ALL, ACTING, 200),
    "web:customer": Route(
        "Customer 360: record an activity, exclude, suspend, approve",
        ALL,
        ACTING,
        302,
        _obj("customer", "code"),
        lambda w: {"op": "activity", "kind": "note", "direction": "outbound", "reaction": "none"},
        customer_scoped=True,
    ),
    "web:worklist": Route(
        "Today's work: done, snooze, reassign",
        ALL,
        ACTING,
        302,
        None,
        lambda w: {"op": "done", "task": w.of("own", "task")},
    ),
    "web:item": Route(
        "Item: place and release holds",
        ALL,
        ACTING,
        302,
        _obj("item"),
        lambda w: {"op": "hold", "kind": "manual", "reason": "verifica"},
        customer_scoped=True,
    ),
    "web:message_document": Route(
        "A letter's PDF",
        ALL,
        ACTING,
        200,
        _obj("message"),
        customer_scoped=True,
        content_type="application/pdf",
    ),
    "web:agreements": Route("Agreements (list)", ALL, ACTING, 200),
    "web:agreement_new": Route(
        "New agreement (promise, dispute, plan, settlement, case)",
        ACTING,
        ACTING,
        302,
        lambda w, scope: {"kind": "promise", "code": w.of(scope, "customer")},
        lambda w: {"items": [w.of("own", "spare_item")], "promised_on": "2026-04-15"},
        customer_scoped=True,
        queries=tuple(f"kind={kind}" for kind in ("dispute", "plan", "settlement", "case")),
    ),
    "web:promise": Route(
        "Promise to pay: cancel",
        ALL,
        ACTING,
        302,
        _obj("promise"),
        lambda w: {"op": "cancel"},
        customer_scoped=True,
    ),
    "web:dispute": Route(
        "Dispute: change, resolve",
        ALL,
        ACTING,
        302,
        _obj("dispute"),
        lambda w: {"op": "change", "status": "waiting_customer"},
        customer_scoped=True,
    ),
    "web:plan": Route(
        "Repayment plan: cancel",
        ALL,
        ACTING,
        302,
        _obj("plan"),
        lambda w: {"op": "cancel"},
        customer_scoped=True,
    ),
    "web:settlement": Route(
        "Settlement: cancel",
        ALL,
        ACTING,
        302,
        _obj("settlement"),
        lambda w: {"op": "cancel"},
        customer_scoped=True,
    ),
    "web:case": Route(
        "Hand-over case: close",
        ALL,
        ACTING,
        302,
        _obj("case"),
        lambda w: {"op": "close", "outcome": "withdrawn"},
        customer_scoped=True,
    ),
    "web:case_dossier_pdf": Route(
        "Case dossier (PDF)",
        ALL,
        ACTING,
        200,
        _obj("case"),
        customer_scoped=True,
        content_type="application/pdf",
    ),
    "web:case_dossier_csv": Route(
        "Case dossier (CSV)",
        ALL,
        ACTING,
        200,
        _obj("case"),
        customer_scoped=True,
        content_type="text/csv",
    ),
    # The figures are read from their precomputed snapshot; managers recompute them now.
    "web:effectiveness": Route(
        "Effectiveness, recompute", WHOLE_COMPANY, MANAGERS, 302, None, lambda w: {}
    ),
    "web:team": Route(
        "Team: portfolios, rules, assignments",
        WHOLE_COMPANY,
        MANAGERS,
        302,
        None,
        lambda w: {"op": "rule_remove"},
    ),
    "web:imports": Route(
        "Imports: history and upload", WHOLE_COMPANY, MANAGERS, 302, None, _import_file
    ),
    "web:import_check": Route(
        "Import check, mapping and confirmation",
        MANAGERS,
        MANAGERS,
        302,
        lambda w, scope: {"token": "pending"},
        lambda w: {"op": "cancel"},
    ),
    # Nothing to send: an acting role's POST is a bad request.
    "web:import_detail": Route(
        "An import's report", WHOLE_COMPANY, ACTING, 400, _obj("import_run")
    ),
    "web:payments": Route(
        "Payments: list, statement upload, match again",
        WHOLE_COMPANY,
        ACTING,
        302,
        None,
        lambda w: {"op": "rematch"},
    ),
    "web:payment_statement_check": Route(
        "Bank statement (CSV) check, mapping and import",
        MANAGERS,
        MANAGERS,
        302,
        lambda w, scope: {"token": "pending"},
        lambda w: {"op": "cancel"},
    ),
    "web:payment": Route(
        "A payment: confirm, split, assign, set aside, undo",
        WHOLE_COMPANY,
        ACTING,
        302,
        _obj("entry"),
        lambda w: {"op": "ignore", "note": "giroconto"},
    ),
    "web:payments_reconciliation": Route(
        "Reconciliation with the ERP: items the bank paid, checked",
        WHOLE_COMPANY,
        MANAGERS,
        302,
        None,
        lambda w: {"item": w.of("own", "bank_paid"), "note": "registrato"},
    ),
    "web:cycle": Route(
        "Daily cycle: runs, schedule, inbox, run now",
        WHOLE_COMPANY,
        MANAGERS,
        302,
        None,
        lambda w: {
            "op": "schedule",
            "enabled": "on",
            "at": "07:00",
            "time_zone": "Europe/Rome",
            "weekdays": ["0", "1", "2", "3", "4"],
            "skip_non_working": "on",
        },
    ),
    # Nothing to send: an acting role's POST is a bad request.
    "web:cycle_run": Route(
        "A run of the daily cycle", WHOLE_COMPANY, ACTING, 400, _obj("cycle_run")
    ),
    "web:cycle_inbox_file": Route(
        "A file of the import inbox", WHOLE_COMPANY, ACTING, 400, _obj("inbox_file")
    ),
    "web:jobs": Route("Background jobs: the company's recent ones", MANAGERS, MANAGERS, 400),
    "web:job": Route(
        "A background job: its progress and outcome", MANAGERS, MANAGERS, 400, _obj("job")
    ),
    "web:items": Route(
        "Items: list, bulk hold/release/assign, CSV and Excel export",
        ALL,
        ACTING,
        302,
        None,
        lambda w: {
            "op": "hold",
            "items": [w.of("own", "spare_item")],
            "kind": "manual",
            "reason": "verifica",
        },
        queries=("export=csv", "export=xlsx"),
    ),
    "web:strategies": Route("Strategies", WHOLE_COMPANY, ACTING, 200),
    "web:strategy": Route(
        "Strategy: reorder and remove steps",
        WHOLE_COMPANY,
        MANAGERS,
        302,
        _obj("strategy"),
        lambda w: {"op": "down", "step": w.of("own", "step")},
    ),
    "web:step_new": Route("New step", MANAGERS, MANAGERS, 200, _obj("strategy")),
    "web:step": Route(
        "Edit a step",
        MANAGERS,
        MANAGERS,
        200,
        lambda w, scope: {"pk": w.of(scope, "strategy"), "step_pk": w.of(scope, "step")},
    ),
    "web:suspensions": Route(
        "Suspensions and exclusions: end, include",
        ALL,
        ACTING,
        302,
        None,
        lambda w: {"op": "end", "suspension": w.of("own", "suspension")},
    ),
    "web:message_templates": Route("Message templates", WHOLE_COMPANY, ACTING, 200),
    "web:message_template": Route(
        "Message template: preview, edit", WHOLE_COMPANY, MANAGERS, 200, _obj("template")
    ),
    "web:message_template_pdf": Route(
        "Message template preview (PDF)",
        WHOLE_COMPANY,
        ACTING,
        200,
        _obj("template"),
        content_type="application/pdf",
    ),
    "web:reports": Route(
        "Credit report, CSV and Excel export, recompute",
        ALL,
        MANAGERS,
        302,
        None,
        lambda w: {},
        queries=("export=csv", "export=xlsx"),
    ),
    "web:settings": Route(
        "Company settings and scoring weights",
        SETTINGS_READERS,
        MANAGERS,
        400,
        None,
        lambda w: {"op": "nothing"},
    ),
    # The auditor only reads: the page's filters are GETs, so its POST is refused.
    "audit:entries": Route("Audit trail", AUDIT_READERS, frozenset({ADM}), 200),
    "audit:export": Route(
        "Audit trail (CSV)", AUDIT_READERS, frozenset({ADM}), 200, content_type="text/csv"
    ),
    "audit:entry": Route(
        "An audit entry", AUDIT_READERS, frozenset({ADM}), 200, _obj("audit_entry")
    ),
}

# Routes that are no company's page: the user's own account, signing in and out, the
# language, static files. Each with what an anonymous visitor gets.
PERSONAL: dict[str, tuple[str, str]] = {
    "login": ("Sign in", "public"),
    "login_verify": ("Sign in: second step", "public"),
    "logout": ("Sign out", "public"),
    "set_language": ("Choose the language", "public"),
    "web:static": ("Static files", "public"),
    "account": ("Your account", "login"),
    "password_change": ("Change the password", "login"),
    "account_totp": ("Turn two-step verification on", "login"),
    "account_totp_disable": ("Turn two-step verification off", "login"),
    "account_recovery_codes": ("New recovery codes", "login"),
}

# Whole URL namespaces with their own permissions, tested elsewhere.
EXEMPT_NAMESPACES = {
    "admin": "the Django admin: staff only, with Django's model permissions",
    "api": "the REST API: tests/api/test_permissions.py walks its OpenAPI description",
}
# Unnamed routes: the admin's sign-in (a redirect to ours) and its catch-all.
EXEMPT_PREFIXES = ("admin/",)


def all_routes() -> Iterator[tuple[str | None, str]]:
    """(qualified name, path pattern) of every route Django knows."""

    def walk(patterns, prefix: str, namespace: str | None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                name = pattern.name
                if name and namespace:
                    name = f"{namespace}:{name}"
                yield name, prefix + str(pattern.pattern)

    yield from walk(get_resolver().url_patterns, "", None)


# --------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------


def url_of(world: World, name: str, scope: str = "own", query: str = "") -> str:
    route = ROUTES[name]
    url = reverse(name, kwargs=route.args(world, scope) if route.args else None)
    return f"{url}?{query}" if query else url


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def login(client, world: World, role: str):
    client.force_login(world.users[role])
    return client


def pending_upload(client, world: World, role: str) -> str:
    """An upload waiting in ``role``'s session: its check page."""
    client.force_login(world.users[role])
    response = client.post(reverse("web:imports"), _import_file(world))
    assert response.status_code == 302, response.content.decode()[:300]
    return response["Location"]


@pytest.fixture(autouse=True)
def scratch(tmp_path):
    _SCRATCH[:] = [tmp_path]
    yield
    _SCRATCH.clear()


def address(client, world: World, name: str, role: str, query: str = "") -> str:
    """The address to ask as ``role``: the import check needs an upload of the session."""
    if name == "web:import_check" and role in MANAGERS:
        return pending_upload(client, world, role)
    if name == "web:payment_statement_check" and role in MANAGERS:
        return pending_statement(client, world, role)
    return url_of(world, name, "own", query)


def assert_nothing_leaks(content: bytes, role: str, content_type: str) -> None:
    if not content_type.startswith(("text/", "application/json")):
        return  # PDFs and spreadsheets are compressed: their own tests read them
    text = content.decode("utf-8-sig", errors="replace")
    for mark in B_MARKS:
        assert mark not in text, f"Beta's {mark} shown to Alfa"
    if role == SA:
        for mark in HIDDEN_MARKS:
            assert mark not in text, f"{mark} (another agent's) shown to the sales agent"


# --------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------


def test_every_route_is_in_the_table():
    """A new page cannot be added without deciding who may open it and send its form."""
    unlisted = []
    for name, pattern in all_routes():
        namespace = (name or "").split(":", 1)[0] if name and ":" in name else ""
        if namespace in EXEMPT_NAMESPACES or pattern.startswith(EXEMPT_PREFIXES):
            continue
        if name is None or (name not in ROUTES and name not in PERSONAL):
            unlisted.append(name or pattern)
    assert unlisted == []
    # ...and the table lists no route that is gone.
    known = {name for name, _pattern in all_routes()}
    assert set(ROUTES) - known == set() and set(PERSONAL) - known == set()


GET_CASES = [
    pytest.param(name, query, role, id=f"{name}{'?' + query if query else ''}-{role}")
    for name, route in ROUTES.items()
    for query in ("", *route.queries)
    for role in ROLES
]


@pytest.mark.parametrize(("name", "query", "role"), GET_CASES)
def test_get(client, world, name, query, role):
    route = ROUTES[name]
    if name == "web:agreement_new" and query:  # another kind of agreement, same rules
        url = reverse(
            name, kwargs={"kind": query.split("=")[1], "code": world.of("own", "customer")}
        )
    else:
        url = address(client, world, name, role, query)
    response = login(client, world, role).get(url)
    if role not in route.get:
        assert response.status_code == 403
        return
    assert response.status_code == 200, body(response)[:300]
    content_type = route.content_type
    if "export=csv" in query:
        content_type = "text/csv"
    elif "export=xlsx" in query:
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Type"].startswith(content_type)
    assert_nothing_leaks(body(response), role, content_type)


POST_CASES = [pytest.param(name, role, id=f"{name}-{role}") for name in ROUTES for role in ROLES]


@pytest.mark.parametrize(("name", "role"), POST_CASES)
def test_post(client, world, name, role):
    route = ROUTES[name]
    url = address(client, world, name, role)
    response = login(client, world, role).post(url, route.post_data(world))
    expected = route.post_status if role in route.post else 403
    assert response.status_code == expected, body(response)[:300]


UPLOAD_ROUTES = ("web:import_check", "web:payment_statement_check")
OBJECT_ROUTES = [name for name, route in ROUTES.items() if route.args and name not in UPLOAD_ROUTES]


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", OBJECT_ROUTES)
def test_another_companys_object_is_not_found(client, world, name, role, method):
    """Beta's id or code typed into Alfa's address answers as an id that does not exist:
    a 404 for the roles that may use the page (a 403 for the others, whatever the id)."""
    route = ROUTES[name]
    login(client, world, role)
    data = route.post_data(world) if method == "post" else None
    send = getattr(client, method)
    missing = send(url_of(world, name, "missing"), data).status_code
    found = send(url_of(world, name, "b"), data)
    assert found.status_code == missing
    allowed = route.post if method == "post" else route.get
    answers_first = method == "post" and route.post_status in {400, 405}  # reads no object
    if role not in allowed:
        assert found.status_code in {403, 404}
    elif not answers_first:
        assert found.status_code == 404


@pytest.mark.parametrize("name", OBJECT_ROUTES)
def test_beta_cannot_reach_alfa(client, world, name):
    """And the other way round: Beta's credit manager on Alfa's objects."""
    client.force_login(world.outsider)
    expected = 404 if CM in ROUTES[name].get else 403
    assert client.get(url_of(world, name, "own")).status_code == expected


SCOPED = [name for name, route in ROUTES.items() if route.customer_scoped]


@pytest.mark.parametrize("name", SCOPED)
def test_sales_agent_sees_only_their_customers(client, world, name):
    """Another agent's customer, item, letter, agreement or case is a 404 for the agent."""
    response = login(client, world, SA).get(url_of(world, name, "hidden"))
    assert response.status_code == 404


@pytest.mark.parametrize("name", [n for n in ROUTES if n not in UPLOAD_ROUTES])
def test_anonymous_is_sent_to_sign_in(client, world, name):
    url = url_of(world, name)
    for response in (client.get(url), client.post(url, {})):
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("name", [n for n in ROUTES if n not in UPLOAD_ROUTES])
def test_a_user_of_no_company_sees_nothing(client, world, name):
    client.force_login(world.stranger)
    assert client.get(url_of(world, name)).status_code == 403


@pytest.mark.parametrize("name", ["web:dashboard", "web:customers", "web:items", "audit:entries"])
def test_choosing_another_company_is_not_found(client, world, name):
    login(client, world, ADM)
    assert client.get(url_of(world, name), {"company": "beta"}).status_code == 404


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("web:worklist", lambda w: {"op": "done", "task": w.of("b", "task")}),
        ("web:suspensions", lambda w: {"op": "end", "suspension": w.of("b", "suspension")}),
        ("web:suspensions", lambda w: {"op": "include", "exclusion": w.of("b", "exclusion")}),
        ("web:team", lambda w: {"op": "unassign", "assignment": w.of("b", "assignment")}),
        ("web:team", lambda w: {"op": "rule", "category": w.of("b", "category")}),
        (
            "web:payments_reconciliation",
            lambda w: {"item": w.of("b", "bank_paid"), "note": "x"},
        ),
        (
            "web:payment",
            lambda w: {"op": "assign", "customer": w.of("b", "customer_id")},
        ),
        (
            "web:payment",
            lambda w: {"op": "split", f"amount_{w.of('b', 'item')}": "10,00"},
        ),
    ],
    ids=[
        "task",
        "suspension",
        "exclusion",
        "assignment",
        "category",
        "bank-paid",
        "assign",
        "split",
    ],
)
def test_beta_ids_in_a_form_are_not_found(client, world, name, data):
    response = login(client, world, ADM).post(url_of(world, name), data(world))
    assert response.status_code == 404


@pytest.mark.parametrize("op", ["approve", "reject", "done"])
def test_beta_action_on_an_alfa_customer_is_not_found(client, world, op):
    response = login(client, world, ADM).post(
        url_of(world, "web:customer"), {"op": op, "action": world.of("b", "action"), "reason": "x"}
    )
    assert response.status_code == 404


def test_beta_hold_on_an_alfa_item_is_not_found(client, world):
    response = login(client, world, ADM).post(
        url_of(world, "web:item"), {"op": "release", "hold": world.of("b", "hold")}
    )
    assert response.status_code == 404


def test_bulk_actions_leave_beta_items_alone(client, world):
    from incassa.dunning.models import Hold

    b_item = world.of("b", "spare_item")
    response = login(client, world, ADM).post(
        reverse("web:items"), {"op": "hold", "items": [b_item], "kind": "manual", "reason": "x"}
    )
    assert response.status_code == 302
    assert not Hold.objects.filter(receivable_id=b_item).exists()
    # Releasing by hand Beta's held item does nothing either.
    login(client, world, ADM).post(
        reverse("web:items"), {"op": "release", "items": [world.of("b", "held_item")]}
    )
    assert Hold.objects.get(pk=world.of("b", "hold")).released_on is None


def test_a_sales_agent_cannot_work_another_agents_items_in_bulk(client, world):
    # A sales agent's POST is refused before anything else.
    response = login(client, world, SA).post(
        reverse("web:items"), {"op": "hold", "items": [world.of("own", "spare_item")]}
    )
    assert response.status_code == 403


def test_template_preview_on_a_beta_customer_is_not_found(client, world):
    login(client, world, CM)
    customer = world.of("b", "customer_id")
    for name in ("web:message_template", "web:message_template_pdf"):
        response = client.get(url_of(world, name), {"customer": customer})
        assert response.status_code == 404


def test_reports_for_a_beta_scope_show_the_company(client, world):
    """A scope naming Beta's customer or category is ignored: the report is Alfa's."""
    login(client, world, CM)
    for scope in (f"customer:{world.of('b', 'customer')}", f"category:{world.of('b', 'category')}"):
        html = client.get(reverse("web:reports"), {"scope": scope}).content.decode()
        assert B_MARK not in html and "Alfa Commerciale S.p.A." in html


def test_the_sales_agents_report_is_always_their_own(client, world):
    login(client, world, SA)
    response = client.get(
        reverse("web:reports"), {"scope": f"customer:{world.of('hidden', 'customer')}"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and HIDDEN_MARK not in html and "Mario Rossi" in html


def test_audit_export_holds_only_alfas_entries(client, world):
    """Beta's customer was created, promised, disputed...: none of it in Alfa's trail."""
    response = login(client, world, AUD).get(reverse("audit:export"))
    assert response.status_code == 200
    assert B_MARK not in body(response).decode("utf-8-sig")


@pytest.mark.parametrize("name", [n for n, (_page, who) in PERSONAL.items() if who == "login"])
def test_account_pages_need_a_sign_in_and_nothing_more(client, world, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    # A user of no company has an account too.
    client.force_login(world.stranger)
    response = client.get(url)
    assert response.status_code in ({405} if name in POST_ONLY else {200})


POST_ONLY = {"account_totp_disable", "account_recovery_codes"}


# --------------------------------------------------------------------------------------
# The documentation's table
# --------------------------------------------------------------------------------------

ROLE_HEADINGS = {
    ADM: "admin",
    CM: "credit mgr",
    COL: "collector",
    SA: "sales agent",
    AUD: "auditor",
}

# Pages without a form: an allowed POST shows the page or the file again, changing nothing.
NO_FORM = {
    "web:dashboard",
    "web:customers",
    "web:message_document",
    "web:agreements",
    "web:case_dossier_pdf",
    "web:case_dossier_csv",
    "web:import_detail",
    "web:strategies",
    "web:message_templates",
    "web:message_template_pdf",
    "audit:entries",
    "audit:export",
    "audit:entry",
}
# Lists and figures that a sales agent sees narrowed to their customers.
SALES_AGENT_NARROWED = {
    "web:dashboard",
    "web:customers",
    "web:agreements",
    "web:items",
    "web:suspensions",
    "web:reports",
}


def _cell(name: str, route: Route, role: str) -> str:
    if role in route.post and name not in NO_FORM:
        return "change"
    if role not in route.get:
        return "—"
    if role == SA and (route.customer_scoped or name in SALES_AGENT_NARROWED):
        return "read (own customers)"
    return "read"


def permission_table() -> str:
    """The Markdown table of docs/security.md, from ``ROUTES``."""
    patterns = {name: pattern for name, pattern in all_routes() if name}
    lines = [
        "| page | address | " + " | ".join(ROLE_HEADINGS[r] for r in ROLES) + " |",
        "|---|---|" + "---|" * len(ROLES),
    ]
    for name, route in ROUTES.items():
        path = "/" + patterns[name]
        for converter in ("path:", "int:", "str:"):
            path = path.replace(f"<{converter}", "<")
        cells = " | ".join(_cell(name, route, role) for role in ROLES)
        lines.append(f"| {route.page} | `{path}` | {cells} |")
    return "\n".join(lines) + "\n"


def test_the_documentation_shows_this_table():
    docs = Path(__file__).resolve().parents[2] / "docs" / "security.md"
    assert permission_table() in docs.read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------
# Finer rules inside a page
# --------------------------------------------------------------------------------------


def test_the_sales_agents_dashboard_names_their_customers_only(client, world):
    """Largest debtors: A01 and A02 owe seven open items of 100,00 each (700,00; the
    agreements hold items, they do not close them); the agent sees A01 alone."""
    html = login(client, world, SA).get(reverse("web:dashboard")).content.decode()
    assert "Rossi Ferramenta S.r.l." in html and HIDDEN_MARK not in html
    # The credit manager sees both.
    html = login(client, world, CM).get(reverse("web:dashboard")).content.decode()
    assert "Rossi Ferramenta S.r.l." in html and HIDDEN_MARK in html


def test_the_sales_agents_item_filter_offers_their_own_agent_only(client, world):
    html = login(client, world, SA).get(reverse("web:items")).content.decode()
    assert "Mario Rossi" in html and "Anna Verdi" not in html


@pytest.mark.parametrize("role", [COL, SA, AUD])
def test_only_managers_block_a_customer(client, world, role):
    from incassa.credit.models import CustomerCredit

    response = login(client, world, role).post(
        url_of(world, "web:customer"), {"op": "block", "reason": "insoluti"}
    )
    assert response.status_code == 403
    assert not CustomerCredit.objects.filter(
        customer__code="A01", customer__company=world.a, blocked=True
    ).exists()


def test_a_collector_does_not_assign_portfolios_from_the_items(client, world):
    from incassa.workspace.models import CustomerAssignment

    before = CustomerAssignment.objects.get(pk=world.of("own", "assignment")).operator_id
    response = login(client, world, COL).post(
        reverse("web:items"),
        {"op": "assign", "items": [world.of("own", "spare_item")], "operator": world.users[CM].pk},
    )
    assert response.status_code == 302  # a message says why, nothing changes
    assert CustomerAssignment.objects.get(pk=world.of("own", "assignment")).operator_id == before
