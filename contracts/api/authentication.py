"""API keys for service clients; people use their browser session (SPEC §8.1)."""

from __future__ import annotations

import hashlib
import threading
from time import monotonic
from typing import NoReturn

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled

from clmsite.security import api_key_failure_record, api_key_failures_wait
from contracts.models import ApiClient
from contracts.services import api_client_authenticate

KEYWORDS = ("bearer", "api-key")
# A client whose key was checked is trusted for this long by the process that checked it, with
# its legal entities: two queries less per request of a busy CLM (docs/performance.md). A
# change of the client reaches the process that saved it at once, the others within this time.
CLIENT_TTL_SECONDS = 2.0


class RecentClients:
    """The API clients this process authenticated in the last ``CLIENT_TTL_SECONDS``, by a
    hash of their key (the key itself is never kept)."""

    MAX_ENTRIES = 1000

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, ApiClient]] = {}

    @staticmethod
    def _digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def get(self, key: str) -> ApiClient | None:
        entry = self._entries.get(self._digest(key))
        if entry is None or monotonic() - entry[0] > CLIENT_TTL_SECONDS:
            return None
        return entry[1]

    def put(self, key: str, client: ApiClient) -> None:
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[self._digest(key)] = (monotonic(), client)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


recent_clients = RecentClients()


@receiver(post_save, sender=ApiClient, dispatch_uid="recent_clients_saved")
@receiver(post_delete, sender=ApiClient, dispatch_uid="recent_clients_deleted")
@receiver(m2m_changed, sender=ApiClient.legal_entities.through, dispatch_uid="recent_clients_granted")
def _forget_recent_clients(**kwargs) -> None:
    recent_clients.clear()


class ApiClientPrincipal:
    """Stands in ``request.user`` for an API client: authenticated, but no Django user, so
    it holds no Django permission; what it may do comes from the client's role."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = id = None

    def __init__(self, client: ApiClient):
        self.api_client = client
        self.is_active = client.is_active

    def __str__(self):
        return f"api_client:{self.api_client.name}"

    def get_username(self) -> str:
        return str(self)

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_perms(self, perm_list, obj=None) -> bool:
        return False


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <key>`` or ``Authorization: Api-Key <key>``."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].decode("latin-1").lower() not in KEYWORDS:
            return None  # not ours: the session may authenticate the request
        # An address that sent too many wrong keys is not heard until its window ends, right key
        # or not: that is what stops keys being guessed.
        wait = api_key_failures_wait(request)
        if wait is not None:
            raise Throttled(wait, detail="Too many requests with an invalid API key from this address.")
        if len(parts) != 2:
            self._fail(request, "Send the key as `Authorization: Bearer <key>`, with no spaces in the key.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            self._fail(request, "The API key is not valid.")
        client = recent_clients.get(key)
        if client is None:
            client = api_client_authenticate(key)
            if client is None:
                self._fail(request, "The API key is not valid, or it was revoked.")
            client.granted_ids = (
                None if client.cross_company else frozenset(client.legal_entities.values_list("pk", flat=True))
            )
            recent_clients.put(key, client)
        return ApiClientPrincipal(client), client

    @staticmethod
    def _fail(request, message: str) -> NoReturn:
        api_key_failure_record(request)
        raise AuthenticationFailed(message)

    def authenticate_header(self, request):
        return 'Bearer realm="clmsite"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API client's key, as `Authorization: Bearer <key>` (or `Api-Key <key>`). "
            "Admins create clients and keys in the Django admin; a key is shown once.",
        }
