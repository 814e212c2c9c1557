from django.urls import path

from contracts import views

app_name = "contracts"

# Mounted at the site root: each section names its own prefix.
urlpatterns = [
    path("contracts/", views.ContractListView.as_view(), name="list"),
    path("contracts/<int:pk>/", views.ContractDetailView.as_view(), name="detail"),
    path("contracts/export.csv", views.ContractCsvExportView.as_view(), name="export_csv"),
    path("contracts/export.xlsx", views.ContractXlsxExportView.as_view(), name="export_xlsx"),
    path("l/<str:token>/", views.DeepLinkView.as_view(), name="deep_link"),
    path("dashboard/sync-runs.json", views.dashboard.SyncRunProgressView.as_view(), name="sync_runs"),
    path("dashboard/latest-changes.json", views.dashboard.LatestChangesView.as_view(), name="latest_changes"),
    path("vendors/", views.VendorListView.as_view(), name="vendor_list"),
    path("vendors/<int:pk>/", views.VendorDetailView.as_view(), name="vendor_detail"),
    path("agreements/", views.AgreementListView.as_view(), name="agreement_list"),
    path("agreements/new/", views.AgreementCreateView.as_view(), name="agreement_create"),
    path("agreements/<int:pk>/", views.AgreementDetailView.as_view(), name="agreement_detail"),
    path("agreements/<int:pk>/edit/", views.AgreementUpdateView.as_view(), name="agreement_update"),
    path("agreements/<int:pk>/delete/", views.AgreementDeleteView.as_view(), name="agreement_delete"),
    path("agreements/<int:pk>/lines/new/", views.AgreementLineCreateView.as_view(), name="agreement_line_create"),
    path(
        "agreements/<int:pk>/lines/<int:line_pk>/edit/",
        views.AgreementLineUpdateView.as_view(),
        name="agreement_line_update",
    ),
    path(
        "agreements/<int:pk>/lines/<int:line_pk>/delete/",
        views.AgreementLineDeleteView.as_view(),
        name="agreement_line_delete",
    ),
]
