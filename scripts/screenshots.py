"""Screenshots of the main pages for the README and docs/, from the demo data.

    .venv/bin/python scripts/screenshots.py            # writes docs/screenshots/*.png

Builds the demo portfolio in a scratch database (as of a fixed date, so the pictures do
not change from run to run), serves it on loopback, logs in as the demo user and
photographs the pages with Playwright driving Debian's Chromium (installed with apt-get
when missing; no browser is downloaded).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
INCASSA = [sys.executable, "-m", "incassa"]
AS_OF = "2026-11-24"
PORT = 8765
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    if not Path(CHROMIUM).exists():
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True)
    return CHROMIUM


def _wait(url: str) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


# Writes the demo portfolio's snapshot of a day (the file the ERP would send) to a path.
_SNAPSHOT_SCRIPT = """
import datetime as dt, os, sys
from pathlib import Path
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incassa.settings")
django.setup()
from incassa.ledger.demo import DEFAULT_SEED, portfolio_generate, snapshot_write
day = dt.date.fromisoformat(sys.argv[2])
snapshot_write(portfolio_generate(as_of=day, seed=DEFAULT_SEED), day, Path(sys.argv[1]))
"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="incassa-shots-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{scratch / 'db.sqlite3'}",
        "INCASSA_VAR_DIR": str(scratch / "var"),
    }
    subprocess.run([*INCASSA, "migrate", "-v", "0"], env=env, check=True)
    built = subprocess.run(
        [*INCASSA, "demo-data", "--as-of", AS_OF],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    password = re.search(r"password: (\S+)", built.stdout).group(1)
    server = subprocess.Popen(
        [*INCASSA, "runserver", f"127.0.0.1:{PORT}", "--noreload"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{PORT}"
    try:
        _wait(f"{base}/login/")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=_chromium(), args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="it-IT")
            page.goto(f"{base}/login/")
            page.fill("input[name=username]", "demo")
            page.fill("input[name=password]", password)
            page.press("input[name=password]", "Enter")
            page.wait_for_url(f"{base}/")
            page.screenshot(path=OUT / "dashboard.png", full_page=True)
            page.goto(f"{base}/customers/")
            page.screenshot(path=OUT / "customers.png")
            page.click("table a[href^='/customers/']")
            page.wait_for_load_state()
            page.screenshot(path=OUT / "customer.png")
            page.click("a[href^='/items/']")
            page.wait_for_load_state()
            page.screenshot(path=OUT / "item.png", full_page=True)
            for address, name in [
                ("/worklist/", "worklist"),
                ("/items/", "items"),
                ("/agreements/", "agreements"),
                ("/agreements/?kind=plans", "plans"),
                ("/team/", "team"),
                ("/effectiveness/", "effectiveness"),
                ("/strategies/", "strategies"),
                ("/reports/", "reports"),
                ("/templates/", "templates"),
                ("/suspensions/", "suspensions"),
                ("/imports/", "imports"),
                ("/payments/", "payments"),
                ("/settings/", "settings"),
                ("/audit/", "audit"),
                ("/api/docs", "api-docs"),
            ]:
                page.goto(f"{base}{address}")
                page.screenshot(path=OUT / f"{name}.png")
            # One page of each kind that a list links to: a strategy and its steps, a
            # message template with its preview, a dispute.
            for listing, link, name in [
                ("/strategies/", "main a[href^='/strategies/']", "strategy"),
                ("/templates/", "main a[href^='/templates/']", "template"),
                ("/agreements/?kind=disputes", "main a[href^='/disputes/']", "dispute"),
                ("/payments/", "main table a[href^='/payments/']", "payment"),
            ]:
                page.goto(f"{base}{listing}")
                page.click(link)
                page.wait_for_load_state()
                page.screenshot(path=OUT / f"{name}.png")
            # The import page as it checks a file: the demo's own snapshot of the day.
            page.goto(f"{base}/imports/")
            snapshot = scratch / "scadenziario.csv"
            subprocess.run(
                [sys.executable, "-c", _SNAPSHOT_SCRIPT, str(snapshot), AS_OF],
                env=env,
                check=True,
            )
            page.set_input_files("input[name=file]", str(snapshot))
            page.fill("input[name=as_of]", AS_OF)
            page.click("form[enctype] button[type=submit]")
            page.wait_for_url(re.compile(r".*/imports/check/.*"))
            page.screenshot(path=OUT / "import-check.png")
            phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="it-IT")
            phone.context.add_cookies(page.context.cookies())
            phone.goto(f"{base}/")
            phone.screenshot(path=OUT / "dashboard-phone.png", full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(scratch, ignore_errors=True)
    for path in sorted(OUT.glob("*.png")):
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
