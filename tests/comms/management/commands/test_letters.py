"""``incassa letters batch|list|posted|registered``: the day's letters for the post room."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from incassa.comms import documents
from incassa.comms.models import Medium, Message, MessageStatus, PrintBatch
from incassa.dunning.models import Action, ActionStatus
from tests.factories import CompanyFactory, CustomerFactory, ReceivableFactory, action_with_items

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 26)


def action_for(*args, **kwargs):
    kwargs.setdefault("day", TODAY)
    return action_with_items(*args, **kwargs)


@pytest.fixture
def letters(company):
    """A first reminder (a letter) to Rossi and an approved formal notice (a registered
    letter: no PEC account is configured) to Bianchi."""
    rossi = CustomerFactory(
        company=company, code="001", name="Rossi S.r.l.", address="Via Verdi 2",
        postal_code="10121", city="Torino",
    )  # fmt: skip
    bianchi = CustomerFactory(
        company=company, code="002", name="Bianchi S.p.A.", address="Via Po 9",
        postal_code="50100", city="Firenze",
    )  # fmt: skip
    reminder = ReceivableFactory(
        company=company, customer=rossi, document_number="FT-1", due_date=dt.date(2026, 3, 1)
    )
    notice = ReceivableFactory(
        company=company,
        customer=bianchi,
        document_number="FT-2",
        due_date=dt.date(2026, 1, 31),
        open_amount=Decimal("500.00"),
    )
    return (
        action_for(company, rossi, "first-reminder", [reminder]),
        action_for(company, bianchi, "formal-notice", [notice], approved=True),
    )


def letters_command(*args: str, language: str = "en") -> str:
    """The command's output. The services' messages are in the active language: Italian
    (settings.LANGUAGE_CODE) when run from a shell, English here unless told."""
    out = StringIO()
    with translation.override(language):
        call_command("letters", *args, stdout=out)
    return out.getvalue()


def test_batch_writes_the_pdf(letters, tmp_path):
    output = tmp_path / "x.pdf"
    out = letters_command("batch", "--date", "2026-03-26", "--output", str(output))
    batch = PrintBatch.objects.get()
    assert out.strip() == (
        f"Batch {batch.pk} of 26/03/2026: 2 letter(s), 1 registered, {batch.pages} page(s): "
        f"{batch.document.path}"
    )
    pdf = output.read_bytes()
    assert pdf.startswith(b"%PDF")
    assert pdf == batch.document.read()
    # The cover list, then the registered letter first, then the ordinary one.
    text = documents.pdf_text(pdf)
    assert text.index("Bianchi S.p.A.") < text.index("Rossi S.r.l.")
    assert "FT-1" in text and "FT-2" in text
    assert set(Message.objects.values_list("medium", "status")) == {
        (Medium.REGISTERED_LETTER, MessageStatus.PRINTED),
        (Medium.LETTER, MessageStatus.PRINTED),
    }

    # Everything is in the batch: nothing is left for a second one.
    with pytest.raises(CommandError) as caught:
        letters_command("batch", "--date", "2026-03-26")
    assert caught.value.returncode == 2
    assert str(caught.value) == "There are no letters to print."


def test_no_letters_to_print(company):
    with pytest.raises(CommandError, match=r"^There are no letters to print\.$") as caught:
        letters_command("batch", "--date", "2026-03-26")
    assert caught.value.returncode == 2
    with pytest.raises(CommandError, match=r"^Non ci sono lettere da stampare\.$") as caught:
        letters_command("batch", "--date", "2026-03-26", language="it")
    assert caught.value.returncode == 2
    assert not PrintBatch.objects.exists()


def test_batch_json_list_and_posted(letters):
    made = json.loads(letters_command("batch", "--date", "2026-03-26", "--json"))
    batch = PrintBatch.objects.get()
    assert made == {
        "id": batch.pk,
        "date": "2026-03-26",
        "letters": 2,
        "registered": 1,
        "pages": batch.pages,
        "path": batch.document.path,
        "posted_at": None,
    }
    assert json.loads(letters_command("list", "--json")) == [made]
    assert letters_command("list").rstrip("\n") == (
        f"{batch.pk:>6}  26/03/2026     2 letters (1 registered)  to post"
    )

    out = letters_command("posted", str(batch.pk))
    assert out.strip() == f"Batch {batch.pk} marked as posted: its letters have gone out."
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.POSTED}
    assert set(Action.objects.values_list("status", flat=True)) == {ActionStatus.SENT}
    (listed,) = json.loads(letters_command("list", "--json"))
    batch.refresh_from_db()
    assert listed["posted_at"] == batch.posted_at.isoformat()
    assert "to post" not in letters_command("list")

    with pytest.raises(CommandError, match="already marked as posted") as caught:
        letters_command("posted", str(batch.pk))
    assert caught.value.returncode == 2
    with pytest.raises(CommandError, match=f"no print batch {batch.pk + 1}") as caught:
        letters_command("posted", str(batch.pk + 1))
    assert caught.value.returncode == 2


def test_registered_numbers(letters):
    letters_command("batch", "--date", "2026-03-26")
    registered = Message.objects.get(medium=Medium.REGISTERED_LETTER)
    ordinary = Message.objects.get(medium=Medium.LETTER)

    out = letters_command("registered", str(registered.pk), " 15123456789-0 ")
    assert out.strip() == f"Message {registered.pk}: registered number 15123456789-0"
    registered.refresh_from_db()
    assert registered.registered_number == "15123456789-0"

    with pytest.raises(CommandError, match="is not a registered letter") as caught:
        letters_command("registered", str(ordinary.pk), "15123456789-1")
    assert caught.value.returncode == 2
    ordinary.refresh_from_db()
    assert ordinary.registered_number == ""

    unknown = max(registered.pk, ordinary.pk) + 1
    with pytest.raises(CommandError, match=f"no message {unknown}") as caught:
        letters_command("registered", str(unknown), "15123456789-2")
    assert caught.value.returncode == 2


def test_another_companys_letters_are_not_reachable(letters):
    letters_command("batch", "--date", "2026-03-26")
    batch = PrintBatch.objects.get()
    CompanyFactory(code="other")
    with pytest.raises(CommandError, match="several companies") as caught:
        letters_command("posted", str(batch.pk))
    assert caught.value.returncode == 2
    with pytest.raises(CommandError, match=f"no print batch {batch.pk}"):
        letters_command("posted", str(batch.pk), "--company", "other")
    assert PrintBatch.objects.get().posted_at is None
