"""gunicorn settings for Incassa behind nginx (deploy/nginx.conf, docs/deployment.md).

    gunicorn --config /opt/incassa/deploy/gunicorn.conf.py

The application's own settings come from the environment (deploy/incassa.env); the two
below that a machine changes can be set there too. Command-line options win over this file
(scripts/production-local passes its own --bind and --workers).
"""

import multiprocessing
import os

wsgi_app = "incassa.wsgi:application"

# Loopback only: nginx is the one that faces the network.
bind = os.environ.get("INCASSA_WEB_BIND", "127.0.0.1:8001")
# Pages are quick and the long work runs on the Huey workers, so a few synchronous
# processes per core are plenty; each holds one database connection.
workers = int(os.environ.get("INCASSA_WEB_PROCESSES", str(2 * multiprocessing.cpu_count() + 1)))
worker_class = "sync"
# A request longer than this is killed; imports and runs go to the workers, but a large
# upload is still received (and checked) by the web process.
timeout = 300
graceful_timeout = 30
# Recycle processes now and then, so that no slow leak grows for weeks.
max_requests = 2000
max_requests_jitter = 200
# nginx sets X-Forwarded-Proto; trust it only from nginx itself.
forwarded_allow_ips = "127.0.0.1,::1"
# To the journal (systemd) or the caller's log file.
accesslog = "-"
errorlog = "-"
loglevel = "info"
# gunicorn's control socket (`gunicornc`), in systemd's RuntimeDirectory (/run/incassa)
# rather than the service user's home; two servers on one machine need one each.
if os.environ.get("RUNTIME_DIRECTORY"):
    control_socket = os.path.join(os.environ["RUNTIME_DIRECTORY"], "gunicorn.ctl")
# Each process loads the application itself, so that `systemctl reload incassa-web` (SIGHUP:
# new processes, then the old ones finish their requests) picks up upgraded code without
# dropping a request.
preload_app = False
