"""``incassa templates install|list|check``: the message texts."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from incassa.comms import rendering
from incassa.comms.models import MessageTemplate
from incassa.comms.services import templates_install_defaults
from incassa.ledger.management.base import resolve_company


class Command(BaseCommand):
    help = "Install the default message texts, list the templates, check that they render."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        install = sub.add_parser("install", help="install the shipped texts that are missing")
        install.add_argument(
            "--overwrite",
            action="store_true",
            help="also replace edited texts (the edited version stays in the history)",
        )
        sub.add_parser("list", help="the templates and their versions")
        sub.add_parser("check", help="render every template on sample data (exit 1 on errors)")
        for sub_parser in sub.choices.values():
            sub_parser.add_argument("--company", help="company code")

    def handle(self, *args: Any, **options: Any) -> None:
        company = resolve_company(options["company"])
        if options["action"] == "install":
            count = templates_install_defaults(company=company, overwrite=options["overwrite"])
            self.stdout.write(f"Installed {count} template(s).")
            return
        templates = MessageTemplate.objects.filter(company=company)
        failed = False
        for t in templates:
            if options["action"] == "list":
                self.stdout.write(f"{t.code:<20} {t.kind:<7} {t.language}  v{t.version}  {t.name}")
                continue
            errors = rendering.template_errors(t.subject, t.body, language=t.language)
            status = "ok" if not errors else "; ".join(errors)
            failed = failed or bool(errors)
            self.stdout.write(f"{t.code:<20} {t.kind:<7} {t.language}  {status}")
        if failed:
            sys.exit(1)
