"""``incassa import-invoices``: the companion file of every document issued in a period."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from incassa.ledger.models import IssuedInvoice

pytestmark = pytest.mark.django_db


def test_imports_issued_invoices_with_json_summary(tmp_path, company):
    path = tmp_path / "fatture.csv"
    path.write_text(
        "Codice cliente;Ragione sociale;Numero fattura;Data fattura;Importo\n"
        "1;Alfa S.r.l.;F1;15/01/2026;1.220,00\n"
        "2;Beta S.p.A.;F2;20/01/2026;500,00\n",
        encoding="utf-8",
    )
    out = StringIO()
    call_command("import_invoices", str(path), "--as-of", "2026-03-31", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert (result["rows_read"], result["created"]) == (2, 2)
    # 1.220,00 + 500,00 = 1720,00 issued; both without due date take the invoice date.
    assert sum(i.amount for i in IssuedInvoice.objects.all()) == 1720
    assert IssuedInvoice.objects.get(document_number="F2").due_date.isoformat() == "2026-01-20"


def test_invalid_file_exits_2(tmp_path, company):
    path = tmp_path / "fatture.csv"
    path.write_text("Colonna A;Colonna B\n1;2\n", encoding="utf-8")
    err = StringIO()
    with pytest.raises(SystemExit) as caught:
        call_command("import_invoices", str(path), stderr=err)
    assert caught.value.code == 2
    assert "header" in err.getvalue()
    assert not IssuedInvoice.objects.exists()
