from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Integration"

    def ready(self):
        # Registers the flows that ship, so that contract types can name them.
        from connectors import flows  # noqa: F401
