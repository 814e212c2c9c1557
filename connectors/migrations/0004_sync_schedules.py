"""The background schedules of synchronization; admins can change or pause them."""

from django.db import migrations

SCHEDULES = (
    # (name, task, every N seconds, description)
    (
        "Redrive due sync work",
        "connectors.tasks.sweep_task",
        15,
        "Nudges due inbound events, outbox messages and stalled runs that no task message carries (SPEC §9).",
    ),
    (
        "Check connections (handshake)",
        "connectors.tasks.check_connections_task",
        300,
        "Sets each enabled connection's establishment and configuration status (SPEC §3.5).",
    ),
)


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, seconds, description in SCHEDULES:
        interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "interval": interval, "description": description}
        )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        task__in=[task for _, task, _, _ in SCHEDULES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("connectors", "0003_sync_inbox_outbox"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
