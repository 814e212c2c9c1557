"""Connection credentials and webhook secrets are encrypted at rest (SPEC §3.5)."""

import pytest
from django.db import connection as database

from connectors.fields import decrypt
from connectors.models import Connection
from contracts.tests import factories

pytestmark = pytest.mark.django_db

CREDENTIALS = '{"client_id": "clmsite", "client_secret": "sk-live-7Hq2-do-not-leak"}'


def stored_columns(connection_pk):
    """The raw column values, as anyone with database access would see them."""
    table = database.ops.quote_name(Connection._meta.db_table)
    with database.cursor() as cursor:
        cursor.execute(f"SELECT credentials, webhook_secrets FROM {table} WHERE id = %s", [connection_pk])
        return cursor.fetchone()


def test_credentials_are_stored_as_ciphertext_and_read_back_as_plaintext():
    given = factories.ConnectionFactory(name="Reference CLM", credentials=CREDENTIALS)

    raw_credentials, _ = stored_columns(given.pk)

    assert raw_credentials
    assert "sk-live-7Hq2" not in raw_credentials
    assert "client_secret" not in raw_credentials
    assert Connection.objects.get(pk=given.pk).credentials == CREDENTIALS


def test_webhook_secrets_are_stored_as_ciphertext_and_read_back_as_plaintext():
    given = factories.ConnectionFactory(name="Reference CLM", webhook_secrets="whsec-old-1111\nwhsec-new-2222")

    _, raw_secrets = stored_columns(given.pk)

    assert "whsec-old-1111" not in raw_secrets
    assert "whsec-new-2222" not in raw_secrets
    assert Connection.objects.get(pk=given.pk).webhook_secrets == "whsec-old-1111\nwhsec-new-2222"


def test_changed_credentials_are_encrypted_again():
    connection = factories.ConnectionFactory(name="Reference CLM", credentials=CREDENTIALS)
    first_ciphertext, _ = stored_columns(connection.pk)

    connection.credentials = "rotated-secret-9876"
    connection.save()

    raw_credentials, _ = stored_columns(connection.pk)
    assert raw_credentials != first_ciphertext
    assert "rotated-secret-9876" not in raw_credentials
    assert Connection.objects.get(pk=connection.pk).credentials == "rotated-secret-9876"


def test_blank_secrets_stay_blank():
    given = factories.ConnectionFactory(name="Reference CLM")

    assert stored_columns(given.pk) == ("", "")
    reloaded = Connection.objects.get(pk=given.pk)
    assert (reloaded.credentials, reloaded.webhook_secrets) == ("", "")


def test_values_queries_give_the_ciphertext_which_decrypts_on_use():
    given = factories.ConnectionFactory(name="Reference CLM", credentials=CREDENTIALS)

    stored = Connection.objects.filter(pk=given.pk).values_list("credentials", flat=True).get()

    assert "sk-live-7Hq2" not in stored
    assert decrypt(stored) == CREDENTIALS


def test_webhook_secret_list_has_one_secret_per_line():
    connection = factories.ConnectionFactory(
        name="Reference CLM", webhook_secrets="whsec-old-1111\n\n  whsec-new-2222  \r\n"
    )

    assert Connection.objects.get(pk=connection.pk).webhook_secret_list == ["whsec-old-1111", "whsec-new-2222"]


def test_webhook_secret_list_is_empty_without_secrets():
    assert factories.ConnectionFactory(name="Reference CLM").webhook_secret_list == []
