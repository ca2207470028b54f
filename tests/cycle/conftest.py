"""The daily cycle's tests' world: Acme (code ``acme``) with its credit manager, an inbox
folder of the test's own, no wait between a stage's attempts and none for files still being
written, and a small ledger in two snapshots.

The snapshot files (customer, email: document, due date, open amount):

    001 Rossi S.r.l.    rossi@example.it   F1  06/04/2026  1.000,00
    002 Bianchi S.p.A.  (no email)         F2  06/04/2026    500,00

On 01/04/2026 both items are due in 5 days: the standard strategy's ``pre-due`` step
(5 days before the due date) is reached by both; Rossi gets an email, Bianchi (no
address) a letter instead (docs/dunning.md).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from incassa.ledger.demo import vat_number

ROME = ZoneInfo("Europe/Rome")
DAY = dt.date(2026, 4, 1)  # a Wednesday
# 07:00 in Rome on 01/04/2026 (summer time, UTC+2).
MORNING = dt.datetime(2026, 4, 1, 7, 0, tzinfo=ROME)
HEADER = "Codice cliente;Ragione sociale;Partita IVA;Email;Numero documento;Data scadenza;Importo"
ROWS = [
    f"001;Rossi S.r.l.;{vat_number(1234567, office=15)};rossi@example.it;F1;06/04/2026;1.000,00",
    f"002;Bianchi S.p.A.;{vat_number(2345678, office=15)};;F2;06/04/2026;500,00",
]
DATA = Path(__file__).resolve().parents[1]
FATTURAPA = DATA / "ledger" / "data" / "fatturapa"
STATEMENTS = DATA / "payments" / "data"


def snapshot_bytes(rows: list[str] | None = None) -> bytes:
    return ("\n".join([HEADER, *(ROWS if rows is None else rows)]) + "\n").encode()


@pytest.fixture(autouse=True)
def _inbox(settings, tmp_path):
    settings.INCASSA_INBOX_DIR = tmp_path / "inbox"
    settings.INCASSA_INBOX_SETTLE_SECONDS = 0
    settings.INCASSA_CYCLE_RETRY_SECONDS = 0
    settings.INCASSA_CYCLE_STAGE_ATTEMPTS = 3
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The inbox's reports and the summary email are written in the installation's language
    # whatever the active one: English here, for the assertions.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def morning():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def manager(user_with_membership):
    """Acme's credit manager, manager@example.it: who gets the summary by default."""
    return user_with_membership
