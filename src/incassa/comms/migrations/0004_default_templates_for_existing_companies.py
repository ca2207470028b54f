"""Companies that existed before communications was installed get the default texts too."""

from django.db import migrations


def install(apps, schema_editor):
    from incassa.comms.defaults import default_templates

    Company = apps.get_model("ledger", "Company")
    MessageTemplate = apps.get_model("comms", "MessageTemplate")
    TemplateVersion = apps.get_model("comms", "TemplateVersion")
    defaults = default_templates()
    for company in Company.objects.all():
        for default in defaults:
            if MessageTemplate.objects.filter(
                company=company, code=default.code, kind=default.kind, language=default.language
            ).exists():
                continue
            template = MessageTemplate.objects.create(
                company=company,
                code=default.code,
                kind=default.kind,
                language=default.language,
                name=default.name,
                subject=default.subject,
                body=default.body,
                version=1,
            )
            TemplateVersion.objects.create(
                template=template, number=1, subject=default.subject, body=default.body
            )


class Migration(migrations.Migration):
    dependencies = [("comms", "0003_messages_templates_print_batches"), ("ledger", "0002_company_letterhead_customer_interest")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
