"""Companies that existed before dunning was installed get the standard strategy too."""

from django.db import migrations

STEPS = [
    ("pre-due", "Friendly reminder before the due date", "email", -5, False),
    ("agent-notice", "Notice to the sales agent", "agent_email", 3, False),
    ("courtesy-call", "Courtesy call", "call", 7, False),
    ("first-reminder", "First written reminder", "letter", 15, False),
    ("second-call", "Second call", "call", 25, False),
    ("formal-notice", "Formal notice (diffida ad adempiere)", "registered_letter", 40, True),
    ("final-call", "Final call", "call", 50, False),
    ("escalation", "Hand-over to a collection agency or lawyer", "escalation", 65, True),
]


def install(apps, schema_editor):
    Company = apps.get_model("ledger", "Company")
    Strategy = apps.get_model("dunning", "Strategy")
    Step = apps.get_model("dunning", "Step")
    for company in Company.objects.all():
        if Strategy.objects.filter(company=company, code="standard").exists():
            continue
        strategy = Strategy.objects.create(
            company=company,
            code="standard",
            name="Standard",
            is_default=not Strategy.objects.filter(company=company, is_default=True).exists(),
        )
        Step.objects.bulk_create(
            Step(
                strategy=strategy,
                position=(index + 1) * 10,
                code=code,
                name=name,
                channel=channel,
                days_overdue=days,
                needs_approval=approval,
                template_code=code,
            )
            for index, (code, name, channel, days, approval) in enumerate(STEPS)
        )


class Migration(migrations.Migration):
    dependencies = [("dunning", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
