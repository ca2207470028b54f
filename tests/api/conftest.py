"""The API tests' world: today is 01/04/2026 in Rome; Acme's ledger built by the real
import and engine; one user and token per role; and a second company, Beta, whose data no
token of Acme may reach.

Acme's snapshot of 27/03/2026 (customer, agent, category: document, due date, open amount):

    001 Rossi S.r.l.    Mario Rossi  INGROSSO   F1 01/03/2026 1.000,00   F2 30/04/2026 500,00
    002 Bianchi S.p.A.  Anna Verdi   DETTAGLIO  F3 15/02/2026 2.000,00
    003 Verdi S.n.c.    Mario Rossi  DETTAGLIO  F4 10/04/2026   300,00

On 01/04/2026 F1 is 31 days late and F3 45; F2 and F4 are not due yet. Open: 3.800,00 in
four items; overdue: F1 + F3 = 3.000,00. The engine ran on 27/03 and 31/03: one courtesy
call per late customer waiting for approval (001: F1 1.000,00; 002: F3 2.000,00). Scores
of 31/03: 001 class C (exposure 1.500,00 against a limit of 2.000,00), 002 class D and
blocked, 003 class C; criticality F3 70.8 > F1 48.9 > F4 28.0 > F2 23.3.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine

from incassa.api.services import api_token_create
from incassa.credit.services import customer_block, scores_recompute
from incassa.dunning import services as dunning
from incassa.dunning.models import Step
from incassa.ledger.demo import vat_number
from incassa.ledger.models import Company, Receivable, Role, SalesAgent
from incassa.ledger.services import receivables_import
from tests.factories import CompanyFactory, MembershipFactory, UserFactory
from tests.workspace.factories_work import CustomerAssignmentFactory

NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 4, 1)
AS_OF = dt.date(2026, 3, 31)
IMPORTED_ON = dt.date(2026, 3, 27)
HEADER = (
    "Codice cliente;Ragione sociale;Partita IVA;Agente;Categoria;"
    "Numero documento;Data scadenza;Importo"
)
VAT = {"001": vat_number(1234567, office=15), "002": vat_number(2345678, office=15)}
VAT["003"] = vat_number(3456789, office=15)
ROWS = [
    f"001;Rossi S.r.l.;{VAT['001']};Mario Rossi;INGROSSO;F1;01/03/2026;1.000,00",
    f"001;Rossi S.r.l.;{VAT['001']};Mario Rossi;INGROSSO;F2;30/04/2026;500,00",
    f"002;Bianchi S.p.A.;{VAT['002']};Anna Verdi;DETTAGLIO;F3;15/02/2026;2.000,00",
    f"003;Verdi S.n.c.;{VAT['003']};Mario Rossi;DETTAGLIO;F4;10/04/2026;300,00",
]
ROLES = [
    Role.ADMINISTRATOR,
    Role.CREDIT_MANAGER,
    Role.COLLECTOR,
    Role.SALES_AGENT,
    Role.AUDITOR,
]


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """The world makes seven users: a real password hash costs most of a second each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def write_snapshot(directory: Path, name: str, rows: list[str]) -> Path:
    path = directory / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def build_ledger(company: Company, directory: Path) -> None:
    """Import on 27/03, run the engine on 27/03 (the agent notice: skipped, the agents
    have no email) and on 31/03 (the courtesy call, 4 days later, for F1 and F3: waiting
    for approval), compute the scores; 001 has a credit limit of 2.000,00, 002 is blocked."""
    receivables_import(
        company=company,
        path=write_snapshot(directory, f"{company.code}.csv", ROWS),
        as_of=IMPORTED_ON,
    )
    Step.objects.filter(strategy__company=company, code="courtesy-call").update(needs_approval=True)
    dunning.dunning_run(company=company, as_of=IMPORTED_ON)
    dunning.dunning_run(company=company, as_of=AS_OF)
    scores_recompute(company=company, as_of=AS_OF)
    company.customers.filter(code="001").update(credit_limit=Decimal("2000.00"))
    customer_block(customer=company.customers.get(code="002"), reason="insoluto")


@dataclass
class World:
    company: Company
    other: Company
    users: dict[str, Any]
    keys: dict[str, str]
    other_key: str

    def headers(self, role: str) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.keys[role]}"}

    def item(self, document: str, company: Company | None = None) -> Receivable:
        return Receivable.objects.get(company=company or self.company, document_number=document)


@pytest.fixture
def world(company, tmp_path) -> World:
    """Acme's ledger, one member and token per role (the sales agent is Mario Rossi, the
    collector looks after 001 by hand), and Beta with the same file and its own manager."""
    acme_dir, beta_dir = tmp_path / "acme", tmp_path / "beta"
    acme_dir.mkdir()
    beta_dir.mkdir()
    build_ledger(company, acme_dir)
    other = CompanyFactory(code="beta", name="Beta S.r.l.")
    build_ledger(other, beta_dir)
    users, keys = {}, {}
    for role in ROLES:
        user = UserFactory(username=f"api-{role.replace('_', '-')}")
        MembershipFactory(user=user, company=company, role=role)
        users[role] = user
        _token, keys[role] = api_token_create(user=user, company=company, name=f"{role} token")
    SalesAgent.objects.filter(company=company, name="Mario Rossi").update(
        user=users[Role.SALES_AGENT]
    )
    CustomerAssignmentFactory(
        customer=company.customers.get(code="001"), operator=users[Role.COLLECTOR]
    )
    beta_manager = UserFactory(username="beta-manager")
    MembershipFactory(user=beta_manager, company=other, role=Role.CREDIT_MANAGER)
    _token, other_key = api_token_create(user=beta_manager, company=other, name="beta")
    return World(company=company, other=other, users=users, keys=keys, other_key=other_key)


def call(client, method: str, url: str, world: World, role: str, **kwargs: Any):
    """``client.<method>(url)`` with the token of ``role``; JSON bodies as JSON."""
    if "json" in kwargs:
        kwargs["data"] = kwargs.pop("json")
        kwargs["content_type"] = "application/json"
    return getattr(client, method)(url, **kwargs, **world.headers(role))
