"""The admin of connections and navigation links (SPEC §3.5–§3.6, §7): the derived status
is shown with its colour, and stored secrets are write-only."""

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from connectors.models import Connection, NavigationLink
from contracts.choices import HandshakeStatus
from contracts.tests import factories

pytestmark = pytest.mark.django_db

CONNECTORS_MODELS = sorted(
    (model for model in admin.site._registry if model._meta.app_label == "connectors"), key=lambda m: m._meta.label
)
STORED_CREDENTIALS = "client-id:s3cr3t-credential"
STORED_WEBHOOK_SECRETS = "whsec-old-one\nwhsec-new-two"


def admin_url(model_or_obj, view: str, *args) -> str:
    opts = model_or_obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


@pytest.fixture
def connection(db):
    return factories.ConnectionFactory(
        name="Contoso CLM",
        establishment_status=HandshakeStatus.SUCCESS,
        configuration_status=HandshakeStatus.ERROR,
        credentials=STORED_CREDENTIALS,
        webhook_secrets=STORED_WEBHOOK_SECRETS,
    )


@pytest.fixture
def view_link(connection):
    link = factories.NavigationLinkFactory(connection=connection, relative_url="/contracts/view")
    factories.NavigationLinkParameterFactory(link=link, key="id", value="%Contract.ExternalContractId%")
    factories.NavigationLinkParameterFactory(link=link, key="mode", value="read only", position=1)
    return link


def unchanged_connection_data(connection: Connection, **changes) -> dict:
    """What the connection page posts when only ``changes`` are typed in."""
    return {
        "name": connection.name,
        "connector": connection.connector,
        "base_url": connection.base_url,
        "navigation_base_url": connection.navigation_base_url,
        "enabled": "on",
        "poll_schedule": "",
        "settings": "{}",
        "new_credentials": "",
        "new_webhook_secrets": "",
        **changes,
    }


@pytest.mark.parametrize("model", CONNECTORS_MODELS, ids=lambda model: model._meta.label)
def test_every_list_add_and_change_page_loads(admin_client, view_link, model):
    record = model._default_manager.first()

    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client.get(admin_url(model, "add")).status_code == 200
    assert admin_client.get(admin_url(model, "change", record.pk)).status_code == 200


def test_connection_list_and_page_show_the_derived_status_with_its_colour(admin_client, connection):
    listing = admin_client.get(admin_url(Connection, "changelist"))
    page = admin_client.get(admin_url(Connection, "change", connection.pk))

    for response in (listing, page):
        assert b"Configuration failed" in response.content
        assert b"status-red" in response.content


def test_connection_page_never_shows_the_stored_secrets(admin_client, connection):
    page = admin_client.get(admin_url(Connection, "change", connection.pk)).content.decode()

    for secret in (STORED_CREDENTIALS, *STORED_WEBHOOK_SECRETS.splitlines()):
        assert secret not in page
    for name in ("new_credentials", "new_webhook_secrets"):
        secret_input = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
        assert 'type="password"' in secret_input
        assert "value=" not in secret_input
    assert "Leave blank to keep the current value." in page


def test_blank_secret_inputs_keep_the_stored_values(admin_client, connection):
    response = admin_client.post(
        admin_url(Connection, "change", connection.pk), unchanged_connection_data(connection, name="Renamed CLM")
    )

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.name == "Renamed CLM"
    assert (connection.credentials, connection.webhook_secrets) == (STORED_CREDENTIALS, STORED_WEBHOOK_SECRETS)
    assert connection.changed_by == "user:admin"


def test_typed_secrets_replace_the_stored_ones(admin_client, connection):
    data = unchanged_connection_data(
        connection, new_credentials="client-id:rotated", new_webhook_secrets="whsec-new-two  whsec-newest"
    )

    admin_client.post(admin_url(Connection, "change", connection.pk), data)

    connection.refresh_from_db()
    assert connection.credentials == "client-id:rotated"
    assert connection.webhook_secret_list == ["whsec-new-two", "whsec-newest"]


def test_stored_secrets_can_be_removed(admin_client, connection):
    data = unchanged_connection_data(connection, clear_credentials="on", clear_webhook_secrets="on")

    admin_client.post(admin_url(Connection, "change", connection.pk), data)

    connection.refresh_from_db()
    assert (connection.credentials, connection.webhook_secrets) == ("", "")


def test_navigation_link_page_shows_its_parameters_and_the_absolute_url(admin_client, view_link):
    page = admin_client.get(admin_url(NavigationLink, "change", view_link.pk))

    assert page.context["inline_admin_formsets"][0].formset.queryset.count() == 2
    assert b"https://clm.example.com/contracts/view?id=%Contract.ExternalContractId%&amp;mode=read+only" in page.content


def test_navigation_link_parameters_are_added_inline(admin_client, connection):
    data = {
        "connection": connection.pk,
        "navigation_type": "EditContract",
        "name": "Edit",
        "relative_url": "/contracts/edit",
        "action": "OpenInNewTab",
        "parameters-TOTAL_FORMS": "1",
        "parameters-INITIAL_FORMS": "0",
        "parameters-0-key": "id",
        "parameters-0-value": "%Contract.ExternalContractId%",
        "parameters-0-position": "0",
    }

    response = admin_client.post(admin_url(NavigationLink, "add"), data)

    assert response.status_code == 302
    link = NavigationLink.objects.get(connection=connection, navigation_type="EditContract")
    assert [(p.key, p.value) for p in link.parameters.all()] == [("id", "%Contract.ExternalContractId%")]
