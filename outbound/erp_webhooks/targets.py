"""Where a webhook may be sent: not, unless allowed, to an address of a private network.

A subscriber names the URL, and the dispatcher's answer (status, the first 500 characters
of the body) is shown in the tenant's delivery log: a URL pointing inside recouvre's own
network (a database port, a cloud metadata address, another service) would let a tenant
reach and read what it must not. So each delivery resolves the host and refuses any
address that is not a public one, unless RECOUVRE_WEBHOOK_PRIVATE_TARGETS allows them (a
development machine, the tests, `make run`). The address is checked before connecting,
not pinned: a DNS answer that changes between the two is a window this does not close.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


def literal_private(url: str) -> bool:
    """The URL names a non-public IP address, or localhost, by itself (no DNS needed)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not _public(host)
    except ValueError:
        return False  # a name: resolved at each delivery


async def refused_target(url: str) -> str | None:
    """Why a delivery to ``url`` must not be made (a non-public address, or a host that
    does not resolve), or None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as err:
        return f"host {host} does not resolve ({err.strerror or err})"
    private = sorted({str(info[4][0]) for info in found if not _public(str(info[4][0]))})
    if private:
        return (
            f"refused: {host} resolves to a non-public address ({', '.join(private)}); "
            "RECOUVRE_WEBHOOK_PRIVATE_TARGETS allows it"
        )
    return None
