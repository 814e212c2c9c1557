"""Forks Celery workers on demand from a process that has Django and Celery imported already.

A worker started from scratch spends seconds importing and setting up before it takes a
task; a test that kills twenty of them would spend minutes waiting. Forked from here, each
is a fresh process with its own broker and database connections, leading its own process
group (as a worker started by a supervisor does), up in a fraction of that time.

Run as ``python -m clmsite.tests.faults.worker_forks <log file>``: each line read on stdin
forks a worker, whose process id is written back on stdout.
"""

import os
import signal
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clmsite.settings")
django.setup()

from celery.apps import worker as _worker  # noqa: E402, F401 - imported once, here, for every fork
from celery.bin import celery as _command  # noqa: E402, F401

from clmsite.celery import app  # noqa: E402

# Django's system checks and the task modules, once: every fork inherits both.
app.loader.import_default_modules()
os.environ["CELERY_SKIP_CHECKS"] = "1"

WORKER_ARGUMENTS = ["worker", "--pool=solo", "--loglevel=INFO", "--without-mingle", "--without-gossip"]


def fork_worker(log_path: str) -> int:
    pid = os.fork()
    if pid:
        return pid
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        app.worker_main(WORKER_ARGUMENTS)
    finally:
        os._exit(1)


def main() -> None:
    log_path = sys.argv[1]
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the killed workers
    for _ in sys.stdin:
        print(fork_worker(log_path), flush=True)


if __name__ == "__main__":
    main()
