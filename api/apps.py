from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "JSON API"

    def ready(self) -> None:
        from msp_portal.tenancy import scope_register

        from .models import ApiToken
        from .scope import own_tokens

        scope_register(ApiToken, own_tokens)
