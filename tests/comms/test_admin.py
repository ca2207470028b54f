"""Communications in the admin: editing a template with its live preview (every saved change
a new version), previews only of one's own companies, what went out and the print batches."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from incassa.comms import services
from incassa.comms.models import (
    Medium,
    Message,
    MessageStatus,
    MessageTemplate,
    PrintBatch,
    TemplateVersion,
)
from incassa.dunning.models import Action, ActionStatus
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    MembershipFactory,
    ReceivableFactory,
    UserFactory,
    action_with_items,
)

pytestmark = pytest.mark.django_db

NBSP = "\xa0"
TODAY = dt.date(2026, 3, 26)


def action_for(*args, **kwargs):
    kwargs.setdefault("day", TODAY)
    return action_with_items(*args, **kwargs)


@pytest.fixture
def today():
    """The preview computes on today's date: 26/03/2026 here."""
    with time_machine.travel(dt.datetime(2026, 3, 26, 10, 0, tzinfo=dt.UTC), tick=False):
        yield TODAY


@pytest.fixture
def rossi(company):
    """A customer with one item of 1.234,56 due on 01/03/2026 (25 days late on 26/03)."""
    customer = CustomerFactory(company=company, code="001", name="Rossi S.r.l.")
    ReceivableFactory(
        company=company,
        customer=customer,
        document_number="FT-77",
        due_date=dt.date(2026, 3, 1),
        open_amount=Decimal("1234.56"),
    )
    return customer


@pytest.fixture
def template(company):
    return MessageTemplate.objects.get(
        company=company, code="first-reminder", kind="email", language="it"
    )


def preview_url(template) -> str:
    return reverse("admin:comms_messagetemplate_preview", args=[template.pk])


def change_url(template) -> str:
    return reverse("admin:comms_messagetemplate_change", args=[template.pk])


def change_form_data(response) -> dict:
    """What the change form would post back unchanged: its fields and the inlines'."""
    data = {}
    form = response.context["adminform"].form
    for name in form.fields:
        value = form[name].value()
        data[name] = "" if value is None else value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        for inline_form in formset.forms:
            for name in inline_form.fields:
                value = inline_form[name].value()
                if value is not None:
                    data[inline_form.add_prefix(name)] = value
    return data


# --------------------------------------------------------------------------------------
# Templates: pages and the live preview
# --------------------------------------------------------------------------------------


def test_template_changelist_and_change_page(admin_client, template):
    changelist = admin_client.get(reverse("admin:comms_messagetemplate_changelist"))
    assert changelist.status_code == 200
    assert "first-reminder" in changelist.content.decode()

    italian = admin_client.get(change_url(template), HTTP_ACCEPT_LANGUAGE="it")
    assert italian.status_code == 200
    page = italian.content.decode()
    assert 'id="incassa-preview"' in page
    assert f'data-url="{preview_url(template)}"' in page
    assert "Anteprima dal vivo" in page

    english = admin_client.get(change_url(template), HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 200
    assert 'id="incassa-preview"' in english.content.decode()
    assert "Live preview" in english.content.decode()


def test_the_add_page_has_no_preview(admin_client, company):
    response = admin_client.get(reverse("admin:comms_messagetemplate_add"))
    assert response.status_code == 200
    assert 'id="incassa-preview"' not in response.content.decode()


def test_preview_on_a_real_customer(admin_client, template, rossi, today):
    response = admin_client.get(preview_url(template), {"customer": rossi.pk})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sollecito di pagamento - Acme Italia S.p.A." in page
    assert "FT-77" in page
    assert f"1.234,56{NBSP}€" in page
    draft = response.context["draft"]
    assert draft.subject == "Sollecito di pagamento - Acme Italia S.p.A."
    # 01/03/2026 to 26/03/2026: 25 days late.
    assert [i.days_overdue for i in draft.facts.items] == [25]
    assert draft.recipients == rossi.email_list
    pdf_url = reverse("admin:comms_messagetemplate_preview_pdf", args=[template.pk])
    assert f"{pdf_url}?customer={rossi.pk}" in page
    # Nothing was written.
    assert not Message.objects.exists()


def test_preview_chooses_a_customer_with_open_items(admin_client, template, rossi, today):
    CustomerFactory(company=template.company, code="002")  # nothing open
    response = admin_client.get(preview_url(template))
    assert response.status_code == 200
    assert response.context["customer"] == rossi
    assert "FT-77" in response.content.decode()


def test_preview_of_an_unsaved_text(admin_client, template, rossi, today):
    response = admin_client.post(
        preview_url(template),
        {
            "customer": rossi.pk,
            "subject": "Prova {{ customer.code }}",
            "body": "Da pagare: {{ total.open }}\n\n{{ items_table }}",
        },
        HTTP_X_PREVIEW="1",
    )
    assert response.status_code == 200
    fragment = response.content.decode()
    # The fragment the page puts in its preview box, not a whole page.
    assert "<html" not in fragment.split("<iframe")[0]
    assert "Prova 001" in fragment
    assert f"Da pagare: 1.234,56{NBSP}€" in fragment
    assert "FT-77" in fragment
    template.refresh_from_db()
    assert template.version == 1
    assert TemplateVersion.objects.filter(template=template).count() == 1
    assert "Da pagare" not in template.body


def test_preview_of_a_broken_text_lists_the_errors(admin_client, template, rossi, today):
    response = admin_client.post(
        preview_url(template),
        {"customer": rossi.pk, "subject": "ok", "body": "Gentile {{ cliente }}"},
        HTTP_X_PREVIEW="1",
    )
    assert response.status_code == 200
    assert response.context["errors"] == ["'cliente' is undefined"]
    fragment = response.content.decode()
    assert '<ul class="errorlist">' in fragment
    assert "cliente" in fragment
    assert "draft" not in response.context


def test_preview_pdf(admin_client, template, rossi, today):
    url = reverse("admin:comms_messagetemplate_preview_pdf", args=[template.pk])
    response = admin_client.get(url, {"customer": rossi.pk})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"].startswith("inline; filename=")


def test_preview_never_shows_another_companys_customer(admin_client, template, today):
    stranger = CustomerFactory(company=CompanyFactory(code="other"), code="S1")
    ReceivableFactory(
        company=stranger.company, customer=stranger, document_number="SECRET-1",
        due_date=dt.date(2026, 3, 1),
    )  # fmt: skip
    response = admin_client.get(preview_url(template), {"customer": stranger.pk})
    # Another company's customer is not found from this template's preview.
    assert response.status_code == 404
    assert "SECRET-1" not in response.content.decode()


# --------------------------------------------------------------------------------------
# Templates: saving the change form
# --------------------------------------------------------------------------------------


def test_saving_a_changed_body_makes_version_2(admin_client, admin_user, template):
    data = change_form_data(admin_client.get(change_url(template)))
    data["body"] = "Gentile {{ customer.name }},\n\n{{ items_table }}"
    response = admin_client.post(change_url(template), data)
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.version == 2
    # Stored as the shipped texts are: ending with one newline.
    assert template.body == "Gentile {{ customer.name }},\n\n{{ items_table }}\n"
    versions = TemplateVersion.objects.filter(template=template)
    assert versions.count() == 2
    latest = versions.get(number=2)
    assert latest.body == template.body and latest.created_by == admin_user


def test_renaming_a_template_keeps_its_version(admin_client, template):
    data = change_form_data(admin_client.get(change_url(template)))
    data["name"] = "Primo sollecito"  # the text is left as it is
    assert admin_client.post(change_url(template), data).status_code == 302
    template.refresh_from_db()
    assert template.name == "Primo sollecito"
    assert template.version == 1
    assert TemplateVersion.objects.filter(template=template).count() == 1


def test_saving_a_body_that_does_not_render_is_refused(admin_client, template):
    shipped_body = template.body
    data = change_form_data(admin_client.get(change_url(template)))
    data["body"] = "Gentile {{ cliente }}"
    response = admin_client.post(change_url(template), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert list(errors) == ["'cliente' is undefined"]
    template.refresh_from_db()
    assert (template.version, template.body) == (1, shipped_body)
    assert TemplateVersion.objects.filter(template=template).count() == 1


# --------------------------------------------------------------------------------------
# Who may preview
# --------------------------------------------------------------------------------------


@pytest.fixture
def comms_staff():
    """Factory: a staff member (not a superuser) of ``company`` who may view and change
    the communications' models."""

    def make(company, *, permissions: bool = True):
        user = UserFactory(is_staff=True)
        if permissions:
            user.user_permissions.set(
                Permission.objects.filter(
                    content_type__app_label="comms", codename__regex=r"^(view|change)_"
                )
            )
        MembershipFactory(user=user, company=company)
        return user

    return make


def test_staff_of_another_company_cannot_preview(client, template, rossi, comms_staff, today):
    other = CompanyFactory(code="other")
    client.force_login(comms_staff(other))
    assert client.get(preview_url(template)).status_code == 404
    response = client.post(preview_url(template), {"subject": "x", "body": "y"}, HTTP_X_PREVIEW="1")
    assert response.status_code == 404
    pdf_url = reverse("admin:comms_messagetemplate_preview_pdf", args=[template.pk])
    assert client.get(pdf_url, {"customer": rossi.pk}).status_code == 404
    # Their own company's template: the page opens (that company has no customer yet).
    own = MessageTemplate.objects.get(
        company=other, code="first-reminder", kind="email", language="it"
    )
    response = client.get(preview_url(own))
    assert response.status_code == 200
    assert response.context["error"]


def test_staff_of_the_company_may_preview(client, template, rossi, comms_staff, today):
    client.force_login(comms_staff(template.company))
    response = client.get(preview_url(template))
    assert response.status_code == 200
    assert "FT-77" in response.content.decode()


def test_staff_without_the_permission_cannot_preview(client, template, comms_staff, today):
    client.force_login(comms_staff(template.company, permissions=False))
    assert client.get(preview_url(template)).status_code == 403


# --------------------------------------------------------------------------------------
# Messages and print batches
# --------------------------------------------------------------------------------------


@pytest.fixture
def batch(company, rossi):
    """The day's print batch with Rossi's first reminder (a letter)."""
    item = rossi.receivables.get()
    action_for(company, rossi, "first-reminder", [item])
    return services.print_batch_create(company=company, day=TODAY)


def file_url(message, which: str) -> str:
    return reverse("admin:comms_message_file", args=[message.pk, which])


def test_message_pages_and_the_letters_pdf(admin_client, batch):
    message = Message.objects.get()
    assert message.medium == Medium.LETTER
    assert admin_client.get(reverse("admin:comms_message_changelist")).status_code == 200
    change = admin_client.get(reverse("admin:comms_message_change", args=[message.pk]))
    assert change.status_code == 200
    assert file_url(message, "document") in change.content.decode()

    response = admin_client.get(file_url(message, "document"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    content = b"".join(response.streaming_content)
    assert content.startswith(b"%PDF")
    assert content == message.document.read()
    # A letter has no raw email; nothing else can be asked for.
    assert admin_client.get(file_url(message, "raw")).status_code == 404
    assert admin_client.get(file_url(message, "body_text")).status_code == 404


def test_the_raw_email_of_a_delivered_message(admin_client, company, rossi):
    item = rossi.receivables.get()
    action_for(company, rossi, "pre-due", [item])  # an email step
    now = timezone.make_aware(dt.datetime(2026, 3, 26, 9, 0))
    assert services.outbox_deliver(company=company, today=TODAY, now=now).sent == 1
    message = Message.objects.get()
    response = admin_client.get(file_url(message, "raw"))
    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    raw = b"".join(response.streaming_content)
    assert raw == message.raw.read()
    assert message.message_id.encode() in raw
    # The attached statement.
    document = admin_client.get(file_url(message, "document"))
    assert b"".join(document.streaming_content).startswith(b"%PDF")


def test_another_companys_staff_cannot_download_a_message(client, batch, comms_staff):
    client.force_login(comms_staff(CompanyFactory(code="other")))
    message = Message.objects.get()
    assert client.get(file_url(message, "document")).status_code == 404
    url = reverse("admin:comms_printbatch_file", args=[batch.pk])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("what", ["message", "print batch"])
def test_staff_without_the_permission_cannot_download(client, batch, comms_staff, what):
    client.force_login(comms_staff(batch.company, permissions=False))
    message = Message.objects.get()
    if what == "message":
        page = reverse("admin:comms_message_change", args=[message.pk])
        download = file_url(message, "document")
    else:
        page = reverse("admin:comms_printbatch_change", args=[batch.pk])
        download = reverse("admin:comms_printbatch_file", args=[batch.pk])
    # The object itself is not viewable for this user...
    assert client.get(page).status_code == 403
    # ...so neither is its PDF.
    assert client.get(download).status_code == 403


def test_retry_action(admin_client, batch):
    message = Message.objects.get()
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.FAILED, attempts=5)
    response = admin_client.post(
        reverse("admin:comms_message_changelist"),
        {"action": "retry", "_selected_action": [message.pk]},
    )
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 0)


def test_print_batch_pages_and_pdf(admin_client, batch):
    assert admin_client.get(reverse("admin:comms_printbatch_changelist")).status_code == 200
    change = admin_client.get(reverse("admin:comms_printbatch_change", args=[batch.pk]))
    assert change.status_code == 200
    url = reverse("admin:comms_printbatch_file", args=[batch.pk])
    assert url in change.content.decode()
    response = admin_client.get(url)
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == batch.document.read()


def test_mark_posted_action(admin_client, admin_user, batch):
    changelist = reverse("admin:comms_printbatch_changelist")
    response = admin_client.post(
        changelist, {"action": "mark_posted", "_selected_action": [batch.pk]}
    )
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.posted_at is not None and batch.posted_by == admin_user
    assert Message.objects.get().status == MessageStatus.POSTED
    assert Action.objects.get().status == ActionStatus.SENT

    # A second time: a warning, nothing changes.
    posted_at = batch.posted_at
    response = admin_client.post(
        changelist, {"action": "mark_posted", "_selected_action": [batch.pk]}, follow=True
    )
    warnings = [str(m) for m in response.context["messages"]]
    assert len(warnings) == 1 and str(batch) in warnings[0]
    batch.refresh_from_db()
    assert batch.posted_at == posted_at
    assert PrintBatch.objects.count() == 1


# --------------------------------------------------------------------------------------
# The companies' own mail accounts and calendars
# --------------------------------------------------------------------------------------


def mail_account_post(company, **changes) -> dict:
    data = {
        "company": company.pk,
        "kind": "email",
        "enabled": "on",
        "host": "smtp.acme.it",
        "port": "587",
        "security": "starttls",
        "username": "crediti@acme.it",
        "from_address": "",
        "from_name": "",
        "reply_to": "",
        "rate_per_minute": "0",
        "new_password": "",
    }
    data.update(changes)
    return data


def test_mail_account_password_is_write_only_in_the_admin(admin_client, company, settings):
    from cryptography.fernet import Fernet

    from incassa.comms.models import CompanyMailAccount

    settings.INCASSA_SECRETS_KEY = Fernet.generate_key().decode()
    add = reverse("admin:comms_companymailaccount_add")
    response = admin_client.post(add, mail_account_post(company, new_password="SEGRETISSIMA"))
    assert response.status_code == 302
    account = CompanyMailAccount.objects.get()
    assert account.get_password() == "SEGRETISSIMA"
    assert account.updated_by.is_superuser

    change = reverse("admin:comms_companymailaccount_change", args=[account.pk])
    html = admin_client.get(change).content.decode()
    assert "SEGRETISSIMA" not in html and account.password not in html
    # "impostata": the password is set (the admin speaks Italian by default).
    assert 'name="new_password"' in html and ">impostata<" in html
    # Saved again with the field empty: the password stays.
    admin_client.post(change, mail_account_post(company, host="smtp2.acme.it"))
    account.refresh_from_db()
    assert (account.host, account.get_password()) == ("smtp2.acme.it", "SEGRETISSIMA")
    # "remove the stored password".
    admin_client.post(change, mail_account_post(company, clear_password="on"))
    account.refresh_from_db()
    assert account.password == ""
    # An invalid secrets key is a form error, not a traceback.
    settings.INCASSA_SECRETS_KEY = "not-a-key"
    response = admin_client.post(change, mail_account_post(company, new_password="x"))
    assert response.status_code == 200
    assert "non è una chiave Fernet valida" in response.content.decode()


def test_calendar_admin_offers_the_provinces(admin_client, company):
    from incassa.comms.models import CompanyCalendar

    add = reverse("admin:comms_companycalendar_add")
    html = admin_client.get(add).content.decode()
    assert '<option value="MI">Milano</option>' in html
    response = admin_client.post(add, {"company": company.pk, "country": "IT", "subdivision": "MI"})
    assert response.status_code == 302
    assert CompanyCalendar.objects.get().subdivision == "MI"
    other = admin_client.post(add, {"company": company.pk, "country": "FR", "subdivision": ""})
    assert "È disponibile solo il calendario italiano." in other.content.decode()
