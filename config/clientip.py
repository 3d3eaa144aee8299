"""The client's address, for throttles and the login log.

Behind the reverse proxy every request comes from the proxy's own address (`REMOTE_ADDR`), so
keying throttles on it lets one visitor lock everyone else out. Each proxy appends the address it
received the request from to `X-Forwarded-For`, so with TRUSTED_PROXY_COUNT proxies in front, the
client is the TRUSTED_PROXY_COUNT-th entry from the right: everything left of it was written by
the client and is never believed. The header counts only when the request comes from one of
FORWARDED_ALLOW_IPS (the nearest proxy, as gunicorn's setting of that name): anyone reaching web
directly gets their own address, whatever they send.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    peer = _address(request.META.get("REMOTE_ADDR", "")) or ""
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0 or not peer or not _is_trusted_proxy(peer):
        return peer
    chain = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(chain) < count or not chain[-count]:
        return peer  # fewer hops than proxies: the header is not the proxies' own
    return _address(chain[-count]) or peer


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _is_trusted_proxy(peer: str) -> bool:
    networks = _networks(tuple(settings.FORWARDED_ALLOW_IPS))
    if networks is None:
        return True  # "*": web is reachable only through the proxy
    address = ipaddress.ip_address(peer)
    return any(address in network for network in networks)


@functools.lru_cache(maxsize=8)
def _networks(allowed: tuple[str, ...]):
    if "*" in allowed:
        return None
    return [ipaddress.ip_network(value.strip(), strict=False) for value in allowed if value.strip()]
