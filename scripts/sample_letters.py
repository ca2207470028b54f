"""Render every default letter, a statement, an email and a cover list into docs/letters/.

Run with ``.venv/bin/python scripts/sample_letters.py``: the samples in the documentation
are exactly what Incassa prints, from the shipped texts and made-up facts. No database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "letters"


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incassa.settings")
    import django

    django.setup()
    from django.utils import translation

    from incassa.comms import documents, rendering
    from incassa.comms.defaults import default_templates
    from incassa.ledger.demo import COMPANY, DEMO_LOGO

    OUT.mkdir(parents=True, exist_ok=True)
    letterhead = documents.Letterhead(
        company=documents.Party(
            name="Ferramenta Rossi S.p.A.",
            address_lines=(COMPANY["address"], "40138 Bologna BO"),
            vat_number="IT01234567897",
            email=COMPANY["email"],
            pec=COMPANY["pec"],
            phone=COMPANY["phone"],
        ),
        logo=DEMO_LOGO.encode(),
        logo_mime="image/svg+xml",
        footer=COMPANY["letter_footer"],
        iban=COMPANY["iban"],
        website=COMPANY["website"],
    )
    recipient = documents.Party(
        name="Rossi Costruzioni S.r.l.",
        address_lines=("Via Verdi 2", "10121 Torino TO"),
        vat_number="IT09876543210",
    )
    written = []
    for template in default_templates():
        language = template.language
        facts = dataclasses.replace(
            rendering.sample_facts(language, today=dt.date(2026, 3, 31)),
            claims_interest=template.code == "formal-notice",
            company={**rendering.sample_facts(language).company, "name": letterhead.company.name},
            customer={**rendering.sample_facts(language).customer, "name": recipient.name},
        )
        rendered = rendering.render(template.subject, template.body, facts)
        payment = documents.Payment(
            beneficiary=letterhead.company.name,
            iban=letterhead.iban,
            amount=facts.amount_to_pay,
            remittance=facts.remittance,
        )
        stem = f"{template.code}.{template.kind}.{language}"
        with translation.override(language):
            if template.kind == "letter":
                pdf = documents.render_letter(
                    documents.Letter(
                        language=language,
                        letterhead=letterhead,
                        recipient=recipient,
                        date=facts.today,
                        place="Bologna",
                        subject=rendered.subject,
                        body_html=rendered.html,
                        signature="Ufficio Crediti\nFerramenta Rossi S.p.A.",
                        payment=payment,
                        registered=template.code == "formal-notice",
                        reference=facts.payment_reference,
                    )
                )
                (OUT / f"{stem}.pdf").write_bytes(pdf)
                (OUT / f"{stem}.png").write_bytes(documents.render_png(pdf, scale=1.2))
                written += [f"{stem}.pdf", f"{stem}.png"]
            else:
                html = rendering.email_document(
                    rendered.html, language=language, title=rendered.subject
                )
                (OUT / f"{stem}.html").write_text(html, encoding="utf-8")
                (OUT / f"{stem}.txt").write_text(
                    f"Subject: {rendered.subject}\n\n{rendered.text}", encoding="utf-8"
                )
                written += [f"{stem}.html", f"{stem}.txt"]
    with translation.override("it"):
        facts = rendering.sample_facts("it", today=dt.date(2026, 3, 31))
        statement = documents.render_statement(
            documents.Statement(
                language="it",
                letterhead=letterhead,
                recipient=recipient,
                date=facts.today,
                items=tuple(
                    documents.DocumentItem(
                        document_number=i.document_number,
                        document_date=i.document_date,
                        due_date=i.due_date,
                        open_amount=i.open_amount,
                        days_overdue=i.days_overdue,
                        interest=i.interest,
                    )
                    for i in facts.items
                ),
                payment=documents.Payment(
                    beneficiary=letterhead.company.name,
                    iban=letterhead.iban,
                    amount=facts.total_open,
                    remittance=facts.remittance,
                ),
                reference=facts.payment_reference,
            )
        )
        (OUT / "statement.it.pdf").write_bytes(statement)
        (OUT / "statement.it.png").write_bytes(documents.render_png(statement, scale=1.2))
        cover = documents.render_cover(
            [
                documents.CoverEntry(1, recipient, "Diffida ad adempiere", 2, True),
                documents.CoverEntry(
                    2,
                    documents.Party("Bianchi Impianti S.n.c.", ("Via Po 8", "40121 Bologna BO")),
                    "Sollecito di pagamento",
                    1,
                    False,
                ),
            ],
            language="it",
            letterhead=letterhead,
            day=facts.today,
        )
        (OUT / "cover.it.png").write_bytes(documents.render_png(cover, scale=1.2))
        written += ["statement.it.pdf", "statement.it.png", "cover.it.png"]
    print(f"Wrote {len(written)} files to {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
