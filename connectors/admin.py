"""Django admin for connections and their navigation links (SPEC §3.5–§3.6, §7)."""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from contracts.admin import TRACKING_FIELDS, ReadOnlyAdmin, ReadOnlyInline, TrackedAdmin, status_badge
from contracts.choices import ConnectionStatus, NavigationType, SyncRunStatus
from contracts.services import Actor, ValidationFailed
from contracts.services.contracts import CONTRACT_INPUT_FIELDS

from .base import ConnectorError
from .deadletters import ITEM_MODELS, dead_letter_discard, dead_letter_retry
from .fields import SecretUnreadable, stored_value
from .handshake import connection_check
from .models import (
    Connection,
    DeadLetter,
    InboundEvent,
    NavigationLink,
    NavigationLinkParameter,
    OutboxMessage,
    SyncError,
    SyncRun,
)
from .navigation import PLACEHOLDERS, navigation_url, navigation_value_problems, preview_sample
from .progress import sync_run_counts_text, sync_run_progress, sync_run_progress_text
from .pull import pull_schedule_minutes, pull_schedule_set, pull_start
from .registry import connector_choices, connector_for

SECRET_FIELDS = ("credentials", "webhook_secrets")
# The start of an unmappable record shown on the Test connection page.
PREVIEW_RAW_CHARS = 600
KEEP_HELP = "Leave blank to keep the current value."


class ConnectionForm(forms.ModelForm):
    """Credentials and webhook secrets are write-only (SPEC §3.5): the inputs start empty
    and are never filled from the stored value; blank keeps what is stored. The stored
    fields themselves are never among the form's fields (the admin's fieldsets leave them out).
    """

    new_credentials = forms.CharField(
        label="Credentials",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=f"Stored encrypted and never shown again. {KEEP_HELP}",
    )
    clear_credentials = forms.BooleanField(label="Remove the stored credentials", required=False)
    new_webhook_secrets = forms.CharField(
        label="Webhook secrets",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=(
            "Separate several secrets with spaces: all of them are accepted, so a new one can be added "
            f"before the old one goes. {KEEP_HELP}"
        ),
    )
    clear_webhook_secrets = forms.BooleanField(label="Remove the stored webhook secrets", required=False)
    poll_every_minutes = forms.IntegerField(
        label="Pull every (minutes)",
        required=False,
        min_value=0,
        help_text="Pulls the contracts changed since the last pull on this interval. Blank or 0: no scheduled pulls.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "connector" in self.fields:
            # Only registered connectors can talk to a CLM; a typed name could never work.
            self.fields["connector"] = forms.ChoiceField(
                choices=[("", "---------"), *connector_choices()],
                help_text=Connection._meta.get_field("connector").help_text,
            )
        if self.instance.pk:
            self.fields["poll_every_minutes"].initial = pull_schedule_minutes(self.instance)

    def clean_new_webhook_secrets(self):
        return "\n".join(self.cleaned_data["new_webhook_secrets"].split())  # stored one per line

    def clean(self):
        cleaned_data = super().clean()
        for name in SECRET_FIELDS:
            if cleaned_data.get(f"new_{name}") and cleaned_data.get(f"clear_{name}"):
                self.add_error(f"clear_{name}", "Either type a new value or remove the stored one, not both.")
        if cleaned_data.get("connector") and "settings" in cleaned_data:
            # The chosen connector judges the settings as typed; every problem is listed on the field.
            typed = Connection(connector=cleaned_data["connector"], settings=cleaned_data["settings"])
            problems = connector_for(typed).settings_problems()
            if problems:
                self.add_error("settings", problems)
        return cleaned_data

    def save(self, commit=True):
        for name in SECRET_FIELDS:
            if self.cleaned_data[f"new_{name}"]:
                setattr(self.instance, name, self.cleaned_data[f"new_{name}"])
            elif self.cleaned_data[f"clear_{name}"]:
                setattr(self.instance, name, "")
        return super().save(commit)


@admin.register(Connection)
class ConnectionAdmin(TrackedAdmin):
    form = ConnectionForm
    list_display = ("name", "connector", "base_url", "enabled", "status_indicator", "status_changed_at", "last_sync_at")
    list_filter = ("enabled", "connector", "establishment_status", "configuration_status")
    search_fields = ("name", "connector", "base_url")
    actions = ("sync_now", "full_resync", "check_connection", "test_connection")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # a CLM is reached over https
    readonly_fields = (
        "status_indicator",
        "establishment_status",
        "configuration_status",
        "status_message",
        "status_changed_at",
        "last_sync_at",
        "credentials_state",
        "webhook_secrets_state",
        "poll_schedule_link",
    )
    fieldsets = (
        (
            "Connection",
            {
                "fields": (
                    "name",
                    "connector",
                    "base_url",
                    "navigation_base_url",
                    "enabled",
                    "create_unknown_contract_types",
                    "push_master_data",
                    ("poll_every_minutes", "poll_schedule_link"),
                    "settings",
                )
            },
        ),
        (
            "Secrets",
            {
                "fields": (
                    "credentials_state",
                    "new_credentials",
                    "clear_credentials",
                    "webhook_secrets_state",
                    "new_webhook_secrets",
                    "clear_webhook_secrets",
                )
            },
        ),
        (
            "Status",
            {
                "fields": (
                    "status_indicator",
                    ("establishment_status", "configuration_status"),
                    "status_message",
                    "status_changed_at",
                    "last_sync_at",
                )
            },
        ),
        ("Change tracking", {"fields": TRACKING_FIELDS}),
    )

    @admin.display(description="Status")
    def status_indicator(self, connection):
        return status_badge(connection.status_label, ConnectionStatus.colour(connection.status))

    @admin.display(description="Stored credentials")
    def credentials_state(self, connection):
        return _secret_state(connection, "credentials", lambda connection: connection.credentials and "Set (encrypted)")

    @admin.display(description="Stored webhook secrets")
    def webhook_secrets_state(self, connection):
        return _secret_state(
            connection, "webhook_secrets", lambda connection: f"{len(connection.webhook_secret_list)} (encrypted)"
        )

    @admin.display(description="Schedule")
    def poll_schedule_link(self, connection):
        schedule = connection.poll_schedule
        if schedule is None:
            return "None"
        url = reverse("admin:django_celery_beat_periodictask_change", args=[schedule.pk])
        return format_html('<a href="{}">{}</a>{}', url, schedule, "" if schedule.enabled else " (off)")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "poll_every_minutes" in form.changed_data:
            minutes = form.cleaned_data["poll_every_minutes"]
            pull_schedule_set(connection=obj, every_minutes=minutes, actor=Actor.for_user(request.user))

    @admin.action(description="Sync now (pull the changed contracts)", permissions=["change"])
    def sync_now(self, request, queryset):
        self._pull_each(request, queryset, full=False)

    @admin.action(description="Full resync (pull every contract)", permissions=["change"])
    def full_resync(self, request, queryset):
        self._pull_each(request, queryset, full=True)

    @admin.action(description="Check connection (handshake)", permissions=["change"])
    def check_connection(self, request, queryset):
        actor = Actor.for_user(request.user)
        for connection in queryset:
            checked = connection_check(connection=connection, actor=actor)
            level = messages.SUCCESS if checked.status == ConnectionStatus.READY else messages.WARNING
            self.message_user(request, f"{checked}: {checked.status_label}. {checked.status_message}".strip(), level)

    @admin.action(description="Test connection (show the first page mapped, save nothing)", permissions=["change"])
    def test_connection(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose one connection to test.", messages.WARNING)
            return None
        return redirect("admin:connectors_connection_test", queryset.get().pk)

    def get_urls(self):
        opts = self.model._meta
        test = path(
            "<path:object_id>/test/",
            self.admin_site.admin_view(self.test_connection_view),
            name=f"{opts.app_label}_{opts.model_name}_test",
        )
        return [test, *super().get_urls()]

    def test_connection_view(self, request, object_id):
        """The saved connection's first page as its connector maps it, or why it cannot be read.
        Reads from the CLM with the stored credentials, hence for those who may change it."""
        connection = self.get_object(request, unquote(object_id))
        if connection is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        if not self.has_change_permission(request, connection):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": connection,
            "title": f"Test connection: {connection}",
            "connector_label": dict(connector_choices()).get(connection.connector, connection.connector),
            **connection_preview(connection),
        }
        return TemplateResponse(request, "admin/connectors/connection/test_connection.html", context)

    def _pull_each(self, request, queryset, *, full: bool) -> None:
        actor = Actor.for_user(request.user)
        for connection in queryset:
            run = pull_start(connection_id=connection.pk, full=full, actor=actor)
            if run is None:
                self.message_user(request, f"{connection} is disabled; enable it to pull.", messages.WARNING)
            elif run.requested_by == actor.label and run.status == SyncRunStatus.QUEUED:
                self.message_user(request, f"{run} of {connection} queued (run {run.pk}).", messages.SUCCESS)
            else:
                status = run.get_status_display().lower()
                self.message_user(request, f"{connection} already has {run} {status} (run {run.pk}).", messages.INFO)


def _secret_state(connection: Connection, name: str, described) -> str:
    """What is stored in a secret field, never the secret: a page showing it must load even
    when the configured keys cannot read it, and then say so."""
    if not stored_value(connection, name):
        return "None"
    try:
        return described(connection)
    except SecretUnreadable as unreadable:
        return f"Stored, but cannot be read: {unreadable}"


def connection_preview(connection: Connection) -> dict:
    """What the Test connection page shows: the first page's records as rows of clmsite
    fields (the columns any record has, in the order of contract_upsert's fields), the
    records that could not be mapped, and the error when the CLM could not be read at all."""
    try:
        page = connector_for(connection).preview()
    except (ConnectorError, SecretUnreadable) as error:
        return {"error": str(error)}
    present = {name for record in page.records for name in record.data}
    columns = [name for name in CONTRACT_INPUT_FIELDS if name in present]
    rows = [
        [record.legal_entity, record.contract_id, *(_shown(record.data.get(name)) for name in columns)]
        for record in page.records
    ]
    problems = [
        {
            "key": key,
            "reason": reason,
            "raw": Truncator(json.dumps(raw, indent=1, ensure_ascii=False, default=str)).chars(PREVIEW_RAW_CHARS),
        }
        for key, reason, raw in page.problems
    ]
    return {
        "columns": ["legal_entity", "contract_id", *columns],
        "rows": rows,
        "problems": problems,
        "total": page.total,
        "more_pages": bool(page.next_token),
    }


def _shown(value) -> str:
    return "—" if value is None or value == "" else str(value)


class NavigationLinkParameterForm(forms.ModelForm):
    """A query-string parameter; its placeholders must be offered for the link's type."""

    def __init__(self, *args, link: NavigationLink | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.link = link

    def clean(self):
        cleaned_data = super().clean()
        # The link's form has already put the posted navigation type on the link; an invalid
        # one is reported there, and judging placeholders against it would only mislead.
        navigation_type = getattr(self.link, "navigation_type", "")
        if navigation_type in NavigationType.values and not cleaned_data.get("DELETE"):
            for problem in navigation_value_problems(navigation_type, cleaned_data.get("value", "")):
                self.add_error("value", problem)
        return cleaned_data


class NavigationLinkParameterFormSet(forms.BaseInlineFormSet):
    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "link": self.instance}


class NavigationLinkParameterInline(admin.TabularInline):
    model = NavigationLinkParameter
    form = NavigationLinkParameterForm
    formset = NavigationLinkParameterFormSet
    fields = ("key", "value", "position")
    extra = 1


@admin.register(NavigationLink)
class NavigationLinkAdmin(TrackedAdmin):
    inlines = (NavigationLinkParameterInline,)
    list_display = ("name", "connection", "navigation_type", "action", "relative_url")
    list_select_related = ("connection",)
    list_filter = ("connection", "navigation_type", "action")
    search_fields = ("name", "relative_url", "connection__name")
    readonly_fields = ("absolute_url_preview",)
    fields = ("connection", "navigation_type", "name", "relative_url", "action", "absolute_url_preview")

    class Media:
        js = ("connectors/navigation_preview.js",)

    def audit_related(self, obj) -> dict:
        # The query string is part of what a link does: its audit entry shows it as key=value.
        return {"parameters": [f"{parameter.key}={parameter.value}" for parameter in obj.parameters.all()]}

    def get_urls(self):
        opts = self.model._meta
        preview = path(
            "preview/",
            self.admin_site.admin_view(self.preview_view),
            name=f"{opts.app_label}_{opts.model_name}_preview",
        )
        return [preview, *super().get_urls()]

    def preview_view(self, request):
        """The absolute URL of the link as typed so far (``connection``, ``navigation_type``,
        ``relative_url`` and paired ``key``/``value`` lists in position order), as JSON."""
        if not (self.has_view_or_change_permission(request) or self.has_add_permission(request)):
            raise PermissionDenied
        link = NavigationLink(
            connection=Connection.objects.filter(pk=_int_or_none(request.GET.get("connection"))).first(),
            navigation_type=request.GET.get("navigation_type", ""),
            relative_url=request.GET.get("relative_url", ""),
        )
        parameters = list(zip(request.GET.getlist("key"), request.GET.getlist("value"), strict=False))
        return JsonResponse(navigation_preview(link, parameters))

    @admin.display(description="Absolute URL preview")
    def absolute_url_preview(self, link):
        parameters = [(p.key, p.value) for p in link.parameters.all()] if link.pk else []
        preview = navigation_preview(link, parameters)
        return format_html(
            '<div class="navigation-preview" data-preview-url="{}">'
            '<code class="navigation-preview-url">{}</code>'
            '<div class="help navigation-preview-sample">{}</div>'
            '<ul class="errorlist navigation-preview-problems">{}</ul>'
            '<div class="help navigation-preview-placeholders">{}</div>'
            "</div>",
            reverse("admin:connectors_navigationlink_preview"),
            preview["url"],
            preview["sample"],
            format_html_join("", "<li>{}</li>", ((problem,) for problem in preview["problems"])),
            preview["placeholders_help"],
        )


def navigation_preview(link: NavigationLink, parameters: list[tuple[str, str]]) -> dict:
    """What the preview shows for ``link`` (saved or as typed) with ``parameters``: the URL
    rendered for a sample record, which record that is, what is wrong so far and which
    placeholders the link's type offers."""
    if link.navigation_type not in NavigationType.values:
        return {"url": "", "sample": "", "problems": ["Choose a navigation type."], "placeholders_help": ""}
    offered = PLACEHOLDERS[link.navigation_type]
    placeholders_help = (
        f"Placeholders offered for this type: {', '.join(offered)}" if offered else "This type offers no placeholders."
    )
    problems = [
        problem for _key, value in parameters for problem in navigation_value_problems(link.navigation_type, value)
    ]
    if link.connection_id is None:
        problems.insert(0, "Choose a connection.")
        return {"url": "", "sample": "", "problems": problems, "placeholders_help": placeholders_help}
    sample = preview_sample(connection=link.connection, navigation_type=link.navigation_type)
    url = navigation_url(
        link, contract=sample.contract, agreement=sample.agreement, parameters=[(k, v) for k, v in parameters if k]
    )
    return {"url": url, "sample": sample.description, "problems": problems, "placeholders_help": placeholders_help}


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- Dead letters and the outbox (SPEC §7, §9) ----------------------------------------------

ERROR_EXCERPT_CHARS = 120


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """Work that ran out of attempts. Retry or discard is the way to clear an entry, since
    each also settles the item (deleting the entry alone would leave the item dead)."""

    list_display = ("summary", "kind", "connection", "error_excerpt", "attempts", "created_at")
    list_select_related = ("connection",)
    list_filter = ("kind", "connection", "created_at")
    search_fields = ("summary", "error")
    actions = ("retry", "discard")
    fields = readonly_fields = ("kind", "item_link", "connection", "summary", "error", "attempts", "created_at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="Error")
    def error_excerpt(self, letter):
        return Truncator(letter.error).chars(ERROR_EXCERPT_CHARS)

    @admin.display(description="Item")
    def item_link(self, letter):
        opts = ITEM_MODELS[letter.kind]._meta
        try:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[letter.object_id])
        except NoReverseMatch:
            return f"{opts.verbose_name} #{letter.object_id}"
        return format_html('<a href="{}">{} #{}</a>', url, opts.verbose_name, letter.object_id)

    @admin.action(description="Retry the selected items now", permissions=["change"])
    def retry(self, request, queryset):
        self._settle_each(request, queryset, dead_letter_retry, "Retried")

    @admin.action(description="Discard the selected items", permissions=["change"])
    def discard(self, request, queryset):
        self._settle_each(request, queryset, dead_letter_discard, "Discarded")

    def _settle_each(self, request, queryset, service, done: str) -> None:
        actor, settled = Actor.for_user(request.user), 0
        for letter in queryset:
            try:
                service(dead_letter=letter, actor=actor)
            except ValidationFailed as failure:
                problems = " ".join(problem.message for problem in failure.problems)
                self.message_user(request, f"{letter.summary}: {problems}", messages.ERROR)
            else:
                settled += 1
        if settled:
            self.message_user(request, f"{done} {settled} dead letter(s).", messages.SUCCESS)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "connection", "operation", "record_key", "status", "attempts", "next_attempt_at", "done_at")
    list_select_related = ("connection",)
    list_filter = ("status", "connection", "entity", "operation")
    search_fields = ("natural_key", "legal_entity_code")
    readonly_fields = ("record_key",)


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnlyAdmin):
    """Webhook events as received (SPEC §9); a dead one is retried from the dead letters."""

    list_display = ("event_id", "connection", "event_type", "status", "attempts", "received_at", "outcome")
    list_select_related = ("connection",)
    list_filter = ("status", "connection", "event_type")
    search_fields = ("event_id",)
    date_hierarchy = "received_at"


# --- Sync runs (SPEC §7, §9, §8.8) ------------------------------------------------------

SYNC_RUN_ERRORS_SHOWN = 100


class FirstErrorsFormSet(forms.BaseInlineFormSet):
    """Only the first errors of a run: a run may have thousands, and the page must still load."""

    def get_queryset(self):
        if not hasattr(self, "_first_errors"):
            self._first_errors = super().get_queryset()[:SYNC_RUN_ERRORS_SHOWN]
        return self._first_errors


class SyncErrorInline(ReadOnlyInline):
    model = SyncError
    formset = FirstErrorsFormSet
    fields = readonly_fields = ("record_key", "message", "record")
    verbose_name_plural = f"Errors (the first {SYNC_RUN_ERRORS_SHOWN}; see all of them with the link above)"


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    """Pulls, resyncs and imports with their progress; the list and page reload themselves
    while a run shown is active (sync_runs.js)."""

    list_display = (
        "__str__",
        "kind",
        "connection",
        "status_indicator",
        "progress",
        "counts",
        "started_at",
        "finished_at",
        "duration",
    )
    list_select_related = ("connection",)
    list_filter = ("kind", "status", "connection")
    search_fields = ("requested_by", "message")
    date_hierarchy = "created_at"
    inlines = (SyncErrorInline,)
    fieldsets = (
        (None, {"fields": ("kind", "connection", "package", "requested_by", "status_indicator", "message")}),
        ("Progress", {"fields": ("progress", "counts", "all_errors", "pages", "attempts", "next_token")}),
        ("Times", {"fields": ("created_at", "started_at", "heartbeat_at", "finished_at", "duration")}),
        ("Watermark", {"fields": ("watermark_from", "watermark_to")}),
    )
    readonly_fields = ("status_indicator", "progress", "counts", "all_errors", "duration")

    class Media:
        js = ("connectors/sync_runs.js",)

    @admin.display(description="Status", ordering="status")
    def status_indicator(self, run):
        return status_badge(run.get_status_display(), run.status_colour)

    @admin.display(description="Progress")
    def progress(self, run):
        percent = sync_run_progress(run)
        bar = format_html('<progress max="100" value="{}"></progress> ', percent) if percent is not None else ""
        return format_html(
            '<span class="sync-run-progress" data-active="{}">{}{}</span>',
            "true" if run.is_active else "false",
            bar,
            sync_run_progress_text(run),
        )

    @admin.display(description="Counts")
    def counts(self, run):
        return sync_run_counts_text(run)

    @admin.display(description="Errors")
    def all_errors(self, run):
        url = reverse("admin:connectors_syncerror_changelist")
        return format_html('<a href="{}?run={}">All {} errors</a>', url, run.pk, run.errors.count())

    @admin.display(description="Duration")
    def duration(self, run):
        if run.started_at is None or run.finished_at is None:
            return "—"
        return str(run.finished_at - run.started_at).split(".")[0]  # h:mm:ss, whole seconds


@admin.register(SyncError)
class SyncErrorAdmin(ReadOnlyAdmin):
    """Every record a run could not apply; a run's page links here for all of its errors."""

    list_display = ("record_key", "message_excerpt", "run", "created_at")
    list_select_related = ("run",)
    list_filter = ("run__kind",)
    search_fields = ("record_key", "message")
    fields = readonly_fields = ("run", "record_key", "message", "record", "created_at")

    @admin.display(description="Message")
    def message_excerpt(self, error):
        return Truncator(error.message).chars(ERROR_EXCERPT_CHARS)
