"""Rotating FIELD_ENCRYPTION_KEYS (docs/operations.md, "Secret rotation"): secrets are
decrypted when used, not when a connection is loaded, and ``reencrypt_secrets`` moves
every stored secret to the newest key so that the old one can go."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from connectors.fields import SecretUnreadable
from connectors.models import Connection
from connectors.registry import connector_for
from connectors.tests.test_encrypted_fields import stored_columns
from contracts.tests import factories

pytestmark = pytest.mark.django_db

K1, K2, K3 = (Fernet.generate_key().decode() for _ in range(3))
PULL_TOKEN = "pull-token-rotation-drill-4f1c"
WEBHOOK_SECRETS = "whsec-rotation-old-77\nwhsec-rotation-new-88"


def reencrypt(*args) -> str:
    out = StringIO()
    call_command("reencrypt_secrets", *args, stdout=out)
    return out.getvalue().strip()


@pytest.fixture
def paired_under_k1(legal_entity):
    """A connection with secrets written under K1 alone, and a contract it brought."""
    with override_settings(FIELD_ENCRYPTION_KEYS=[K1]):
        connection = factories.ConnectionFactory(
            name="Rotated CLM", credentials=PULL_TOKEN, webhook_secrets=WEBHOOK_SECRETS
        )
    contract = factories.ContractFactory(legal_entity=legal_entity, connection=connection, name="Rotation drill")
    return connection, contract


def test_rotation_drill_moves_every_secret_to_the_new_key(paired_under_k1):
    connection, _ = paired_under_k1
    written_under_k1 = stored_columns(connection.pk)

    with override_settings(FIELD_ENCRYPTION_KEYS=[K2, K1]):
        printed = reencrypt()
        assert printed == "2 secret(s) re-encrypted, 0 already under the first key."
        assert reencrypt("--check") == "0 secret(s) to re-encrypt, 2 already under the first key."

    with override_settings(FIELD_ENCRYPTION_KEYS=[K2]):
        reloaded = Connection.objects.get(pk=connection.pk)
        assert reloaded.credentials == PULL_TOKEN
        assert reloaded.webhook_secret_list == ["whsec-rotation-old-77", "whsec-rotation-new-88"]
    rewritten = stored_columns(connection.pk)
    assert rewritten[0] != written_under_k1[0]
    assert rewritten[1] != written_under_k1[1]
    assert PULL_TOKEN not in rewritten[0]


def test_check_fails_while_secrets_are_under_an_older_key(paired_under_k1):
    with override_settings(FIELD_ENCRYPTION_KEYS=[K2, K1]), pytest.raises(CommandError, match="Not every secret"):
        reencrypt("--check")


def test_a_secret_changed_during_the_rotation_is_written_under_the_new_key(paired_under_k1):
    connection, _ = paired_under_k1

    with override_settings(FIELD_ENCRYPTION_KEYS=[K2, K1]):
        connection.credentials = "typed-in-the-admin-meanwhile"
        connection.save()
        reencrypt()

    with override_settings(FIELD_ENCRYPTION_KEYS=[K2]):
        assert Connection.objects.get(pk=connection.pk).credentials == "typed-in-the-admin-meanwhile"


def test_with_an_unknown_key_only_pages_still_render(paired_under_k1, admin_client):
    connection, contract = paired_under_k1

    with override_settings(FIELD_ENCRYPTION_KEYS=[K3]):
        dashboard = admin_client.get(reverse("home"))
        detail = admin_client.get(reverse("contracts:detail", args=[contract.pk]))
        connections = admin_client.get(reverse("admin:connectors_connection_changelist"))
        change = admin_client.get(reverse("admin:connectors_connection_change", args=[connection.pk]))
        test_page = admin_client.get(reverse("admin:connectors_connection_test", args=[connection.pk]))

    assert [page.status_code for page in (dashboard, detail, connections, change, test_page)] == [200] * 5
    assert b"Rotation drill" in detail.content
    assert b"Rotated CLM" in connections.content
    assert change.content.count(b"Stored, but cannot be read") == 2
    assert b"FIELD_ENCRYPTION_KEYS" in change.content
    assert b"FIELD_ENCRYPTION_KEYS" in test_page.content


def test_with_an_unknown_key_only_using_a_secret_fails_naming_the_setting(paired_under_k1):
    connection, _ = paired_under_k1

    with override_settings(FIELD_ENCRYPTION_KEYS=[K3]):
        loaded = Connection.objects.get(pk=connection.pk)
        assert loaded.name == "Rotated CLM"
        with pytest.raises(SecretUnreadable, match="FIELD_ENCRYPTION_KEYS"):
            connector_for(loaded)
        with pytest.raises(SecretUnreadable, match="FIELD_ENCRYPTION_KEYS"):
            loaded.webhook_secret_list  # noqa: B018 - reading it is the use


def test_reencrypt_names_the_secrets_no_key_reads(paired_under_k1):
    connection, _ = paired_under_k1

    with override_settings(FIELD_ENCRYPTION_KEYS=[K3]), pytest.raises(CommandError) as failure:
        reencrypt()

    assert "2 secret(s) cannot be decrypted with any key of FIELD_ENCRYPTION_KEYS" in str(failure.value)
    assert f"connectors.Connection #{connection.pk} credentials" in str(failure.value)


def test_saving_a_connection_whose_secrets_cannot_be_read_keeps_them(paired_under_k1, admin_client):
    connection, _ = paired_under_k1

    with override_settings(FIELD_ENCRYPTION_KEYS=[K3]):
        loaded = Connection.objects.get(pk=connection.pk)
        loaded.enabled = False
        loaded.save()

    with override_settings(FIELD_ENCRYPTION_KEYS=[K1]):
        reloaded = Connection.objects.get(pk=connection.pk)
        assert (reloaded.enabled, reloaded.credentials) == (False, PULL_TOKEN)


def test_a_deferred_secret_is_loaded_when_read():
    given = factories.ConnectionFactory(name="Deferred CLM", credentials=PULL_TOKEN)

    loaded = Connection.objects.only("name").get(pk=given.pk)

    assert loaded.credentials == PULL_TOKEN


def test_a_connection_loaded_without_its_secrets_saves_them_unchanged():
    given = factories.ConnectionFactory(name="Deferred CLM", credentials=PULL_TOKEN)

    loaded = Connection.objects.defer("credentials", "webhook_secrets").get(pk=given.pk)
    loaded.enabled = False
    loaded.save()

    assert Connection.objects.get(pk=given.pk).credentials == PULL_TOKEN


def test_secrets_written_under_the_secret_key_move_to_explicit_keys(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    given = factories.ConnectionFactory(name="Embedded CLM", credentials=PULL_TOKEN)
    settings.FIELD_ENCRYPTION_KEYS = [K2]

    assert reencrypt() == "1 secret(s) re-encrypted, 0 already under the first key."
    settings.SECRET_KEY = "a-new-secret-key-" + "x7Qm2pLk9vR4" * 4

    assert Connection.objects.get(pk=given.pk).credentials == PULL_TOKEN


def test_rotating_the_secret_key_keeps_derived_secrets_through_the_fallbacks(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    old_key = settings.SECRET_KEY
    given = factories.ConnectionFactory(name="Embedded CLM", credentials=PULL_TOKEN)

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-secret-key-" + "x7Qm2pLk9vR4" * 4, [old_key]
    assert reencrypt() == "1 secret(s) re-encrypted, 0 already under the first key."
    settings.SECRET_KEY_FALLBACKS = []

    assert Connection.objects.get(pk=given.pk).credentials == PULL_TOKEN
