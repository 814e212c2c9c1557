"""Purchase agreements: the list, one agreement's page, and the forms that change the
SCM-owned ones (SPEC §6.3) and the few fields people keep on CLM-owned ones (§6.4).

Every write goes through ``contracts.services`` as the signed-in person. The pages do not
offer what the services refuse (deleting a CLM-owned agreement, adding lines to it, …);
a crafted request that tries anyway meets the service's refusal, shown on the page.
"""

from __future__ import annotations

from functools import cached_property

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import FormView, TemplateView

from connectors.navigation import agreement_buttons
from contracts import selectors, services
from contracts.choices import AgreementStatus, CommitmentType
from contracts.filtersets import AgreementFilterSet
from contracts.forms import AgreementForm, AgreementLineForm, show_problems_on_form
from contracts.models import LegalEntity, PurchaseAgreement, PurchaseAgreementLine
from contracts.services import Actor, ValidationFailed

from .lists import Column, filtered_list_context

VIEW_AGREEMENTS_PERMISSION = "contracts.view_purchaseagreement"
ADD_AGREEMENT_PERMISSION = "contracts.add_purchaseagreement"
CHANGE_AGREEMENT_PERMISSION = "contracts.change_purchaseagreement"
DELETE_AGREEMENT_PERMISSION = "contracts.delete_purchaseagreement"
ADD_LINE_PERMISSION = "contracts.add_purchaseagreementline"
CHANGE_LINE_PERMISSION = "contracts.change_purchaseagreementline"
DELETE_LINE_PERMISSION = "contracts.delete_purchaseagreementline"

AGREEMENT_COLUMNS = (
    Column("Agreement ID", "agreement_id"),
    Column("Title", "title"),
    Column("Contract ID", "contract_id"),
    Column("Contract status", "contract_status"),
    Column("Ownership", "ownership"),
    Column("Status", "status"),
    Column("Vendor", "vendor"),
    Column("Legal entity", "legal_entity"),
    Column("Effective", "effective_date"),
    Column("Expires", "expiration_date"),
)


# --- Access ----------------------------------------------------------------------------


class AgreementAccessMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Signed in and allowed to view agreements (and to make the page's change, if it makes
    one); which agreements is decided by ``contracts.selectors``."""

    permission_required: tuple[str, ...] = (VIEW_AGREEMENTS_PERMISSION,)


class OneAgreementMixin(AgreementAccessMixin):
    """A page of one agreement (``pk`` in the URL); another legal entity's is not found."""

    @cached_property
    def agreement(self) -> PurchaseAgreement:
        return selectors.get_agreement_for(self.request.user, self.kwargs["pk"])

    @cached_property
    def line(self) -> PurchaseAgreementLine:
        return get_object_or_404(self.agreement.lines.all(), pk=self.kwargs["line_pk"])

    @property
    def actor(self) -> Actor:
        return Actor.for_user(self.request.user)

    def detail_url(self) -> str:
        return reverse("contracts:agreement_detail", args=[self.agreement.pk])

    def get_context_data(self, **kwargs):
        return super().get_context_data(agreement=self.agreement, **kwargs)


# --- List ------------------------------------------------------------------------------


class AgreementListView(AgreementAccessMixin, TemplateView):
    template_name = "contracts/agreement_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, query = self.request.user, self.request.GET
        filterset = AgreementFilterSet(query, queryset=selectors.agreements_visible_to(user), request=self.request)
        context.update(filtered_list_context(filterset, query, AGREEMENT_COLUMNS))
        context["rows"] = [
            {"agreement": agreement, "colour": AgreementStatus.colour(agreement.status)}
            for agreement in context["page"].rows
        ]
        context["can_add"] = user.has_perm(ADD_AGREEMENT_PERMISSION)
        page = context["page"]
        if not page.rows and not context["active_filters"] and page.number == 1:
            context["has_legal_entities"] = selectors.visible_legal_entities(user).exists()
        return context


# --- Detail ----------------------------------------------------------------------------


class AgreementDetailView(OneAgreementMixin, TemplateView):
    template_name = "contracts/agreement_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        agreement, user = self.agreement, self.request.user
        people_own_it = not agreement.is_clm_owned  # the CLM is the master of the others (SPEC §6.4)
        context.update(
            buttons=agreement_buttons(agreement),
            colour=AgreementStatus.colour(agreement.status),
            contract_url=_contract_url(user, agreement),
            lines=agreement.lines.all(),
            quantity_commitment=CommitmentType.PRODUCT_QUANTITY,
            can_change=user.has_perm(CHANGE_AGREEMENT_PERMISSION),
            can_delete=people_own_it and user.has_perm(DELETE_AGREEMENT_PERMISSION),
            can_add_line=people_own_it and user.has_perm(ADD_LINE_PERMISSION),
            can_change_line=user.has_perm(CHANGE_LINE_PERMISSION),
            can_delete_line=people_own_it and user.has_perm(DELETE_LINE_PERMISSION),
        )
        return context


def _contract_url(user, agreement: PurchaseAgreement) -> str:
    """The linked contract's page, when the user may see the contract's legal entity (a
    contract may belong to another legal entity than its agreement)."""
    contract = agreement.contract
    if contract is None or not selectors.visible_legal_entities(user).filter(pk=contract.legal_entity_id).exists():
        return ""
    return reverse("contracts:detail", args=[contract.pk])


# --- Forms: headers and lines ----------------------------------------------------------


class ServiceFormView(FormView):
    """Shows a form that the service checks, then saves through the service; if the service
    refuses at the last moment (someone changed the record meanwhile), its problems are
    shown on the form and nothing is saved."""

    success_message = ""

    def form_valid(self, form):
        try:
            self.saved = form.save()
        except ValidationFailed as failure:
            show_problems_on_form(form, failure, form.problem_fields)
            return self.form_invalid(form)
        messages.success(self.request, self.success_message.format(saved=self.saved))
        return HttpResponseRedirect(self.get_success_url())

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "actor": Actor.for_user(self.request.user)}


class AgreementCreateView(AgreementAccessMixin, ServiceFormView):
    """A new SCM-owned agreement: first its legal entity (one of the user's), then the form."""

    permission_required = (VIEW_AGREEMENTS_PERMISSION, ADD_AGREEMENT_PERMISSION)
    template_name = "contracts/agreement_form.html"
    form_class = AgreementForm
    success_message = "Purchase agreement {saved.agreement_id} created."

    @cached_property
    def legal_entities(self):
        return list(selectors.visible_legal_entities(self.request.user))

    @cached_property
    def legal_entity(self) -> LegalEntity | None:
        code = self.request.GET.get("legal_entity", "")
        if not code and len(self.legal_entities) == 1:
            return self.legal_entities[0]
        return next((entity for entity in self.legal_entities if entity.code == code), None)

    def get(self, request, *args, **kwargs):
        if self.legal_entity is None:
            return self.render_to_response(self.get_context_data(choose_legal_entity=True))
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if self.legal_entity is None:
            raise Http404("Choose one of your legal entities first.")
        return super().post(request, *args, **kwargs)

    def get_form(self, form_class=None):
        if self.legal_entity is None:
            return None
        return super().get_form(form_class)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "legal_entity": self.legal_entity}

    def get_context_data(self, **kwargs):
        return super().get_context_data(legal_entity=self.legal_entity, legal_entities=self.legal_entities, **kwargs)

    def get_success_url(self):
        return reverse("contracts:agreement_detail", args=[self.saved.pk])


class AgreementUpdateView(OneAgreementMixin, ServiceFormView):
    permission_required = (VIEW_AGREEMENTS_PERMISSION, CHANGE_AGREEMENT_PERMISSION)
    template_name = "contracts/agreement_form.html"
    form_class = AgreementForm
    success_message = "Purchase agreement {saved.agreement_id} saved."

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "legal_entity": self.agreement.legal_entity, "agreement": self.agreement}

    def get_success_url(self):
        return self.detail_url()


class AgreementLineCreateView(OneAgreementMixin, ServiceFormView):
    permission_required = (VIEW_AGREEMENTS_PERMISSION, ADD_LINE_PERMISSION)
    template_name = "contracts/agreement_line_form.html"
    form_class = AgreementLineForm
    success_message = "Line {saved.line_number} added."

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "agreement": self.agreement}

    def get_success_url(self):
        return f"{self.detail_url()}#lines"


class AgreementLineUpdateView(OneAgreementMixin, ServiceFormView):
    permission_required = (VIEW_AGREEMENTS_PERMISSION, CHANGE_LINE_PERMISSION)
    template_name = "contracts/agreement_line_form.html"
    form_class = AgreementLineForm
    success_message = "Line {saved.line_number} saved."

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "agreement": self.agreement, "line": self.line}

    def get_context_data(self, **kwargs):
        return super().get_context_data(line=self.line, **kwargs)

    def get_success_url(self):
        return f"{self.detail_url()}#lines"


# --- Deleting, after a confirmation page -----------------------------------------------


class ServiceDeleteView(OneAgreementMixin, TemplateView):
    """GET asks for confirmation; POST deletes through the service, or shows its refusal."""

    template_name = "contracts/agreement_confirm_delete.html"

    def delete(self) -> None:
        raise NotImplementedError

    def deleted_message(self) -> str:
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        message = self.deleted_message()
        try:
            self.delete()
        except ValidationFailed as failure:
            context = self.get_context_data(problems=[problem.message for problem in failure.problems])
            return self.render_to_response(context)
        messages.success(request, message)
        return HttpResponseRedirect(self.get_success_url())

    def get_success_url(self) -> str:
        return self.detail_url()


class AgreementDeleteView(ServiceDeleteView):
    permission_required = (VIEW_AGREEMENTS_PERMISSION, DELETE_AGREEMENT_PERMISSION)

    def delete(self) -> None:
        services.agreement_delete(agreement=self.agreement, actor=self.actor)

    def deleted_message(self) -> str:
        return f"Purchase agreement {self.agreement.agreement_id} deleted."

    def get_success_url(self) -> str:
        return reverse("contracts:agreement_list")


class AgreementLineDeleteView(ServiceDeleteView):
    permission_required = (VIEW_AGREEMENTS_PERMISSION, DELETE_LINE_PERMISSION)

    def delete(self) -> None:
        services.line_delete(line=self.line, actor=self.actor)

    def deleted_message(self) -> str:
        return f"Line {self.line.line_number} deleted."

    def get_context_data(self, **kwargs):
        return super().get_context_data(line=self.line, **kwargs)

    def get_success_url(self) -> str:
        return f"{self.detail_url()}#lines"
