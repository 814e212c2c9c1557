"""The CLM's configuration (how it reaches clmsite and how clmsite reaches it) and its status."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from .clmsite import ClmsiteClient, ClmsiteError
from .masterdata import master_data_sync
from .models import Config, DeliveryMode, MasterRecord
from .services import InputInvalid

logger = logging.getLogger(__name__)
# clmsite keeps this much of a status message (its connection's status_message).
STATUS_MESSAGE_LIMIT = 500

CONFIG_KEYS = ("clmsite_url", "api_key", "connection", "webhook_secret", "pull_token", "delivery", "public_url")
URL_KEYS = ("clmsite_url", "public_url")


def config_apply(*, values: dict[str, Any], public_url_default: str = "") -> Config:
    """Sets the keys given (others keep their value); raises ``InputInvalid`` naming a bad key."""
    if not isinstance(values, dict):
        raise InputInvalid("config", "must be a JSON object.")
    cleaned = {}
    for key, value in values.items():
        if key not in CONFIG_KEYS:
            raise InputInvalid(key, f"is not a configuration key; use {', '.join(CONFIG_KEYS)}.")
        if not isinstance(value, str):
            raise InputInvalid(key, "must be text.")
        value = value.strip()
        if key in URL_KEYS and value:
            try:
                URLValidator(schemes=["http", "https"])(value)
            except ValidationError:
                raise InputInvalid(key, f'"{value}" is not an http(s) URL.') from None
            value = value.rstrip("/")
        if key == "delivery" and value not in DeliveryMode.values:
            raise InputInvalid("delivery", f'"{value}" is not a delivery mode; use {", ".join(DeliveryMode.values)}.')
        if key == "webhook_secret" and value and not value.startswith("whsec_"):
            raise InputInvalid("webhook_secret", "must be a Standard Webhooks secret (whsec_…).")
        cleaned[key] = value
    with transaction.atomic():
        config = Config.load()
        for key, value in cleaned.items():
            setattr(config, key, value)
        if not config.public_url and public_url_default:
            config.public_url = public_url_default.rstrip("/")
        config.save()
    return config


def config_as_json(config: Config | None = None) -> dict[str, Any]:
    """The configuration without its secrets: only whether each is set."""
    config = config or Config.load()
    return {
        "clmsite_url": config.clmsite_url,
        "connection": config.connection,
        "delivery": config.delivery,
        "public_url": config.public_url,
        "api_key_set": bool(config.api_key),
        "webhook_secret_set": bool(config.webhook_secret),
        "pull_token_set": bool(config.pull_token),
        "master_data_synced_at": config.master_data_synced_at.isoformat() if config.master_data_synced_at else None,
        "master_data_error": config.master_data_error,
    }


def status_report(config: Config | None = None) -> dict[str, Any]:
    """The handshake's answer: configured once clmsite's address and key are known and vendors were read."""
    config = config or Config.load()
    if not config.reaches_clmsite:
        return {"configured": False, "message": "clmsite's address and API key are not configured yet."}
    vendors = MasterRecord.objects.filter(entity="vendors").count()
    if not vendors:
        reason = f" (last attempt: {config.master_data_error})" if config.master_data_error else ""
        return {"configured": False, "message": f"No vendors read from clmsite yet{reason}."}
    legal_entities = MasterRecord.objects.filter(entity="vendors").values("legal_entity").distinct().count()
    products = MasterRecord.objects.filter(entity="released-products").count()
    return {
        "configured": True,
        "message": f"Ready: {vendors} vendors and {products} products in {legal_entities} legal entities; "
        f"changes are delivered by {config.delivery}.",
    }


def master_data_refresh(*, client: ClmsiteClient | None = None) -> dict[str, int]:
    """Reads master data from clmsite, then tells clmsite how ready this CLM is as a result.

    Raises what ``master_data_sync`` raises, after reporting the failure.
    """
    client = client or ClmsiteClient()
    try:
        return master_data_sync(client=client)
    finally:
        status_report_send(client=client)


def status_report_send(*, client: ClmsiteClient) -> None:
    """Reports this CLM's status on its connection in clmsite (SPEC §3.5, §8.7): reachable
    (establishment Success) and configured or not, with the reason.

    Best effort: clmsite also asks for it in its own handshake, so a report that cannot be
    delivered is only logged.
    """
    if not client.config.connection:
        return
    report = status_report()  # afresh: reading master data has just recorded its outcome
    try:
        client.api(
            "PATCH",
            f"/connections/{quote(client.config.connection, safe='')}/status/",
            json={
                "establishment_status": "Success",
                "configuration_status": "Success" if report["configured"] else "Error",
                "message": report["message"][:STATUS_MESSAGE_LIMIT],
            },
        )
    except ClmsiteError as error:
        logger.warning("connection status not reported to clmsite: %s", error)
