"""The connection status indicator, derived from the two handshake statuses (SPEC §3.5)."""

import pytest

from connectors.models import Connection, derive_connection_status
from contracts.choices import ConnectionStatus, HandshakeStatus
from contracts.tests import factories

EVERY_CONFIGURATION_STATUS = HandshakeStatus.values


@pytest.mark.parametrize("configuration", EVERY_CONFIGURATION_STATUS)
def test_connection_is_not_started_whatever_the_configuration(configuration):
    assert derive_connection_status(HandshakeStatus.NOT_STARTED, configuration) == ConnectionStatus.NOT_STARTED


@pytest.mark.parametrize("configuration", EVERY_CONFIGURATION_STATUS)
def test_failed_establishment_is_shown_whatever_the_configuration(configuration):
    assert derive_connection_status(HandshakeStatus.ERROR, configuration) == ConnectionStatus.ESTABLISHMENT_FAILED


def test_established_connection_not_yet_configured():
    assert (
        derive_connection_status(HandshakeStatus.SUCCESS, HandshakeStatus.NOT_STARTED) == ConnectionStatus.ESTABLISHED
    )


def test_established_connection_whose_configuration_failed():
    status = derive_connection_status(HandshakeStatus.SUCCESS, HandshakeStatus.ERROR)

    assert status == ConnectionStatus.CONFIGURATION_FAILED


def test_established_and_configured_connection_is_ready():
    assert derive_connection_status(HandshakeStatus.SUCCESS, HandshakeStatus.SUCCESS) == ConnectionStatus.READY


SPEC_TABLE = [
    *[
        pytest.param(HandshakeStatus.NOT_STARTED, configuration, "Not started", id=f"NotStarted-{configuration}")
        for configuration in EVERY_CONFIGURATION_STATUS
    ],
    *[
        pytest.param(
            HandshakeStatus.ERROR, configuration, "Connection establishment failed", id=f"Error-{configuration}"
        )
        for configuration in EVERY_CONFIGURATION_STATUS
    ],
    pytest.param(
        HandshakeStatus.SUCCESS, HandshakeStatus.NOT_STARTED, "Connection established", id="Success-NotStarted"
    ),
    pytest.param(HandshakeStatus.SUCCESS, HandshakeStatus.ERROR, "Configuration failed", id="Success-Error"),
    pytest.param(HandshakeStatus.SUCCESS, HandshakeStatus.SUCCESS, "Ready", id="Success-Success"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("establishment", "configuration", "shown_as"), SPEC_TABLE)
def test_saved_connection_is_shown_as_the_spec_table_says(establishment, configuration, shown_as):
    factories.ConnectionFactory(
        name="Reference CLM", establishment_status=establishment, configuration_status=configuration
    )

    connection = Connection.objects.get(name="Reference CLM")

    assert connection.status == derive_connection_status(establishment, configuration)
    assert connection.status_label == shown_as


@pytest.mark.django_db
def test_new_connection_starts_as_not_started():
    connection = factories.ConnectionFactory(name="Reference CLM")

    assert (connection.establishment_status, connection.configuration_status) == ("NotStarted", "NotStarted")
    assert connection.status_label == "Not started"


@pytest.mark.django_db
def test_status_follows_the_handshake_as_it_progresses():
    connection = factories.ConnectionFactory(name="Reference CLM")

    connection.establishment_status = HandshakeStatus.SUCCESS
    connection.save()
    established = Connection.objects.get(pk=connection.pk).status

    connection.configuration_status = HandshakeStatus.SUCCESS
    connection.save()
    ready = Connection.objects.get(pk=connection.pk).status

    assert (established, ready) == (ConnectionStatus.ESTABLISHED, ConnectionStatus.READY)
