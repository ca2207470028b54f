"""Pages of long lists (a million items) read in two steps: the page's keys, then its rows.

Django's ``Paginator`` over a queryset counts the queryset as it is (with every join its
annotations and ``select_related`` add) and slices the full query, so the database joins
and sorts the related rows of the whole list before it drops all but a page. Here the count
and the slice read only what the filter and the order need (usually a covering index), and
the page's few rows are then fetched by primary key with whatever the page shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


class KeysPaginator(Paginator):
    """A paginator over the primary keys of ``ordered`` that counts ``counted``.

    ``counted`` is the same list without what only the display needs (annotations, joins
    for ``select_related``); ``fetch`` turns a page's keys into its rows, in any order.
    """

    def __init__(
        self,
        ordered: QuerySet,
        per_page: int,
        *,
        counted: QuerySet,
        fetch: Callable[[Sequence[Any]], Iterable[Any]],
    ) -> None:
        super().__init__(ordered.values_list("pk", flat=True), per_page)
        self._counted = counted
        self._fetch = fetch

    @cached_property
    def count(self) -> int:
        return self._counted.order_by().count()

    def page(self, number: Any) -> Page:
        page = super().page(number)
        keys = list(page.object_list)
        rows = {row.pk: row for row in self._fetch(keys)}
        page.object_list = [rows[key] for key in keys if key in rows]
        return page
