"""Reading a customer's payment terms as Italian ERPs write them: pure logic, no database.

The ERP's export names the terms in free text ("RB 60 gg DFFM", "Bonifico 30 giorni f.m.",
"60 DF", "90"); an e-invoice that gives no due date is due by those terms. Only the first
period counts: "RB 30/60/90 FM" is three installments, and the e-invoice that has none of
its own is owed, at the latest, on the first of them.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from incassa.ledger.fatturapa import due_date_from_terms

__all__ = ["PaymentTerms", "parse_payment_terms"]

# "fine mese", "f.m.", "FM", "DFFM", "d.f.f.m.", "ffm", "fm", "end of month", "EOM".
_END_OF_MONTH = re.compile(
    r"(?:\bFINE\s*MESE\b|\bF\s*M\b|\bD\s*F\s*F\s*M\b|\bF\s*F\s*M\b|\bFM\b|\bDFFM\b|\bFFM\b"
    r"|\bEND\s+OF\s+(?:THE\s+)?MONTH\b|\bEOM\b)"
)
_DAYS = re.compile(r"(?<![\d/])(\d{1,3})(?=\s*(?:/|$|\s|[A-Z]))")
_INSTALLMENTS = re.compile(r"\s*(?:RAT[AE]|INSTAL|PARTS?\b)")
_PERIOD_MARK = re.compile(r"\s*(?:/|\d|GG\b|G\b|GIORNI|DAYS?\b|D\s*F|F\s*M|FINE|DATA)")
_IMMEDIATE = re.compile(r"\b(?:VISTA|IMMEDIAT[OA]|CONTANTI|ANTICIPAT[OA]|ON\s+RECEIPT)\b")


@dataclass(frozen=True)
class PaymentTerms:
    """Days after the invoice date, and whether the due date then moves to the month's end."""

    days: int
    end_of_month: bool

    def due_date(self, invoice_date: dt.date) -> dt.date:
        return due_date_from_terms(invoice_date, self.days, self.end_of_month)


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
    return re.sub(r"[.\-_,;:]", " ", ascii_text)


def parse_payment_terms(text: str) -> PaymentTerms | None:
    """The first period of ``text``; ``None`` when it names no number of days.

    "RB 60 gg DFFM" -> 60 days, end of month; "30/60 FM" -> 30 days, end of month;
    "Rimessa diretta vista fattura" -> 0 days; "Bonifico" -> None.
    """
    plain = _plain(text or "").strip()
    if not plain:
        return None
    end_of_month = bool(_END_OF_MONTH.search(plain))
    # "RIBA 3 RATE 30/60/90": the 3 counts installments, not days. A number followed by a
    # period's mark (a slash, GG, DF, FM...) is surely days; else the first plain number.
    numbers = [m for m in _DAYS.finditer(plain) if not _INSTALLMENTS.match(plain, m.end())]
    days = next((m for m in numbers if _PERIOD_MARK.match(plain, m.end())), None)
    days = days or (numbers[0] if numbers else None)
    if days is None:
        if _IMMEDIATE.search(plain):
            return PaymentTerms(0, end_of_month)
        return None
    return PaymentTerms(int(days.group(1)), end_of_month)
