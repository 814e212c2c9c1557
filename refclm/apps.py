from django.apps import AppConfig


class RefclmConfig(AppConfig):
    name = "refclm"
    label = "refclm"
    verbose_name = "Reference CLM"
    default_auto_field = "django.db.models.BigAutoField"
