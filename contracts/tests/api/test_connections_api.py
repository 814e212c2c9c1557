"""Connection management by the CLM (SPEC §3.5, §3.6, §8.7): the CLM reports its
connection's status and reads and writes the navigation links of its own connection."""

import pytest
from django.contrib.auth.models import Permission

from connectors.models import Connection, NavigationLink
from contracts.choices import ApiClientRole, ConnectionStatus, HandshakeStatus
from contracts.tests import factories

pytestmark = pytest.mark.django_db

STATUS = "/api/v1/connections/Reference%20CLM/status/"
LINKS = "/api/v1/connections/Reference%20CLM/navigation-links/"
VIEW = f"{LINKS}ViewContract/"

NOT_STARTED, SUCCESS, ERROR = HandshakeStatus.NOT_STARTED, HandshakeStatus.SUCCESS, HandshakeStatus.ERROR


@pytest.fixture
def clm(api_client_for, legal_entity, connection):
    """The CLM's integration client, pushing for the connection "Reference CLM"."""
    return api_client_for(ApiClientRole.CLM_INTEGRATION, legal_entities=[legal_entity], connection=connection)


@pytest.fixture
def other_clm(api_client_for, legal_entity):
    """Another CLM's client, pushing for its own connection."""
    other = factories.ConnectionFactory(name="Other CLM")
    return api_client_for(ApiClientRole.CLM_INTEGRATION, legal_entities=[legal_entity], connection=other)


VIEW_LINK = {
    "name": "View in the CLM",
    "relative_url": "/contracts/view",
    "action": "OpenInNewTab",
    "parameters": [{"key": "id", "value": "%Contract.ExternalContractId%"}, {"key": "src", "value": "erp"}],
}


# --- Status -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("establishment", "configuration", "status", "label"),
    [
        (NOT_STARTED, ERROR, ConnectionStatus.NOT_STARTED, "Not started"),
        (ERROR, SUCCESS, ConnectionStatus.ESTABLISHMENT_FAILED, "Connection establishment failed"),
        (SUCCESS, NOT_STARTED, ConnectionStatus.ESTABLISHED, "Connection established"),
        (SUCCESS, ERROR, ConnectionStatus.CONFIGURATION_FAILED, "Configuration failed"),
        (SUCCESS, SUCCESS, ConnectionStatus.READY, "Ready"),
    ],
)
def test_the_reported_statuses_decide_the_connection_status(
    clm, connection, establishment, configuration, status, label
):
    body = {"establishment_status": establishment, "configuration_status": configuration, "message": "checked"}

    response = clm.patch(STATUS, body, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["status_label"]) == (status, label)
    connection.refresh_from_db()
    assert (connection.status, connection.status_message, connection.changed_by) == (
        status,
        "checked",
        clm_name(clm),
    )
    assert connection.status_changed_at is not None


def clm_name(api) -> str:
    return f"api_client:{api.api_client.name}"


def test_only_the_values_sent_change_and_a_new_status_clears_the_old_message(clm, connection):
    clm.patch(STATUS, {"establishment_status": ERROR, "message": "TLS handshake failed"}, format="json")
    clm.patch(STATUS, {"configuration_status": SUCCESS}, format="json")
    connection.refresh_from_db()
    assert (connection.establishment_status, connection.configuration_status) == (ERROR, SUCCESS)
    assert connection.status_message == ""

    response = clm.get(STATUS)
    assert response.status_code == 200
    assert response.json()["status"] == ConnectionStatus.ESTABLISHMENT_FAILED
    assert response["ETag"]


def test_a_status_read_can_be_sent_back(clm):
    read = clm.get(STATUS).json()

    assert clm.patch(STATUS, {**read, "establishment_status": SUCCESS}, format="json").status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"establishment_status": "Done"}, "establishment_status", "invalid"),
        ({"configuration_status": None}, "configuration_status", "invalid"),
        ({"message": "x" * 501}, "message", "invalid"),
        ({"state": "Ready"}, "state", "unknown_field"),
        ({"name": "Other CLM"}, "name", "mismatch"),
    ],
)
def test_a_bad_report_is_refused_and_changes_nothing(clm, connection, body, field, code):
    response = clm.patch(STATUS, body, format="json")

    assert response.status_code == 422
    assert [(p["field"], p["code"]) for p in response.json()["errors"]] == [(field, code)]
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NOT_STARTED


def test_a_stale_if_match_is_a_412(clm, connection):
    etag = clm.get(STATUS)["ETag"]
    clm.patch(STATUS, {"establishment_status": SUCCESS}, format="json")

    response = clm.patch(STATUS, {"establishment_status": ERROR}, format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == 412
    connection.refresh_from_db()
    assert connection.establishment_status == SUCCESS


def test_a_clm_client_manages_only_its_own_connection(other_clm, api_client_for, connection):
    without_connection = api_client_for(ApiClientRole.CLM_INTEGRATION, cross_company=True)

    for api in (other_clm, without_connection):
        assert api.get(STATUS).status_code == 404
        assert api.patch(STATUS, {"establishment_status": SUCCESS}, format="json").status_code == 404
        assert api.get(LINKS).status_code == 404
        assert api.put(VIEW, VIEW_LINK, format="json").status_code == 404
    assert other_clm.get("/api/v1/connections/Other%20CLM/status/").status_code == 200
    connection.refresh_from_db()
    assert connection.establishment_status == NOT_STARTED
    assert not NavigationLink.objects.exists()


def test_read_only_clients_may_read_but_not_report(reader_api, connection):
    assert reader_api.get(STATUS).status_code == 200
    assert reader_api.get(LINKS).status_code == 200
    assert reader_api.patch(STATUS, {"establishment_status": SUCCESS}, format="json").status_code == 403
    assert reader_api.put(VIEW, VIEW_LINK, format="json").status_code == 403


def test_people_need_the_connection_permissions(person_for, connection):
    nobody = person_for(permissions=())
    viewer = person_for(permissions=())
    viewer.user.user_permissions.set(Permission.objects.filter(codename="view_connection"))

    assert nobody.get(STATUS).status_code == 403
    assert viewer.get(STATUS).status_code == 200
    assert viewer.patch(STATUS, {"establishment_status": SUCCESS}, format="json").status_code == 403


def test_an_unknown_connection_is_not_found(reader_api):
    assert reader_api.get("/api/v1/connections/Nope/status/").status_code == 404


# --- Navigation links ----------------------------------------------------------------------


def test_a_navigation_link_is_created_read_updated_and_deleted(clm, connection):
    created = clm.put(VIEW, VIEW_LINK, format="json")
    assert created.status_code == 201, created.content
    assert created["Location"] == VIEW
    assert created.json()["parameters"] == VIEW_LINK["parameters"]

    read = clm.get(VIEW)
    assert read.status_code == 200
    assert {key: read.json()[key] for key in VIEW_LINK} == VIEW_LINK
    assert read.json()["navigation_type"] == "ViewContract"

    renamed = clm.put(VIEW, {"name": "View"}, format="json", HTTP_IF_MATCH=read["ETag"])
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["parameters"]) == ("View", VIEW_LINK["parameters"])

    assert clm.delete(VIEW).status_code == 204
    assert clm.get(VIEW).status_code == 404
    assert not connection.navigation_links.exists()


def test_a_placeholder_not_offered_for_the_type_is_a_422_naming_the_value(clm, connection):
    body = {**VIEW_LINK, "parameters": [{"key": "id", "value": "%Contract.Nonsense%"}]}

    response = clm.put(VIEW, body, format="json")

    assert response.status_code == 422
    [problem] = response.json()["errors"]
    assert problem["field"] == "parameters.0.value"
    assert "%Contract.Nonsense%" in problem["message"]
    assert not NavigationLink.objects.exists()


def test_new_contract_links_offer_no_placeholders(clm):
    body = {"name": "New", "relative_url": "/new", "parameters": [{"key": "id", "value": "%Contract.ContractId%"}]}

    response = clm.put(f"{LINKS}NewContract/", body, format="json")

    assert response.status_code == 422
    assert "offer no placeholders" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"relative_url": "/view"}, "name", "required"),
        ({**VIEW_LINK, "action": "Popup"}, "action", "invalid"),
        ({**VIEW_LINK, "navigation_type": "EditContract"}, "navigation_type", "mismatch"),
        (
            {**VIEW_LINK, "parameters": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]},
            "parameters.1.key",
            "duplicate",
        ),
        ({**VIEW_LINK, "parameters": [{"value": "1"}]}, "parameters.0.key", "required"),
        ({**VIEW_LINK, "parameters": [{"key": "a", "value": 1}]}, "parameters.0.value", "invalid"),
        ({**VIEW_LINK, "parameters": [{"key": "a", "position": 1}]}, "parameters.0.position", "unknown_field"),
        ({**VIEW_LINK, "target": "_blank"}, "target", "unknown_field"),
    ],
)
def test_a_bad_navigation_link_is_refused(clm, body, field, code):
    response = clm.put(VIEW, body, format="json")

    assert response.status_code == 422, response.content
    assert (field, code) in [(p["field"], p["code"]) for p in response.json()["errors"]]


def test_parameters_that_are_not_objects_are_a_400(clm):
    response = clm.put(VIEW, {**VIEW_LINK, "parameters": ["id=1"]}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "parameters"


def test_an_unknown_navigation_type_is_not_found(clm):
    assert clm.put(f"{LINKS}OpenPortal/", VIEW_LINK, format="json").status_code == 404
    assert clm.get(f"{LINKS}OpenPortal/").status_code == 404


def test_the_whole_set_of_links_is_replaced_at_once(clm, connection):
    factories.NavigationLinkFactory(connection=connection, navigation_type="AmendContract", name="Amend")
    body = {
        "links": [
            {"navigation_type": "ViewContract", **VIEW_LINK},
            {"navigation_type": "NewContract", "name": "New", "relative_url": "/contracts/new"},
        ]
    }

    replaced = clm.put(LINKS, body, format="json")

    assert replaced.status_code == 200, replaced.content
    assert [link["navigation_type"] for link in replaced.json()["links"]] == ["NewContract", "ViewContract"]
    assert sorted(connection.navigation_links.values_list("navigation_type", flat=True)) == [
        "NewContract",
        "ViewContract",
    ]
    read = clm.get(LINKS)
    assert read.json() == replaced.json()
    assert clm.put(LINKS, read.json(), format="json", HTTP_IF_MATCH=read["ETag"]).status_code == 200


def test_a_bad_link_in_the_set_writes_nothing(clm, connection):
    factories.NavigationLinkFactory(connection=connection, navigation_type="AmendContract", name="Amend")
    body = {
        "links": [
            {"navigation_type": "ViewContract", **VIEW_LINK},
            {
                "navigation_type": "EditContract",
                "name": "Edit",
                "relative_url": "/e",
                "parameters": [{"key": "x", "value": "%Vendor.Name%"}],
            },
            {"navigation_type": "ViewContract", "name": "Again", "relative_url": "/v"},
        ]
    }

    response = clm.put(LINKS, body, format="json")

    assert response.status_code == 422
    assert [(p["field"], p["code"]) for p in response.json()["errors"]] == [
        ("links.1.parameters.0.value", "invalid"),
        ("links.2.navigation_type", "duplicate"),
    ]
    assert list(connection.navigation_links.values_list("navigation_type", flat=True)) == ["AmendContract"]


def test_the_set_of_links_refuses_a_stale_if_match(clm, connection):
    etag = clm.get(LINKS)["ETag"]
    clm.put(VIEW, VIEW_LINK, format="json")

    assert clm.put(LINKS, {"links": []}, format="json", HTTP_IF_MATCH=etag).status_code == 412
    assert clm.get(LINKS, HTTP_IF_NONE_MATCH=clm.get(LINKS)["ETag"]).status_code == 304
    assert Connection.objects.get().navigation_links.count() == 1
