"""One exception type for every failure of a call to Amazon.

This package cannot import Odoo, so the messages are plain English templates with
``%(name)s`` placeholders.  They are wrapped in ``_lt`` so that Odoo's translation
extractor (which collects ``_lt("...")`` literals from every Python file of the
module) still puts them in the .pot file; the Odoo side renders them with
``env._(err.message_template, **err.params)`` or :meth:`AmazonError.render`.
"""

import re


def _lt(source):
    return source


# Secrets never end up in messages or logs: these patterns cover LWA refresh
# tokens (Atzr|), access tokens (Atza|) and LWA client secrets (amzn1.oa2-cs.).
SECRET_PATTERNS = re.compile(
    r"(Atz[ar]\|[^\s'\",;&}\]]+|amzn1\.oa2-cs\.[^\s'\",;&}\]]+)",
)


def redact(text):
    """Return ``text`` with anything that looks like an LWA secret masked."""
    if not text:
        return text
    return SECRET_PATTERNS.sub("[redacted]", str(text))


def unexpected_summary(error):
    """The type and first line of an unexpected exception, secrets masked: what
    users and logs are told of a failure that is not an AmazonError."""
    first_line = (str(error).strip().splitlines() or [""])[0]
    return redact(f"{type(error).__name__}: {first_line}"[:500])


MESSAGES = {
    # Login with Amazon (token endpoint) failures.
    "invalid_grant": _lt(
        "Amazon refused the seller authorisation (the refresh token was revoked "
        "or has expired). Authorise the seller account again from Seller "
        "Central. Amazon said: %(detail)s"
    ),
    "invalid_client": _lt(
        "Amazon refused the application credentials: the client ID is unknown "
        "or the client secret is wrong or has expired. Rotate the client secret "
        "or enter the current one from the Developer Console. Amazon said: "
        "%(detail)s"
    ),
    "invalid_request": _lt(
        "Login with Amazon rejected the request as invalid (for an "
        "authorisation code: the code was already used, has expired or the "
        "redirect URI does not match). Amazon said: %(detail)s"
    ),
    "unauthorized_client": _lt(
        "This application is not allowed to use this grant with Login with "
        "Amazon. Check the application in the Developer Console. Amazon said: "
        "%(detail)s"
    ),
    "lwa_error": _lt(
        "Login with Amazon refused the request (%(lwa_code)s). Amazon said: %(detail)s"
    ),
    "missing_credentials": _lt(
        "The Amazon application credentials are incomplete: a client ID and a "
        "client secret are required."
    ),
    "not_authorized": _lt(
        "No seller authorisation (refresh token) is configured for this Amazon "
        "channel. Authorise the seller account first."
    ),
    # Selling Partner API failures.
    "bad_request": _lt(
        "Amazon rejected the request as invalid (HTTP %(status)s). Amazon said: "
        "%(detail)s"
    ),
    "forbidden": _lt(
        "Amazon denied access (HTTP 403). Check that the application has the "
        "required role, that the channel uses the region of the seller's "
        "marketplaces, and that the seller authorisation is still valid. "
        "Amazon said: %(detail)s"
    ),
    "pagination_expired": _lt(
        "Amazon no longer accepts the saved page of the order search (page "
        "tokens expire after 24 hours); the search restarts from the last "
        "synchronised point. Amazon said: %(detail)s"
    ),
    "not_found": _lt(
        "Amazon does not know the requested resource (HTTP 404). Amazon said: "
        "%(detail)s"
    ),
    "throttled": _lt(
        "Amazon's rate limit for %(operation)s is used up; the work resumes on "
        "the next run (in about %(retry_after)s seconds)."
    ),
    "unavailable": _lt(
        "Amazon is temporarily unavailable (%(detail)s) after %(attempts)s "
        "attempts; the work resumes on the next run."
    ),
    "http_error": _lt(
        "Amazon answered with an unexpected HTTP status %(status)s. Amazon "
        "said: %(detail)s"
    ),
    "malformed": _lt(
        "Amazon sent a reply that could not be read (%(detail)s); the work "
        "resumes on the next run."
    ),
    "unexpected": _lt("Amazon sent a reply of an unexpected shape: %(detail)s"),
    "customization": _lt(
        "The Amazon Custom personalisation file could not be read: %(detail)s"
    ),
    # A customisation link is untrusted input: it is followed only to Amazon.
    "download_not_allowed": _lt(
        "The Amazon Custom personalisation file was not downloaded: its link "
        "leads to %(target)s, which is not an https address of Amazon's download "
        "servers."
    ),
    "download_private_address": _lt(
        "The Amazon Custom personalisation file was not downloaded: its link "
        "leads to %(target)s, which is a loopback, private or link-local address."
    ),
    "download_redirects": _lt(
        "The Amazon Custom personalisation file was not downloaded: its link "
        "redirected more than %(limit)s times."
    ),
    "feed_failed": _lt(
        "Amazon did not process the stock feed %(feed)s (status %(status)s); "
        "its quantities are sent again on the next run."
    ),
    "feed_document": _lt(
        "The stock feed document could not be transferred or read: %(detail)s"
    ),
}

REQUEST_ID_TEMPLATE = _lt("Amazon request ID: %(request_id)s")
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


class _SafeParams(dict):
    """Missing placeholders render as an empty string instead of raising."""

    def __missing__(self, key):
        return ""


class AmazonError(Exception):
    """A failed call to Amazon, with a translatable message and the request id.

    ``code`` is one of :data:`MESSAGES` keys; ``retryable`` tells the caller that
    the same call may succeed on a later run (throttling, outages, bad replies).
    """

    # Set by the client while mapping: whether Amazon may have processed the
    # request (repeating a non-idempotent call is only safe when it did not),
    # and whether Amazon rejected the access token itself (worth one renewal).
    request_sent = True
    token_problem = False

    def __init__(
        self,
        code,
        message_template=None,
        params=None,
        request_id=None,
        status=None,
        retryable=False,
    ):
        self.code = code
        self.message_template = message_template or MESSAGES.get(
            code, MESSAGES["http_error"]
        )
        self.params = {
            key: redact(value) if isinstance(value, str) else value
            for key, value in (params or {}).items()
        }
        # Odoo's env._ formats with a plain dict: every placeholder must exist.
        for name in _PLACEHOLDER.findall(self.message_template):
            self.params.setdefault(name, "")
        self.request_id = request_id
        self.status = status
        self.retryable = retryable
        super().__init__(self.message)

    @property
    def message(self):
        """The English message, without the request id."""
        return self.message_template % _SafeParams(self.params)

    def render(self, translate=None):
        """Full message incl. request id; ``translate`` is e.g. Odoo's ``env._``."""
        if translate is None:
            text = self.message
            suffix = REQUEST_ID_TEMPLATE % {"request_id": self.request_id}
        else:
            text = translate(self.message_template, **_SafeParams(self.params))
            suffix = translate(REQUEST_ID_TEMPLATE, request_id=self.request_id)
        if self.request_id:
            text = f"{text} ({suffix})"
        return redact(text)

    def __str__(self):
        return self.render()

    def __repr__(self):
        return (
            f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, "
            f"request_id={self.request_id!r})"
        )

    def __reduce__(self):
        return (
            type(self),
            (
                self.code,
                self.message_template,
                self.params,
                self.request_id,
                self.status,
                self.retryable,
            ),
        )


class ThrottledError(AmazonError):
    """The rate limit is used up; ``retry_after`` is in seconds."""

    def __init__(
        self,
        operation,
        retry_after,
        request_id=None,
        status=None,
        message_template=None,
        params=None,
        retryable=True,
    ):
        self.operation = operation
        self.retry_after = retry_after
        base = {"operation": operation, "retry_after": int(retry_after + 0.999)}
        base.update(params or {})
        super().__init__(
            "throttled",
            message_template,
            base,
            request_id=request_id,
            status=status,
            retryable=True,
        )

    def __reduce__(self):
        return (
            type(self),
            (self.operation, self.retry_after, self.request_id, self.status),
        )
