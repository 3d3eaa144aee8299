"""gunicorn's settings: `gunicorn config.wsgi -c python:config.gunicorn` (docker-compose's web).

Threads, because the sandbox (when it is served by the same process) and Meta's code exchange call
back into the server; see DESIGN.md. Values come from the environment like everything else.
"""

import os

from config.logconfig import logging_config

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak never becomes an outage.
max_requests = 2000
max_requests_jitter = 200
# The reverse proxies in front (TRUSTED_PROXY_COUNT of them, README "Behind a proxy"): their
# X-Forwarded-* headers are trusted from the nearest one's addresses only, and from nobody when
# there is no proxy. Django reads the same two variables for the client's address.
forwarded_allow_ips = (
    os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"
    if int(os.environ.get("TRUSTED_PROXY_COUNT") or 0) > 0
    else ""
)
# No access log of gunicorn's own: the request-id middleware logs each request (path, status,
# duration, request id) and leaves query strings out, where OAuth codes travel. (With a
# logconfig_dict gunicorn logs access lines anyway; the dict below silences gunicorn.access.)
accesslog = None
logconfig_dict = logging_config(
    os.environ.get("LOG_FORMAT") or "plain", os.environ.get("LOG_LEVEL") or "INFO"
)
# gunicorn's control socket (a fixed path under $HOME) is not used; several gunicorns on one
# machine (tests, the load test) would fight over it.
control_socket_disable = True
