"""The reference CLM (``refclm/``) as the end-to-end tests run it: its own process with its
own storage, driven step by step through its control API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests
from django.conf import settings

from clmsite.testing import ServerProcess

CONTROL_TOKEN = "e2e-control-token"


class ControlError(AssertionError):
    """The reference CLM refused a control call; the message carries its answer."""


class ReferenceClm(ServerProcess):
    def __init__(self, *, storage: Path, log_name: str = "test-reference-clm.log"):
        super().__init__(log_name=log_name)
        self.storage = storage
        self.command = [sys.executable, "-m", "refclm", "runserver", f"127.0.0.1:{self.port}", "--noreload"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {CONTROL_TOKEN}"

    def environment(self) -> dict[str, str]:
        # Nothing of clmsite's configuration: the CLM has its own storage and settings.
        env = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "DATABASE_"))}
        env.update(
            REFCLM_DATABASE_URL=f"sqlite:///{self.storage / 'refclm.sqlite3'}",
            REFCLM_VAR_DIR=str(self.storage),
            REFCLM_CONTROL_TOKEN=CONTROL_TOKEN,
            REFCLM_HTTP_TIMEOUT="10",
        )
        return env

    def start(self) -> ReferenceClm:
        migrated = subprocess.run(
            [sys.executable, "-m", "refclm", "migrate", "--noinput"],
            cwd=settings.BASE_DIR,
            env=self.environment(),
            capture_output=True,
            text=True,
        )
        if migrated.returncode:
            raise RuntimeError(f"refclm migrate failed:\n{migrated.stdout}\n{migrated.stderr}")
        return super().start()

    def control(self, method: str, path: str, body: dict | None = None) -> dict:
        response = self.session.request(method, f"{self.url}/control/{path}", json=body, timeout=60)
        if response.status_code >= 400:
            raise ControlError(f"{method} /control/{path} → {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else {}

    def configure(self, pairing: dict, *, delivery: str = "webhook") -> dict:
        return self.control("PUT", "config/", {**pairing, "delivery": delivery})

    def sync_master_data(self) -> dict:
        return self.control("POST", "sync-master-data/")

    def create(self, **fields) -> dict:
        return self.control("POST", "contracts/", fields)

    def contract(self, external_id: str) -> dict:
        return self.control("GET", f"contracts/{external_id}/")

    def advance(self, contract: dict, *actions: str) -> dict:
        """Takes the actions in turn (as people in the CLM would); answers the contract after the last."""
        for action in actions:
            answer = self.control("POST", f"contracts/{contract['external_id']}/advance/", {"action": action})
            contract = answer["contract"]
        return contract

    def set_faults(self, **faults) -> dict:
        return self.control("PUT", "faults/", faults)

    def deliver(self) -> dict:
        return self.control("POST", "deliver/")
