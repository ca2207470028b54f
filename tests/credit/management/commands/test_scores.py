"""``incassa scores`` as a user runs it: the JSON, the readable summary, what it stores.

One snapshot on 31/12/2025 and one on 31/03/2026:

- Alfa (first seen 31/12/2025): F1 1.000, due 31/12/2025, paid by 31/03 (90 days late);
  owes F3 2.000, due 31/05/2026.
- Beta (first seen 31/12/2025): owes F2 500, due 01/12/2025, and F4 2.000, due 15/03/2026,
  both overdue on 31/03.

Reliability on 31/03/2026 (default weights: days_late 30, late_share 20, trend 10,
overdue_share 15, seniority 10, incidents 5, limit_breach 5, external 5), seniority
100 x 90 ÷ 1825 = 4.93 for both:

- Alfa: 0 (90 days late) + 0 (all late) + 5 (trend neutral, nothing older) + 15 (nothing
  overdue) + 0.49 + 5 + 5 + 5 = 35.49 -> 35.5, class D.
- Beta: 15 + 10 + 5 (no history: neutral) + 0 (all overdue) + 0.49 + 15 = 45.49 -> 45.5, D.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incassa.credit.models import CustomerCredit, ItemCriticality, ScoreHistory
from incassa.ledger.services import receivables_import

pytestmark = pytest.mark.django_db

HEADER = "Codice cliente;Ragione sociale;Numero documento;Data documento;Data scadenza;Importo"
SNAPSHOTS = {
    dt.date(2025, 12, 31): [
        "A01;Alfa S.r.l.;F1;01/12/2025;31/12/2025;1.000,00",
        "B01;Beta S.p.A.;F2;01/11/2025;01/12/2025;500,00",
    ],
    dt.date(2026, 3, 31): [
        "A01;Alfa S.r.l.;F3;01/02/2026;31/05/2026;2.000,00",
        "B01;Beta S.p.A.;F2;01/11/2025;01/12/2025;500,00",
        "B01;Beta S.p.A.;F4;15/01/2026;15/03/2026;2.000,00",
    ],
}


@pytest.fixture
def ledger(tmp_path, company):
    for on, rows in SNAPSHOTS.items():
        path = tmp_path / f"snap-{on}.csv"
        path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        receivables_import(company=company, path=path, as_of=on)
    return company


def scores(*args: str) -> str:
    out = StringIO()
    call_command("scores", *args, stdout=out)
    return out.getvalue()


def test_json_keys_and_counts(ledger):
    data = json.loads(scores("--date", "2026-03-31", "--json"))
    assert set(data) == {"customers", "items", "alerts", "by_class", "seconds"}
    assert data["customers"] == 2
    assert data["items"] == 3  # F2, F3, F4 are open
    assert data["alerts"] == 0
    assert data["by_class"] == {"D": 2}  # 35.5 and 45.5
    assert isinstance(data["seconds"], int | float)


def test_it_stores_the_scores(ledger):
    scores("--date", "2026-03-31", "--json")
    assert dict(CustomerCredit.objects.values_list("customer__code", "score")) == {
        "A01": pytest.approx(35.5),
        "B01": pytest.approx(45.5),
    }
    assert ScoreHistory.objects.filter(on_date=dt.date(2026, 3, 31)).count() == 2
    assert ItemCriticality.objects.count() == 3


def test_the_readable_summary(ledger):
    out = scores("--date", "2026-03-31")
    assert re.search(
        r"^Scored 2 customers \(D 2\) and 3 open items as of 31/03/2026 in [0-9.]+ s; "
        r"0 alert\(s\) raised\.$",
        out.strip(),
    )


def test_an_invalid_date_exits_2(ledger):
    with pytest.raises(CommandError, match="invalid date") as info:
        scores("--date", "31/03/2026")
    assert info.value.returncode == 2


def test_without_a_company_exits_2(db):
    with pytest.raises(CommandError, match="no company yet") as info:
        scores("--json")
    assert info.value.returncode == 2
