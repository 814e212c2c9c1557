"""``manage.py check --deploy`` passes with production settings and nothing but the environment."""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest
from django.conf import settings

from clmsite import testing
from clmsite.settings import BASE_DIR


@pytest.mark.django_db
def test_check_deploy_finds_nothing_with_production_settings():
    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "clm.example.com",
        "DATABASE_URL": testing.test_database_url(),
        "CLMSITE_VAR_DIR": str(settings.VAR_DIR),
        **({"REDIS_URL": settings.REDIS_URL} if settings.REDIS_URL else {}),
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
