"""The credit analysis report: its figures in Italian and English, its charts, nothing fetched
from outside, and the PDF. The portfolio is the one worked out in test_analysis."""

from __future__ import annotations

import re
from decimal import Decimal

import polars as pl
import pytest

from incassa.comms.documents import page_count, pdf_text
from incassa.credit.analysis import analyze
from incassa.credit.report import CHART_COUNT, render_html, render_pdf
from tests.credit.test_analysis import AS_OF, INVOICES, PORTFOLIO, receivables

D = Decimal


def plain(text: str) -> str:
    """Non-breaking and narrow spaces (Babel's, around the euro sign) as plain spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.fixture(scope="module")
def analysis():
    return analyze(PORTFOLIO, INVOICES, as_of=AS_OF, turnover=D("73000.00"), invoice_count=100)


@pytest.fixture(scope="module")
def italian(analysis):
    return plain(render_html(analysis, language="it", company_name="Rossi S.p.A."))


@pytest.fixture(scope="module")
def english(analysis):
    return plain(render_html(analysis, language="en", sources=["overdue.csv", "invoices.csv"]))


def test_italian_figures(italian):
    assert '<html lang="it">' in italian
    assert "Rossi S.p.A." in italian
    for figure in (
        "10.000,00 €",  # overdue
        "14.600,00 €",  # open in all
        "4.000,00 €",  # the largest debtor, A
        "40,0%",  # its share
        "73,0",  # DSO, days
        "33,3%",  # late share of turnover
        "87,1",  # average days late
        "1.800,00 €",  # cash released by the estimate
        "8.200,00 €",  # overdue after it
        "730,00 €",  # average invoice
        "31/03/2026",
        "01/12/2025",
    ):
        assert figure in italian, figure
    # The dashboard's translated labels are shared.
    assert "Non ancora scaduto" in italian
    assert "Oltre 180 giorni" in italian


def test_english_figures(english):
    assert '<html lang="en">' in english
    for figure in (
        "€10,000.00",
        "€14,600.00",
        "€4,000.00",
        "40.0%",
        "73.0 days",
        "33.3%",
        "€1,800.00",
        "€730.00",
        "Not yet due",
        "overdue.csv, invoices.csv",
    ):
        assert figure in english, figure


def test_sections_and_estimate_are_labelled(english):
    for heading in ("Aging", "Concentration", "How late", "DSO and late share of turnover"):
        assert heading in english
    assert "Estimate" in english
    assert "Assumptions" in english
    assert "30.0%" in english  # the assumed share paid earlier


def test_charts_are_inline_svg(italian, english):
    for html in (italian, english):
        assert html.count("<svg") == CHART_COUNT == 5
        assert html.count('class="chart" role="img"') == CHART_COUNT
        # Ids are unique across the charts of one page.
        ids = re.findall(r'\bid="([^"]+)"', html)
        assert len(ids) == len(set(ids))


def test_standalone_nothing_to_fetch(italian, english):
    for html in (italian, english):
        assert "http" not in html  # not even an SVG namespace
        assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:|//)""", html)
        assert not re.search(r"url\(\s*['\"]?(?:https?:|//)", html)
        assert "<script" not in html
        assert "<link" not in html
        assert "<img" not in html
        assert "<style>" in html


def test_customer_names_are_escaped():
    evil = receivables([("X", AS_OF.replace(day=1), 100_000)]).with_columns(
        customer_name=pl.lit("<script>alert(1)</script> $x$")
    )
    html = render_html(analyze(evil, INVOICES, as_of=AS_OF), language="en")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; $x$" in html


def test_nothing_overdue_renders_without_charts():
    nothing = PORTFOLIO.filter(pl.col("due_date") >= AS_OF)
    html = plain(render_html(analyze(nothing, INVOICES, as_of=AS_OF), language="en"))
    assert "<svg" not in html
    assert "Nothing is overdue." in html
    assert "€0.00" in html


@pytest.fixture(scope="module")
def pdf(analysis):
    return render_pdf(analysis, language="it", company_name="Rossi S.p.A.")


def test_pdf(pdf):
    assert pdf.startswith(b"%PDF")
    assert page_count(pdf) >= 1
    text = plain(pdf_text(pdf))
    for figure in ("Rossi S.p.A.", "10.000,00 €", "1.800,00 €", "33,3%", "73,0", "Pagina 1 di"):
        assert figure in text, figure
