"""``/api/inbox``: sending a file to the import inbox and listing what came through it, for
each role, and never across companies. The world is ``conftest.py``'s (Acme with a token
per role, Beta with its own credit manager); today is 01/04/2026."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from incassa.cycle.models import InboxFile, InboxStatus
from incassa.cycle.services import inbox_folder, inbox_process
from incassa.ledger.models import Role
from tests.api.conftest import HEADER, ROWS, TODAY

pytestmark = pytest.mark.django_db

CONTENT = ("\n".join([HEADER, *ROWS]) + "\n").encode()
SENDERS = {Role.ADMINISTRATOR, Role.CREDIT_MANAGER}
READERS = {Role.ADMINISTRATOR, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.AUDITOR}


@pytest.fixture(autouse=True)
def _inbox(settings, tmp_path):
    settings.INCASSA_INBOX_DIR = tmp_path / "inbox"
    settings.INCASSA_INBOX_SETTLE_SECONDS = 0


def send(client, key: str, name: str = "scadenziario_2026-04-01.csv", content: bytes = CONTENT):
    upload = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post("/api/inbox", {"file": upload}, HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.mark.parametrize(
    "role",
    [Role.ADMINISTRATOR, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.SALES_AGENT, Role.AUDITOR],
)
def test_who_may_send(client, world, role):
    response = send(client, world.keys[role])
    if role not in SENDERS:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
        assert not InboxFile.objects.exists()
        return
    assert response.status_code == 201
    body = response.json()
    row = InboxFile.objects.get(pk=body["id"])
    assert row.company == world.company
    assert body["status"] == "received"
    assert body["kind"] == "snapshot"
    assert body["name"] == "scadenziario_2026-04-01.csv"
    assert body["size"] == len(CONTENT)
    assert body["checksum"] == hashlib.sha256(CONTENT).hexdigest()
    assert body["source"].startswith(f"API ({world.users[role].get_username()}, token ")
    assert (inbox_folder(world.company) / "scadenziario_2026-04-01.csv").read_bytes() == CONTENT


def test_the_same_content_once_imported_is_a_duplicate(client, world):
    key = world.keys[Role.CREDIT_MANAGER]
    assert send(client, key).status_code == 201
    inbox_process(company=world.company, today=TODAY)
    again = send(client, key, name="copia.csv")
    assert again.status_code == 201
    assert again.json()["status"] == "duplicate"
    # The message names the file it duplicates (in the installation's language).
    assert "scadenziario_2026-04-01.csv" in again.json()["message"]


def test_a_file_too_large_or_missing(client, world, settings):
    key = world.keys[Role.ADMINISTRATOR]
    settings.INCASSA_MAX_UPLOAD_BYTES = 10
    too_large = send(client, key)
    assert too_large.status_code == 413
    assert too_large.json()["error"]["code"] == "too_large"
    missing = client.post("/api/inbox", {}, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert missing.status_code == 422
    empty = send(client, key, content=b"")
    assert empty.status_code == 422
    assert not InboxFile.objects.exists()


@pytest.mark.parametrize(
    "role",
    [Role.ADMINISTRATOR, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.SALES_AGENT, Role.AUDITOR],
)
def test_who_may_list(client, world, role):
    send(client, world.keys[Role.CREDIT_MANAGER])
    response = client.get("/api/inbox", HTTP_AUTHORIZATION=f"Bearer {world.keys[role]}")
    if role not in READERS:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [row["name"] for row in body["items"]] == ["scadenziario_2026-04-01.csv"]


def test_the_list_is_the_companys_own_newest_first(client, world):
    acme = world.keys[Role.CREDIT_MANAGER]
    send(client, acme, name="primo.csv")
    send(client, acme, name="secondo.pdf", content=b"%PDF-1.4 not an export")
    send(client, world.other_key, name="beta.csv")
    inbox_process(company=world.company, today=TODAY)
    listed = client.get("/api/inbox", HTTP_AUTHORIZATION=f"Bearer {acme}").json()
    # Both sent in the same frozen instant: the later id first. The snapshot was imported,
    # the PDF could not be.
    assert [(row["name"], row["status"]) for row in listed["items"]] == [
        ("secondo.pdf", "failed"),
        ("primo.csv", "done"),
    ]
    beta = client.get("/api/inbox", HTTP_AUTHORIZATION=f"Bearer {world.other_key}").json()
    assert [row["name"] for row in beta["items"]] == ["beta.csv"]
    done = client.get("/api/inbox", {"status": "done"}, HTTP_AUTHORIZATION=f"Bearer {acme}").json()
    assert [row["name"] for row in done["items"]] == ["primo.csv"]
    assert done["items"][0]["import_id"] is not None
    assert InboxFile.objects.get(name="beta.csv").status == InboxStatus.RECEIVED


def test_without_a_token(client, world):
    assert client.get("/api/inbox").status_code == 401
    assert send(client, "").status_code == 401
