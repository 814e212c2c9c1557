"""/api/v1/ (SPEC §8): mounted by clmsite/urls.py under its own namespace, ``api``."""

from django.http import JsonResponse
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from connectors import api_imports
from connectors.api import ConnectionWebhookView

from . import connections, deeplinks, masterdata, validation, views

app_name = "api"


def unknown_endpoint(request, path_rest=""):
    """Answers a URL the API does not have with its error body, never an HTML page (or,
    for a POST missing its trailing slash, Django's APPEND_SLASH error)."""
    hint = "" if request.path.endswith("/") else " API URLs end with a slash."
    problem = {"field": None, "message": f"there is no API endpoint {request.path}.{hint}", "code": "not_found"}
    return JsonResponse({"errors": [problem]}, status=404)


AGREEMENT = "purchase-agreements/<str:legal_entity>/<str:agreement_id>/"
NAVIGATION_LINKS = "connections/<str:name>/navigation-links/"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("contracts/", views.ContractListView.as_view(), name="contract-list"),
    path("contracts/bulk-upsert/", views.ContractBulkUpsertView.as_view(), name="contract-bulk-upsert"),
    path("contracts/<str:legal_entity>/<str:contract_id>/", views.ContractDetailView.as_view(), name="contract-detail"),
    path("contract-types/", views.ContractTypeListView.as_view(), name="contract-type-list"),
    path("contract-types/<str:name>/", views.ContractTypeDetailView.as_view(), name="contract-type-detail"),
    path("purchase-agreements/", views.AgreementListView.as_view(), name="agreement-list"),
    path(AGREEMENT, views.AgreementDetailView.as_view(), name="agreement-detail"),
    path(f"{AGREEMENT}lines/", views.AgreementLineListView.as_view(), name="line-list"),
    path(f"{AGREEMENT}lines/<str:line_number>/", views.AgreementLineDetailView.as_view(), name="line-detail"),
    path("purchase-agreement-lines/", views.LineCreateView.as_view(), name="line-create"),
    path(
        "validate/purchase-agreement/",
        validation.ValidateAgreementView.as_view(),
        name="validate-agreement",
    ),
    path(
        "validate/purchase-agreement-lines/",
        validation.ValidateLineInsertView.as_view(),
        name="validate-line-insert",
    ),
    path(
        "validate/purchase-agreement-lines/update/",
        validation.ValidateLineUpdateView.as_view(),
        name="validate-line-update",
    ),
    path(
        "validate/purchase-agreement-lines/delete/",
        validation.ValidateLineDeleteView.as_view(),
        name="validate-line-delete",
    ),
    *(
        path(f"master-data/{entity}/", view.as_view(), name=f"master-data-{entity}")
        for entity, view in masterdata.VIEWS.items()
    ),
    path("deep-links/", deeplinks.DeepLinkView.as_view(), name="deep-link-create"),
    path("connections/<str:name>/status/", connections.ConnectionStatusView.as_view(), name="connection-status"),
    path(NAVIGATION_LINKS, connections.NavigationLinkListView.as_view(), name="navigation-link-list"),
    path(
        f"{NAVIGATION_LINKS}<str:navigation_type>/",
        connections.NavigationLinkDetailView.as_view(),
        name="navigation-link-detail",
    ),
    path("connections/<str:name>/webhook/", ConnectionWebhookView.as_view(), name="connection-webhook"),
    path("imports/", api_imports.ImportListView.as_view(), name="import-list"),
    path("imports/<str:run_id>/", api_imports.ImportDetailView.as_view(), name="import-detail"),
    path("imports/<str:run_id>/errors/", api_imports.ImportErrorListView.as_view(), name="import-errors"),
    re_path(r"^(?P<path_rest>.*)$", unknown_endpoint, name="unknown-endpoint"),
]
