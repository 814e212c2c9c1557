"""The nightly purge of finished work (connectors/retention.py); admins can move or pause it."""

from django.db import migrations

TASK = "connectors.tasks.purge_task"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name="Purge finished work",
        defaults={
            "task": TASK,
            "crontab": nightly,
            "description": "Deletes applied inbound events, delivered outbox messages and idempotency records "
            "past their retention (INBOUND_EVENT_RETENTION_DAYS, OUTBOX_RETENTION_DAYS, 24 hours).",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [("connectors", "0005_syncrun_next_attempt_at")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
