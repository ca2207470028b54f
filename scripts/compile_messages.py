"""Compile the .po translation catalogues to .mo with Babel (no GNU gettext needed)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_ROOT = Path(__file__).resolve().parent.parent / "src" / "incassa" / "locale"


def main() -> None:
    for po_path in sorted(LOCALE_ROOT.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        print(f"compiled {mo_path.relative_to(LOCALE_ROOT.parent.parent.parent)}")


if __name__ == "__main__":
    main()
