"""Writing a message from its template (``incassa.comms.rendering``): pure, no database.

Every figure comes from ``sample_facts`` (today 31/03/2026) or from facts built here:
FT-2026/101, 1.234,56, 30 days late, interest 10,30; FT-2026/130, 100,00, 15 days late,
interest 0,42; compensation 80,00.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from decimal import Decimal

import jinja2
import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from incassa.comms import rendering
from incassa.comms.defaults import default_templates
from incassa.comms.rendering import ItemFigures, render, sample_facts, template_errors
from incassa.core.formatting import format_money

NBSP = "\xa0"
IT = sample_facts("it")
EN = sample_facts("en")
EVIL = "<script>alert(1)</script> & Co"


def text_table(facts, *, with_interest: bool = False) -> list[str]:
    name = "items_table_with_interest" if with_interest else "items_table"
    return render("s", f"{{{{ {name} }}}}", facts).text.rstrip("\n").split("\n")


def cells(line: str) -> list[str]:
    """The cells of a text table's line (columns are two or more spaces apart)."""
    return re.split(r" {2,}", line.strip())


# --------------------------------------------------------------------------------------
# Subject and body
# --------------------------------------------------------------------------------------


def test_italian_subject_and_body():
    result = render(
        "Sollecito {{ company.name }}: {{ item_count }} documenti",
        "Spettabile {{ customer.name }},\n\nresiduo {{ total.open }}, scaduto il "
        "{{ items[0].due_date }}.\n\nTotale dovuto {{ total.due }}",
        IT,
    )
    assert result.subject == "Sollecito Acme S.p.A.: 2 documenti"
    # 1.234,56 + 100,00 = 1.334,56; FT-2026/101 is due 30 days before 31/03/2026: 01/03/2026;
    # due = 1.334,56 + interest (10,30 + 0,42 = 10,72) + compensation 80,00 = 1.425,28.
    assert result.text == (
        "Spettabile Rossi S.r.l.,\n\n"
        f"residuo 1.334,56{NBSP}€, scaduto il 01/03/2026.\n\n"
        f"Totale dovuto 1.425,28{NBSP}€\n"
    )


def test_english_subject_and_body():
    result = render(
        "Reminder from {{ company.name }}",
        "Dear {{ customer.name }},\n\nyou owe {{ total.open }} since {{ items[0].due_date }}.",
        EN,
    )
    assert result.subject == "Reminder from Acme S.p.A."
    # English amounts: the symbol first, a comma for thousands, a point for cents.
    assert result.text == "Dear Rossi S.r.l.,\n\nyou owe €1,334.56 since 01/03/2026.\n"


def test_the_subject_is_one_line():
    result = render("  Sollecito\n{{ customer.code }}\n\n  urgente ", "x", IT)
    assert result.subject == "Sollecito C001 urgente"


def test_paragraphs_and_line_breaks_in_html():
    result = render("s", "Uno\ndue\n\nTre\n  \nQuattro", IT)
    # A blank line (even one holding spaces) separates paragraphs; a single newline is a
    # line break inside the paragraph.
    assert result.html == "<p>Uno<br>\ndue</p>\n<p>Tre</p>\n<p>Quattro</p>"
    assert result.text == "Uno\ndue\n\nTre\n  \nQuattro\n"


def test_windows_line_endings_make_the_same_paragraphs():
    # A browser posts a textarea with CRLF line endings.
    assert render("s", "Uno\r\ndue\r\n\r\nTre", IT) == render("s", "Uno\ndue\n\nTre", IT)


def test_more_than_one_blank_line_in_text_becomes_one():
    assert render("s", "a\n\n\n\n\nb", IT).text == "a\n\nb\n"


def test_conditions_and_loops():
    body = (
        # A newline right after a block tag is dropped (trim_blocks), as is the indentation
        # before one (lstrip_blocks).
        "{% if item_count > 1 %}\nDocumenti:\n  {% endif %}\n"
        "{% for item in items %}{{ item.number }} {{ item.open_amount }}\n{% endfor %}"
    )
    assert render("s", body, IT).text == (
        f"Documenti:\nFT-2026/101 1.234,56{NBSP}€\nFT-2026/130 100,00{NBSP}€\n"
    )


# --------------------------------------------------------------------------------------
# The items table
# --------------------------------------------------------------------------------------


def test_items_table_text_is_aligned():
    lines = text_table(IT)
    assert lines == [
        "Documento    Data        Scadenza    Giorni di ritardo  Residuo aperto",
        "-" * 70,
        f"FT-2026/101  31/12/2025  01/03/2026                 30      1.234,56{NBSP}€",
        f"FT-2026/130  30/01/2026  16/03/2026                 15        100,00{NBSP}€",
        # 1.234,56 + 100,00 = 1.334,56
        f"                                                Totale      1.334,56{NBSP}€",
    ]
    # The last column is right-aligned, so every line has the width of the header (the
    # rstrip of each line removes nothing).
    assert {len(line) for line in lines} == {70}


def test_items_table_with_interest_in_english():
    lines = text_table(EN, with_interest=True)
    assert cells(lines[0]) == [
        "Document", "Date", "Due date", "Days late", "Open amount", "Interest"
    ]  # fmt: skip
    assert lines[2].endswith("€1,234.56    €10.30")
    assert lines[3].endswith("€100.00     €0.42")
    # interest 10,30 + 0,42 = 10,72
    assert lines[4].endswith("Total    €1,334.56    €10.72")
    assert len({len(line) for line in lines}) == 1


def test_items_table_html():
    html = render("s", "Ecco:\n\n{{ items_table }}\n\nSaluti", IT).html
    before, table, after = html.split("\n")
    assert before == "<p>Ecco:</p>" and after == "<p>Saluti</p>"
    # Our own table is not wrapped in a paragraph.
    assert table.startswith('<table class="items"') and table.endswith("</table>")
    assert table.count("<tr>") == 4  # header, 2 items, total
    assert "<th" in table and "<tfoot>" in table
    assert f">1.234,56{NBSP}€</td>" in table
    assert f">1.334,56{NBSP}€</td>" in table  # 1.234,56 + 100,00
    assert 'text-align:right">Giorni di ritardo</th>' in table
    assert 'text-align:left">FT-2026/101</td>' in table


def test_days_late_are_never_negative():
    facts = replace(
        IT,
        items=(
            ItemFigures(
                "FT-9", None, IT.today + dt.timedelta(days=5), Decimal("10.00"), -5, Decimal(0)
            ),
        ),
    )
    assert render("s", "{{ items[0].days_late }}", facts).text == "0\n"
    # No document date: an empty cell.
    item_line = text_table(facts)[2]
    assert cells(item_line) == ["FT-9", "05/04/2026", "0", f"10,00{NBSP}€"]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**7), places=2),
            st.integers(min_value=-30, max_value=400),
        ),
        max_size=25,
    ),
    language=st.sampled_from(["it", "en"]),
    with_interest=st.booleans(),
)
def test_the_text_table_for_any_items(rows, language, with_interest):
    today = dt.date(2026, 3, 31)
    items = tuple(
        ItemFigures(
            f"FT-{n}",
            today - dt.timedelta(days=days + 30),
            today - dt.timedelta(days=days),
            amount,
            days,
            Decimal("1.00"),
        )
        for n, (amount, days) in enumerate(rows)
    )
    facts = replace(sample_facts(language), items=items)
    lines = text_table(facts, with_interest=with_interest)
    # header + rule + one line per item + total
    assert len(lines) == len(rows) + 3
    assert set(lines[1]) == {"-"}
    assert len({len(line) for line in lines}) == 1
    money = [format_money(a, "EUR", language) for a, _days in rows]
    total = format_money(sum((a for a, _days in rows), Decimal("0.00")), "EUR", language)
    if with_interest:
        # every item has 1,00 of interest
        money = [f"{m}  " for m in money]
        total = f"{total}  "
        assert lines[-1].endswith(format_money(Decimal(len(rows)), "EUR", language))
    for line, amount in zip(lines[2:-1], money, strict=True):
        assert amount in line
    assert total in lines[-1]
    for line, (_amount, days) in zip(lines[2:-1], rows, strict=True):
        assert str(max(days, 0)) in line.split()


# --------------------------------------------------------------------------------------
# Escaping
# --------------------------------------------------------------------------------------


def test_html_escapes_what_the_text_shows_as_it_is():
    facts = replace(
        IT,
        customer={**IT.customer, "name": EVIL},
        items=(replace(IT.items[0], document_number="<b>FT</b>"),),
    )
    result = render(
        "Per {{ customer.name }}", "Gentile {{ customer.name }}\n\n{{ items_table }}", facts
    )
    assert result.subject == f"Per {EVIL}"
    assert result.text.startswith(f"Gentile {EVIL}\n")
    assert "<b>FT</b>" in result.text
    assert "<script>" not in result.html and "<b>FT</b>" not in result.html
    assert "<p>Gentile &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co</p>" in result.html
    assert "&lt;b&gt;FT&lt;/b&gt;" in result.html


def test_payment_details_escape_the_company_name():
    facts = replace(IT, company={**IT.company, "name": "Rossi & <Figli>"})
    html = render("s", "{{ payment_details }}", facts).html
    assert "Rossi &amp; &lt;Figli&gt;" in html and "<Figli>" not in html


# --------------------------------------------------------------------------------------
# The sandbox and checking a template
# --------------------------------------------------------------------------------------

FORBIDDEN = [
    "{{ company.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ items.append(1) }}",
    "{{ company.update({'name': 'x'}) }}",
    '{{ "{0.__class__}".format(company) }}',
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
]


@pytest.mark.parametrize("body", FORBIDDEN)
def test_the_sandbox_refuses(body):
    errors = template_errors("ok", body)
    assert errors and "unsafe" in errors[0]
    with pytest.raises(jinja2.exceptions.SecurityError):
        render("ok", body, IT)
    # In the subject too.
    assert template_errors(body, "ok")


def test_an_unknown_variable_is_named():
    errors = template_errors("ok", "Gentile {{ cliente.nome }}")
    assert len(errors) == 1 and "cliente" in errors[0]
    errors = template_errors("{{ customer.nickname }}", "ok")
    assert len(errors) == 1 and "nickname" in errors[0]
    with pytest.raises(jinja2.UndefinedError):
        render("ok", "{{ cliente }}", IT)


def test_a_syntax_error_names_the_line():
    with translation.override("en"):
        errors = template_errors("ok", "Gentile,\n\n{% if item_count > 1 %}\ntanti\n")
    assert len(errors) == 1
    # The if opened on line 3 is never closed: Jinja notices at the end, line 4.
    assert errors[0].startswith("Body (line 4):")
    with translation.override("en"):
        errors = template_errors("Sollecito {{ company.name }", "ok")
    assert len(errors) == 1 and errors[0].startswith("Subject (line 1):")
    with pytest.raises(jinja2.TemplateSyntaxError):
        render("ok", "{% if %}", IT)


def test_a_good_template_has_no_errors():
    assert template_errors("Sollecito {{ company.name }}", "{{ items_table }}") == []


def test_a_template_that_fails_only_on_real_data_raises_a_template_error():
    body = "{{ 100 // (item_count - 1) }}"
    # Two sample items: 100 // 1 = 100, so the check lets the template be saved...
    assert template_errors("ok", body) == []
    one_item = replace(IT, items=IT.items[:1])
    # ...but on a customer with one item render must fail in the documented way.
    with pytest.raises(jinja2.TemplateError):
        render("ok", body, one_item)


# --------------------------------------------------------------------------------------
# What the payment asks for
# --------------------------------------------------------------------------------------


def test_amount_to_pay_is_the_open_amount_unless_interest_is_claimed():
    # 1.234,56 + 100,00 = 1.334,56
    assert IT.amount_to_pay == Decimal("1334.56")
    assert render("s", "{{ payment.amount }}", IT).text == f"1.334,56{NBSP}€\n"
    formal = replace(IT, claims_interest=True)
    # 1.334,56 open + (10,30 + 0,42 = 10,72) interest + 80,00 compensation = 1.425,28
    assert formal.amount_to_pay == Decimal("1425.28")
    assert render("s", "{{ payment.amount }} / {{ payment.open_amount }}", formal).text == (
        f"1.425,28{NBSP}€ / 1.334,56{NBSP}€\n"
    )
    assert f"Importo: 1.425,28{NBSP}€" in render("s", "{{ payment_details }}", formal).text


def test_payment_details():
    text = render("s", "{{ payment_details }}", IT).text
    assert text == (
        "Beneficiario: Acme S.p.A.\n"
        "IBAN: IT60 X054 2811 1010 0000 0123 456\n"
        f"Importo: 1.334,56{NBSP}€\n"
        "Causale: FT-2026/101, FT-2026/130 RF18C001000123\n"
    )
    html = render("s", "{{ payment_details }}", IT).html
    assert html.startswith('<table class="payment"') and html.count("<tr>") == 4


def test_payment_details_are_empty_without_an_iban():
    facts = replace(IT, company={**IT.company, "iban": ""})
    assert rendering.variables(facts, html=False)["payment_details"] == ""
    assert rendering.variables(facts, html=True)["payment_details"] == ""
    result = render("s", "Paga.\n\n{{ payment_details }}", facts)
    assert result.text == "Paga.\n"
    assert result.html == "<p>Paga.</p>"


def test_deadline_and_interest_variables():
    result = render(
        "s", "{{ deadline }} {{ payment.deadline }} {{ interest.rate }} {{ interest.until }}", IT
    )
    # 31/03/2026 + 15 days = 15/04/2026; rate 10.15 in Italian is "10,15".
    assert result.text == "15/04/2026 15/04/2026 10,15% 31/03/2026\n"


# --------------------------------------------------------------------------------------
# The email around the fragment
# --------------------------------------------------------------------------------------


def test_email_document():
    fragment = render("s", "Ciao\n\n{{ items_table }}", IT).html
    document = rendering.email_document(fragment, language="it", title="Sollecito <urgente>")
    assert document.startswith('<!DOCTYPE html>\n<html lang="it">')
    assert '<meta charset="utf-8">' in document
    assert "<title>Sollecito &lt;urgente&gt;</title>" in document
    assert fragment in document
    assert document.rstrip().endswith("</div></body></html>")
    assert '<html lang="en">' in rendering.email_document("x", language="en", title="t")


# --------------------------------------------------------------------------------------
# The shipped texts
# --------------------------------------------------------------------------------------

DEFAULTS = default_templates()


def test_every_step_has_its_texts_in_both_languages():
    keys = {(d.code, d.kind, d.language) for d in DEFAULTS}
    # 7 texts (4 emails, 3 letters: the agent notice is an email only) in 2 languages.
    assert len(keys) == len(DEFAULTS) == 14
    assert {(c, k) for c, k, lang in keys if lang == "it"} == {
        (c, k) for c, k, lang in keys if lang == "en"
    }


@pytest.mark.parametrize("default", DEFAULTS, ids=lambda d: f"{d.language}/{d.code}.{d.kind}")
def test_every_shipped_text_renders(default):
    assert template_errors(default.subject, default.body, language=default.language) == []
    facts = sample_facts(default.language)
    result = render(default.subject, default.body, facts)
    assert result.subject and "{" not in result.subject
    for part in (result.text, result.html):
        assert "{{" not in part and "{%" not in part
        assert "Rossi S.r.l." in part or "FT-2026/101" in part
    assert result.html.startswith(("<p>", "<table"))
    # The claimed amounts are written the language's way.
    if default.language == "it":
        assert "€1," not in result.text
    else:
        assert f",56{NBSP}€" not in result.text
