"""The dashboard: where the user's contracts stand, at a glance (SPEC §6).

Every figure is scoped to the user's legal entities and comes from one query per group
(conditional ``Count`` aggregates), so the page costs the same for ten contracts or ten
million.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.generic import TemplateView, View

from connectors.models import Connection, SyncRun
from connectors.progress import COUNTED, sync_run_counts_text, sync_run_progress, sync_run_progress_text
from contracts import selectors
from contracts.choices import ConnectionStatus, ContractStatus
from contracts.models import ContractStatusChange

from .contracts import VIEW_CONTRACTS_PERMISSION

EXPIRING_WINDOWS = (30, 60, 90)  # days from today; each links to All contracts "expiring within N days"
EXPIRING_SOON_DAYS = EXPIRING_WINDOWS[0]
EXPIRING_LIST_SIZE = 8
LATEST_CHANGES_SIZE = 10
TYPE_BAR_COLOUR = "blue"


class DashboardView(LoginRequiredMixin, TemplateView):
    template_name = "contracts/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["can_view_contracts"] = user.has_perm(VIEW_CONTRACTS_PERMISSION)
        if not context["can_view_contracts"]:
            return context
        today = timezone.localdate()
        visible = selectors.contracts_visible_to(user)
        figures = visible.aggregate(
            contracts=Count("pk"),
            executed=Count("pk", filter=Q(status=ContractStatus.EXECUTED)),
            amendments=Count("pk", filter=Q(amendment_in_process=True)),
            **{f"expiring_{days}": Count("pk", filter=_expiring(today, days)) for days in EXPIRING_WINDOWS},
        )
        context.update(
            totals={
                "contracts": figures["contracts"],
                "executed": figures["executed"],
                "expiring_soon": figures[f"expiring_{EXPIRING_SOON_DAYS}"],
                "amendments": figures["amendments"],
            },
            expiring_windows=[
                {
                    "days": days,
                    "count": figures[f"expiring_{days}"],
                    "url": _list_url(status=ContractStatus.EXECUTED, expiring_within=days, ordering="expiration_date"),
                }
                for days in EXPIRING_WINDOWS
            ],
            by_status=_by_status(visible),
            by_type=_by_type(visible),
            expiring_days=EXPIRING_SOON_DAYS,
            expiring_contracts=visible.filter(_expiring(today, EXPIRING_SOON_DAYS)).order_by("expiration_date", "pk")[
                :EXPIRING_LIST_SIZE
            ],
            connections=[
                {"connection": connection, "colour": ConnectionStatus.colour(connection.status)}
                for connection in Connection.objects.order_by("name")
            ],
            legal_entities=selectors.visible_legal_entities(user),
            sync_runs=sync_run_rows(user),
            latest_changes=latest_change_rows(user),
        )
        return context


class DashboardPanelView(LoginRequiredMixin, View):
    """A dashboard panel as JSON, which app.js polls to keep the panel current. It answers
    whoever may see the dashboard's contract figures."""

    raise_exception = True  # a script asks: answer 403, not a login page

    def get(self, request):
        if not request.user.has_perm(VIEW_CONTRACTS_PERMISSION):
            raise PermissionDenied
        return JsonResponse(self.panel(request.user))

    def panel(self, user) -> dict:
        raise NotImplementedError


class SyncRunProgressView(DashboardPanelView):
    """The Sync runs panel: the latest runs and whether any is still running."""

    def panel(self, user) -> dict:
        rows = sync_run_rows(user)
        return {"runs": rows, "active": any(row["active"] for row in rows)}


class LatestChangesView(DashboardPanelView):
    """The Latest contract changes panel."""

    def panel(self, user) -> dict:
        return {"changes": latest_change_rows(user)}


def latest_change_rows(user) -> list[dict]:
    """The latest status changes the user may see, as the Latest contract changes panel shows
    them; the page and its JSON share these rows, so both say the same."""
    changes = selectors.latest_status_changes_visible_to(user, limit=LATEST_CHANGES_SIZE)
    return [_change_row(change) for change in changes]


def _change_row(change: ContractStatusChange) -> dict:
    contract = change.contract
    return {
        "id": change.pk,
        "contract_id": contract.contract_id,
        "contract_name": contract.name,
        "contract_url": reverse("contracts:detail", args=[contract.pk]),
        # A contract's first history row has no previous status: it is the contract appearing.
        "first": not change.from_status,
        "from_label": change.get_from_status_display(),
        "from_colour": ContractStatus.colour(change.from_status),
        "to_label": change.get_to_status_display(),
        "to_colour": ContractStatus.colour(change.to_status),
        "connection": contract.connection.name if contract.connection else "",
        "changed_by": change.changed_by,
        "changed_at": change.changed_at.isoformat(),
        "changed_text": naturaltime(change.changed_at),
        "changed_title": date_format(timezone.localtime(change.changed_at), "j M Y, H:i:s T"),
    }


def sync_run_rows(user) -> list[dict]:
    """The latest runs the user may see, as the panel shows them: figures and their words,
    never the records themselves."""
    return [_sync_run_row(run) for run in selectors.latest_sync_runs_visible_to(user)]


def _sync_run_row(run: SyncRun) -> dict:
    return {
        "id": run.pk,
        "connection": run.connection.name if run.connection else "No connection",
        "kind": run.get_kind_display(),
        "status": run.status,
        "status_label": run.get_status_display(),
        "colour": run.status_colour,
        "active": run.is_active,
        "progress": sync_run_progress(run),
        "progress_text": sync_run_progress_text(run),
        "counts": {name: getattr(run, name) for name in COUNTED},
        "counts_text": sync_run_counts_text(run),
        "started_text": date_format(timezone.localtime(run.started_at), "j M Y, H:i") if run.started_at else "—",
    }


def _expiring(today: datetime.date, days: int) -> Q:
    """Executed and expiring within ``days`` from today: the ``expiring_within`` filter of All contracts."""
    return Q(
        status=ContractStatus.EXECUTED,
        expiration_date__gte=today,
        expiration_date__lte=today + datetime.timedelta(days=days),
    )


def _by_status(visible: QuerySet) -> list[dict]:
    rows = visible.order_by().values("status").annotate(count=Count("pk")).order_by("-count", "status")
    return _with_bar_widths(
        [
            {
                "label": ContractStatus(row["status"]).label,
                "colour": ContractStatus.colour(row["status"]),
                "count": row["count"],
                "url": _list_url(status=row["status"]),
            }
            for row in rows
        ]
    )


def _by_type(visible: QuerySet) -> list[dict]:
    rows = (
        visible.order_by()
        .values("contract_type__name")
        .annotate(count=Count("pk"))
        .order_by("-count", "contract_type__name")
    )
    return _with_bar_widths(
        [
            {
                "label": row["contract_type__name"],
                "colour": TYPE_BAR_COLOUR,
                "count": row["count"],
                "url": _list_url(type=row["contract_type__name"]),
            }
            for row in rows
        ]
    )


def _with_bar_widths(rows: list[dict]) -> list[dict]:
    """Adds each row's bar length, in percent of the longest, as text for an SVG attribute
    (a localized float could print "37,5")."""
    largest = max((row["count"] for row in rows), default=0)
    for row in rows:
        row["width"] = f"{100 * row['count'] / largest:.1f}" if largest else "0"
    return rows


def _list_url(**params) -> str:
    return f"{reverse('contracts:list')}?{urlencode(params)}"
