"""gunicorn as the portal is deployed: docker-compose.yml's web service and bench/load both start
`gunicorn msp_portal.wsgi:application --config gunicorn.conf.py`; flags on the command line win.

Threaded workers: a process per core and more, each serving up to `threads` requests at once, so
a request waiting on PostgreSQL or Redis does not hold the whole process (the pages spend a third
of their time waiting on the database).
"""

import os

import gunicorn.workers.gthread

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
# Longer than a person's pause between pages, so their next page reuses the connection.
keepalive = 5
accesslog = "-"

# A new connection holds one of the worker's threads until its first request arrives, for up to
# 5 s before gunicorn parks it in the worker's poller as it parks a kept-alive connection (gthread's
# DEFAULT_WORKER_DATA_TIMEOUT, which no setting changes). Browsers open connections before they
# need them, and the worker that accepts one is whichever wakes first: with 50 users, a worker
# that accepted more new connections than it has threads kept later requests waiting behind
# connections that had sent nothing (bench/load: p95 of 270 ms for a 12 ms page, 1 s at worst).
# Parked after 50 ms, they cost a thread nothing (tests/msp_portal/test_gunicorn_conf.py).
NEW_CONNECTION_WAIT = 0.05
gunicorn.workers.gthread.DEFAULT_WORKER_DATA_TIMEOUT = NEW_CONNECTION_WAIT
