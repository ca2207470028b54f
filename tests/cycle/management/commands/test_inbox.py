"""``incassa inbox process|receive`` as a user runs them."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incassa.cycle.models import InboxFile, InboxStatus
from incassa.cycle.services import inbox_folder
from tests.cycle.conftest import snapshot_bytes

pytestmark = pytest.mark.django_db


def call(*args: str) -> str:
    out = StringIO()
    call_command("inbox", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_receive_then_process(company, tmp_path, morning):
    source = tmp_path / "scadenziario_2026-04-01.csv"
    source.write_bytes(snapshot_bytes())
    out = call("receive", str(source))
    assert out.strip() == (
        "scadenziario_2026-04-01.csv is in the inbox of acme as scadenziario_2026-04-01.csv "
        "(snapshot); it is imported by the next run."
    )
    assert (inbox_folder(company) / "scadenziario_2026-04-01.csv").exists()
    out = call("process")
    assert out.strip().startswith("scadenziario_2026-04-01.csv: done (snapshot). Snapshot as of")
    assert InboxFile.objects.get().status == InboxStatus.DONE
    # The same file again: a duplicate at once.
    assert "Already processed" in call("receive", str(source))


def test_process_with_nothing_waiting(company):
    assert call("process").startswith("Nothing waits in ")
    assert json.loads(call("process", "--json")) == {"files": [], "waiting": []}


def test_a_failed_file_exits_1(company):
    (inbox_folder(company) / "foto.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(CommandError) as caught:
        call("process")
    assert caught.value.returncode == 1


def test_receive_a_missing_file(company, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call("receive", str(tmp_path / "nope.csv"))
