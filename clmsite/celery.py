"""The Celery application. Configuration lives in settings under the ``CELERY_`` prefix."""

import logging
import os

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clmsite.settings")

logger = logging.getLogger(__name__)

app = Celery("clmsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class WorkerHeartbeat(bootsteps.StartStopStep):
    """While this worker's consumer runs (it is connected to the broker and taking tasks),
    writes a heartbeat for ``/health/`` every ``HEALTH_WORKER_HEARTBEAT_SECONDS``; removes it
    when the consumer stops, as on shutdown or when the broker connection is lost.

    The consumer's timer fires between tasks with an event loop (Redis) and in a thread of
    its own otherwise (the filesystem broker)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.beating = None

    def start(self, consumer):
        from django.conf import settings

        self._beat(consumer.hostname)
        interval = settings.HEALTH_WORKER_HEARTBEAT_SECONDS
        self.beating = consumer.timer.call_repeatedly(interval, self._beat, (consumer.hostname,), priority=10)

    def stop(self, consumer):
        if self.beating is not None:
            self.beating.cancel()
            self.beating = None
            try:
                from clmsite.health import worker_heartbeat_stop

                worker_heartbeat_stop(consumer.hostname)
            except Exception:  # the cache may be the very thing that went away
                logger.warning("The heartbeat of %s could not be removed.", consumer.hostname, exc_info=True)

    shutdown = terminate = stop

    @staticmethod
    def _beat(hostname: str) -> None:
        from clmsite.health import worker_heartbeat

        try:
            worker_heartbeat(hostname)
        except Exception:  # a missed beat shows on /health/; the worker carries on
            logger.warning("The heartbeat of %s could not be written.", hostname, exc_info=True)


app.steps["consumer"].add(WorkerHeartbeat)
