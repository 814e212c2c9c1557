"""Contracts as the CLM pushes them: upsert by natural key, stale protection, the status door
(SPEC §3.2, §3.3, §4)."""

import datetime
from decimal import Decimal

import pytest

from contracts.choices import AccountType, ContractStatus
from contracts.models import Contract, ContractStatusChange, ContractType
from contracts.services import UpsertOutcome, ValidationFailed, contract_set_status, contract_upsert, worker_resolve
from contracts.tests import factories

pytestmark = pytest.mark.django_db

MONDAY = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
TUESDAY = MONDAY + datetime.timedelta(days=1)
WEDNESDAY = MONDAY + datetime.timedelta(days=2)


def nda_payload(**overrides):
    """What the CLM sends for an NDA with vendor V-1001 (lightweight: no side effects)."""
    return {
        "contract_type": "NDA",
        "name": "Mutual NDA with Fabrikam",
        "status": ContractStatus.DRAFT,
        "external_contract_id": "clm-7f3a",
        "account_type": AccountType.VENDOR,
        "account_relation_id": "V-1001",
        "effective_date": datetime.date(2026, 1, 1),
        "expiration_date": datetime.date(2028, 12, 31),
        "source_modified_at": MONDAY,
        **overrides,
    }


@pytest.fixture
def push(legal_entity, connection, clm_actor, nda_type, vendor):
    """Pushes a contract as the CLM integration on the reference connection."""

    def push(contract_id="NDA-0001", *, legal_entity=legal_entity, connection=connection, **data):
        return contract_upsert(
            legal_entity=legal_entity, contract_id=contract_id, data=data, actor=clm_actor, connection=connection
        )

    return push


def problem_of(excinfo, field):
    """The one problem reported under ``field`` (fails clearly when there is none)."""
    problems = [problem for problem in excinfo.value.problems if problem.field == field]
    assert problems, f"no problem under {field!r}; got {excinfo.value.as_list()}"
    return problems[0]


# --- Create and update by natural key -------------------------------------------------


def test_new_contract_is_created_under_its_natural_key(push, legal_entity, connection, vendor, nda_type):
    result = push("NDA-0001", **nda_payload())

    assert result.outcome == UpsertOutcome.CREATED
    contract = Contract.objects.get(legal_entity=legal_entity, contract_id="NDA-0001")
    assert contract == result.contract
    assert contract.contract_type == nda_type
    assert contract.connection == connection
    assert contract.name == "Mutual NDA with Fabrikam"
    assert contract.status == ContractStatus.DRAFT
    assert contract.source_modified_at == MONDAY
    assert contract.changed_by == "connector:test-clm"


def test_same_contract_id_in_another_legal_entity_is_a_separate_contract(push, other_legal_entity):
    factories.VendorFactory(legal_entity=other_legal_entity, account_number="V-1001")
    push("NDA-0001", **nda_payload())

    result = push("NDA-0001", legal_entity="DEMF", **nda_payload(external_contract_id="clm-other"))

    assert result.outcome == UpsertOutcome.CREATED
    assert sorted(Contract.objects.filter(contract_id="NDA-0001").values_list("legal_entity__code", flat=True)) == [
        "DEMF",
        "USMF",
    ]


def test_pushing_changed_fields_updates_the_contract(push):
    created = push(**nda_payload()).contract

    result = push(**nda_payload(name="Mutual NDA with Fabrikam (revised)", source_modified_at=TUESDAY))

    assert result.outcome == UpsertOutcome.UPDATED
    assert Contract.objects.get().pk == created.pk
    assert Contract.objects.get().name == "Mutual NDA with Fabrikam (revised)"


def test_only_the_fields_sent_change(push):
    push(**nda_payload())

    push(name="Renamed only", source_modified_at=TUESDAY)

    contract = Contract.objects.get()
    assert contract.name == "Renamed only"
    assert contract.expiration_date == datetime.date(2028, 12, 31)
    assert contract.vendor.account_number == "V-1001"


def test_new_contract_without_type_or_name_is_refused(push):
    with pytest.raises(ValidationFailed) as excinfo:
        push(status=ContractStatus.DRAFT)

    assert {p.field for p in excinfo.value.problems} == {"contract_type", "name"}
    assert not Contract.objects.exists()


def test_contract_in_an_unknown_legal_entity_is_refused(push):
    with pytest.raises(ValidationFailed) as excinfo:
        push(legal_entity="XXXX", **nda_payload())

    assert "XXXX" in problem_of(excinfo, "legal_entity").message


# --- Stale, unchanged, newer ------------------------------------------------------------


def test_replaying_the_same_update_is_reported_unchanged(push):
    push(**nda_payload())

    result = push(**nda_payload())

    assert result.outcome == UpsertOutcome.UNCHANGED
    assert ContractStatusChange.objects.count() == 1


def test_update_older_than_the_stored_one_is_ignored_as_stale(push):
    given = push(**nda_payload(status=ContractStatus.EXECUTED, source_modified_at=TUESDAY)).contract
    history_before = list(given.status_history.values_list("from_status", "to_status"))

    result = push(**nda_payload(status=ContractStatus.DRAFT, name="An older title", source_modified_at=MONDAY))

    assert result.outcome == UpsertOutcome.STALE
    contract = Contract.objects.get()
    assert contract.status == ContractStatus.EXECUTED
    assert contract.name == "Mutual NDA with Fabrikam"
    assert contract.source_modified_at == TUESDAY
    assert list(contract.status_history.values_list("from_status", "to_status")) == history_before


def test_update_with_the_same_stamp_and_an_older_sequence_is_stale(push):
    push(**nda_payload(source_sequence=8))

    result = push(**nda_payload(name="Sequence 7", source_sequence=7))

    assert result.outcome == UpsertOutcome.STALE
    assert Contract.objects.get().name == "Mutual NDA with Fabrikam"


def test_update_newer_than_the_stored_one_is_applied(push):
    push(**nda_payload(source_modified_at=MONDAY))

    result = push(**nda_payload(status=ContractStatus.EXECUTED, source_modified_at=WEDNESDAY))

    assert result.outcome == UpsertOutcome.UPDATED
    contract = Contract.objects.get()
    assert contract.status == ContractStatus.EXECUTED
    assert contract.source_modified_at == WEDNESDAY


def test_newer_stamp_alone_is_unchanged_but_remembered(push):
    push(**nda_payload(source_modified_at=MONDAY))

    result = push(**nda_payload(source_modified_at=TUESDAY))

    assert result.outcome == UpsertOutcome.UNCHANGED
    assert Contract.objects.get().source_modified_at == TUESDAY


def test_stamp_without_a_time_zone_is_compared_without_error(push):
    """CLMs often send ISO stamps without an offset; an older one must still be seen as stale."""
    push(**nda_payload(source_modified_at="2026-03-03T09:00:00"))

    result = push(**nda_payload(name="Older", source_modified_at="2026-03-02T09:00:00"))

    assert result.outcome == UpsertOutcome.STALE
    assert Contract.objects.get().name == "Mutual NDA with Fabrikam"


def test_update_with_an_older_sequence_from_a_source_without_stamps_is_stale(push):
    """SPEC §3.3: the source's stamp *or sequence* keeps an older update from overwriting a newer one."""
    payload = nda_payload(status=ContractStatus.EXECUTED, source_sequence=8)
    del payload["source_modified_at"]
    push(**payload)

    result = push(status=ContractStatus.DRAFT, name="Sequence 7", source_sequence=7)

    assert result.outcome == UpsertOutcome.STALE
    contract = Contract.objects.get()
    assert (contract.status, contract.name, contract.source_sequence) == (
        ContractStatus.EXECUTED,
        "Mutual NDA with Fabrikam",
        8,
    )


def test_field_the_contract_does_not_have_is_refused_naming_it(push):
    with pytest.raises(ValidationFailed) as excinfo:
        push(**nda_payload(colour="green"))

    assert problem_of(excinfo, "colour").code == "unknown_field"


# --- Contract types ---------------------------------------------------------------------


def test_unknown_contract_type_is_rejected_naming_it(push):
    with pytest.raises(ValidationFailed) as excinfo:
        push(**nda_payload(contract_type="Lease"))

    assert '"Lease"' in problem_of(excinfo, "contract_type").message
    assert not Contract.objects.exists()
    assert not ContractType.objects.filter(name="Lease").exists()


def test_unknown_contract_type_is_created_lightweight_for_review_when_the_connection_allows(push, connection):
    connection.create_unknown_contract_types = True
    connection.save()

    result = push(**nda_payload(contract_type="Lease"))

    lease = ContractType.objects.get(name="Lease")
    assert lease.flow == "lightweight"
    assert lease.needs_review is True
    assert result.contract.contract_type == lease


def test_known_contract_type_is_not_flagged_for_review(push, connection, nda_type):
    connection.create_unknown_contract_types = True
    connection.save()

    push(**nda_payload())

    nda_type.refresh_from_db()
    assert nda_type.needs_review is False


# --- Status: every reported status is accepted, unknown values are not -----------------


@pytest.mark.parametrize("status", ContractStatus.values)
def test_every_contract_status_of_the_spec_is_accepted(status, push):
    result = push(**nda_payload(status=status))

    assert result.contract.status == status


def test_unknown_status_value_is_rejected_naming_it(push):
    with pytest.raises(ValidationFailed) as excinfo:
        push(**nda_payload(status="Signed"))

    assert "Signed" in problem_of(excinfo, "status").message
    assert not Contract.objects.exists()


def test_unknown_status_on_the_status_door_is_rejected_listing_the_valid_ones(push, clm_actor):
    contract = push(**nda_payload()).contract

    with pytest.raises(ValidationFailed) as excinfo:
        contract_set_status(contract=contract, status="Signed", actor=clm_actor)

    message = problem_of(excinfo, "status").message
    assert "Signed" in message
    assert "Executed" in message
    contract.refresh_from_db()
    assert contract.status == ContractStatus.DRAFT


def test_each_status_transition_is_recorded_in_the_history(push):
    push(**nda_payload(status=ContractStatus.DRAFT, source_modified_at=MONDAY))
    push(**nda_payload(status=ContractStatus.WAITING_FOR_APPROVAL, source_modified_at=TUESDAY))
    push(**nda_payload(status=ContractStatus.EXECUTED, source_modified_at=WEDNESDAY))

    history = Contract.objects.get().status_history.order_by("id")
    assert [(h.from_status, h.to_status, h.changed_by) for h in history] == [
        ("", "Draft", "connector:test-clm"),
        ("Draft", "WaitingForApproval", "connector:test-clm"),
        ("WaitingForApproval", "Executed", "connector:test-clm"),
    ]
    assert history.last().source_modified_at == WEDNESDAY


def test_status_door_records_who_changed_it(push, person):
    contract = push(**nda_payload()).contract

    contract_set_status(contract=contract, status=ContractStatus.ON_HOLD, actor=person)

    change = contract.status_history.order_by("id").last()
    assert (change.from_status, change.to_status, change.changed_by) == ("Draft", "OnHold", "user:buyer")


def test_reporting_the_same_status_again_adds_no_history(push, clm_actor):
    contract = push(**nda_payload()).contract

    contract_set_status(contract=contract, status=ContractStatus.DRAFT, actor=clm_actor)

    assert contract.status_history.count() == 1


# --- Parties ----------------------------------------------------------------------------


def test_vendor_account_links_the_vendor(push, vendor):
    contract = push(**nda_payload()).contract

    assert contract.vendor == vendor
    assert contract.party_name == "Fabrikam Supplies"
    assert contract.party_number == vendor.party_number


def test_party_account_links_no_vendor(push):
    contract = push(**nda_payload(account_type=AccountType.PARTY, account_relation_id="PTY-77")).contract

    assert contract.vendor is None
    assert contract.account_relation_id == "PTY-77"


def test_unknown_vendor_account_is_refused_naming_it(push):
    with pytest.raises(ValidationFailed) as excinfo:
        push(**nda_payload(account_relation_id="V-9999"))

    assert "V-9999" in problem_of(excinfo, "account_relation_id").message
    assert not Contract.objects.exists()


def test_vendor_of_another_legal_entity_is_refused(push, other_legal_entity):
    factories.VendorFactory(legal_entity=other_legal_entity, account_number="V-2002")

    with pytest.raises(ValidationFailed) as excinfo:
        push(**nda_payload(account_relation_id="V-2002"))

    message = problem_of(excinfo, "account_relation_id").message
    assert "V-2002" in message
    assert "USMF" in message


def test_contact_person_is_linked_by_id(push, vendor):
    contact = factories.ContactPersonFactory(vendor=vendor, contact_person_id="CP-1")

    contract = push(**nda_payload(contact_person_id="CP-1")).contract

    assert contract.contact == contact


def test_unknown_contact_person_is_refused_naming_it(push):
    with pytest.raises(ValidationFailed) as excinfo:
        push(**nda_payload(contact_person_id="CP-404"))

    assert "CP-404" in problem_of(excinfo, "contact_person_id").message


# --- Requester: by name, then by email, else kept as text -----------------------------


@pytest.fixture
def requester(legal_entity):
    return factories.WorkerFactory(legal_entity=legal_entity, name="April Meyer", email="april.meyer@contoso.com")


def test_requester_is_resolved_by_name(push, requester, legal_entity):
    factories.WorkerFactory(legal_entity=legal_entity, name="Someone Else", email="shared@contoso.com")

    contract = push(**nda_payload(requester_worker_name="april meyer", requester_worker_email="shared@contoso.com"))

    assert contract.contract.requester_worker == requester


def test_requester_is_resolved_by_email_when_the_name_is_unknown(push, requester):
    contract = push(
        **nda_payload(requester_worker_name="A. Meyer", requester_worker_email="April.Meyer@contoso.com")
    ).contract

    assert contract.requester_worker == requester


def test_unknown_requester_is_kept_as_text(push, requester):
    contract = push(
        **nda_payload(requester_worker_name="Jamie Doe", requester_worker_email="jamie.doe@example.com")
    ).contract

    assert contract.requester_worker is None
    assert contract.requester_worker_name == "Jamie Doe"
    assert contract.requester_worker_email == "jamie.doe@example.com"


def test_requester_of_another_legal_entity_is_not_linked(push, other_legal_entity):
    factories.WorkerFactory(legal_entity=other_legal_entity, name="Hans Weber", email="hans.weber@contoso.de")

    contract = push(**nda_payload(requester_worker_name="Hans Weber")).contract

    assert contract.requester_worker is None
    assert contract.requester_worker_name == "Hans Weber"


def test_worker_resolve_finds_by_name_then_email_else_none(requester, legal_entity):
    assert worker_resolve(legal_entity=legal_entity, name="April Meyer") == requester
    assert worker_resolve(legal_entity=legal_entity, name="Nobody", email="april.meyer@contoso.com") == requester
    assert worker_resolve(legal_entity=legal_entity, name="Nobody", email="nobody@contoso.com") is None


def test_worker_resolve_falls_back_to_email_when_the_name_is_ambiguous(requester, legal_entity):
    factories.WorkerFactory(legal_entity=legal_entity, name="April Meyer", email="april.meyer2@contoso.com")

    found = worker_resolve(legal_entity=legal_entity, name="April Meyer", email="april.meyer@contoso.com")

    assert found == requester


# --- Identity and dates ---------------------------------------------------------------


def test_external_id_already_used_on_the_connection_is_refused(push):
    push("NDA-0001", **nda_payload(external_contract_id="clm-7f3a"))

    with pytest.raises(ValidationFailed) as excinfo:
        push("NDA-0002", **nda_payload(external_contract_id="clm-7f3a"))

    problem = problem_of(excinfo, "external_contract_id")
    assert "clm-7f3a" in problem.message
    assert "NDA-0001" in problem.message
    assert not Contract.objects.filter(contract_id="NDA-0002").exists()


def test_same_external_id_on_another_connection_is_accepted(push):
    push("NDA-0001", **nda_payload(external_contract_id="clm-7f3a"))

    result = push(
        "NDA-0002",
        connection=factories.ConnectionFactory(name="Second CLM"),
        **nda_payload(external_contract_id="clm-7f3a"),
    )

    assert result.outcome == UpsertOutcome.CREATED


def test_contract_of_another_connection_is_not_taken_over(push):
    push("NDA-0001", **nda_payload())

    with pytest.raises(ValidationFailed) as excinfo:
        push(
            "NDA-0001",
            connection=factories.ConnectionFactory(name="Second CLM"),
            name="Hijacked",
            source_modified_at=TUESDAY,
        )

    assert problem_of(excinfo, "contract_id").code == "conflict"
    assert Contract.objects.get().name == "Mutual NDA with Fabrikam"


def test_contract_expiring_before_it_is_effective_is_refused(push):
    with pytest.raises(ValidationFailed) as excinfo:
        push(**nda_payload(effective_date=datetime.date(2026, 6, 1), expiration_date=datetime.date(2026, 5, 31)))

    assert "2026-05-31" in problem_of(excinfo, "expiration_date").message


def test_open_ended_contract_is_accepted(push):
    contract = push(**nda_payload(expiration_date=None)).contract

    assert contract.expiration_date is None


def test_contract_value_and_currency_are_kept(push, usd):
    contract = push(**nda_payload(value=Decimal("125000.00"), currency="USD")).contract

    assert contract.value == Decimal("125000.00")
    assert contract.currency == usd


def test_negative_contract_value_is_refused_with_a_problem(push):
    with pytest.raises(ValidationFailed) as excinfo:
        push(**nda_payload(value=Decimal("-1.00")))

    assert "-1" in problem_of(excinfo, "value").message


def test_every_problem_of_a_push_is_reported_at_once(push):
    with pytest.raises(ValidationFailed) as excinfo:
        push(
            **nda_payload(
                contract_type="Lease",
                account_relation_id="V-9999",
                effective_date=datetime.date(2026, 6, 1),
                expiration_date=datetime.date(2026, 1, 1),
            )
        )

    assert sorted(p.field for p in excinfo.value.problems) == [
        "account_relation_id",
        "contract_type",
        "expiration_date",
    ]
