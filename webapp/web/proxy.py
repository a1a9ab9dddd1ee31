"""Running behind reverse proxies: trusted X-Forwarded-* headers, and users asserted by a trusted proxy."""

import ipaddress
import re

from flask import current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp.config import ConfigurationError
from webapp.services.access.proxy_roles import mapped_proxy_subject
from webapp.services.access.proxy_users import record_untrusted_header


def init_app(app):
    """Trust KEYDESK_PROXY_HOPS proxies for the client address, scheme, host and mount prefix."""
    hops = int(app.config.get("KEYDESK_PROXY_HOPS") or 0)
    if hops > 0:
        app.wsgi_app = PlainPrefixOnly(
            ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops))
    app.extensions["keydesk.trusted_proxies"] = parse_networks(app.config.get("KEYDESK_TRUSTED_PROXIES"))


# A mount prefix is a plain absolute path: segments of URL path characters, no `//`, no backslash.
_PLAIN_PREFIX = re.compile(r"(/[A-Za-z0-9._~%!$&'()*+;=:@-]+)*/?")


class PlainPrefixOnly:
    """Drop an `X-Forwarded-Prefix` that isn't a plain path before ProxyFix applies it: a proxy that passes a
    client's `//evil.example` on would otherwise turn every redirect into one to another site."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        prefix = environ.get("HTTP_X_FORWARDED_PREFIX")
        if prefix is not None and not all(_PLAIN_PREFIX.fullmatch(part.strip()) for part in prefix.split(",")):
            del environ["HTTP_X_FORWARDED_PREFIX"]
        return self.wsgi_app(environ, start_response)


def parse_networks(text):
    """`10.0.0.0/8, 127.0.0.1` → a tuple of networks; a bad entry stops the start-up with its name."""
    networks = []
    for part in (text or "").replace(";", ",").split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError as error:
                raise ConfigurationError(
                    f"KEYDESK_TRUSTED_PROXIES: {part.strip()!r} is not an address or network") from error
    return tuple(networks)


def peer_address():
    """The address of whoever opened the connection (the proxy itself, not what X-Forwarded-For claims)."""
    original = request.environ.get("werkzeug.proxy_fix.orig", {})
    return original.get("REMOTE_ADDR") or request.remote_addr


def _trusted(address):
    try:
        ip = ipaddress.ip_address(address)
    except (TypeError, ValueError):
        return False
    return any(ip in network for network in current_app.extensions.get("keydesk.trusted_proxies", ()))


def subject_from_proxy_header(address):
    """The proxy realm's Subject when a trusted proxy asserted a user; None otherwise.

    The header from an untrusted address is ignored and audited: it is someone trying to claim an identity.
    """
    config = current_app.config
    header = config.get("KEYDESK_PROXY_USER_HEADER")
    if not header or not current_app.extensions.get("keydesk.trusted_proxies"):
        return None
    username = request.headers.get(header)
    if username is None:
        return None
    peer = peer_address()
    if not _trusted(peer):
        record_untrusted_header(username, peer, header)
        return None
    groups_header = config.get("KEYDESK_PROXY_GROUPS_HEADER")
    groups = [g.strip() for g in request.headers.get(groups_header, "").split(",")] if groups_header else []
    default_roles = [r.strip() for r in (config.get("KEYDESK_PROXY_DEFAULT_ROLES") or "").split(",") if r.strip()]
    # Groups give roles through the role mappings (KEYDESK_PROXY_GROUP_ROLES only seeds them at init-db).
    return mapped_proxy_subject(username, groups, default_roles, address)
