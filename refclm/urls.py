from django.urls import path

from . import api, control, views

urlpatterns = [
    path("", views.home, name="home"),
    # The UI; clmsite's navigation links open these (contracts/demo.py).
    path("ui/contracts/", views.contract_list, name="contract-list"),
    path("ui/contracts/view", views.contract_view, name="contract-view"),
    path("ui/contracts/edit", views.contract_edit_view, name="contract-edit"),
    path("ui/contracts/amend", views.contract_amend_view, name="contract-amend"),
    path("ui/contracts/new", views.contract_new, name="contract-new"),
    path("ui/contracts/action", views.contract_action, name="contract-action"),
    path("ui/deliver", views.deliver, name="deliver"),
    # The reference protocol, for clmsite (docs/connectors.md).
    path("api/contracts/", api.contracts_changed, name="api-contracts"),
    path("api/contracts/<str:external_id>/", api.contract_detail, name="api-contract"),
    path("api/master-data/", api.master_data_push, name="api-master-data"),
    path("api/status/", api.status, name="api-status"),
    # The control API, for tests and scripts.
    path("control/config/", control.config, name="control-config"),
    path("control/sync-master-data/", control.sync_master_data, name="control-sync-master-data"),
    path("control/contracts/", control.contracts, name="control-contracts"),
    path("control/contracts/<str:identifier>/", control.contract_detail, name="control-contract"),
    path("control/contracts/<str:identifier>/advance/", control.contract_advance_view, name="control-advance"),
    path("control/tick/", control.tick, name="control-tick"),
    path("control/deliver/", control.deliver, name="control-deliver"),
    path("control/faults/", control.faults, name="control-faults"),
]
