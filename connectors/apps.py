from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Integration"

    def ready(self):
        # Registers the flows and connectors that ship, so contract types and connections can name them.
        from connectors import builtin, flows  # noqa: F401
