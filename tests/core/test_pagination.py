"""KeysPaginator: pages of keys from the ordered list, rows fetched by key, the count from
the plain filter."""

import pytest
from django.db.models import F

from incassa.core.pagination import KeysPaginator
from incassa.ledger.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_pages_keep_the_order_and_fetch_only_their_rows(company, django_assert_num_queries):
    for code in ["E", "A", "D", "B", "C"]:
        CustomerFactory(company=company, code=code)
    fetched = []

    def fetch(keys):
        fetched.append(list(keys))
        return Customer.objects.filter(pk__in=keys).annotate(shown=F("name"))

    ordered = Customer.objects.filter(company=company).order_by("-code")
    paginator = KeysPaginator(ordered, 2, counted=ordered, fetch=fetch)
    # The count, the page's keys and its rows: three queries.
    with django_assert_num_queries(3):
        page = paginator.page(2)
    # Codes descending: E D | C B | A; page 2 holds C and B, in that order, annotated.
    assert [c.code for c in page.object_list] == ["C", "B"]
    assert all(hasattr(c, "shown") for c in page.object_list)
    assert len(fetched[-1]) == 2
    assert (paginator.count, paginator.num_pages) == (5, 3)


def test_the_count_comes_from_the_plain_filter(company):
    CustomerFactory.create_batch(3, company=company)
    CustomerFactory()  # another company's
    ordered = Customer.objects.filter(company=company).order_by("code")
    paginator = KeysPaginator(
        ordered, 10, counted=Customer.objects.filter(company=company), fetch=lambda k: []
    )
    assert paginator.count == 3
    # Rows that went away between the keys and the fetch are left out, not an error.
    assert paginator.page(1).object_list == []
