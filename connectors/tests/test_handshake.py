"""The handshake (SPEC §3.5): clmsite asks each CLM whether it is reachable and configured and
shows the answer as the connection's status."""

from io import StringIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.urls import reverse

from connectors.base import Handshake, PermanentError, TransientError
from connectors.handshake import connection_check, connections_check
from connectors.models import Connection
from connectors.tests.fakes import FakeConnector
from contracts.choices import ConnectionStatus, HandshakeStatus
from contracts.services import Actor
from contracts.tests import factories

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("handshake")
READY = Handshake(HandshakeStatus.SUCCESS, HandshakeStatus.SUCCESS, "All set.")


@pytest.fixture
def clm(fake_clm):
    return factories.ConnectionFactory(name="Fake CLM", connector="fake")


def test_reachable_and_configured_clm_makes_the_connection_ready(clm, fake_clm):
    fake_clm.handshake = READY

    checked = connection_check(connection=clm, actor=ACTOR)

    assert checked.status == ConnectionStatus.READY
    assert (checked.status_message, checked.changed_by) == ("All set.", "system:handshake")
    assert Connection.objects.get(pk=clm.pk).status_changed_at is not None


def test_reachable_clm_that_is_not_configured_shows_configuration_failed(clm, fake_clm):
    fake_clm.handshake = Handshake(HandshakeStatus.SUCCESS, HandshakeStatus.ERROR, "No contract types mapped.")

    checked = connection_check(connection=clm, actor=ACTOR)

    assert checked.status == ConnectionStatus.CONFIGURATION_FAILED
    assert checked.status_message == "No contract types mapped."


@pytest.mark.parametrize("error", [TransientError("Timed out after 10 s."), PermanentError("HTTP 401.")])
def test_unreachable_or_refusing_clm_shows_establishment_failed_with_the_reason(clm, fake_clm, error):
    clm.configuration_status = HandshakeStatus.SUCCESS
    clm.save()
    fake_clm.faults.append(error)

    checked = connection_check(connection=clm, actor=ACTOR)

    assert checked.status == ConnectionStatus.ESTABLISHMENT_FAILED
    assert checked.status_message == str(error)
    assert checked.configuration_status == HandshakeStatus.SUCCESS


def test_connector_that_cannot_tell_leaves_the_status_the_clm_reported(clm, fake_clm):
    clm.establishment_status = clm.configuration_status = HandshakeStatus.SUCCESS
    clm.save()
    fake_clm.handshake = Handshake()

    checked = connection_check(connection=clm, actor=ACTOR)

    assert checked.status == ConnectionStatus.READY


def test_unregistered_connector_is_an_establishment_failure(db):
    connection = factories.ConnectionFactory(name="Ghost", connector="no-such-connector")

    checked = connection_check(connection=connection, actor=ACTOR)

    assert checked.status == ConnectionStatus.ESTABLISHMENT_FAILED
    assert 'names the connector "no-such-connector", which is not registered' in checked.status_message


def test_long_message_is_cut_to_what_is_kept(clm, fake_clm):
    fake_clm.faults.append(TransientError("x" * 2000))

    checked = connection_check(connection=clm, actor=ACTOR)

    assert len(checked.status_message) == 500


def test_check_keeps_a_watermark_stored_while_the_clm_answered(clm, fake_clm, monkeypatch):
    def check_while_a_pull_finishes(self):
        Connection.objects.filter(pk=clm.pk).update(sync_watermark="w-42")
        return READY

    monkeypatch.setattr(FakeConnector, "check", check_while_a_pull_finishes)

    connection_check(connection=clm, actor=ACTOR)

    assert Connection.objects.get(pk=clm.pk).sync_watermark == "w-42"


def test_checking_all_connections_goes_on_past_one_that_fails(fake_clm, monkeypatch):
    for name in ("A CLM", "B CLM", "C CLM"):
        factories.ConnectionFactory(name=name, connector="fake")
    factories.ConnectionFactory(name="Disabled CLM", connector="fake", enabled=False)
    original = FakeConnector.check

    def broken_for_b(self):
        if self.connection.name == "B CLM":
            raise RuntimeError("bug in a connector")
        return original(self)

    monkeypatch.setattr(FakeConnector, "check", broken_for_b)
    fake_clm.handshake = READY

    checked = connections_check(actor=ACTOR)

    assert [connection.name for connection in checked] == ["A CLM", "C CLM"]
    statuses = dict(Connection.objects.values_list("name", "establishment_status"))
    assert statuses == {
        "A CLM": HandshakeStatus.SUCCESS,
        "B CLM": HandshakeStatus.NOT_STARTED,
        "C CLM": HandshakeStatus.SUCCESS,
        "Disabled CLM": HandshakeStatus.NOT_STARTED,
    }


def test_check_connections_command_prints_each_status(fake_clm):
    factories.ConnectionFactory(name="Fake CLM", connector="fake")
    fake_clm.handshake = READY
    out = StringIO()

    call_command("check_connections", stdout=out)

    assert out.getvalue().strip() == "Fake CLM: Ready - All set."


def test_admin_check_action_shows_the_status(admin_client, clm, fake_clm):
    fake_clm.handshake = Handshake(HandshakeStatus.SUCCESS, HandshakeStatus.ERROR, "No contract types mapped.")

    response = admin_client.post(
        reverse("admin:connectors_connection_changelist"),
        {"action": "check_connection", ACTION_CHECKBOX_NAME: [clm.pk]},
        follow=True,
    )

    assert "Fake CLM: Configuration failed. No contract types mapped." in response.content.decode()
    assert Connection.objects.get(pk=clm.pk).status == ConnectionStatus.CONFIGURATION_FAILED
