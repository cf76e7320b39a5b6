"""Channel values → python-amazon-sp-api clients, and the calls Odoo makes.

Everything goes through the library's clients (``OrdersV20260101``, ``OrdersV0``,
``Sellers``, ``ApplicationManagement``) and its ``AccessTokenClient``.  The
subclasses below only fix what an Odoo server with many channels cannot live
with: credentials from anywhere but the channel, a token cache keyed on the
refresh token alone, ``https://``-only endpoints, unguarded JSON decoding and
exceptions that carry no request id.
"""

import functools
import hashlib
import itertools
import json
import logging
import random
import threading
import time
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from sp_api.api import ApplicationManagement, OrdersV0, OrdersV20260101, Sellers
from sp_api.auth import AccessTokenClient, AccessTokenResponse
from sp_api.base import SellingApiException
from sp_api.base._transport_httpx import HttpxTransport
from sp_api.base.credential_provider import (
    CredentialProvider,
    FromCodeCredentialProvider,
    MissingCredentials,
)
from sp_api.base.exceptions import MissingScopeException

from . import links, logsafe, orders
from .errors import AmazonError, ThrottledError
from .pacing import Pacer

_logger = logging.getLogger(__name__)

LWA_URL = "https://api.amazon.com/auth/o2/token"
ROTATION_SCOPE = "sellingpartnerapi::client_credential:rotation"
MAX_CUSTOMIZATION_BYTES = 50 * 1024 * 1024
# Customisation ZIPs come from S3-like links, one round trip each: a few in
# flight at once hide that latency without hammering Amazon.
DOWNLOAD_WORKERS = 4
# Access tokens live 3600 s; renew a bit early so that a token never expires
# between the cache lookup and Amazon receiving the request.
TOKEN_SAFETY_MARGIN = 300


def _digest(*parts):
    joined = "\x1f".join(part or "" for part in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChannelConfig:
    """Everything needed to talk to Amazon for one seller + application.

    Secrets are left out of ``repr()``/``str()`` so that a config showing up in
    a traceback or a log line gives nothing away.
    """

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    lwa_url: str = LWA_URL
    endpoint: str = "https://sellingpartnerapi-eu.amazon.com"
    marketplace_ids: tuple = ("A1F83G8C2ARO7P",)
    region: str = "eu-west-1"
    timeout: float = 30.0
    # Hosts customisation files may be downloaded from (see links.host_allowed);
    # the Odoo side passes its const.py table.
    download_hosts: tuple = ()

    def __post_init__(self):
        if isinstance(self.marketplace_ids, str):
            marketplace_ids = tuple(
                mp.strip() for mp in self.marketplace_ids.split(",") if mp.strip()
            )
        else:
            marketplace_ids = tuple(self.marketplace_ids or ())
        object.__setattr__(self, "marketplace_ids", marketplace_ids)
        object.__setattr__(self, "endpoint", (self.endpoint or "").rstrip("/"))
        object.__setattr__(self, "timeout", float(self.timeout or 30.0))
        object.__setattr__(self, "download_hosts", tuple(self.download_hosts or ()))
        logsafe.remember_secret(self.client_secret)
        logsafe.remember_secret(self.refresh_token)

    @property
    def app_key(self):
        """Identifies the application at one LWA server (no secret in it)."""
        return _digest(self.lwa_url, self.client_id)

    @property
    def pacing_key(self):
        """Amazon's rate limits apply per selling partner + application."""
        return _digest(self.endpoint, self.lwa_url, self.client_id, self.refresh_token)

    def replace(self, **changes):
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update(changes)
        return type(self)(**values)


# What the library's clients read from a ``Marketplaces`` member.
_Marketplace = namedtuple("_Marketplace", "endpoint marketplace_id region")


# --------------------------------------------------------------------------
# Access token cache
# --------------------------------------------------------------------------


class _TokenCache:
    """Access tokens per (LWA server, app, secret, refresh token, scope).

    The library's module-global cache is keyed on the refresh token only, so a
    rotated secret, a second app sharing a refresh token string or a revoked
    authorisation could be served a stale or foreign token.
    """

    def __init__(self, clock=time.monotonic, maxsize=1024):
        self.clock = clock
        self.maxsize = maxsize
        self._entries = {}
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            _app_key, expires_at, token = entry
            if expires_at <= self.clock():
                del self._entries[key]
                return None
            return dict(token)

    def put(self, key, app_key, token):
        try:
            lifetime = float(token.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        lifetime = max(lifetime - TOKEN_SAFETY_MARGIN, lifetime / 2)
        with self._lock:
            now = self.clock()
            if len(self._entries) >= self.maxsize:
                for stale in [k for k, e in self._entries.items() if e[1] <= now]:
                    del self._entries[stale]
                while len(self._entries) >= self.maxsize:
                    self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (app_key, now + lifetime, dict(token))

    def drop(self, key):
        with self._lock:
            self._entries.pop(key, None)

    def drop_app(self, app_key):
        with self._lock:
            for key in [k for k, e in self._entries.items() if e[0] == app_key]:
                del self._entries[key]

    def clear(self):
        with self._lock:
            self._entries.clear()

    def __len__(self):
        return len(self._entries)


TOKEN_CACHE = _TokenCache()


def _token_cache_key(lwa_url, client_id, client_secret, refresh_token, scope=""):
    # Only a digest of the secret: a key may end up in a debugger or a dump.
    # A grantless token belongs to the app, not to a seller: no refresh token.
    return _digest(
        lwa_url,
        client_id,
        _digest(client_secret),
        refresh_token if not scope else "",
        scope,
    )


def has_cached_access_token(config, scope=None):
    """Whether a live access token for exactly these credentials is cached.

    ``scope`` asks about the grantless token of that scope instead of the
    seller's token.  Lets callers (and tests) check that a rotation left no
    token of the old secret behind without touching the cache's internals.
    """
    key = _token_cache_key(
        config.lwa_url,
        config.client_id,
        config.client_secret,
        config.refresh_token,
        scope or "",
    )
    return TOKEN_CACHE.get(key) is not None


def invalidate_access_tokens(config):
    """Forget every cached access token of this channel's application.

    Call it after a client secret rotation or a new authorisation; the next
    call fetches a fresh token with the current credentials.
    """
    TOKEN_CACHE.drop_app(config.app_key)


# --------------------------------------------------------------------------
# Error mapping
# --------------------------------------------------------------------------

_TRANSIENT_STATUS = {500, 502, 503, 504}


def _request_id(headers):
    if not headers:
        return None
    return headers.get("x-amzn-RequestId") or headers.get("x-amzn-requestid")


def _transport_error(exc, sent=True):
    if isinstance(exc, httpx.TimeoutException):
        detail = "timeout"
    elif isinstance(exc, httpx.RemoteProtocolError):
        detail = "connection closed by Amazon"
    elif isinstance(exc, httpx.ConnectError):
        detail = "cannot connect"
    else:
        detail = "connection error"
    err = AmazonError(
        "unavailable", params={"detail": detail, "attempts": 1}, retryable=True
    )
    # Before the request left, even a non-idempotent call can be retried.
    err.request_sent = sent and not isinstance(
        exc, httpx.ConnectError | httpx.ConnectTimeout
    )
    return err


def _decode(response):
    """Parsed JSON body, ``None`` for an empty body, ``_NOT_JSON`` otherwise."""
    content = response.content
    if not content or not content.strip():
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


_NOT_JSON = object()


def _amazon_detail(body, response):
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        detail = ": ".join(
            str(part) for part in (first.get("code"), first.get("message")) if part
        )
        if first.get("details"):
            detail = f"{detail} ({first['details']})"
        return detail or f"HTTP {response.status_code}"
    return f"HTTP {response.status_code}"


def _token_problem(body):
    text = json.dumps(body).lower() if isinstance(body, dict) else ""
    return "token" in text and ("expired" in text or "invalid" in text)


def error_from_response(response, body, operation=None):
    """The AmazonError for a non-2xx SP-API reply (the body may be anything)."""
    status = response.status_code
    request_id = _request_id(response.headers)
    detail = _amazon_detail(body, response)
    if status == 429:
        return ThrottledError(
            operation or "request", 1.0, request_id=request_id, status=status
        )
    if status in _TRANSIENT_STATUS or status >= 500:
        err = AmazonError(
            "unavailable",
            params={"detail": f"HTTP {status}", "attempts": 1, "amazon": detail},
            request_id=request_id,
            status=status,
            retryable=True,
        )
        # 503 means the request was not processed: safe to repeat any call.
        err.request_sent = status != 503
        return err
    code = {400: "bad_request", 401: "forbidden", 403: "forbidden", 404: "not_found"}
    code = code.get(status, "http_error")
    lowered = detail.lower()
    if status == 400 and "paginationtoken" in lowered and "expired" in lowered:
        code = "pagination_expired"
    err = AmazonError(
        code,
        params={"detail": detail, "status": status},
        request_id=request_id,
        status=status,
    )
    err.token_problem = status in (401, 403) and _token_problem(body)
    return err


# --------------------------------------------------------------------------
# Library subclasses
# --------------------------------------------------------------------------


def _httpx_client(config, transport=None):
    return httpx.Client(timeout=config.timeout, transport=transport)


class LwaTokenClient(AccessTokenClient):
    """The library's token client, bound to one channel's LWA endpoint."""

    def __init__(
        self,
        refresh_token=None,
        credentials=None,
        proxies=None,
        verify=True,
        *,
        config,
        http_transport=None,
    ):
        super().__init__(
            refresh_token=refresh_token,
            credentials=credentials,
            proxies=proxies,
            verify=verify,
        )
        self.config = config
        parts = urlsplit(config.lwa_url)
        # get_auth() builds its URL as scheme + host + path.
        self.scheme = f"{parts.scheme or 'https'}://"
        self.host = parts.netloc
        self.path = parts.path or "/auth/o2/token"
        self._transport.close()
        self._transport = HttpxTransport(client=_httpx_client(config, http_transport))
        self._redirect_uri = None
        self._last_key = None
        logsafe.remember_secret(self.cred.client_secret)
        logsafe.remember_secret(self.cred.refresh_token)

    # The library calls response.json() unguarded and knows no request id.
    def _request(self, url, data, headers):
        try:
            response = self._transport.request("POST", url, data=data, headers=headers)
        except httpx.HTTPError as exc:
            raise _transport_error(exc) from None
        request_id = _request_id(response.headers)
        body = _decode(response)
        if response.status_code != 200:
            raise self._lwa_error(response, body, request_id)
        if not isinstance(body, dict) or not body.get("access_token"):
            raise AmazonError(
                "malformed",
                params={"detail": "Login with Amazon sent no access token"},
                request_id=request_id,
                status=response.status_code,
                retryable=True,
            )
        logsafe.remember_secret(body.get("access_token"))
        logsafe.remember_secret(body.get("refresh_token"))
        return body

    @staticmethod
    def _lwa_error(response, body, request_id):
        status = response.status_code
        if status >= 500 or status == 429 or not isinstance(body, dict):
            detail = f"Login with Amazon HTTP {status}"
            if status < 500 and status != 429:
                return AmazonError(
                    "malformed",
                    params={"detail": detail},
                    request_id=request_id,
                    status=status,
                    retryable=True,
                )
            err = AmazonError(
                "unavailable",
                params={"detail": detail, "attempts": 1},
                request_id=request_id,
                status=status,
                retryable=True,
            )
            err.request_sent = status not in (429, 503)
            return err
        lwa_code = str(body.get("error") or "unknown")
        detail = body.get("error_description") or lwa_code
        known = {"invalid_grant", "invalid_client", "invalid_request"}
        known.add("unauthorized_client")
        code = lwa_code if lwa_code in known else "lwa_error"
        return AmazonError(
            code,
            params={"detail": detail, "lwa_code": lwa_code},
            request_id=request_id,
            status=status,
        )

    def _get_cache_key(self, token_flavor=""):
        return _token_cache_key(
            self.config.lwa_url,
            self.cred.client_id,
            self.cred.client_secret,
            self.cred.refresh_token,
            token_flavor,
        )

    def _fetch(self, data):
        url = self.scheme + self.host + self.path
        return self._request(url, data, self.headers)

    def get_auth(self) -> AccessTokenResponse:
        if not self.cred.refresh_token:
            raise AmazonError("not_authorized")
        key = self._last_key = self._get_cache_key()
        token = TOKEN_CACHE.get(key)
        if token is None:
            token = self._fetch(self.data)
            TOKEN_CACHE.put(key, self.config.app_key, token)
        return AccessTokenResponse(**token)

    def get_grantless_auth(self, scope=ROTATION_SCOPE) -> AccessTokenResponse:
        # Unlike the library, never clear() other apps' grantless tokens.
        key = self._last_key = self._get_cache_key(scope)
        token = TOKEN_CACHE.get(key)
        if token is None:
            token = self._fetch(self.grantless_data(scope))
            TOKEN_CACHE.put(key, self.config.app_key, token)
        return AccessTokenResponse(**token)

    def refresh_now(self):
        """Fetch a new access token, ignoring (and replacing) the cached one."""
        if not self.cred.refresh_token:
            raise AmazonError("not_authorized")
        token = self._fetch(self.data)
        TOKEN_CACHE.put(self._get_cache_key(), self.config.app_key, token)
        return AccessTokenResponse(**token)

    def grantless_now(self, scope=ROTATION_SCOPE):
        """Fetch a new grantless token, ignoring (and replacing) the cached one."""
        token = self._fetch(self.grantless_data(scope))
        TOKEN_CACHE.put(self._get_cache_key(scope), self.config.app_key, token)
        return AccessTokenResponse(**token)

    def drop_cached(self):
        """Forget the token last handed out (Amazon said it is no good)."""
        TOKEN_CACHE.drop(self._last_key or self._get_cache_key())

    def _auth_code_request_body(self, auth_code):
        body = super()._auth_code_request_body(auth_code)
        # LWA requires the redirect_uri of the consent step; the library omits it.
        if self._redirect_uri:
            body["redirect_uri"] = self._redirect_uri
        return body

    def authorize_auth_code(self, auth_code, redirect_uri=None):
        self._redirect_uri = redirect_uri
        try:
            return super().authorize_auth_code(auth_code)
        finally:
            self._redirect_uri = None


def follow_next_tokens(
    fetch, token=None, repeat_detail="", max_pages=None, limit_detail=""
):
    """Pages of ``fetch(token)``, following each page's ``next_token``.

    Amazon handing back a token it gave before would loop for ever: that, or
    ``max_pages`` pages still asking for more (``limit_detail`` says so), is an
    unexpected answer.
    """
    seen = set()
    for _page in itertools.count() if max_pages is None else range(max_pages):
        page = fetch(token)
        yield page
        if not page.next_token:
            return
        if page.next_token in seen:
            raise AmazonError(
                "unexpected",
                params={"detail": repeat_detail},
                request_id=page.request_id,
            )
        seen.add(page.next_token)
        token = page.next_token
    raise AmazonError("unexpected", params={"detail": limit_detail})


class _ChannelClientMixin:
    """Bind a library client to a ChannelConfig and make its failures typed."""

    def __init__(self, config, *, http_transport=None):
        marketplace = _Marketplace(
            config.endpoint,
            config.marketplace_ids[0] if config.marketplace_ids else None,
            config.region,
        )
        credentials = {
            "lwa_app_id": config.client_id,
            "lwa_client_secret": config.client_secret,
            "refresh_token": config.refresh_token,
        }
        super().__init__(
            marketplace,
            refresh_token=config.refresh_token,
            credentials=credentials,
            # Only the channel's own values: never env vars or config files.
            credential_providers=(FromCodeCredentialProvider,),
            timeout=config.timeout,
            auth_token_client_class=functools.partial(
                LwaTokenClient, config=config, http_transport=http_transport
            ),
        )
        self.config = config
        # SP_API_DEFAULT_MARKETPLACE in the environment would replace these.
        self.endpoint = marketplace.endpoint
        self.marketplace_id = marketplace.marketplace_id
        self.region = marketplace.region
        self._host = urlsplit(config.endpoint).netloc
        self._transport.close()
        self._transport = HttpxTransport(client=_httpx_client(config, http_transport))
        self.operation = None
        self.last_response = None
        self.last_json = None

    @property
    def token_client(self):
        return self._auth

    @property
    def headers(self):
        headers = super().headers
        # The library derives host as endpoint[8:], which assumes https://.
        headers["host"] = self._host
        return headers

    def _request(self, path, *, headers=None, **kwargs):
        self.last_response = self.last_json = None
        try:
            headers = dict(headers or self.headers)
            headers["host"] = self._host
            return super()._request(path, headers=headers, **kwargs)
        except AmazonError:
            raise
        except httpx.HTTPError as exc:
            raise _transport_error(exc) from None
        except SellingApiException as exc:
            # Only reached for a 2xx reply carrying "errors".
            raise AmazonError(
                "unexpected",
                params={"detail": str(getattr(exc, "message", "")) or "errors"},
                request_id=_request_id(exc.headers),
            ) from None
        except (MissingCredentials, MissingScopeException):
            raise AmazonError("missing_credentials") from None

    def _check_response(self, res, res_no_data=False, bulk=False, wrap_list=False):
        self.last_response = res
        body = _decode(res)
        if res.status_code >= 400:
            raise error_from_response(res, body, self.operation)
        if body is _NOT_JSON:
            # The library would turn this into an empty, successful payload.
            raise AmazonError(
                "malformed",
                params={"detail": "the reply is not valid JSON (truncated?)"},
                request_id=_request_id(res.headers),
                status=res.status_code,
                retryable=True,
            )
        if res.status_code >= 300:
            raise AmazonError(
                "http_error",
                params={"detail": res.headers.get("location", ""), "status": 300},
                request_id=_request_id(res.headers),
                status=res.status_code,
            )
        self.last_json = body
        try:
            return super()._check_response(res, res_no_data, bulk, wrap_list)
        except (AttributeError, TypeError, IndexError, KeyError):
            # e.g. a JSON list or scalar where the library expects an object.
            raise AmazonError(
                "malformed",
                params={"detail": "the reply has an unexpected structure"},
                request_id=_request_id(res.headers),
                status=res.status_code,
                retryable=True,
            ) from None


class _OrdersApi(_ChannelClientMixin, OrdersV20260101):
    pass


class _OrdersV0Api(_ChannelClientMixin, OrdersV0):
    pass


class _SellersApi(_ChannelClientMixin, Sellers):
    pass


class _ApplicationApi(_ChannelClientMixin, ApplicationManagement):
    def _request(self, path, *, add_marketplace=True, **kwargs):
        # rotateApplicationClientSecret has no body; the library would add
        # marketplaceIds to it.
        return super()._request(path, add_marketplace=False, **kwargs)


# --------------------------------------------------------------------------
# Public client
# --------------------------------------------------------------------------


class AmazonClient:
    """Calls to Amazon for one channel, paced, retried and with typed errors.

    ``max_wait`` bounds every single sleep (pacing, backoff, 429): a job that
    would have to wait longer gets ``ThrottledError`` and resumes next run.
    ``retries`` is the number of repeats after a transient failure.
    Not thread-safe: build one per job (the pacer and token cache are shared).
    """

    def __init__(
        self,
        config,
        pacer=None,
        max_wait=5.0,
        sleep=time.sleep,
        clock=time.monotonic,
        retries=3,
        *,
        backoff=0.5,
        jitter=random.random,
        http_transport=None,
        resolver=links.resolve,
    ):
        if not isinstance(config, ChannelConfig):
            raise TypeError("AmazonClient needs a ChannelConfig")
        self.config = config
        self.pacer = (
            pacer
            if pacer is not None
            else Pacer.for_key(config.pacing_key, clock=clock)
        )
        self.max_wait = float(max_wait)
        self.sleep = sleep
        self.clock = clock
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.jitter = jitter
        self.http_transport = http_transport
        # How download hosts are resolved before their addresses are checked.
        self.resolver = resolver
        self.last_request_id = None
        self._apis = {}
        # One HTTP client for all downloads: building one loads the CA bundle
        # (~20 ms), and it keeps the connections alive between files.
        self._download_http = None
        self._download_lock = threading.Lock()

    def __repr__(self):
        return f"AmazonClient({self.config!r})"

    # -- plumbing -----------------------------------------------------------

    def _api(self, cls):
        api = self._apis.get(cls)
        if api is None:
            try:
                api = cls(self.config, http_transport=self.http_transport)
            except MissingCredentials:
                raise AmazonError("missing_credentials") from None
            self._apis[cls] = api
        return api

    def _token_client(self):
        try:
            credentials = CredentialProvider(
                credentials={
                    "lwa_app_id": self.config.client_id,
                    "lwa_client_secret": self.config.client_secret,
                    "refresh_token": self.config.refresh_token,
                },
                credential_providers=(FromCodeCredentialProvider,),
            ).credentials
        except MissingCredentials:
            raise AmazonError("missing_credentials") from None
        return LwaTokenClient(
            refresh_token=self.config.refresh_token,
            credentials=credentials,
            config=self.config,
            http_transport=self.http_transport,
        )

    def close(self):
        for api in self._apis.values():
            api.close()
        self._apis.clear()
        with self._download_lock:
            if self._download_http is not None:
                self._download_http.close()
                self._download_http = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _backoff_delay(self, attempt):
        delay = min(self.max_wait, self.backoff * 2 ** (attempt - 1))
        # Equal jitter: spread retries of parallel jobs, keep a minimum pause.
        return delay / 2 + self.jitter() * delay / 2

    def _observe(self, operation, api):
        response = getattr(api, "last_response", None)
        if response is None:
            return
        self.last_request_id = _request_id(response.headers)
        limit = response.headers.get("x-amzn-RateLimit-Limit")
        if operation and limit:
            self.pacer.update_rate(operation, limit)

    def _call(self, operation, api, func, idempotent=True):
        attempt = 0
        token_renewed = skip_pacing = False
        while True:
            attempt += 1
            if operation and not skip_pacing:
                self.pacer.acquire(operation, self.max_wait, self.sleep)
            skip_pacing = False
            if api is not None:
                api.operation = operation
            try:
                result = func()
            except ThrottledError as err:
                self._observe(operation, api)
                wait = self.pacer.throttled(operation) if operation else 1.0
                if attempt <= self.retries and wait <= self.max_wait:
                    if not operation:
                        self.sleep(wait)
                    continue
                raise ThrottledError(
                    operation or "request",
                    wait,
                    request_id=err.request_id,
                    status=err.status,
                ) from None
            except AmazonError as err:
                self._observe(operation, api)
                if (
                    getattr(err, "token_problem", False)
                    and not token_renewed
                    and api is not None
                ):
                    # Amazon rejected a token we still had cached (revoked or
                    # expired early): fetch a fresh one once.
                    api.token_client.drop_cached()
                    # Amazon refused the request before its rate limiter
                    # counted it: do not pay a pacing token twice.
                    token_renewed = skip_pacing = True
                    attempt -= 1
                    continue
                can_repeat = idempotent or not getattr(err, "request_sent", True)
                if err.retryable and can_repeat and attempt <= self.retries:
                    delay = self._backoff_delay(attempt)
                    _logger.info(
                        "Amazon %s failed (%s), retrying in %.1fs",
                        operation or "call",
                        err.code,
                        delay,
                    )
                    self.sleep(delay)
                    continue
                if err.code == "unavailable":
                    err.params["attempts"] = attempt
                    err.args = (err.message,)
                raise
            self._observe(operation, api)
            return result

    # -- orders -------------------------------------------------------------

    def search_orders(
        self,
        created_after=None,
        last_updated_after=None,
        created_before=None,
        last_updated_before=None,
        fulfillment_statuses=None,
        fulfilled_by=None,
        max_results=orders.MAX_RESULTS_PER_PAGE,
        pagination_token=None,
        included_data=orders.INCLUDED_DATA,
    ):
        """One page of searchOrders (Orders API 2026-01-01)."""
        params = orders.search_params(
            self.config.marketplace_ids,
            created_after=created_after,
            last_updated_after=last_updated_after,
            created_before=created_before,
            last_updated_before=last_updated_before,
            fulfillment_statuses=fulfillment_statuses,
            fulfilled_by=fulfilled_by,
            max_results=max_results,
            pagination_token=pagination_token,
            included_data=included_data,
        )
        api = self._api(_OrdersApi)
        self._call("searchOrders", api, lambda: api.search_orders(**dict(params)))
        return orders.parse_search_page(
            api.last_json,
            by_last_update=last_updated_after is not None,
            request_id=self.last_request_id,
        )

    def iter_orders(self, **kwargs):
        """Pages of searchOrders, following nextToken with the same filters."""
        token = kwargs.pop("pagination_token", None)
        return follow_next_tokens(
            lambda next_token: self.search_orders(
                pagination_token=next_token, **kwargs
            ),
            token,
            repeat_detail="searchOrders repeats a pagination token",
        )

    def get_order(self, order_id, included_data=orders.INCLUDED_DATA):
        """One order (Orders API 2026-01-01 getOrder) with all included data."""
        if not order_id:
            raise ValueError("order_id is required")
        kwargs = {}
        included = orders.as_list(included_data, orders.INCLUDED_DATA, "included data")
        if included:
            kwargs["includedData"] = included
        api = self._api(_OrdersApi)
        self._call("getOrder", api, lambda: api.get_order(order_id, **dict(kwargs)))
        return orders.parse_order(api.last_json, request_id=self.last_request_id)

    # -- sellers, credentials -----------------------------------------------

    def get_marketplace_participations(self):
        api = self._api(_SellersApi)
        self._call(
            "getMarketplaceParticipations", api, api.get_marketplace_participation
        )
        return orders.parse_participations(
            api.last_json, request_id=self.last_request_id
        )

    def check_credentials(self):
        """Get a new access token now; AmazonError if Amazon refuses."""
        lwa = self._token_client()
        self._call(None, None, lwa.refresh_now)
        return True

    def check_client_credentials(self, scope=ROTATION_SCOPE):
        """Have Login with Amazon accept the client ID and secret, now.

        A client_credentials (grantless) grant needs no refresh token, so a
        secret can be checked before any seller has authorised the app.  The
        default scope is the one of the Application Management API: Amazon
        lists no role for it, so every SP-API application may ask for it,
        whereas the notifications scope serves an API the app may never use.
        Any cached token is ignored; AmazonError (e.g. ``invalid_client``) if
        Amazon refuses.
        """
        lwa = self._token_client()
        self._call(None, None, lambda: lwa.grantless_now(scope))
        return True

    def exchange_authorization_code(self, code, redirect_uri):
        """Trade the code from the consent redirect for a refresh token."""
        if not code or not redirect_uri:
            raise ValueError("code and redirect_uri are required")
        lwa = self._token_client()
        # An authorisation code is single-use: never repeat a sent request.
        body = self._call(
            None,
            None,
            lambda: lwa.authorize_auth_code(code, redirect_uri),
            idempotent=False,
        )
        refresh_token = body.get("refresh_token")
        if not refresh_token or not isinstance(refresh_token, str):
            raise AmazonError(
                "malformed",
                params={"detail": "Login with Amazon sent no refresh token"},
                request_id=self.last_request_id,
            )
        logsafe.remember_secret(refresh_token)
        return refresh_token

    def rotate_client_secret(self):
        """Ask Amazon for a new client secret (delivered to the app's queue)."""
        api = self._api(_ApplicationApi)
        self._call(
            "rotateApplicationClientSecret",
            api,
            api.rotate_application_client_secret,
            idempotent=False,
        )
        invalidate_access_tokens(self.config)
        return True

    # -- shipping -------------------------------------------------------------

    def confirm_shipment(self, order_id, marketplace_id, package_detail):
        """Orders API v0 confirmShipment (not deprecated, unlike getOrders)."""
        if not order_id or not marketplace_id or not package_detail:
            raise ValueError("order_id, marketplace_id and package_detail are required")
        detail = dict(package_detail)
        if isinstance(detail.get("shipDate"), datetime):
            detail["shipDate"] = orders.to_iso(detail["shipDate"])
        api = self._api(_OrdersV0Api)
        self._call(
            "confirmShipment",
            api,
            lambda: api.confirm_shipment(
                order_id, marketplaceId=marketplace_id, packageDetail=dict(detail)
            ),
        )
        return True

    # -- Amazon Custom ------------------------------------------------------

    def download_customization(self, url):
        """The Amazon Custom ZIP behind an order item's customizedUrl."""
        if not url:
            raise ValueError("a customisation URL is required")
        if not str(url).lower().startswith(("https://", "http://")):
            # ftp:, file:, data:… are refused like any link off Amazon's hosts.
            scheme = str(url).split(":", 1)[0][:20] if ":" in str(url) else "?"
            raise AmazonError(
                "download_not_allowed", params={"target": f"{scheme}://…"}
            )
        return self._call(None, None, lambda: self._download(url))

    def download_customizations(self, urls, workers=DOWNLOAD_WORKERS):
        """Several customisation ZIPs at once, in the order of ``urls``.

        One failure does not stop the others: each result is either the
        file's bytes or the exception (AmazonError, ValueError) it raised.
        """
        urls = list(urls)

        def fetch(url):
            try:
                return self.download_customization(url)
            except (AmazonError, ValueError) as error:
                return error

        if len(urls) <= 1 or workers <= 1:
            return [fetch(url) for url in urls]
        with ThreadPoolExecutor(
            max_workers=min(workers, len(urls)), thread_name_prefix="amazon-custom"
        ) as pool:
            return list(pool.map(fetch, urls))

    def _download_client(self):
        with self._download_lock:
            if self._download_http is None:
                self._download_http = _httpx_client(self.config, self.http_transport)
            return self._download_http

    def _download(self, url):
        http = self._download_client()
        try:
            link = httpx.URL(url)
            with logsafe.hidden_urls():
                # Redirects are followed here, not by httpx, so that every hop
                # passes the same checks as the link itself.
                for _hop in range(links.MAX_REDIRECTS + 1):
                    links.check(link, self.config, self.resolver)
                    with http.stream("GET", link, follow_redirects=False) as response:
                        if not response.is_redirect:
                            return self._read_download(response)
                        link = response.url.join(response.headers["location"])
        except httpx.InvalidURL:
            # Not an httpx.HTTPError: it would escape as a crash of the page.
            raise AmazonError(
                "customization", params={"detail": "the link is not a valid address"}
            ) from None
        except httpx.HTTPError as exc:
            raise _transport_error(exc) from None
        raise AmazonError("download_redirects", params={"limit": links.MAX_REDIRECTS})

    @staticmethod
    def _read_download(response):
        request_id = _request_id(response.headers)
        if response.status_code >= 300:
            response.read()
            if response.status_code >= 500 or response.status_code == 429:
                raise AmazonError(
                    "unavailable",
                    params={
                        "detail": f"HTTP {response.status_code}",
                        "attempts": 1,
                    },
                    request_id=request_id,
                    status=response.status_code,
                    retryable=True,
                )
            raise AmazonError(
                "customization",
                params={
                    "detail": "download refused "
                    f"(HTTP {response.status_code}); the link may have expired"
                },
                request_id=request_id,
                status=response.status_code,
            )
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_CUSTOMIZATION_BYTES:
                raise AmazonError(
                    "customization",
                    params={"detail": "the file is too large"},
                    request_id=request_id,
                )
            chunks.append(chunk)
        return b"".join(chunks)


logsafe.install(_logger)
