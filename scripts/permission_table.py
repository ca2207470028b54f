"""Print the table of roles and pages of docs/security.md from the permission matrix.

Run with ``.venv/bin/python scripts/permission_table.py``: the table comes from ``ROUTES`` in
``tests/web/test_permissions.py``, whose tests check every cell of it against the pages,
so the documentation says what the code does. No database.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incassa.settings")
    import django

    django.setup()
    from tests.web.test_permissions import permission_table

    sys.stdout.write(permission_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
