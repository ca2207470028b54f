"""scripts/production-local: its helpers, and the whole layout started and stopped.

The script is a stand-alone program (no ``.py``, standard library only), loaded here from
its file. The end-to-end test starts PostgreSQL, gunicorn, nginx, two workers and the
scheduler on free ports and a scratch directory, so it runs beside a developer's own
layout; it is skipped where nginx or PostgreSQL is not installed (the script would install
them from Debian packages, which is too slow for a test).
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from importlib.machinery import SourceFileLoader
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "production-local"


def _load():
    loader = SourceFileLoader("production_local", str(SCRIPT))
    spec = importlib.util.spec_from_loader("production_local", loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["production_local"] = module  # dataclasses look their module up there
    loader.exec_module(module)
    return module


pl = _load()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def test_environment_drops_the_callers_settings_and_points_at_the_layout(tmp_path):
    layout = pl.Layout(var_dir=tmp_path, pg_port=15432)
    base = {
        "PATH": "/usr/bin",
        "DATABASE_URL": "sqlite:///elsewhere.sqlite3",
        "EMAIL_URL": "smtp+tls://real.example.it:587",
        "INCASSA_MEDIA_ROOT": "/srv/media",
        "INCASSA_SCHEDULER": "0",
    }

    env = pl.app_environment(layout, base)

    assert env["PATH"] == "/usr/bin"  # kept: not a setting
    assert "INCASSA_MEDIA_ROOT" not in env  # every INCASSA_* of the caller is dropped
    assert "INCASSA_SCHEDULER" not in env  # the workers set it themselves
    assert env["DATABASE_URL"] == "postgres://postgres@127.0.0.1:15432/incassa"
    # The PostgreSQL queue lives in the application's own database.
    assert env["INCASSA_QUEUE_URL"] == env["DATABASE_URL"]
    assert env["EMAIL_URL"] == f"file://{tmp_path / 'mail'}"  # never the real server
    assert env["INCASSA_VAR_DIR"] == str(tmp_path)
    assert env[pl.MARKER] == str(tmp_path)


def test_redis_queue_url(tmp_path):
    layout = pl.Layout(var_dir=tmp_path, queue="redis", redis_port=16379)

    env = pl.app_environment(layout, {})

    assert env["INCASSA_QUEUE_URL"] == "redis://127.0.0.1:16379/0"


def test_n_workers_and_exactly_one_scheduler(tmp_path):
    layout = pl.Layout(var_dir=tmp_path, workers=3)

    commands = pl.process_commands(layout, Path("/venv/bin"), "/usr/sbin/nginx")

    assert list(commands) == [
        "gunicorn", "nginx", "worker-1", "worker-2", "worker-3", "scheduler",
    ]  # fmt: skip
    schedulers = [name for name, (_, env) in commands.items() if env.get("INCASSA_SCHEDULER")]
    # Three workers with the schedule off, and the one with it on.
    assert {name: commands[name][1]["INCASSA_SCHEDULER"] for name in schedulers} == {
        "worker-1": "0",
        "worker-2": "0",
        "worker-3": "0",
        "scheduler": "1",
    }
    assert commands["worker-1"][0] == ["/venv/bin/incassa", "run_huey", "-w", "1"]
    gunicorn = commands["gunicorn"][0]
    assert gunicorn[gunicorn.index("--bind") + 1] == "127.0.0.1:8001"
    assert gunicorn[gunicorn.index("--workers") + 1] == "2"


def test_nginx_config_serves_static_and_proxies_the_rest(tmp_path):
    layout = pl.Layout(var_dir=tmp_path, http_port=18080, web_port=18001)

    config = pl.nginx_config(layout, as_root=False)

    assert "daemon off;" in config  # our child, not a daemon
    assert "listen 127.0.0.1:18080;" in config
    assert f"alias {tmp_path / 'static'}/;" in config
    assert "server 127.0.0.1:18001;" in config
    assert "proxy_set_header Host $http_host;" in config
    assert "user " not in config  # meaningless unless nginx starts as root
    assert "user root;" in pl.nginx_config(layout, as_root=True)


def test_demo_login_is_read_from_demo_data_output():
    output = (
        "Ferramenta Rossi S.p.A. (demo) already has data: kept it.\n"
        "5,000 open items, 400 customers, € 1,234.00 open.\n"
        "Demo login: http://127.0.0.1:8000/  user: demo  password: Zx81abcDEF\n"
    )

    assert pl.parse_demo_login(output) == ("demo", "Zx81abcDEF")
    assert pl.parse_demo_login("nothing printed") is None


def test_options_given_win_over_the_last_start_which_wins_over_defaults():
    saved = {"workers": 4, "queue": "redis", "http_port": 9090}

    options = pl.resolve_options({"workers": 1, "queue": None}, saved)

    assert options["workers"] == 1  # given
    assert options["queue"] == "redis"  # the last start's
    assert options["http_port"] == 9090  # the last start's
    assert options["web_port"] == 8001  # the default


def test_layout_is_remembered_between_starts(tmp_path):
    layout = pl.Layout(var_dir=tmp_path, workers=3, queue="redis", pg_data=tmp_path / "pg")
    layout.postgres_ours = True
    pl.save_layout(layout)

    again = pl.load_layout(tmp_path, {"workers": None})

    assert (again.workers, again.queue, again.pg_data) == (3, "redis", tmp_path / "pg")
    assert again.postgres_ours is True
    assert again.previous["queue"] == "redis"


RUNNING = ["gunicorn", "nginx", "scheduler", "worker-1", "worker-2", "worker-3"]


def test_nothing_restarts_when_nothing_changed(tmp_path):
    layout = pl.Layout(var_dir=tmp_path, workers=3, previous={"workers": 3, "queue": "postgres"})

    assert pl.stale_processes(layout, RUNNING, list(RUNNING)) == []


def test_fewer_workers_stop_the_extra_ones(tmp_path):
    layout = pl.Layout(var_dir=tmp_path, workers=1, previous={"workers": 3})
    wanted = ["gunicorn", "nginx", "worker-1", "scheduler"]

    assert pl.stale_processes(layout, RUNNING, wanted) == ["worker-2", "worker-3"]


def test_another_queue_restarts_web_server_and_workers_but_not_nginx(tmp_path):
    layout = pl.Layout(var_dir=tmp_path, workers=3, queue="redis", previous={"queue": "postgres"})

    stale = pl.stale_processes(layout, RUNNING, list(RUNNING))

    # The web server enqueues, the workers dequeue: all must see the new queue.
    assert stale == ["gunicorn", "scheduler", "worker-1", "worker-2", "worker-3"]


def test_another_gunicorn_port_restarts_gunicorn_only(tmp_path):
    layout = pl.Layout(var_dir=tmp_path, workers=3, web_port=9001, previous={"web_port": 8001})

    assert pl.stale_processes(layout, RUNNING, list(RUNNING)) == ["gunicorn"]


def test_pid_files_are_trusted_only_for_our_processes(tmp_path):
    layout = pl.Layout(var_dir=tmp_path)
    layout.run_dir.mkdir()
    layout.log_dir.mkdir()
    env = {**os.environ, pl.MARKER: str(tmp_path)}
    pid = pl.spawn(layout, "sleeper", ["sleep", "60"], env)
    try:
        # This test's own process: alive, but not started by the layout.
        (layout.run_dir / "stranger.pid").write_text(f"{os.getpid()}\n")

        assert pl.read_pid(layout, "sleeper") == pid
        assert pl.read_pid(layout, "stranger") is None
        assert pl.running_names(layout) == ["sleeper"]

        pl.stop_processes(layout, ["sleeper", "stranger"], timeout=10)

        assert not pl.alive(pid)  # stopped (a zombie not yet reaped counts as dead)
        assert not (layout.run_dir / "sleeper.pid").exists()
        assert pl.alive(os.getpid())  # the stranger was left alone
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_status_of_a_layout_that_never_started(tmp_path, capsys):
    layout = pl.Layout(var_dir=tmp_path, pg_port=_free_port())

    assert pl.status(layout) == 3  # nothing runs
    assert "stopped" in capsys.readouterr().out


# --------------------------------------------------------------------------------------
# The whole layout
# --------------------------------------------------------------------------------------


def _installed() -> str | None:
    if not pl.find_nginx():
        return "nginx is not installed"
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return "PostgreSQL is not installed"
    if not (ROOT / ".venv" / "bin" / "gunicorn").exists():
        return "the virtualenv (make install) is missing"
    return None


def _get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.skipif(_installed() is not None, reason=str(_installed()))
def test_start_check_stop(tmp_path):
    var_dir = tmp_path / "production"
    http_port, web_port, pg_port = _free_port(), _free_port(), _free_port()
    # PostgreSQL runs as the postgres user when we are root: its data goes where that user
    # may enter (pytest's directories are private to us).
    pg_parent = Path(tempfile.mkdtemp(prefix="incassa-test-pg-", dir="/tmp"))
    pg_parent.chmod(0o755)
    base = [sys.executable, str(SCRIPT)]
    options = [
        "--var-dir", str(var_dir), "--workers", "2", "--http-port", str(http_port),
        "--web-port", str(web_port), "--pg-port", str(pg_port),
        "--pg-data", str(pg_parent / "data"),
    ]  # fmt: skip

    def script(*args: str, timeout: float = 80) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*base, *args], capture_output=True, text=True, timeout=timeout, check=False
        )

    try:
        started = script("start", *options)
        assert started.returncode == 0, started.stdout + started.stderr
        pids = {p.stem: int(p.read_text()) for p in (var_dir / "run").glob("*.pid")}
        # gunicorn, nginx, two workers and the scheduler.
        assert sorted(pids) == ["gunicorn", "nginx", "scheduler", "worker-1", "worker-2"]

        status, headers, body = _get(http_port, "/login/")
        assert status == 200
        assert headers["Server"].startswith("nginx")  # through the proxy
        assert b'name="csrfmiddlewaretoken"' in body
        css = next((var_dir / "static").rglob("*.css")).relative_to(var_dir / "static")
        status, headers, _ = _get(http_port, f"/static/{css}")
        assert (status, headers["Content-Type"]) == (200, "text/css")
        # Served by nginx from STATIC_ROOT: an ETag (Django's fallback view sends none), and
        # the request never reached gunicorn.
        assert "ETag" in headers
        assert f"/static/{css}" not in (var_dir / "logs" / "gunicorn-access.log").read_text()

        checked = script("check", "--var-dir", str(var_dir), timeout=60)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "task ran on worker-" in checked.stdout or "on scheduler" in checked.stdout

        again = script("start", "--var-dir", str(var_dir))  # idempotent: nothing new
        assert again.returncode == 0, again.stdout + again.stderr
        assert "nothing (everything was running)" in again.stdout
        assert script("status", "--var-dir", str(var_dir)).returncode == 0
    finally:
        stopped = script("stop", "--var-dir", str(var_dir), timeout=60)
        shutil.rmtree(pg_parent, ignore_errors=True)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert script("status", "--var-dir", str(var_dir)).returncode == 3
    for name, pid in pids.items():
        assert not pl.alive(pid), name
    assert not any(_listening(port) for port in (http_port, web_port, pg_port))
    assert not list((var_dir / "run").glob("*.pid"))
