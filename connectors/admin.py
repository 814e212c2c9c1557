"""Django admin for connections and their navigation links (SPEC §3.5–§3.6, §7)."""

from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.db import models

from contracts.admin import TRACKING_FIELDS, TrackedAdmin, status_badge
from contracts.choices import ConnectionStatus

from .models import Connection, NavigationLink, NavigationLinkParameter

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


class NavigationLinkParameterInline(admin.TabularInline):
    model = NavigationLinkParameter
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

    @admin.display(description="Absolute URL preview")
    def absolute_url_preview(self, link):
        if link.pk is None:
            return "Shown once the link is saved."
        base = link.connection.effective_navigation_base_url.rstrip("/")
        url = f"{base}/{link.relative_url.lstrip('/')}"
        # Placeholders stay readable: they are replaced (and encoded) when a person clicks.
        query = urlencode([(parameter.key, parameter.value) for parameter in link.parameters.all()], safe="%")
        return f"{url}?{query}" if query else url
