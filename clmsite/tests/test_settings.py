"""The settings come from the environment; production refuses an unsafe SECRET_KEY."""

import subprocess
import sys

import pytest

from clmsite.settings import BASE_DIR

STRONG_KEY = "k3J9-x2Qp_7vLr0aZ8mW4nT6yB1cE5fH9gD2sU3iO7pA0lK8jR"


def settings_of(env: dict[str, str], expression: str) -> subprocess.CompletedProcess:
    """Loads the settings in a fresh interpreter with only ``env`` set, and prints an expression."""
    code = f"from django.conf import settings; import django; django.setup(); print({expression})"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "clmsite.settings",
            "CLMSITE_VAR_DIR": "/tmp/clmsite-settings-test",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "secret_key",
    [None, "django-insecure-clmsite-embedded-default-do-not-use-in-production", "too-short-key", "a" * 60],
    ids=["default", "builtin", "short", "one-character"],
)
def test_production_refuses_to_start_with_an_unsafe_secret_key(secret_key):
    env = {"DEBUG": "false"} | ({"SECRET_KEY": secret_key} if secret_key else {})

    result = settings_of(env, "settings.DEBUG")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_starts_with_a_strong_secret_key():
    result = settings_of({"DEBUG": "false", "SECRET_KEY": STRONG_KEY}, "settings.DEBUG")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_embedded_default_uses_sqlite_and_a_filesystem_broker():
    result = settings_of({}, "settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"]


def test_database_and_redis_urls_switch_to_postgresql_and_redis():
    env = {"DATABASE_URL": "postgres://clm:pw@db.internal:5432/clmsite", "REDIS_URL": "redis://cache.internal:6379/0"}

    result = settings_of(
        env,
        "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['HOST'], "
        "settings.CELERY_BROKER_URL, settings.CACHES['default']['BACKEND']",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "db.internal",
        "redis://cache.internal:6379/0",
        "django.core.cache.backends.redis.RedisCache",
    ]


def test_celery_acknowledges_late_accepts_only_json_and_limits_task_time():
    from clmsite.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.task_time_limit > app.conf.task_soft_time_limit > 0
    assert app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
