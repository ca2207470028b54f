"""The credit analysis report: one standalone HTML file (or an A4 PDF) from an ``Analysis``.

Everything the report needs is inside the file: the CSS inline and the charts as inline SVG
drawn by matplotlib, with the text turned into paths so that they look the same on every
machine, with no font, script or network access. The PDF is WeasyPrint's rendering of the same
HTML (its print CSS), through the same restricted URL fetcher as the letters
(``comms.documents``): nothing outside ``data:`` URIs is ever fetched.

Texts are Django translations (``language`` "it" or "en"); amounts, dates and numbers are
formatted for the language (``1.234,56 €`` and ``31/03/2026`` in Italian).
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Sequence
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")

from babel.numbers import format_compact_currency, format_currency, format_decimal
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from incassa.comms.documents import _page_counter_css, write_pdf
from incassa.core.formatting import current_locale, format_day, format_money
from incassa.credit import kpi
from incassa.credit.analysis import Analysis

__all__ = ["CHART_COUNT", "render_html", "render_pdf"]

#: The charts of a report with something overdue: aging, top debtors, Pareto curve, days late,
#: the reminder estimate.
CHART_COUNT = 5

# The dashboard's palette (web/static/web/incassa.css), so that both speak the same colours.
INK = "#17202b"
MUTED = "#4b5563"
GRID = "#e4e8ee"
ACCENT = "#0b4f8a"
OVERDUE = "#a02121"
GOOD = "#2f7d4f"
BUCKET_COLOURS = {
    "not_due": "#2f7d4f",
    "1_30": "#6b7d12",
    "31_60": "#a66b00",
    "61_90": "#c2521a",
    "91_180": "#b0302b",
    "over_180": "#6e1518",
}
DAYS_LATE_COLOURS = ("#8a9a1b", "#6b7d12", "#a66b00", "#c2521a", "#b0302b", "#8c1f22", "#5a1014")

_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "text.parse_math": False,  # a "$" in a customer's name is not TeX
    "text.color": INK,
    "svg.fonttype": "path",
    "svg.hashsalt": "incassa-report",  # the same figures draw the same file
    "axes.edgecolor": "#9aa5b1",
    "axes.labelcolor": MUTED,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlecolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.labelcolor": INK,
    "ytick.labelcolor": INK,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}
_AGING_TICKS = {
    "1_30": "1–30",
    "31_60": "31–60",
    "61_90": "61–90",
    "91_180": "91–180",
    "over_180": ">180",
}
CHART_WIDTH = 5.2  # inches; the SVG scales to its box, the fonts with it


# --------------------------------------------------------------------------------------------
# Formatting for the language
# --------------------------------------------------------------------------------------------


class _Formats:
    def __init__(self, language: str) -> None:
        self.language = language
        self.locale = current_locale(language)

    def money(self, value: Decimal | None) -> str:
        return format_money(value, language=self.language)

    def money0(self, value: Decimal | float | None) -> str:
        """Whole euro (``12.345 €``): chart labels and axes."""
        if value is None:
            return ""
        pattern = "#,##0\u00a0¤" if self.language == "it" else "¤#,##0"
        return format_currency(
            value, "EUR", format=pattern, currency_digits=False, locale=self.locale
        )

    def money_short(self, value: float) -> str:
        """Axis ticks: whole euro below a million, ``1,2 Mln €`` above."""
        if abs(value) >= 1_000_000:
            return format_compact_currency(value, "EUR", locale=self.locale, fraction_digits=1)
        return self.money0(value)

    def number(self, value: Decimal | int | None, pattern: str = "#,##0") -> str:
        if value is None:
            return ""
        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, value: Decimal | None) -> str:
        return "" if value is None else self.number(value, "#,##0.0") + "%"

    def days(self, value: Decimal | None) -> str:
        return "" if value is None else self.number(value, "#,##0.0")

    def day(self, value) -> str:
        return format_day(value, language=self.language)


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------


def _svg(figure: Figure, chart_id: str, title: str) -> str:
    """The figure as an inline ``<svg>`` element: no XML prologue, metadata or comments, ids
    prefixed so that several charts live in one page, sized by CSS from its viewBox."""
    buffer = io.StringIO()
    with matplotlib.rc_context(_RC):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{chart_id}-\1"', svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{chart_id}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{chart_id}-\1)", svg)
    svg = re.sub(r'\s(width|height)="[^"]*pt"', "", svg, count=2)
    # Inline in HTML the SVG namespace is implied and SVG 2's plain ``href`` replaces
    # ``xlink:href``: the page then holds no URL at all, not even a namespace's.
    svg = re.sub(r'\sxmlns(?::xlink)?="[^"]*"', "", svg)
    svg = svg.replace("xlink:href=", "href=")
    svg = re.sub(r'style="([^"]*)"', _presentation_attributes, svg)
    label = escape(title)
    svg = svg.replace("<svg ", f'<svg class="chart" role="img" aria-label="{label}" ', 1).replace(
        ">", f"><title>{label}</title>", 1
    )
    svg = re.sub(r"\n\s*", "\n", svg)
    return svg


def _presentation_attributes(match: re.Match) -> str:
    """``style="fill: #fff; stroke: none"`` as ``fill="#fff" stroke="none"``: the same to an
    SVG renderer, and not mistaken for CSS by WeasyPrint's HTML cascade (which would warn
    about every "unknown property")."""
    pairs = [part.split(":", 1) for part in match.group(1).split(";") if ":" in part]
    return " ".join(f'{name.strip()}="{value.strip()}"' for name, value in pairs)


def _figure(height: float, width: float = CHART_WIDTH) -> Figure:
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height), layout="constrained")


def _money_axis(axis, fmt: _Formats) -> None:
    axis.set_major_formatter(FuncFormatter(lambda value, _pos: fmt.money_short(value)))
    axis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3, integer=True))


def _headroom(ax, values: Sequence[float], factor: float = 1.18) -> None:
    top = max([0.0, *values])
    bottom = min([0.0, *values])
    ax.set_ylim(bottom * factor if bottom < 0 else 0, top * factor if top > 0 else 1)


def _bar_labels(ax, bars, labels: Sequence[str], **kwargs) -> None:
    ax.bar_label(bars, labels=labels, padding=3, fontsize=9, color=INK, **kwargs)


def _aging_chart(analysis: Analysis, fmt: _Formats, labels: dict[str, str]) -> str:
    buckets = [b for b in kpi.AGING_BUCKETS if b != "not_due" or analysis.has_not_due]
    values = [float(analysis.aging[b]) for b in buckets]
    with matplotlib.rc_context(_RC):
        figure = _figure(3.0)
        ax = figure.add_subplot()
        names = [_AGING_TICKS.get(b) or textwrap.fill(labels[b], 11) for b in buckets]
        bars = ax.bar(names, values, color=[BUCKET_COLOURS[b] for b in buckets], width=0.62)
        _bar_labels(ax, bars, [fmt.money0(Decimal(str(v))) for v in values])
        _money_axis(ax.yaxis, fmt)
        _headroom(ax, values)
        ax.set_xlabel(gettext("Days past due"))
        ax.grid(axis="y", color=GRID)
        ax.tick_params(axis="x", length=0)
    return _svg(figure, "aging", gettext("Overdue by days past the due date"))


def _top_debtors_chart(analysis: Analysis, fmt: _Formats) -> str:
    top = analysis.concentration.top
    with matplotlib.rc_context(_RC):
        figure = _figure(0.5 + 0.34 * max(len(top), 3))
        ax = figure.add_subplot()
        names = [
            textwrap.shorten(d.customer_name or d.customer_code, 30, placeholder="…") for d in top
        ]
        values = [float(d.amount) for d in top]
        positions = list(range(len(top)))[::-1]
        bars = ax.barh(positions, values, color=ACCENT, height=0.62)
        ax.set_yticks(positions, names)
        _bar_labels(ax, bars, [f"{fmt.money0(d.amount)} · {fmt.percent(d.share)}" for d in top])
        ax.set_xlim(0, max([1.0, *values]) * 1.45)
        ax.xaxis.set_visible(False)  # every bar carries its amount
        ax.tick_params(axis="y", length=0)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
    return _svg(figure, "top", gettext("The largest debtors"))


def _pareto_chart(analysis: Analysis, fmt: _Formats) -> str:
    concentration = analysis.concentration
    xs = [float(x) for x, _ in concentration.pareto] or [0.0, 100.0]
    ys = [float(y) for _, y in concentration.pareto] or [0.0, 0.0]
    percent = FuncFormatter(lambda value, _pos: fmt.number(Decimal(int(value))) + "%")
    with matplotlib.rc_context(_RC):
        figure = _figure(3.3)
        ax = figure.add_subplot()
        ax.plot([0, 100], [0, 100], color="#9aa5b1", linestyle=":", linewidth=1.2)
        ax.text(
            72, 66, gettext("equal shares"), color=MUTED, fontsize=8.5, rotation=45,
            rotation_mode="anchor", transform_rotates_text=True, ha="center",
        )  # fmt: skip
        ax.fill_between(xs, ys, color=ACCENT, alpha=0.1, linewidth=0)
        ax.plot(xs, ys, color=ACCENT, linewidth=2.2, marker="o" if len(xs) <= 41 else None,
                markersize=3.5)  # fmt: skip
        ax.axhline(80, color=OVERDUE, linestyle="--", linewidth=1.1)
        ax.text(1.5, 82, "80%", color=OVERDUE, fontsize=9, fontweight="bold")
        share = concentration.debtors_for_80_share
        if share is not None and concentration.debtors_for_80:
            x = float(share)
            ax.plot([x, x], [0, 80], color=OVERDUE, linestyle="--", linewidth=1.1)
            ax.text(
                x + 1.5, 4, gettext("%(debtors)s of the debtors") % {"debtors": fmt.percent(share)},
                color=OVERDUE, fontsize=9, fontweight="bold", ha="left" if x < 60 else "right",
            )  # fmt: skip
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 104)
        ax.xaxis.set_major_formatter(percent)
        ax.yaxis.set_major_formatter(percent)
        ax.set_xlabel(gettext("Debtors, the largest first"))
        ax.set_ylabel(gettext("Cumulative share of the overdue"))
        ax.grid(color=GRID)
    return _svg(figure, "pareto", gettext("Pareto curve of the overdue"))


def _days_late_chart(analysis: Analysis, fmt: _Formats) -> str:
    bins = analysis.days_late
    values = [float(b.amount) for b in bins]
    with matplotlib.rc_context(_RC):
        figure = _figure(3.0)
        ax = figure.add_subplot()
        names = [f"{b.low}–{b.high}" if b.high is not None else f">{b.low - 1}" for b in bins]
        bars = ax.bar(names, values, color=DAYS_LATE_COLOURS[: len(bins)], width=0.7)
        _bar_labels(ax, bars, [fmt.percent(b.share) if b.share is not None else "" for b in bins])
        _money_axis(ax.yaxis, fmt)
        _headroom(ax, values)
        ax.set_xlabel(gettext("Days late"))
        ax.grid(axis="y", color=GRID)
        ax.tick_params(axis="x", length=0)
    return _svg(figure, "days-late", gettext("Overdue amount by days late"))


def _reminder_chart(analysis: Analysis, fmt: _Formats) -> str:
    estimate = analysis.reminder
    recent = float(estimate.amount_in_window)
    old = float(estimate.overdue_before) - recent
    released = float(estimate.cash_released)
    today, after = gettext("Today"), gettext("With the process")
    with_dso = estimate.dso_before is not None and estimate.dso_after is not None
    with matplotlib.rc_context(_RC):
        figure = _figure(3.3)
        axes = figure.subplots(1, 2, width_ratios=[1.7, 1]) if with_dso else [figure.add_subplot()]
        ax = axes[0]
        window = gettext("1–%(days)s days late") % {"days": estimate.window_days}
        older = gettext("over %(days)s days late") % {"days": estimate.window_days}
        x = [0, 1]
        ax.bar(x, [old, old], color=BUCKET_COLOURS["91_180"], width=0.56, label=older)
        ax.bar(x, [recent, recent - released], bottom=[old, old], color=BUCKET_COLOURS["31_60"],
               width=0.56, label=window)  # fmt: skip
        ax.bar([1], [released], bottom=[old + recent - released], color="white", edgecolor=GOOD,
               linestyle="--", linewidth=1.2, width=0.56, hatch="////",
               label=gettext("paid earlier"))  # fmt: skip
        top = max(old + recent, 1.0)
        for position, total in ((0, old + recent), (1, old + recent - released)):
            ax.annotate(
                fmt.money0(Decimal(round(total))), xy=(position, top), xytext=(0, 4),
                textcoords="offset points", ha="center", va="bottom", fontsize=9.5,
                fontweight="bold", color=INK if position == 0 else GOOD,
            )  # fmt: skip
        ax.set_xticks(x, [today, after])
        _money_axis(ax.yaxis, fmt)
        ax.set_ylim(min(0.0, old) * 1.2, top * 1.16)
        ax.set_title(gettext("Overdue"))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=1, fontsize=8,
                  frameon=False)  # fmt: skip
        ax.grid(axis="y", color=GRID)
        ax.tick_params(axis="x", length=0)
        if with_dso:
            ax = axes[1]
            days = [float(estimate.dso_before), float(estimate.dso_after)]
            bars = ax.bar(x, days, color=[ACCENT, GOOD], width=0.56)
            _bar_labels(ax, bars, [fmt.days(estimate.dso_before), fmt.days(estimate.dso_after)])
            ax.set_xticks(x, [today, textwrap.fill(after, 10)])
            _headroom(ax, days, 1.25)
            ax.set_title(gettext("DSO (days)"))
            ax.grid(axis="y", color=GRID)
            ax.tick_params(axis="x", length=0)
    return _svg(figure, "reminder", gettext("Overdue and DSO with a structured reminder process"))


# --------------------------------------------------------------------------------------------
# Texts
# --------------------------------------------------------------------------------------------


def _aging_labels() -> dict[str, str]:
    # The dashboard's labels (ledger.selectors), so that they share their translations.
    return {
        "not_due": gettext("Not yet due"),
        "1_30": gettext("1–30 days"),
        "31_60": gettext("31–60 days"),
        "61_90": gettext("61–90 days"),
        "91_180": gettext("91–180 days"),
        "over_180": gettext("Over 180 days"),
    }


def _days_late_label(low: int, high: int | None) -> str:
    if high is None:
        return gettext("Over %(days)s days") % {"days": low - 1}
    return gettext("%(low)s–%(high)s days") % {"low": low, "high": high}


def _share_of(analysis: Analysis, keys: Sequence[str]) -> Decimal:
    amount = sum((analysis.aging[k] for k in keys), Decimal(0))
    if analysis.overdue_amount <= 0:
        return Decimal(0)
    return amount * 100 / analysis.overdue_amount


def _sentences(analysis: Analysis, fmt: _Formats) -> dict[str, str]:
    """One sentence of interpretation per section, from the figures."""
    concentration = analysis.concentration
    old = _share_of(analysis, ("91_180", "over_180"))
    aging = gettext("%(share)s of the overdue is more than 90 days late.") % {
        "share": fmt.percent(old)
    }
    if old >= 25:
        aging += " " + gettext(
            "The older a debt, the less likely it is to be paid: these items need a formal "
            "notice or a collection agency, not another reminder."
        )
    else:
        aging += " " + gettext(
            "Most of the overdue is recent: the part that prompt reminders recover best."
        )

    if concentration.debtors:
        concentration_text = ngettext(
            "%(count)s debtor out of %(total)s holds 80%% of the overdue.",
            "%(count)s debtors out of %(total)s hold 80%% of the overdue.",
            concentration.debtors_for_80,
        ) % {"count": concentration.debtors_for_80, "total": concentration.debtors}
        concentration_text += " " + gettext(
            "A call to each of them moves more money than a reminder to everyone."
        )
        largest = concentration.top[0]
        if largest.share >= 25:
            concentration_text += " " + gettext(
                "The largest debtor alone holds %(share)s: a risk to follow closely."
            ) % {"share": fmt.percent(largest.share)}
    else:
        concentration_text = gettext("Nothing is overdue.")

    window = sum(
        (b.amount for b in analysis.days_late if b.high is not None and b.high <= 60), Decimal(0)
    )
    within = window * 100 / analysis.overdue_amount if analysis.overdue_amount > 0 else None
    days_late = gettext(
        "Weighted by amount, the overdue is on average %(days)s days late; %(share)s of it is "
        "no more than 60 days late."
    ) % {"days": fmt.days(analysis.average_days_late) or "0", "share": fmt.percent(within or 0)}

    if analysis.daily_sales is not None:
        dso = gettext("Every day of DSO ties up %(amount)s of cash.") % {
            "amount": fmt.money0(analysis.daily_sales)
        }
    else:
        dso = gettext("The DSO needs the turnover or invoices that add up to more than zero.")
    if analysis.late_share is not None:
        dso += " " + gettext(
            "The overdue equals %(share)s of what was invoiced in the last four months."
        ) % {"share": fmt.percent(analysis.late_share)}

    estimate = analysis.reminder
    reminder = gettext(
        "If %(share)s of the amount up to %(days)s days late were paid as soon as a structured "
        "process asks for it, %(amount)s would come in earlier."
    ) % {
        "share": fmt.percent(estimate.recovered_share),
        "days": estimate.window_days,
        "amount": fmt.money0(estimate.cash_released),
    }
    if estimate.dso_reduction is not None:
        reminder += " " + gettext("The DSO would fall by %(days)s days.") % {
            "days": fmt.days(estimate.dso_reduction)
        }
    return {
        "aging": aging,
        "concentration": concentration_text,
        "days_late": days_late,
        "dso": dso,
        "reminder": reminder,
    }


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def _context(analysis: Analysis, language: str, company_name: str, sources: Sequence[str]):
    fmt = _Formats(language)
    labels = _aging_labels()
    concentration = analysis.concentration
    money = fmt.money
    top20 = concentration.top_shares.get(20)
    top20_count = concentration.top_count(20)
    aging_rows = [
        {
            "key": bucket,
            "label": labels[bucket],
            "items": analysis.aging_items[bucket],
            "amount": money(analysis.aging[bucket]),
            "share": fmt.percent(
                analysis.aging[bucket] * 100 / analysis.open_amount
                if analysis.open_amount > 0
                else None
            ),
            "colour": BUCKET_COLOURS[bucket],
        }
        for bucket in kpi.AGING_BUCKETS
        if bucket != "not_due" or analysis.has_not_due
    ]
    days_rows = [
        {
            "label": _days_late_label(b.low, b.high),
            "items": b.items,
            "amount": money(b.amount),
            "share": fmt.percent(b.share),
            "colour": DAYS_LATE_COLOURS[i],
        }
        for i, b in enumerate(analysis.days_late)
    ]
    debtors = [
        {
            "rank": rank,
            "name": d.customer_name,
            "code": d.customer_code,
            "items": d.items,
            "days": d.max_days_late,
            "amount": money(d.amount),
            "share": fmt.percent(d.share),
        }
        for rank, d in enumerate(concentration.top, start=1)
    ]
    top_shares = [
        {
            "label": gettext("Largest %(share)s of debtors") % {"share": f"{share}%"},
            "count": concentration.top_count(share),
            "share": fmt.percent(value),
        }
        for share, value in concentration.top_shares.items()
    ]
    estimate = analysis.reminder
    charts: dict[str, str] = {}
    if analysis.overdue_items:
        charts = {
            "aging": _aging_chart(analysis, fmt, labels),
            "top": _top_debtors_chart(analysis, fmt),
            "pareto": _pareto_chart(analysis, fmt),
            "days_late": _days_late_chart(analysis, fmt),
            "reminder": _reminder_chart(analysis, fmt),
        }
    basis = {
        "turnover": gettext("turnover of the last year ÷ 365"),
        "invoiced": gettext("invoices of the period ÷ its days"),
    }.get(analysis.sales_basis or "", "")
    return {
        "language": language,
        "company_name": company_name,
        "sources": list(sources),
        "page_counter_css": _page_counter_css(),
        "as_of": fmt.day(analysis.as_of),
        "a": analysis,
        "charts": {k: mark_safe(v) for k, v in charts.items()},
        "overdue": money(analysis.overdue_amount),
        "open": money(analysis.open_amount),
        "not_due": money(analysis.not_due_amount),
        "items": fmt.number(analysis.overdue_items),
        "customers": fmt.number(analysis.overdue_customers),
        "dso": fmt.days(analysis.dso),
        "best_dso": fmt.days(analysis.best_possible_dso),
        "add": fmt.days(analysis.add),
        "late_share": fmt.percent(analysis.late_share),
        "average_days_late": fmt.days(analysis.average_days_late),
        "old_share": fmt.percent(_share_of(analysis, ("91_180", "over_180"))),
        "top20": fmt.percent(top20),
        "top20_count": top20_count,
        "debtors": fmt.number(concentration.debtors),
        "debtors_for_80": concentration.debtors_for_80,
        "debtors_for_80_share": fmt.percent(concentration.debtors_for_80_share),
        "aging_rows": aging_rows,
        "aging_total": money(analysis.open_amount),
        "aging_items_total": analysis.items,
        "days_rows": days_rows,
        "days_total": money(analysis.overdue_amount),
        "debtor_rows": debtors,
        "top_shares": top_shares,
        "invoiced": money(analysis.invoiced_amount),
        "invoiced_documents": fmt.number(analysis.invoiced_documents),
        "invoiced_from": fmt.day(analysis.invoiced_from),
        "invoiced_to": fmt.day(analysis.invoiced_to),
        "invoiced_days": analysis.invoiced_days,
        "turnover": money(analysis.turnover),
        "invoice_count": fmt.number(analysis.invoice_count),
        "average_invoice": money(analysis.average_invoice),
        "daily_sales": money(analysis.daily_sales),
        "sales_basis": basis,
        "estimate": {
            "window_days": estimate.window_days,
            "recovered_share": fmt.percent(estimate.recovered_share),
            "amount_in_window": money(estimate.amount_in_window),
            "cash_released": money(estimate.cash_released),
            "overdue_before": money(estimate.overdue_before),
            "overdue_after": money(estimate.overdue_after),
            "dso_before": fmt.days(estimate.dso_before),
            "dso_after": fmt.days(estimate.dso_after),
            "dso_reduction": fmt.days(estimate.dso_reduction),
            "late_share_after": fmt.percent(estimate.late_share_after),
        },
        "sentences": _sentences(analysis, fmt),
    }


def render_html(
    analysis: Analysis,
    *,
    language: str,
    company_name: str = "",
    sources: Sequence[str] = (),
) -> str:
    """The report as one standalone HTML page (inline CSS and SVG, nothing to fetch).

    ``company_name`` heads the report when given; ``sources`` (the files' names) are listed
    under the method notes.
    """
    return _render(analysis, language, company_name, sources, for_print=False)


def _render(
    analysis: Analysis,
    language: str,
    company_name: str,
    sources: Sequence[str],
    *,
    for_print: bool,
) -> str:
    with translation.override(language):
        context = _context(analysis, language, company_name, sources)
        return render_to_string("credit/report.html", {**context, "for_print": for_print})


def render_pdf(
    analysis: Analysis,
    *,
    language: str,
    company_name: str = "",
    sources: Sequence[str] = (),
) -> bytes:
    """The same report as an A4 PDF (the page's print CSS), by WeasyPrint."""
    # The responsive rules are left out: WeasyPrint knows no media features and would warn.
    return write_pdf(_render(analysis, language, company_name, sources, for_print=True))
