"""Who sees what (SPEC §2): every read starts from the user's legal entities."""

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.http import Http404

from contracts import selectors
from contracts.models import LegalEntityGrant
from contracts.tests import factories

pytestmark = pytest.mark.django_db


def make_user(django_user_model, username: str, *, legal_entities=(), permissions=("view_contract",), **extra):
    """A person with ``contracts`` permissions (by codename) and grants on ``legal_entities``."""
    user = django_user_model.objects.create_user(username, password=f"{username}-password-1", **extra)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="contracts", codename__in=permissions))
    for legal_entity in legal_entities:
        LegalEntityGrant.objects.create(user=user, legal_entity=legal_entity)
    return django_user_model.objects.get(pk=user.pk)  # fresh: no cached permissions


@pytest.fixture
def usmf_user(django_user_model, legal_entity):
    return make_user(django_user_model, "usmf-buyer", legal_entities=[legal_entity])


@pytest.fixture
def cross_company_user(django_user_model):
    return make_user(django_user_model, "group-buyer", permissions=("view_contract", "cross_company"))


@pytest.fixture
def usmf_contract(legal_entity):
    return factories.ContractFactory(legal_entity=legal_entity, contract_id="US-1")


@pytest.fixture
def demf_contract(other_legal_entity):
    return factories.ContractFactory(legal_entity=other_legal_entity, contract_id="DE-1")


def test_a_user_sees_only_the_legal_entities_granted_to_it(usmf_user, legal_entity, other_legal_entity):
    assert list(selectors.visible_legal_entities(usmf_user)) == [legal_entity]


def test_cross_company_permission_sees_every_legal_entity(cross_company_user, legal_entity, other_legal_entity):
    assert list(selectors.visible_legal_entities(cross_company_user)) == [other_legal_entity, legal_entity]


def test_superuser_sees_every_legal_entity(admin_user, legal_entity, other_legal_entity):
    assert selectors.visible_legal_entities(admin_user).count() == 2


def test_anonymous_and_inactive_users_see_no_legal_entity(django_user_model, legal_entity):
    inactive = make_user(django_user_model, "gone", legal_entities=[legal_entity], is_active=False)

    assert not selectors.visible_legal_entities(AnonymousUser()).exists()
    assert not selectors.visible_legal_entities(inactive).exists()
    assert not selectors.contracts_visible_to(inactive).exists()


def test_a_user_without_grants_sees_no_contract(django_user_model, usmf_contract):
    nobody = make_user(django_user_model, "new-starter")

    assert not selectors.contracts_visible_to(nobody).exists()


def test_contracts_of_another_legal_entity_are_not_visible(usmf_user, usmf_contract, demf_contract):
    assert list(selectors.contracts_visible_to(usmf_user)) == [usmf_contract]


def test_cross_company_user_sees_the_contracts_of_every_legal_entity(cross_company_user, usmf_contract, demf_contract):
    assert set(selectors.contracts_visible_to(cross_company_user)) == {usmf_contract, demf_contract}


def test_the_list_columns_need_no_further_query(usmf_user, usmf_contract, django_assert_num_queries):
    contracts = selectors.contracts_visible_to(usmf_user)
    usmf_user.has_perm("contracts.cross_company")  # permissions are loaded once per request

    with django_assert_num_queries(1):
        for contract in contracts:
            assert contract.legal_entity.code and contract.contract_type.name and contract.connection.name
            assert contract.vendor.name


def test_get_contract_for_returns_a_visible_contract(usmf_user, usmf_contract):
    assert selectors.get_contract_for(usmf_user, usmf_contract.pk) == usmf_contract


def test_get_contract_for_another_legal_entity_is_not_found(usmf_user, demf_contract):
    with pytest.raises(Http404):
        selectors.get_contract_for(usmf_user, demf_contract.pk)


def test_linked_agreements_of_an_entity_the_user_cannot_see_are_left_out(usmf_user, usmf_contract, other_legal_entity):
    visible = factories.AgreementFactory(legal_entity=usmf_contract.legal_entity, contract=usmf_contract)
    factories.AgreementFactory(legal_entity=other_legal_entity, contract=usmf_contract)

    contract = selectors.get_contract_for(usmf_user, usmf_contract.pk)

    assert list(contract.agreements.all()) == [visible]
