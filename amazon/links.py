"""Which customisation links the access layer may fetch.

A ``customizedUrl`` arrives inside an order, so it is untrusted input: without
these checks an order could make the Odoo server fetch its own network (a
database admin page, the cloud metadata service at 169.254.169.254) and store
the answer as an attachment.  A link, and each redirect it leads to, must be
https, on a host of the channel's allow-list (``ChannelConfig.download_hosts``)
and resolve to public addresses only.

The one exception is the origin of a channel whose SP-API endpoint an
administrator pointed at a loopback test server (the fake Amazon serves the
customisation files itself): exactly that scheme, host and port, nothing else
on the machine.
"""

import ipaddress
import socket
from fnmatch import fnmatchcase

import httpx

from .errors import AmazonError

MAX_REDIRECTS = 5
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url):
    """(scheme, host, port) of an ``httpx.URL``, with the default port filled in."""
    return (url.scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(url.scheme))


def target(url):
    """Where a link leads, fit for a message: no path, no query (they sign it)."""
    port = f":{url.port}" if url.port else ""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{url.scheme}://{host}{port}"


def loopback_origin(endpoint):
    """The endpoint's origin when it is a loopback test server, else None."""
    try:
        url = httpx.URL(endpoint or "")
    except httpx.InvalidURL:
        return None
    if url.scheme not in _DEFAULT_PORTS or not url.host:
        return None
    if url.host.lower() != "localhost":
        try:
            if not ipaddress.ip_address(url.host).is_loopback:
                return None
        except ValueError:
            return None
    return origin(url)


def host_allowed(host, patterns):
    """Whether ``host`` is one of ``patterns`` or a subdomain of one.

    A ``*`` matches inside one label only: ``s3.*.amazonaws.com`` matches
    ``bucket.s3.eu-west-1.amazonaws.com`` but not ``s3.a.b.amazonaws.com``.
    """
    labels = host.lower().rstrip(".").split(".")
    for pattern in patterns:
        wanted = pattern.lower().strip(".").split(".")
        # A pattern must name a registrable domain: "*.com" would allow any site.
        if len([label for label in wanted if "*" not in label]) < 2:
            continue
        if len(labels) >= len(wanted) and all(
            fnmatchcase(label, want)
            for label, want in zip(labels[-len(wanted) :], wanted, strict=True)
        ):
            return True
    return False


def _public(address):
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host, port):
    """Every address ``host`` resolves to (the connection may use any of them)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return {info[4][0] for info in infos}


def check(url, config, resolver=resolve):
    """Raise AmazonError unless ``url`` (an ``httpx.URL``) may be fetched."""
    if origin(url) == loopback_origin(config.endpoint):
        return
    if url.scheme != "https" or not host_allowed(url.host, config.download_hosts):
        raise AmazonError("download_not_allowed", params={"target": target(url)})
    try:
        addresses = resolver(url.host, url.port or 443)
    except (OSError, UnicodeError):
        raise AmazonError(
            "unavailable",
            params={"detail": f"cannot resolve {target(url)}", "attempts": 1},
            retryable=True,
        ) from None
    # Checked on the addresses, not the name: any DNS name can point inside.
    if not addresses or not all(_public(address) for address in addresses):
        raise AmazonError("download_private_address", params={"target": target(url)})
