"""The admin of connections and navigation links (SPEC §3.5–§3.6, §7): the derived status
is shown with its colour, and stored secrets are write-only."""

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from connectors.models import (
    Connection,
    DeadLetter,
    InboundEvent,
    NavigationLink,
    OutboxMessage,
    SyncError,
    SyncRun,
)
from contracts.choices import HandshakeStatus
from contracts.tests import factories

pytestmark = pytest.mark.django_db

CONNECTORS_MODELS = sorted(
    (model for model in admin.site._registry if model._meta.app_label == "connectors"), key=lambda m: m._meta.label
)
# What synchronization writes and admins only read (their retry/discard are actions).
RECORDS_OF_SYNC = {InboundEvent, OutboxMessage, DeadLetter, SyncRun, SyncError}
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
    written_by_sync_only = model in RECORDS_OF_SYNC

    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client.get(admin_url(model, "add")).status_code == (403 if written_by_sync_only else 200)
    if record is not None:
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
    factories.ContractFactory(connection=view_link.connection, contract_id="CON-1", external_contract_id="ext 1")

    page = admin_client.get(admin_url(NavigationLink, "change", view_link.pk))

    assert page.context["inline_admin_formsets"][0].formset.queryset.count() == 2
    assert b"https://clm.example.com/contracts/view?id=ext%201&amp;mode=read%20only" in page.content
    assert b"Rendered for contract CON-1 (USMF)." in page.content


def test_navigation_link_page_loads_the_preview_script_and_no_inline_script(admin_client, view_link):
    page = admin_client.get(admin_url(NavigationLink, "change", view_link.pk)).content.decode()

    assert 'src="/static/connectors/navigation_preview.js"' in page
    assert f'data-preview-url="{reverse("admin:connectors_navigationlink_preview")}"' in page
    preview = re.search(r'<div class="navigation-preview".*?</div>\s*</div>', page, re.S).group(0)
    assert "<script" not in preview and "style=" not in preview


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


def link_data(connection, navigation_type="EditContract", **parameter_values) -> dict:
    """What the add page posts for a link with one parameter per ``key=value``."""
    data = {
        "connection": connection.pk,
        "navigation_type": navigation_type,
        "name": "Link",
        "relative_url": "/contracts/open",
        "action": "OpenInNewTab",
        "parameters-TOTAL_FORMS": str(len(parameter_values)),
        "parameters-INITIAL_FORMS": "0",
    }
    for index, (key, value) in enumerate(parameter_values.items()):
        data |= {
            f"parameters-{index}-key": key,
            f"parameters-{index}-value": value,
            f"parameters-{index}-position": index,
        }
    return data


def parameter_errors(response) -> list[str]:
    formset = response.context["inline_admin_formsets"][0].formset
    return [message for form in formset.forms for message in form.errors.get("value", [])]


def test_an_unknown_placeholder_is_refused_naming_it_and_the_allowed_ones(admin_client, connection):
    response = admin_client.post(admin_url(NavigationLink, "add"), link_data(connection, id="C-%Contract.Number%"))

    assert response.status_code == 200
    assert not NavigationLink.objects.exists()
    (message,) = parameter_errors(response)
    assert message.startswith("The placeholder %Contract.Number% is unknown.")
    assert "Placeholders offered for Edit contract links: %Contract.ContractId%" in message
    assert "%Contract.Number% is unknown" in response.content.decode()


def test_a_placeholder_not_offered_for_the_links_type_is_refused(admin_client, connection):
    data = link_data(connection, "NewContractFromPurchAgreement", id="%Contract.ExternalContractId%")

    response = admin_client.post(admin_url(NavigationLink, "add"), data)

    (message,) = parameter_errors(response)
    assert "%Contract.ExternalContractId% is not offered for this navigation type" in message
    assert "%PurchaseAgreement.PurchaseAgreementId%" in message
    assert not NavigationLink.objects.exists()


def test_changing_the_type_rechecks_the_stored_parameters(admin_client, view_link):
    data = {
        **link_data(view_link.connection, "NewContract"),
        "parameters-TOTAL_FORMS": "2",
        "parameters-INITIAL_FORMS": "2",
    }
    for index, parameter in enumerate(view_link.parameters.all()):
        data |= {
            f"parameters-{index}-id": parameter.pk,
            f"parameters-{index}-link": view_link.pk,
            f"parameters-{index}-key": parameter.key,
            f"parameters-{index}-value": parameter.value,
            f"parameters-{index}-position": parameter.position,
        }

    response = admin_client.post(admin_url(NavigationLink, "change", view_link.pk), data)

    assert parameter_errors(response) == [
        "The placeholder %Contract.ExternalContractId% is not offered for this navigation type. "
        "New contract links offer no placeholders."
    ]
    view_link.refresh_from_db()
    assert view_link.navigation_type == "ViewContract"


def test_offered_placeholders_are_saved(admin_client, connection):
    data = link_data(
        connection, "ViewContract", ref="C-%Contract.ContractId%-x", pa="%PurchaseAgreement.PurchaseAgreementId%"
    )

    assert admin_client.post(admin_url(NavigationLink, "add"), data).status_code == 302
    assert NavigationLink.objects.get().parameters.count() == 2


# --- The live preview ---------------------------------------------------------------


def preview(client, **query):
    return client.get(reverse("admin:connectors_navigationlink_preview"), query)


def test_preview_renders_the_typed_link_for_the_connections_latest_contract(admin_client, connection):
    factories.ContractFactory(connection=connection, contract_id="CON-OLD")
    factories.ContractFactory(connection=connection, contract_id="CON-NEW", external_contract_id="ext ü&1")
    factories.ContractFactory(connection=factories.ConnectionFactory(name="Other"), contract_id="CON-OTHER")

    response = preview(
        admin_client,
        connection=connection.pk,
        navigation_type="ViewContract",
        relative_url="contracts/view",
        key=["id", "label", ""],
        value=["%Contract.ExternalContractId%", "C-%Contract.ContractId%-x", "ignored"],
    )

    assert response.status_code == 200
    assert response.json() == {
        "url": "https://clm.example.com/contracts/view?id=ext%20%C3%BC%261&label=C-CON-NEW-x",
        "sample": "Rendered for contract CON-NEW (USMF).",
        "problems": [],
        "placeholders_help": response.json()["placeholders_help"],
    }
    assert "%Contract.ExternalContractId%" in response.json()["placeholders_help"]


def test_preview_of_new_from_agreement_uses_the_latest_scm_agreement(admin_client, connection):
    factories.AgreementFactory(agreement_id="PA-OLD")
    factories.AgreementFactory(agreement_id="PA-NEW")

    answer = preview(
        admin_client,
        connection=connection.pk,
        navigation_type="NewContractFromPurchAgreement",
        relative_url="/new",
        key="pa",
        value="%PurchaseAgreement.PurchaseAgreementId%",
    ).json()

    assert answer["url"] == "https://clm.example.com/new?pa=PA-NEW"
    assert answer["sample"] == "Rendered for purchase agreement PA-NEW (USMF)."


def test_preview_falls_back_to_a_built_in_example(admin_client, connection):
    connection.navigation_base_url = "https://ui.example.com"
    connection.save()

    answer = preview(
        admin_client,
        connection=connection.pk,
        navigation_type="EditContract",
        relative_url="/edit",
        key=["id", "pa"],
        value=["%Contract.ContractId%", "%PurchaseAgreement.PurchaseAgreementId%"],
    ).json()

    assert answer["url"] == "https://ui.example.com/edit?id=CON-000123&pa=PA-000123"
    assert "built-in example" in answer["sample"]


def test_preview_reports_refused_placeholders_and_missing_choices(admin_client, connection):
    refused = preview(
        admin_client, connection=connection.pk, navigation_type="NewContract", key="id", value="%Contract.ContractId%"
    ).json()
    no_connection = preview(admin_client, navigation_type="NewContract").json()
    no_type = preview(admin_client, connection=connection.pk).json()

    assert refused["problems"][0].startswith("The placeholder %Contract.ContractId% is not offered")
    assert refused["url"] == "https://clm.example.com/?id=%25Contract.ContractId%25"
    assert (no_connection["url"], no_connection["problems"]) == ("", ["Choose a connection."])
    assert (no_type["url"], no_type["problems"]) == ("", ["Choose a navigation type."])


def test_preview_is_for_admins_only(client, django_user_model, connection):
    query = {"connection": connection.pk, "navigation_type": "NewContract"}
    assert preview(client, **query).status_code == 302

    client.force_login(django_user_model.objects.create_user("buyer"))
    assert preview(client, **query).status_code == 302

    client.force_login(django_user_model.objects.create_user("clerk", is_staff=True))
    assert preview(client, **query).status_code == 403


def test_a_connection_offers_only_registered_connectors(admin_client, connection):
    page = admin_client.get(admin_url(Connection, "change", connection.pk)).content.decode()
    response = admin_client.post(
        admin_url(Connection, "change", connection.pk), unchanged_connection_data(connection, connector="sap-ariba")
    )

    assert '<option value="reference"' in page
    assert response.status_code == 200
    assert "Select a valid choice. sap-ariba is not one of the available choices." in response.content.decode()
    connection.refresh_from_db()
    assert connection.connector != "sap-ariba"


def test_saving_a_connection_page_opened_before_a_pull_finished_keeps_the_new_watermark(admin_client, connection):
    page_opened_with = Connection.objects.get(pk=connection.pk)
    Connection.objects.filter(pk=connection.pk).update(sync_watermark="w-99")  # a pull finishes meanwhile

    page_opened_with.base_url = "https://clm.example.com/v2"
    page_opened_with.save()

    stored = Connection.objects.get(pk=connection.pk)
    assert (stored.base_url, stored.sync_watermark) == ("https://clm.example.com/v2", "w-99")
