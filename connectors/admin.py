"""Django admin for connections and their navigation links (SPEC §3.5–§3.6, §7)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from contracts.admin import TRACKING_FIELDS, TrackedAdmin, status_badge
from contracts.choices import ConnectionStatus, NavigationType

from .models import Connection, NavigationLink, NavigationLinkParameter
from .navigation import PLACEHOLDERS, navigation_url, navigation_value_problems, preview_sample

SECRET_FIELDS = ("credentials", "webhook_secrets")
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

    def clean_new_webhook_secrets(self):
        return "\n".join(self.cleaned_data["new_webhook_secrets"].split())  # stored one per line

    def clean(self):
        cleaned_data = super().clean()
        for name in SECRET_FIELDS:
            if cleaned_data.get(f"new_{name}") and cleaned_data.get(f"clear_{name}"):
                self.add_error(f"clear_{name}", "Either type a new value or remove the stored one, not both.")
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
    autocomplete_fields = ("poll_schedule",)
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
                    "poll_schedule",
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
        return "Set (encrypted)" if connection.credentials else "None"

    @admin.display(description="Stored webhook secrets")
    def webhook_secrets_state(self, connection):
        count = len(connection.webhook_secret_list)
        return f"{count} (encrypted)" if count else "None"


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
