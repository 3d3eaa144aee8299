from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse

from config.clientip import client_ip


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
        return reverse("home")

    def get_client_ip(self, request) -> str:
        # allauth's throttles key on this: the client behind the proxies, never the proxy.
        return client_ip(request) or super().get_client_ip(request)
