"""Encrypted-at-rest text for connection credentials and webhook secrets (SPEC §3.5).

The keys come from ``FIELD_ENCRYPTION_KEYS`` (Fernet keys, newest first); without any, one
is derived from ``SECRET_KEY`` so the embedded default works out of the box. Rotation: put
the new key first, keep the old ones, run ``manage.py reencrypt_secrets``, drop the old
(docs/operations.md, "Secret rotation").

A secret is decrypted when code reads the attribute, not when the row is loaded: a page
that shows a connection's name or status never needs the keys, so a wrong key set breaks
only what really uses a secret, and that with an error naming ``FIELD_ENCRYPTION_KEYS``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.dispatch import receiver


class Ciphertext(str):
    """A secret as stored in its column, not decrypted yet. Saved back as it is."""


class SecretUnreadable(ImproperlyConfigured):
    """A stored secret that none of the configured keys decrypts."""


@cache
def _keys() -> tuple[str, ...]:
    """Newest first. After the keys of FIELD_ENCRYPTION_KEYS come those derived from
    SECRET_KEY and SECRET_KEY_FALLBACKS, which decrypt what was written before explicit keys
    were set (or before SECRET_KEY was rotated) until ``reencrypt_secrets`` has moved it."""
    explicit = [key.strip() for key in settings.FIELD_ENCRYPTION_KEYS if key.strip()]
    derived = [_derived_key(secret) for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)]
    return tuple(dict.fromkeys([*explicit, *derived]))


def _derived_key(secret_key: str) -> str:
    digest = hashlib.sha256(f"clmsite-field-encryption:{secret_key}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


@cache
def _cipher() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in _keys()])
    except ValueError as exc:
        # The key itself is never quoted: it is a secret too.
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64-encoded bytes): {exc}"
        ) from None


@cache
def _current() -> Fernet:
    _cipher()  # reports a malformed key list first
    return Fernet(_keys()[0])


@receiver(setting_changed, dispatch_uid="connectors_fields_forget_keys")
def _forget_keys(*, setting, **kwargs) -> None:
    if setting in ("FIELD_ENCRYPTION_KEYS", "SECRET_KEY", "SECRET_KEY_FALLBACKS"):
        for cached in (_keys, _cipher, _current):
            cached.cache_clear()


def encrypt(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "A stored secret cannot be decrypted with any key of FIELD_ENCRYPTION_KEYS (nor with the keys derived "
            "from SECRET_KEY and SECRET_KEY_FALLBACKS); was a key removed before `manage.py reencrypt_secrets` ran?"
        ) from None


def is_current(token: str) -> bool:
    """Whether ``token`` is encrypted under the first (newest) key already."""
    try:
        _current().decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def reencrypt(token: str) -> str:
    """``token`` encrypted again under the newest key; ``SecretUnreadable`` if no key reads it."""
    try:
        return _cipher().rotate(token.encode()).decode()
    except InvalidToken:
        decrypt(token)  # raises the error that names the setting
        raise


def stored_value(instance: models.Model, attname: str) -> str:
    """The column as stored (ciphertext, or plain text not saved yet), without decrypting;
    a deferred column is read from the database as it is."""
    data = instance.__dict__
    if attname not in data:
        rows = type(instance)._base_manager.db_manager(instance._state.db).filter(pk=instance.pk)
        data[attname] = rows.values_list(attname, flat=True).get()
    return data[attname] or ""


class DecryptOnRead(DeferredAttribute):
    """The attribute of an encrypted field: holds the ciphertext as loaded and turns it into
    plain text the first time code reads it (then keeps the plain text)."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        value = stored_value(instance, self.field.attname)
        if isinstance(value, Ciphertext):
            value = instance.__dict__[self.field.attname] = decrypt(value)
        return value

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees plain text. Not searchable, by design.

    ``values()`` and ``values_list()`` give the stored ``Ciphertext``; ``decrypt`` reads it.
    """

    descriptor_class = DecryptOnRead

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return Ciphertext(value)

    def pre_save(self, model_instance, add):
        # What is stored, not the attribute: saving a connection must not need its secrets.
        return stored_value(model_instance, self.attname)

    def get_prep_value(self, value):
        if isinstance(value, Ciphertext):
            return str(value)
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)


# --- Key rotation ------------------------------------------------------------------------------


@dataclass
class ReencryptReport:
    """What ``secrets_reencrypt`` found: counts, and the rows whose secrets no key reads."""

    reencrypted: int = 0
    current: int = 0
    unreadable: list[str] = field(default_factory=list)


def secrets_reencrypt(*, check_only: bool = False) -> ReencryptReport:
    """Encrypts every stored secret of every model again under the newest key, so that the
    older keys can be dropped from ``FIELD_ENCRYPTION_KEYS``. With ``check_only`` nothing is
    written and the report says what would be.

    Each value is rewritten only if it is still the one read, so a secret changed meanwhile
    (in the admin, by pairing) is left as its writer stored it, under the newest key already.
    """
    report = ReencryptReport()
    for model in apps.get_models():
        names = [f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if not names:
            continue
        for pk, *values in model._base_manager.values_list("pk", *names).order_by("pk").iterator():
            for name, token in zip(names, values, strict=True):
                if not token:
                    continue
                if is_current(token):
                    report.current += 1
                    continue
                try:
                    fresh = reencrypt(token)
                except SecretUnreadable:
                    report.unreadable.append(f"{model._meta.label} #{pk} {name}")
                    continue
                if not check_only:
                    model._base_manager.filter(pk=pk, **{name: Ciphertext(token)}).update(**{name: Ciphertext(fresh)})
                report.reencrypted += 1
    return report
