"""The reference CLM's browser UI: its contracts, their actions, edit, amend and new.

These are the pages clmsite's navigation links open (View, Edit, Amend, New, New from a
purchase agreement), so their URLs and query parameters are part of the demo's contract.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from . import lifecycle, masterdata
from .clmsite import ClmsiteClient, ClmsiteError, ClmsiteRefused, quoted
from .configuration import status_report
from .delivery import deliveries_run
from .forms import AgreementContractForm, AmendmentForm, ContractEditForm, NewContractForm
from .models import Config, Contract, ContractType, DeliveryKind, DeliveryStatus
from .protocol import delivery_outcome
from .services import (
    LINE_FIELDS,
    ActionRefused,
    InputInvalid,
    contract_advance,
    contract_create,
    contract_edit,
    lines_value,
)

PAGE_SIZE = 50


def _not_found(request: HttpRequest, what: str) -> HttpResponse:
    return render(request, "refclm/not_found.html", {"what": what}, status=404)


def _view_url(contract: Contract) -> str:
    return f"{reverse('contract-view')}?id={contract.external_id}"


def _actions(contract: Contract) -> list[lifecycle.Action]:
    return [lifecycle.ACTIONS_BY_NAME[name] for name in contract.next_actions]


def home(request):
    return redirect("contract-list")


def contract_list(request):
    contracts = Contract.objects.all()
    status = request.GET.get("status", "")
    if status in lifecycle.STATUSES:
        contracts = contracts.filter(status=status)
    page = Paginator(contracts, PAGE_SIZE).get_page(request.GET.get("page"))
    config = Config.load()
    rows = [
        {"contract": contract, "actions": _actions(contract), "outcome": delivery_outcome(contract, config)}
        for contract in page
    ]
    return render(
        request,
        "refclm/contract_list.html",
        {
            "rows": rows,
            "page": page,
            "statuses": lifecycle.STATUSES,
            "status": status,
            "config": config,
            "status_report": status_report(config),
            "pending": Contract.objects.filter(deliveries__status=DeliveryStatus.PENDING).distinct().count(),
        },
    )


def contract_view(request):
    contract = Contract.objects.filter(external_id=request.GET.get("id", "")).first()
    if contract is None:
        return _not_found(request, f'contract "{request.GET.get("id", "")}"')
    return render(
        request,
        "refclm/contract_view.html",
        {
            "contract": contract,
            "actions": _actions(contract),
            "outcome": delivery_outcome(contract),
            "events": contract.events.all()[:100],
            "deliveries": contract.deliveries.order_by("-id")[:100],
            "editable": contract.is_editable,
            "amendable": "amend" in contract.next_actions,
        },
    )


@require_POST
def contract_action(request):
    """One lifecycle action from a button; back to the page the button was on."""
    contract = Contract.objects.filter(external_id=request.POST.get("id", "")).first()
    if contract is None:
        return _not_found(request, f'contract "{request.POST.get("id", "")}"')
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = _view_url(contract)
    action = request.POST.get("action", "")
    try:
        before = contract.status
        contract = contract_advance(contract=contract, action=action)
    except (lifecycle.ActionNotAllowed, InputInvalid) as refused:
        messages.error(request, f"{contract.contract_id}: {refused}")
    except ActionRefused as refused:
        messages.error(request, f"{refused.message} {' '.join(refused.problems)}")
    else:
        messages.success(
            request, f"{contract.contract_id}: {before} → {contract.status}; {delivery_outcome(contract)}."
        )
    return redirect(back)


@require_POST
def deliver(request):
    report = deliveries_run()
    messages.info(
        request,
        f"Deliveries: {report['delivered']} delivered, {report['pending']} still pending, {report['failed']} refused.",
    )
    return redirect("contract-list")


@require_http_methods(["GET", "POST"])
def contract_edit_view(request):
    contract = Contract.objects.filter(external_id=request.GET.get("id", "")).first()
    if contract is None:
        return _not_found(request, f'contract "{request.GET.get("id", "")}"')
    initial = {field: getattr(contract, field) for field in ("name", "value", "effective_date", "expiration_date")}
    form = ContractEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            contract = contract_edit(contract=contract, changes=form.cleaned_data)
        except (ActionRefused, InputInvalid) as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, f"{contract.contract_id} saved; {delivery_outcome(contract)}.")
            return redirect(_view_url(contract))
    notice = ""
    if not contract.is_editable:
        notice = f"{contract.contract_id} is {contract.status}; only a contract not yet executed can be edited."
    return render(
        request,
        "refclm/contract_form.html",
        {
            "form": form,
            "contract": contract,
            "title": f"Edit {contract.contract_id}",
            "submit": "Save",
            "notice": notice,
        },
    )


@require_http_methods(["GET", "POST"])
def contract_amend_view(request):
    contract = Contract.objects.filter(external_id=request.GET.get("id", "")).first()
    asked = request.GET.get("contract", "")
    if contract is None or (asked and asked != contract.contract_id):
        return _not_found(request, f'contract "{request.GET.get("id", "")}" {asked}'.strip())
    form = AmendmentForm(request.POST or None, initial={"expiration_date": contract.expiration_date})
    if request.method == "POST" and form.is_valid():
        amendment = {key: value for key, value in form.cleaned_data.items() if value not in (None, "")}
        try:
            contract = contract_advance(contract=contract, action="amend", amendment=amendment)
        except (lifecycle.ActionNotAllowed, ActionRefused, InputInvalid) as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(
                request,
                f"Amendment {contract.latest_amendment_id} submitted for approval; {delivery_outcome(contract)}.",
            )
            return redirect(_view_url(contract))
    notice = ""
    if "amend" not in contract.next_actions:
        notice = f"{contract.contract_id} is {contract.status}; only an executed contract can be amended."
    return render(
        request,
        "refclm/contract_form.html",
        {
            "form": form,
            "contract": contract,
            "title": f"Amend {contract.contract_id}",
            "submit": "Submit amendment for approval",
            "notice": notice,
        },
    )


# --- New contracts, also from a purchase agreement in clmsite ------------------------------------


@require_http_methods(["GET", "POST"])
def contract_new(request):
    agreement_id = request.GET.get("agreement", "").strip()
    if agreement_id:
        return _contract_new_from_agreement(request, agreement_id)
    form = NewContractForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        legal_entity, vendor = form.legal_entity_and_vendor()
        try:
            contract = contract_create(
                contract_type=form.cleaned_data["contract_type"],
                legal_entity=legal_entity,
                vendor=vendor,
                name=form.cleaned_data["name"],
            )
        except (ActionRefused, InputInvalid) as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, f"{contract.contract_id} created as a draft; {delivery_outcome(contract)}.")
            return redirect(_view_url(contract))
    notice = ""
    if not masterdata.legal_entity_codes():
        notice = "No master data has been read from clmsite yet, so there are no vendors to choose."
    context = {"form": form, "title": "New contract", "submit": "Create", "notice": notice}
    return render(request, "refclm/contract_form.html", context)


def _agreement_read(client: ClmsiteClient, legal_entity: str, agreement_id: str) -> tuple[dict, list[dict]]:
    base = f"/purchase-agreements/{quoted(legal_entity)}/{quoted(agreement_id)}/"
    agreement = client.api("GET", base).body
    lines = client.api("GET", base + "lines/", params={"page_size": 1000}).body.get("results") or []
    return agreement, lines


def _agreement_legal_entities(client: ClmsiteClient, agreement_id: str) -> list[str]:
    """The legal entities that have an agreement with this id (the link may not say which)."""
    answer = client.api("GET", "/purchase-agreements/", params={"cross_company": "true", "q": agreement_id})
    results = (answer.body or {}).get("results") or []
    return sorted({found["legal_entity"] for found in results if found.get("agreement_id") == agreement_id})


def _agreement_lines(lines: list[dict]) -> list[dict]:
    """clmsite's lines as this CLM keeps them: the line fields that have a value."""
    return [
        {key: value for key, value in line.items() if key in LINE_FIELDS and value not in (None, "")} for line in lines
    ]


def _contract_new_from_agreement(request: HttpRequest, agreement_id: str) -> HttpResponse:
    client = ClmsiteClient()
    legal_entity = request.GET.get("legal_entity", "").strip().upper()
    context = {"title": f"New contract from purchase agreement {agreement_id}", "agreement_id": agreement_id}
    try:
        if not legal_entity:
            found = _agreement_legal_entities(client, agreement_id)
            if not found:
                return _not_found(request, f'purchase agreement "{agreement_id}" in clmsite')
            if len(found) > 1:
                choices = [(code, f"{request.get_full_path()}&legal_entity={code}") for code in found]
                return render(request, "refclm/agreement_choose.html", {**context, "choices": choices})
            legal_entity = found[0]
        agreement, lines = _agreement_read(client, legal_entity, agreement_id)
    except ClmsiteRefused as refused:
        if refused.status == 404:
            return _not_found(request, f'purchase agreement "{agreement_id}" in {legal_entity or "clmsite"}')
        return render(request, "refclm/problem.html", {**context, "problem": str(refused)}, status=502)
    except ClmsiteError as error:
        return render(request, "refclm/problem.html", {**context, "problem": str(error)}, status=502)
    lines = _agreement_lines(lines)
    context.update(agreement=agreement, lines=lines, legal_entity=legal_entity, value=lines_value(lines))
    form = AgreementContractForm(
        request.POST or None,
        initial={
            "contract_type": ContractType.PURCHASE,
            "name": agreement.get("document_title") or f"Contract for {agreement_id}",
        },
    )
    if agreement.get("contract_id"):
        context["notice"] = f"Agreement {agreement_id} is already linked to contract {agreement['contract_id']}."
    elif agreement.get("ownership") != "SCM":
        context["notice"] = (
            f"Agreement {agreement_id} is {agreement.get('ownership')}-owned; "
            "only an SCM agreement can start a contract here."
        )
    elif request.method == "POST" and form.is_valid():
        try:
            contract = contract_create(
                contract_type=form.cleaned_data["contract_type"],
                legal_entity=legal_entity,
                vendor=str(agreement.get("vendor") or ""),
                name=form.cleaned_data["name"],
                lines=lines,
                currency=str(agreement.get("currency") or ""),
                source_agreement_id=agreement_id,
            )
        except (ActionRefused, InputInvalid) as refused:
            form.add_error(None, str(refused))
        else:
            link = contract.deliveries.filter(kind=DeliveryKind.LINK).first()
            if link and link.status == DeliveryStatus.FAILED:
                messages.error(request, f"clmsite refused to link agreement {agreement_id}: {link.last_error}")
            elif link and link.status == DeliveryStatus.DELIVERED:
                messages.success(request, f"{contract.contract_id} created and linked to agreement {agreement_id}.")
            else:
                messages.warning(
                    request, f"{contract.contract_id} created; linking is pending: {link and link.last_error}"
                )
            return redirect(_view_url(contract))
    context.update(form=form, submit="Create and link")
    return render(request, "refclm/contract_form.html", context)
