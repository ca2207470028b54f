"""The ``incassa`` console command: Django's management commands with hyphenated names.

``incassa import-receivables FILE`` runs the ``import_receivables`` management command, so
that the documented commands read naturally while ``incassa migrate``, ``incassa
createsuperuser`` and ``incassa runserver`` keep working as Django users expect.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incassa.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    argv[0] = "incassa"
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
