"""Template filters that format money and dates in the active language."""

from __future__ import annotations

from django import template

from incassa.core import formatting

register = template.Library()


@register.filter
def money(value, currency: str = "EUR") -> str:
    return formatting.format_money(value, currency or "EUR")


@register.filter
def day(value) -> str:
    return formatting.format_day(value)


@register.filter
def number(value) -> str:
    return formatting.format_number(value)


@register.filter
def percent(value, total) -> str:
    if not total:
        return "0%"
    return f"{formatting.format_number(round(value * 100 / total, 1))}%"
