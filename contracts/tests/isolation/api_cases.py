"""/api/v1/ (contracts/api/urls.py): a read-only client, the CLM's integration client and a
signed-in person, each granted only A.

The API's rule (contracts/api/permissions.py): a record of a legal entity the caller is
not granted is "not found" (404), with the very answer of a record that does not exist; a
legal entity code the caller is not granted, in a list's ``legal_entity`` or a new
record's body, is refused (403, code ``not_granted``), as an unknown code is; and
``cross_company=true`` means every *granted* legal entity.
"""

from __future__ import annotations

import json

from django.urls import reverse

from connectors.imports import import_run_apply
from connectors.models import NavigationLink, SyncRun
from contracts.choices import ApiClientRole, DeepLinkTarget
from contracts.models import TRACKED_ENTITIES, Contract, LegalEntity, PurchaseAgreement
from contracts.tests.api.factories import ApiClientFactory

from .cases import (
    API,
    PUBLIC,
    api_as,
    api_callers,
    assert_hides,
    body_of,
    case,
    changes_nothing_of_b,
    person_api,
    read,
    refused,
    writers,
)
from .world import A_CODE, B_CODE, World

BOTH = f"{A_CODE},{B_CODE}"


def url(name: str, *args) -> str:
    return reverse(f"api:{name}", args=args)


def _get(path: str):
    return lambda world: [("get", path if path.startswith("/") else url(path))]


def _same_answer(existing, missing, *, existing_key: str, missing_key: str) -> None:
    """B's record and a record that does not exist get the same answer: B's existence does not leak."""
    assert existing.status_code == missing.status_code, (existing.status_code, missing.status_code)
    assert body_of(existing).replace(existing_key, missing_key) == body_of(missing)


def _scoped_list(world: World, path: str, key: str, a_keys: set[str]) -> None:
    """A list says which legal entities it covers; B's is refused, and every granted one is only A."""
    for caller, api in api_callers(world).items():
        refused(api.get(path), 400)
        for asked in (B_CODE, BOTH, "NOSUCH"):
            response = api.get(path, {"legal_entity": asked})
            refused(response, 403)
            assert response.json()["errors"][0]["code"] == "not_granted", caller
        for scope in ({"cross_company": "true"}, {"legal_entity": A_CODE}, {"cross_company": "true", "q": "BRAVO"}):
            response = read(api, path, scope)
            assert_hides(world.b, response, asked=json.dumps(scope))
            if "q" not in scope:
                assert {row[key] for row in response.json()["results"]} == a_keys, (caller, scope)


# --- Contracts --------------------------------------------------------------------------------


@case("api:contract-list", API, _get("/api/v1/contracts/?cross_company=true"))
def contract_list_covers_only_granted_entities(world: World):
    a_ids = world.a.contract_ids()
    _scoped_list(world, url("contract-list"), "contract_id", a_ids)
    new_in_b = {"legal_entity": B_CODE, "contract_id": "BRAVO-CON7", "contract_type": "Purchase", "name": "x"}
    with changes_nothing_of_b(world):
        for api in api_callers(world).values():
            refused(api.post(url("contract-list"), new_in_b, format="json"), 403)


@case("api:contract-bulk-upsert", API, lambda world: [("post", url("contract-bulk-upsert"))])
def bulk_upsert_refuses_b_records(world: World):
    records = [
        {"legal_entity": B_CODE, "contract_id": world.b.contract.contract_id, "name": "Renamed by A"},
        {"legal_entity": B_CODE, "contract_id": "BRAVO-CON7", "contract_type": "Purchase", "name": "New in B"},
    ]
    with changes_nothing_of_b(world):
        response = read_post(api_as(world.a.clm_client), url("contract-bulk-upsert"), {"records": records})
        assert [result["errors"][0]["code"] for result in response.json()["results"]] == ["not_granted"] * 2
        refused(api_as(world.reader).post(url("contract-bulk-upsert"), {"records": records}, format="json"), 403)
        refused(person_api(world).post(url("contract-bulk-upsert"), {"records": records}, format="json"), 403)


def read_post(api, path: str, body: dict, status: int = 200):
    response = api.post(path, body, format="json")
    assert response.status_code == status, (path, response.status_code, body_of(response)[:300])
    return response


@case(
    "api:contract-detail",
    API,
    lambda world: [("get", url("contract-detail", B_CODE, world.b.contract.contract_id))],
)
def contract_of_b_is_not_found(world: World):
    b_contract = url("contract-detail", B_CODE, world.b.contract.contract_id)
    missing = url("contract-detail", B_CODE, "BRAVO-NOPE")
    for api in api_callers(world).values():
        _same_answer(api.get(b_contract), api.get(missing), existing_key=b_contract, missing_key=missing)
        refused(api.get(b_contract), 404)
    # A's contract, which B's agreement links to, shows nothing of that agreement.
    assert_hides(world.b, read(api_as(world.reader), url("contract-detail", A_CODE, world.a.contract.contract_id)))
    with changes_nothing_of_b(world):
        api = api_as(world.a.clm_client)
        for path in (b_contract, missing):  # an update, and a create in B
            refused(api.put(path, {"name": "Renamed by A"}, format="json"), 404)
            refused(api.patch(path, {"name": "Renamed by A"}, format="json"), 404)
            refused(api.delete(path), 404)
        refused(person_api(world).put(b_contract, {"name": "Renamed by A"}, format="json"), 403, 404)
        refused(api_as(world.reader).delete(b_contract), 403, 404)
        # A CLM client of A on the connection B's contract came from: the external id is taken,
        # and the answer does not say by which contract of which legal entity.
        shared = api_as(
            ApiClientFactory(
                name="alpha-on-b-clm",
                role=ApiClientRole.CLM_INTEGRATION,
                legal_entities=[world.a.entity],
                connection=world.b.connection,
            )
        )
        taken = {"external_contract_id": world.b.contract.external_contract_id, "contract_type": "Purchase"}
        response = shared.put(url("contract-detail", A_CODE, "ALPHA-CON7"), {**taken, "name": "x"}, format="json")
        refused(response, 409)
        assert_hides(world.b, response, asked=taken["external_contract_id"])


# --- Contract types: shared by every legal entity ---------------------------------------------


@case("api:contract-type-list", API, _get("contract-type-list"))
def contract_types_show_no_company_record(world: World):
    for api in api_callers(world).values():
        body = assert_hides(world.b, read(api, url("contract-type-list")))
        assert "Purchase" in body


@case("api:contract-type-detail", API, _get("/api/v1/contract-types/NDA/"))
def contract_type_shows_no_company_record(world: World):
    for api in api_callers(world).values():
        assert_hides(world.b, read(api, url("contract-type-detail", "NDA")))


# --- Purchase agreements and lines ----------------------------------------------------------------


def _linking_b_contract(contract_id: str) -> dict:
    """A's agreement naming a contract of B: its link would show B's contract to A's callers."""
    return {
        "legal_entity": A_CODE,
        "vendor": "ALPHA-V1",
        "document_title": "BRAVO by A",
        "contract_id": contract_id,
        "contract_legal_entity": B_CODE,
    }


@case("api:agreement-list", API, _get("/api/v1/purchase-agreements/?cross_company=true"))
def agreement_list_covers_only_granted_entities(world: World):
    a_ids = {agreement.agreement_id for agreement in world.a.agreements}
    _scoped_list(world, url("agreement-list"), "agreement_id", a_ids)
    b_id = world.b.contract.contract_id
    with changes_nothing_of_b(world):
        for api in writers(world).values():
            new_in_b = {"legal_entity": B_CODE, "vendor": "BRAVO-V1", "document_title": "BRAVO by A"}
            refused(api.post(url("agreement-list"), new_in_b, format="json"), 403)
            # Names resolve in the agreement's own legal entity: B's vendor is not found in A.
            b_vendor_in_a = {**new_in_b, "legal_entity": A_CODE}
            response = api.post(url("agreement-list"), b_vendor_in_a, format="json")
            refused(response, 422)
            assert response.json()["errors"][0]["field"] == "vendor"
            # B's contract cannot be linked, and whether it exists is not told.
            existing = api.post(url("agreement-list"), _linking_b_contract(b_id), format="json")
            missing = api.post(url("agreement-list"), _linking_b_contract("BRAVO-NOPE"), format="json")
            refused(existing, 422)
            _same_answer(existing, missing, existing_key=b_id, missing_key="BRAVO-NOPE")
            a_agreement = url("agreement-detail", A_CODE, world.a.scm_agreement.agreement_id)
            link = {"contract_id": b_id, "contract_legal_entity": B_CODE}
            refused(api.patch(a_agreement, link, format="json"), 422)
    assert not PurchaseAgreement.objects.filter(document_title="BRAVO by A").exists()
    assert PurchaseAgreement.objects.get(pk=world.a.scm_agreement.pk).contract is None


@case("api:agreement-detail", API, lambda world: [("get", url("agreement-detail", B_CODE, "BRAVO-PA-SCM"))])
def agreement_of_b_is_not_found(world: World):
    missing = url("agreement-detail", B_CODE, "BRAVO-PA-NOPE")
    for agreement in world.b.agreements:
        b_agreement = url("agreement-detail", B_CODE, agreement.agreement_id)
        for api in api_callers(world).values():
            refused(api.get(b_agreement), 404)
            _same_answer(api.get(b_agreement), api.get(missing), existing_key=b_agreement, missing_key=missing)
        with changes_nothing_of_b(world):
            for api in writers(world).values():
                refused(api.put(b_agreement, {"vendor_reference": "A was here"}, format="json"), 404)
                refused(api.patch(b_agreement, {"vendor_reference": "A was here"}, format="json"), 404)
                refused(api.delete(b_agreement), 404)
                refused(api.put(missing, {"vendor": "BRAVO-V1", "document_title": "x"}, format="json"), 404)
    read(api_as(world.reader), url("agreement-detail", A_CODE, world.a.scm_agreement.agreement_id))


@case("api:line-list", API, lambda world: [("get", url("line-list", B_CODE, "BRAVO-PA-SCM"))])
def lines_of_b_are_not_found(world: World):
    b_lines = url("line-list", B_CODE, world.b.scm_agreement.agreement_id)
    for api in api_callers(world).values():
        refused(api.get(b_lines), 404)
    with changes_nothing_of_b(world):
        for api in writers(world).values():
            body = {"commitment_type": "ProductQuantity", "product": "BRAVO-I1", "committed_quantity": "1"}
            refused(api.post(b_lines, body, format="json"), 404)
    a_lines = url("line-list", A_CODE, world.a.scm_agreement.agreement_id)
    read(api_as(world.reader), a_lines)
    for api in writers(world).values():
        b_product = {"commitment_type": "ProductQuantity", "product": "BRAVO-I1", "committed_quantity": "1"}
        response = api.post(a_lines, b_product, format="json")
        refused(response, 422)
        assert response.json()["errors"][0]["field"] == "product"


@case("api:line-detail", API, lambda world: [("get", url("line-detail", B_CODE, "BRAVO-PA-SCM", "1"))])
def line_of_b_is_not_found(world: World):
    b_line = url("line-detail", B_CODE, world.b.scm_agreement.agreement_id, "1")
    for api in api_callers(world).values():
        refused(api.get(b_line), 404)
    with changes_nothing_of_b(world):
        for api in writers(world).values():
            refused(api.put(b_line, {"committed_quantity": "1"}, format="json"), 404)
            refused(api.patch(b_line, {"committed_quantity": "1"}, format="json"), 404)
            refused(api.delete(b_line), 404)
    read(api_as(world.reader), url("line-detail", A_CODE, world.a.scm_agreement.agreement_id, "1"))


def _addressed(world: World, agreement_id: str, **extra) -> dict:
    return {"legal_entity": B_CODE, "agreement_id": agreement_id, **extra}


@case("api:line-create", API, lambda world: [("post", url("line-create"))])
def line_cannot_be_added_to_b_by_address(world: World):
    line = {"commitment_type": "ProductQuantity", "product": "BRAVO-I1", "committed_quantity": "1", "line_number": 7}
    b_id = world.b.scm_agreement.agreement_id
    with changes_nothing_of_b(world):
        for api in writers(world).values():
            existing = api.post(url("line-create"), _addressed(world, b_id, **line), format="json")
            missing = api.post(url("line-create"), _addressed(world, "BRAVO-PA-NOPE", **line), format="json")
            refused(existing, 404)
            _same_answer(existing, missing, existing_key=b_id, missing_key="BRAVO-PA-NOPE")
            by_contract = {"legal_entity": B_CODE, "external_contract_id": world.b.contract.external_contract_id}
            refused(api.post(url("line-create"), {**by_contract, **line}, format="json"), 404)


# --- Validation without saving ----------------------------------------------------------------------


@case("api:validate-agreement", API, lambda world: [("post", url("validate-agreement"))])
def validating_a_b_agreement_is_refused(world: World):
    for api in writers(world).values():
        for agreement_id in (world.b.scm_agreement.agreement_id, "BRAVO-PA-NOPE"):
            response = api.post(
                url("validate-agreement"), _addressed(world, agreement_id, document_title="x"), format="json"
            )
            refused(response, 403)
            assert response.json()["errors"][0]["code"] == "not_granted"
        b_id = world.b.contract.contract_id
        existing = api.post(url("validate-agreement"), _linking_b_contract(b_id), format="json")
        missing = api.post(url("validate-agreement"), _linking_b_contract("BRAVO-NOPE"), format="json")
        refused(existing, 422)
        _same_answer(existing, missing, existing_key=b_id, missing_key="BRAVO-NOPE")


def _validate_line(world: World, name: str, extra: dict) -> None:
    b_id = world.b.scm_agreement.agreement_id
    with changes_nothing_of_b(world):
        for api in writers(world).values():
            existing = api.post(url(name), _addressed(world, b_id, line_number=1, **extra), format="json")
            missing = api.post(url(name), _addressed(world, "BRAVO-PA-NOPE", line_number=1, **extra), format="json")
            refused(existing, 422)
            _same_answer(existing, missing, existing_key=b_id, missing_key="BRAVO-PA-NOPE")


@case("api:validate-line-insert", API, lambda world: [("post", url("validate-line-insert"))])
def validating_a_line_of_b_finds_no_agreement(world: World):
    _validate_line(world, "validate-line-insert", {"commitment_type": "ProductQuantity", "committed_quantity": "1"})


@case("api:validate-line-update", API, lambda world: [("post", url("validate-line-update"))])
def validating_a_line_update_of_b_finds_no_agreement(world: World):
    _validate_line(world, "validate-line-update", {"committed_quantity": "2"})


@case("api:validate-line-delete", API, lambda world: [("post", url("validate-line-delete"))])
def validating_a_line_delete_of_b_finds_no_agreement(world: World):
    _validate_line(world, "validate-line-delete", {})


# --- Master data ----------------------------------------------------------------------------------


def _key(entity, record) -> str:
    return str(getattr(record, entity.key))


def _records_of_both(world: World, entity) -> list:
    """A's record of the entity, then B's; none for data shared by every legal entity."""
    if entity.model is LegalEntity:
        return [world.a.entity, world.b.entity]
    if entity.per_legal_entity:
        return [company.master_data[entity.name] for company in (world.a, world.b)]
    return []


def _master_data_case(entity):
    path = url(f"master-data-{entity.name}")

    def check(world: World):
        for caller, api in api_callers(world).items():
            if entity.per_legal_entity:
                refused(api.get(path), 400)
                for asked in (B_CODE, BOTH):
                    refused(api.get(path, {"legal_entity": asked}), 403)
                scope = {"cross_company": "true"}
            else:
                scope = {}
            snapshot = read(api, path, scope)
            body = assert_hides(world.b, snapshot)
            if entity.per_legal_entity:
                assert _key(entity, world.a.master_data[entity.name]) in body, caller
            if entity.model is LegalEntity:
                assert [row["code"] for row in snapshot.json()["results"]] == [A_CODE]
            # What changes after the snapshot, in both companies, comes back for A only.
            touched = _records_of_both(world, entity)
            for record in touched:
                record.save()
            changes = read(api, path, {**scope, "changed_since": snapshot.json()["next_cursor"]})
            assert_hides(world.b, changes)
            if touched:
                shown = [row.get(entity.key) for row in changes.json()["results"]]
                assert shown == [_key(entity, touched[0])], (caller, shown)
        refused(api_as(world.a.clm_client).post(path, {"name": "x"}, format="json"), 405)

    check.__name__ = f"master_data_{entity.name.replace('-', '_')}_is_only_a"
    return check


for _entity in TRACKED_ENTITIES:
    case(f"api:master-data-{_entity.name}", API, _get(f"master-data-{_entity.name}"))(_master_data_case(_entity))


# --- Deep links -------------------------------------------------------------------------------------


@case("api:deep-link-create", API, lambda world: [("post", url("deep-link-create"))])
def deep_link_to_b_cannot_be_made(world: World):
    b = world.b
    asks = [  # each names B's record by one key
        {"target": DeepLinkTarget.VENDOR, "account_number": b.master_data["vendors"].account_number},
        {"target": DeepLinkTarget.CONTRACT, "contract_id": b.contract.contract_id},
        {"target": DeepLinkTarget.CONTRACT, "external_contract_id": b.contract.external_contract_id},
        {"target": DeepLinkTarget.AGREEMENT, "agreement_id": b.scm_agreement.agreement_id},
    ]
    for api in api_callers(world).values():
        for ask in asks:
            key = next(name for name in ask if name != "target")
            existing = api.post(url("deep-link-create"), {"legal_entity": B_CODE, **ask}, format="json")
            missing = api.post(
                url("deep-link-create"), {"legal_entity": B_CODE, **ask, key: "BRAVO-NOPE"}, format="json"
            )
            refused(existing, 404)
            _same_answer(existing, missing, existing_key=ask[key], missing_key="BRAVO-NOPE")
        mine = {"legal_entity": A_CODE, "target": DeepLinkTarget.CONTRACT, "contract_id": world.a.contract.contract_id}
        read_post(api, url("deep-link-create"), mine)


# --- Connections: a CLM client manages only its own ----------------------------------------------


@case("api:connection-status", API, lambda world: [("get", url("connection-status", world.b.connection.name))])
def clm_client_cannot_reach_another_connection_status(world: World):
    clm = api_as(world.a.clm_client)
    b_status = url("connection-status", world.b.connection.name)
    with changes_nothing_of_b(world):
        refused(clm.get(b_status), 404)
        refused(clm.patch(b_status, {"establishment_status": "Error"}, format="json"), 404)
        refused(api_as(world.reader).patch(b_status, {"establishment_status": "Error"}, format="json"), 403)
    for api in api_callers(world).values():
        assert_hides(world.b, read(api, url("connection-status", world.a.connection.name)))


@case(
    "api:navigation-link-list",
    API,
    lambda world: [("get", url("navigation-link-list", world.b.connection.name))],
)
def clm_client_cannot_reach_another_connection_links(world: World):
    clm = api_as(world.a.clm_client)
    b_links = url("navigation-link-list", world.b.connection.name)
    with changes_nothing_of_b(world):
        refused(clm.get(b_links), 404)
        refused(clm.put(b_links, {"links": []}, format="json"), 404)
        refused(api_as(world.reader).put(b_links, {"links": []}, format="json"), 403)
    assert NavigationLink.objects.filter(connection=world.b.connection).exists()
    read(clm, url("navigation-link-list", world.a.connection.name))


@case(
    "api:navigation-link-detail",
    API,
    lambda world: [("get", url("navigation-link-detail", world.b.connection.name, "ViewContract"))],
)
def clm_client_cannot_reach_another_connection_link(world: World):
    clm = api_as(world.a.clm_client)
    b_link = url("navigation-link-detail", world.b.connection.name, "ViewContract")
    with changes_nothing_of_b(world):
        refused(clm.get(b_link), 404)
        refused(clm.put(b_link, {"name": "Hijacked", "relative_url": "/evil"}, format="json"), 404)
        refused(clm.delete(b_link), 404)
    read(clm, url("navigation-link-detail", world.a.connection.name, "ViewContract"))


@case(
    "api:connection-webhook",
    PUBLIC,
    lambda world: [("post", url("connection-webhook", world.b.connection.name))],
)
def webhook_reveals_nothing_without_a_signature(world: World):
    with changes_nothing_of_b(world):
        for api in (api_as(world.reader), person_api(world)):
            response = api.post(
                url("connection-webhook", world.b.connection.name), {"contract_id": "BRAVO-CON1"}, format="json"
            )
            refused(response, 401, 404)
            assert_hides(world.b, response, asked="BRAVO-CON1")


# --- Batch imports: a client sees only its own, and writes only in its legal entities ------------------


@case("api:import-list", API, lambda world: [("post", url("import-list"))])
def import_cannot_write_b(world: World):
    package = {
        "contracts": [{"legal_entity": B_CODE, "contract_id": world.b.contract.contract_id, "name": "Renamed by A"}],
        "agreements": [
            {"legal_entity": B_CODE, "agreement_id": "BRAVO-PA-SCM", "vendor_reference": "A was here"},
            {**_linking_b_contract(world.b.contract.contract_id), "agreement_id": "ALPHA-PA-LINKED"},
        ],
        "lines": [{"legal_entity": B_CODE, "agreement_id": "BRAVO-PA-SCM", "line_number": 1, "committed_quantity": 1}],
    }
    with changes_nothing_of_b(world):
        refused(api_as(world.reader).post(url("import-list"), package, format="json"), 403)
        refused(person_api(world).post(url("import-list"), package, format="json"), 403)
        response = read_post(api_as(world.a.clm_client), url("import-list"), package, status=202)
        import_run_apply(run_id=response.json()["id"])
        run = SyncRun.objects.get(pk=response.json()["id"])
        assert (run.failed, run.created, run.updated) == (4, 0, 0)
    assert Contract.objects.get(pk=world.b.contract.pk).name == world.b.contract.name
    assert not PurchaseAgreement.objects.filter(agreement_id="ALPHA-PA-LINKED").exists()


@case("api:import-detail", API, lambda world: [("get", url("import-detail", world.b.import_run.pk))])
def import_of_another_client_is_not_found(world: World):
    clm = api_as(world.a.clm_client)
    refused(clm.get(url("import-detail", world.b.import_run.pk)), 404)
    refused(api_as(world.reader).get(url("import-detail", world.a.import_run.pk)), 404)
    refused(person_api(world).get(url("import-detail", world.b.import_run.pk)), 403)
    assert_hides(world.b, read(clm, url("import-detail", world.a.import_run.pk)))


@case("api:import-errors", API, lambda world: [("get", url("import-errors", world.b.import_run.pk))])
def import_errors_of_another_client_are_not_found(world: World):
    clm = api_as(world.a.clm_client)
    refused(clm.get(url("import-errors", world.b.import_run.pk)), 404)
    refused(api_as(world.reader).get(url("import-errors", world.b.import_run.pk)), 404)
    body = assert_hides(world.b, read(clm, url("import-errors", world.a.import_run.pk)))
    assert "ALPHA-CON9" in body


# --- The schema, its docs, and URLs the API does not have ----------------------------------------------


@case("api:schema", API, _get("schema"))
def schema_describes_no_record(world: World):
    assert_hides(world.b, read(api_as(world.reader), url("schema")))


@case("api:docs", API, _get("docs"))
def api_docs_describe_no_record(world: World):
    assert_hides(world.b, read(person_api(world), url("docs")))


@case("api:unknown-endpoint", PUBLIC, _get("/api/v1/no-such-endpoint/"))
def unknown_endpoint_shows_no_record(world: World):
    for api in api_callers(world).values():
        for path in (f"/api/v1/contracts/{B_CODE}/", f"/api/v1/purchase-agreements/{B_CODE}/BRAVO-PA-SCM"):
            response = api.get(path)
            refused(response, 404)
            assert_hides(world.b, response, asked=path)
