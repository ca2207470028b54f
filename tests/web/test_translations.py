"""Everything an Italian user sees is in Italian: every string of the pages, the admin and the
ledger's models has a translation in the Italian catalogue.

When this fails, run ``incassa extract-messages``, translate the new entries of
``src/incassa/locale/it/LC_MESSAGES/django.po`` and run ``make messages``.
"""

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import incassa
from incassa.web.management.commands.extract_messages import messages_extract

ROOT = Path(incassa.__file__).resolve().parent
CHECKED = ("web/", "ledger/admin.py", "ledger/selectors.py", "ledger/models.py", "ledger/apps.py")


@pytest.fixture(scope="module")
def italian():
    with (ROOT / "locale/it/LC_MESSAGES/django.po").open("rb") as po_file:
        return read_po(po_file, locale="it")


def test_pages_admin_and_models_are_translated(italian):
    source = messages_extract(ROOT)
    missing = []
    for message in source:
        if not message.id:
            continue
        files = {location[0].removeprefix("incassa/") for location in message.locations}
        if not any(f.startswith(CHECKED) for f in files):
            continue
        translated = italian.get(message.id, context=message.context)
        strings = (translated.string if translated else None) or ""
        if (isinstance(strings, tuple) and not all(strings)) or not strings:
            missing.append(message.id)
    assert missing == []


def test_catalogue_has_no_fuzzy_entries(italian):
    assert [m.id for m in italian if m.id and m.fuzzy] == []
