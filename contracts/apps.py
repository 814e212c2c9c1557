from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = "Contracts and master data"

    def ready(self):
        from contracts.signals import connect_change_log

        connect_change_log()
