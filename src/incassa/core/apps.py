from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "incassa.core"
    verbose_name = "Incassa"
