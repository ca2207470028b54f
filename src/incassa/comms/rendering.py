"""Writing a message from its template: pure, no database.

Templates are edited by credit managers, so they run in Jinja's immutable sandbox and see
only plain values (strings, numbers, lists and dicts built by ``context_for``): no model,
no method that could reach the database or the settings. Undefined variables are errors,
caught when the template is saved (``template_errors``) rather than in a customer's inbox.

One body renders three ways: plain text (the email's text part), an HTML fragment (the
email's HTML part and the letter's body), both from the same source. Paragraphs are
separated by blank lines; ``{{ items_table }}`` and ``{{ payment_details }}`` stand on a
paragraph of their own and come out as an aligned text table or an HTML table.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import jinja2
from django.utils import translation
from django.utils.translation import gettext as _
from jinja2 import StrictUndefined, TemplateError, TemplateRuntimeError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from incassa.core.formatting import format_day, format_money, format_number

FORMAL_NOTICE_DAYS = 15


@dataclass(frozen=True)
class ItemFigures:
    document_number: str
    document_date: dt.date | None
    due_date: dt.date
    open_amount: Decimal
    days_overdue: int
    interest: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class MessageFacts:
    """Everything a message may say, as plain values (built from the database by
    ``selectors.message_facts``)."""

    language: str
    today: dt.date
    company: Mapping[str, Any]
    customer: Mapping[str, Any]
    agent: Mapping[str, Any]
    items: Sequence[ItemFigures]
    step_name: str = ""
    operator: str = ""
    currency: str = "EUR"
    compensation: Decimal = Decimal("0.00")
    interest_until: dt.date | None = None
    interest_rate: Decimal | None = None
    interest_provisional: bool = False
    interest_kind: str = "commercial"
    claims_interest: bool = False  # a formal notice: the payment asks for interest too
    payment_reference: str = ""
    remittance: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def total_open(self) -> Decimal:
        return sum((i.open_amount for i in self.items), Decimal("0.00"))

    @property
    def total_interest(self) -> Decimal:
        return sum((i.interest for i in self.items), Decimal("0.00"))

    @property
    def total_due(self) -> Decimal:
        return self.total_open + self.total_interest + self.compensation

    @property
    def amount_to_pay(self) -> Decimal:
        """What the payment details ask for: the open amount, or everything the law grants
        when the message is a formal notice."""
        return self.total_due if self.claims_interest else self.total_open


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str  # a fragment: paragraphs and tables, no <html> or <body>


MAX_POWER = 100
MAX_SEQUENCE = 100_000


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, which also refuses the arithmetic that would hang a web
    worker while a template is checked (``9**9**9``, ``"x" * 10**9``)."""

    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_POWER:
            raise SecurityError(f"exponent larger than {MAX_POWER}")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if (
                    isinstance(sequence, str | list | tuple)
                    and isinstance(count, int)
                    and len(sequence) * count > MAX_SEQUENCE
                ):
                    raise SecurityError(f"a text or list longer than {MAX_SEQUENCE}")
        return super().call_binop(context, operator, left, right)


def _environment(*, html: bool) -> ImmutableSandboxedEnvironment:
    return _Sandbox(
        undefined=StrictUndefined,
        autoescape=html,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


_TEXT_ENV = _environment(html=False)
_HTML_ENV = _environment(html=True)


@functools.lru_cache(maxsize=512)
def _compiled(html: bool, source: str) -> jinja2.Template:
    """A template's source compiled once: the outbox renders the same few texts thousands
    of times a day, and compiling costs more than rendering. The source is the key, so an
    edited template is compiled anew."""
    return (_HTML_ENV if html else _TEXT_ENV).from_string(source)


# --------------------------------------------------------------------------------------
# The variables
# --------------------------------------------------------------------------------------


def _money(facts: MessageFacts, amount: Decimal) -> str:
    return format_money(amount, facts.currency, facts.language)


def variables(facts: MessageFacts, *, html: bool) -> dict[str, Any]:
    """The documented variables (docs/templates.md), formatted in the message's language."""
    return _with_tables(_plain_variables(facts), facts, html=html)


def _with_tables(plain: dict[str, Any], facts: MessageFacts, *, html: bool) -> dict[str, Any]:
    """The variables with the tables drawn for text or HTML (the rest is the same in both,
    worked out once per message)."""
    with translation.override(facts.language):
        values = {
            **plain,
            "items_table": _items_table(facts, html=html, with_interest=False),
            "items_table_with_interest": _items_table(facts, html=html, with_interest=True),
            "payment_details": _payment_details(facts, plain["payment"], html=html),
        }
    values.update(facts.extra)
    return values


def _plain_variables(facts: MessageFacts) -> dict[str, Any]:
    lang = facts.language
    with translation.override(lang):
        items = [
            {
                "number": i.document_number,
                "date": format_day(i.document_date, lang),
                "due_date": format_day(i.due_date, lang),
                "open_amount": _money(facts, i.open_amount),
                "days_late": max(i.days_overdue, 0),
                "interest": _money(facts, i.interest),
            }
            for i in facts.items
        ]
        deadline = facts.today + dt.timedelta(days=FORMAL_NOTICE_DAYS)
        payment = {
            "iban": _group_iban(facts.company.get("iban", "")),
            "beneficiary": facts.company.get("name", ""),
            "amount": _money(facts, facts.amount_to_pay),
            "open_amount": _money(facts, facts.total_open),
            "reason": facts.remittance,
            "reference": facts.payment_reference,
            "deadline": format_day(deadline, lang),
        }
        values: dict[str, Any] = {
            "company": dict(facts.company),
            "customer": dict(facts.customer),
            "agent": dict(facts.agent),
            "items": items,
            "item_count": len(items),
            "total": {
                "open": _money(facts, facts.total_open),
                "interest": _money(facts, facts.total_interest),
                "compensation": _money(facts, facts.compensation),
                "due": _money(facts, facts.total_due),
            },
            "interest": {
                "until": format_day(facts.interest_until or facts.today, lang),
                "rate": (
                    format_number(facts.interest_rate, lang) + "%"
                    if facts.interest_rate is not None
                    else ""
                ),
                "provisional": facts.interest_provisional,
                "kind": facts.interest_kind,
            },
            "payment": payment,
            "operator": {"name": facts.operator},
            "step": {"name": facts.step_name},
            "today": format_day(facts.today, lang),
            "deadline": format_day(deadline, lang),
        }
    return values


def _group_iban(iban: str) -> str:
    compact = iban.replace(" ", "").upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _items_table(facts: MessageFacts, *, html: bool, with_interest: bool) -> str | Markup:
    lang = facts.language
    headers = [_("Document"), _("Date"), _("Due date"), _("Days late"), _("Open amount")]
    if with_interest:
        headers.append(_("Interest"))
    rows = []
    for i in facts.items:
        row = [
            i.document_number,
            format_day(i.document_date, lang),
            format_day(i.due_date, lang),
            str(max(i.days_overdue, 0)),
            _money(facts, i.open_amount),
        ]
        if with_interest:
            row.append(_money(facts, i.interest))
        rows.append(row)
    total = ["", "", "", _("Total"), _money(facts, facts.total_open)]
    if with_interest:
        total.append(_money(facts, facts.total_interest))
    numeric = {3, 4, 5}
    if html:
        cell = "padding:4px 8px;border-bottom:1px solid #ddd;"
        head = "".join(
            f'<th style="{cell}text-align:{"right" if n in numeric else "left"}">{escape(h)}</th>'
            for n, h in enumerate(headers)
        )
        body = "".join(
            "<tr>"
            + "".join(
                f'<td style="{cell}text-align:{"right" if n in numeric else "left"}">'
                f"{escape(v)}</td>"
                for n, v in enumerate(row)
            )
            + "</tr>"
            for row in rows
        )
        foot = (
            "<tr>"
            + "".join(
                f'<td style="padding:4px 8px;font-weight:bold;text-align:'
                f'{"right" if n in numeric else "left"}">{escape(v)}</td>'
                for n, v in enumerate(total)
            )
            + "</tr>"
        )
        return Markup(
            '<table class="items" style="border-collapse:collapse;font-size:0.95em">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody><tfoot>{foot}</tfoot></table>"
        )
    table = [headers, *rows, total]
    widths = [max(len(r[n]) for r in table) for n in range(len(headers))]
    lines = []
    for r in table:
        cells = [
            r[n].rjust(widths[n]) if n in numeric else r[n].ljust(widths[n])
            for n in range(len(headers))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _payment_details(facts: MessageFacts, payment: Mapping[str, str], *, html: bool) -> Any:
    if not payment["iban"]:
        return ""
    pairs = [
        (_("Beneficiary"), payment["beneficiary"]),
        (_("IBAN"), payment["iban"]),
        (_("Amount"), payment["amount"]),
        (_("Payment reason"), payment["reason"]),
    ]
    if html:
        rows = "".join(
            f'<tr><th style="text-align:left;padding:2px 12px 2px 0;font-weight:normal;'
            f'color:#555">{escape(k)}</th><td style="padding:2px 0"><strong>{escape(v)}'
            f"</strong></td></tr>"
            for k, v in pairs
            if v
        )
        return Markup(f'<table class="payment" style="border-collapse:collapse">{rows}</table>')
    return "\n".join(f"{k}: {v}" for k, v in pairs if v)


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_SPACES = re.compile(r"[ \t\r\n]+")  # not the no-break space inside "1.234,56 €"


def render(subject: str, body: str, facts: MessageFacts) -> Rendered:
    """The message in the facts' language. Raises ``jinja2.TemplateError`` on a bad
    template (use ``template_errors`` to check one before saving it)."""
    try:
        with translation.override(facts.language):
            plain = _plain_variables(facts)
            text_vars = _with_tables(plain, facts, html=False)
            subject_text = _SPACES.sub(" ", _compiled(False, subject).render(text_vars))
            text = _compiled(False, body).render(text_vars).strip() + "\n"
            html_body = _compiled(True, body).render(_with_tables(plain, facts, html=True))
    except TemplateError:
        raise
    except Exception as exc:  # 1 // 0 on a real customer's data, say
        raise TemplateRuntimeError(f"{type(exc).__name__}: {exc}") from exc
    subject_text = subject_text.strip()
    return Rendered(subject=subject_text, text=_tidy_text(text), html=_paragraphs(html_body))


def _tidy_text(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text)


def _paragraphs(fragment: str) -> str:
    """Blank-line-separated blocks become <p>; our own tables stay as they are."""
    blocks = [b.strip() for b in _PARAGRAPH_BREAK.split(fragment.strip()) if b.strip()]
    html = []
    for block in blocks:
        if block.startswith(("<table", "<div")):
            html.append(block)
        else:
            html.append("<p>" + block.replace("\n", "<br>\n") + "</p>")
    return "\n".join(html)


def email_document(fragment: str, *, language: str, title: str) -> str:
    """A complete HTML email around a fragment, styled inline for mail clients."""
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(language)}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>"
        '<body style="margin:0;padding:24px;background:#f6f6f4">'
        '<div style="max-width:680px;margin:0 auto;background:#fff;padding:24px 28px;'
        "font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;"
        'color:#222;border:1px solid #e3e3de">'
        f"{fragment}</div></body></html>\n"
    )


# --------------------------------------------------------------------------------------
# Checking a template before it is saved
# --------------------------------------------------------------------------------------


def sample_facts(language: str, *, today: dt.date | None = None) -> MessageFacts:
    """Made-up but realistic facts, for checking and previewing a template without data."""
    today = today or dt.date(2026, 3, 31)
    return MessageFacts(
        language=language,
        today=today,
        company={
            "name": "Acme S.p.A.",
            "address": "Via Roma 1, 20121 Milano MI",
            "vat_number": "IT01234567890",
            "fiscal_code": "01234567890",
            "iban": "IT60X0542811101000000123456",
            "email": "crediti@acme.example",
            "pec": "acme@pec.example",
            "phone": "+39 02 1234567",
            "website": "www.acme.example",
            "signature": "Ufficio crediti\nAcme S.p.A.",
        },
        customer={
            "code": "C001",
            "name": "Rossi S.r.l.",
            "vat_number": "IT09876543210",
            "fiscal_code": "",
            "address": "Via Verdi 2, 10121 Torino TO",
            "email": "amministrazione@rossi.example",
            "pec": "rossi@pec.example",
        },
        agent={"name": "Mario Bianchi", "email": "m.bianchi@acme.example"},
        items=(
            ItemFigures(
                "FT-2026/101",
                today - dt.timedelta(days=90),
                today - dt.timedelta(days=30),
                Decimal("1234.56"),
                30,
                Decimal("10.30"),
            ),
            ItemFigures(
                "FT-2026/130",
                today - dt.timedelta(days=60),
                today - dt.timedelta(days=15),
                Decimal("100.00"),
                15,
                Decimal("0.42"),
            ),
        ),
        step_name="Sample",
        operator="Anna Verdi",
        compensation=Decimal("80.00"),
        interest_until=today,
        interest_rate=Decimal("10.15"),
        payment_reference="RF18C001000123",
        remittance="FT-2026/101, FT-2026/130 RF18C001000123",
    )


def template_errors(subject: str, body: str, *, language: str = "it") -> list[str]:
    """What is wrong with a template (syntax, unknown variables, forbidden access), as
    messages an editor can act on; empty when it renders."""
    errors = []
    for label, source in ((_("Subject"), subject), (_("Body"), body)):
        try:
            _TEXT_ENV.parse(source)
        except TemplateError as exc:
            line = getattr(exc, "lineno", None)
            where = f" ({_('line')} {line})" if line else ""
            errors.append(f"{label}{where}: {exc}")
    if errors:
        return errors
    try:
        render(subject, body, sample_facts(language))
    except TemplateError as exc:
        errors.append(str(exc))
    except Exception as exc:  # the sandbox refuses with SecurityError and friends
        errors.append(f"{type(exc).__name__}: {exc}")
    return errors
