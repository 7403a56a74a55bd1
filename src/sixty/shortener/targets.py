"""Target URLs: http(s) only, normalised, and never an address inside our own network.

A target's host is resolved (getaddrinfo in a thread, with a timeout) and every address it
resolves to must be public: loopback, private, link-local, multicast, reserved and unspecified
addresses are refused, IPv4-mapped IPv6 included, unless the settings allow them. The check runs
when a link is written; the redirect itself makes no connection to the target.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import quote, urlsplit, urlunsplit

from sixty.core.i18n import N_

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Printable ASCII that may stand in a URL as is; anything else is percent-encoded.
_URL_SAFE = "!#$%&'()*+,-./:;=?@[]_~"


class TargetRefused(ValueError):
    def __init__(self, code: str, message: str, **params: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params


def normalize(url: str) -> tuple[str, str]:
    """The URL as it will be served in `Location` (ASCII only), and its host (IDNA, lower case)."""
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise TargetRefused("url_invalid", N_("The URL contains spaces or control characters."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("url_invalid", N_("This is not a valid URL.")) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise TargetRefused("url_scheme", N_("Only http and https URLs can be shortened."))
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("url_credentials", N_("A URL with a user name or password cannot be shortened."))
    host = parts.hostname
    if not host:
        raise TargetRefused("url_invalid", N_("The URL has no host."))
    try:
        ascii_host = host.encode("idna").decode("ascii").lower() if not _is_ip(host) else host.lower()
    except UnicodeError:
        raise TargetRefused("url_invalid", N_("The URL's host name is not valid.")) from None
    netloc = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    if port is not None:
        netloc += f":{port}"
    path = quote(parts.path, safe=_URL_SAFE)
    query = quote(parts.query, safe=_URL_SAFE)
    fragment = quote(parts.fragment, safe=_URL_SAFE)
    return urlunsplit((parts.scheme.lower(), netloc, path or "/", query, fragment)), ascii_host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )


async def addresses_of(host: str, *, resolve_timeout: float) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout=resolve_timeout
        )
    except TimeoutError:
        raise TargetRefused(
            "url_unresolvable", N_("The host {host} did not resolve in time."), host=host
        ) from None
    except (OSError, UnicodeError):
        raise TargetRefused("url_unresolvable", N_("The host {host} does not resolve."), host=host) from None
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise TargetRefused("url_unresolvable", N_("The host {host} does not resolve."), host=host)
    return found


async def check_target(url: str, *, allow_private: bool, resolve_timeout: float) -> str:
    """The normalised target, or `TargetRefused` when it is malformed or leads inside our network."""
    normalized, host = normalize(url)
    if allow_private:
        return normalized
    for address in await addresses_of(host, resolve_timeout=resolve_timeout):
        if not is_public(address):
            raise TargetRefused(
                "url_not_public",
                N_("Links may not lead to {host}: it is a loopback, private or link-local address."),
                host=host,
            )
    return normalized
