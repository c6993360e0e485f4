"""Which webhook URLs Tenure will call: http(s) only, and never a private, loopback, link-local or
otherwise non-public address unless TENURE_WEBHOOKS_ALLOW_PRIVATE is on. Checked when an endpoint
is created or changed and again before every send, on the addresses the host resolves to then."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


def url_problem(url: str) -> str | None:
    """Why the URL itself cannot be a webhook target, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "The webhook URL must be http or https."
    if not parts.hostname:
        return "The webhook URL has no host."
    if parts.username or parts.password:
        return "The webhook URL must not carry credentials."
    return None


def address_problem(addresses: list[str], *, allow_private: bool) -> str | None:
    """Why these resolved addresses may not be called, or None."""
    if not addresses:
        return "The webhook host does not resolve."
    if allow_private:
        return None
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if not ip.is_global or ip.is_multicast:
            return f"The webhook host resolves to {ip}, a private or loopback address."
    return None


async def resolve(url: str) -> list[str]:
    """The addresses the URL's host resolves to now (empty when it does not resolve)."""
    parts = urlsplit(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    # An IPv4 or IPv6 sockaddr starts with the address as text.
    return sorted({address for info in infos if isinstance(address := info[4][0], str)})


async def target_problem(url: str, *, allow_private: bool) -> str | None:
    """Why Tenure will not call this URL now, or None."""
    return url_problem(url) or address_problem(await resolve(url), allow_private=allow_private)
