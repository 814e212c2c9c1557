"""Schedules live in the database (django-celery-beat) so that admins can change them."""

from django.db import migrations

CLOSE_EXPIRED_TASK = "connectors.tasks.close_expired_agreements_task"


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="1", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name="Close agreements of expired contracts",
        defaults={"task": CLOSE_EXPIRED_TASK, "crontab": nightly, "description": "SPEC §4: Expired → Closed."},
    )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=CLOSE_EXPIRED_TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("connectors", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
