"""Keep LWA secrets out of log output.

python-amazon-sp-api logs the request headers, incl. ``x-amz-access-token``, at
DEBUG on ``sp_api.base.client``; anybody running Odoo with
``--log-handler=sp_api:DEBUG`` would write live tokens to the log file.  A filter
on every logger that sees our traffic rewrites such records before any handler
formats them.  Logger filters are not inherited by child loggers, hence one per
logger.
"""

import contextlib
import logging
import re
import threading
from collections import OrderedDict

from .errors import redact

# Values that do not match the Amazon token patterns (a sandbox or test secret,
# a freshly fetched access token) are redacted by exact match as well.
_KNOWN = OrderedDict()
_KNOWN_LIMIT = 2000
_known_lock = threading.Lock()

WATCHED_PREFIXES = ("sp_api", "httpx", "httpcore")

# A customisation link is signed in its path (zme-caps.amazon.com/t/<token>)
# or its query (S3's X-Amz-Signature): while one is fetched, httpx's request
# lines keep only the scheme and host of every URL.  httpx and httpcore log
# from the thread that sends the request, hence a per-thread switch.
_URL_TAIL = re.compile(r"(\bhttps?://[^/\s?#'\"]+)[/?#][^\s'\"]*", re.IGNORECASE)
# Outside a download, a presigned query is still masked wherever it shows up.
_SIGNED_QUERY = re.compile(
    r"\?([^\s'\"#]*(?:x-amz-(?:signature|credential|security-token)|signature=)"
    r"[^\s'\"#]*)",
    re.IGNORECASE,
)
_hiding = threading.local()


@contextlib.contextmanager
def hidden_urls():
    """Mask the path and query of any URL logged by this thread meanwhile."""
    depth = getattr(_hiding, "depth", 0)
    _hiding.depth = depth + 1
    try:
        yield
    finally:
        _hiding.depth = depth


def remember_secret(value):
    """Redact ``value`` wherever it would show up in a log record."""
    if not value or not isinstance(value, str) or len(value) < 6:
        return
    with _known_lock:
        _KNOWN[value] = True
        _KNOWN.move_to_end(value)
        while len(_KNOWN) > _KNOWN_LIMIT:
            _KNOWN.popitem(last=False)


def scrub(text):
    text = redact(text)
    if not text:
        return text
    if getattr(_hiding, "depth", 0):
        text = _URL_TAIL.sub(r"\1/[redacted]", text)
    text = _SIGNED_QUERY.sub("?[redacted]", text)
    with _known_lock:
        known = list(_KNOWN)
    for value in known:
        if value in text:
            text = text.replace(value, "[redacted]")
    return text


class SecretFilter(logging.Filter):
    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record must not break logging
            message = str(record.msg)
        cleaned = scrub(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            # Tracebacks embed exception messages (e.g. a URL with a token).
            record.exc_text = scrub(
                logging.Formatter().formatException(record.exc_info)
            )
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


_FILTER = SecretFilter()


def protect_logger(logger):
    if not any(isinstance(f, SecretFilter) for f in logger.filters):
        logger.addFilter(_FILTER)


def install(*extra_loggers):
    """Attach the filter to the library's and httpx's loggers (idempotent)."""
    names = set(WATCHED_PREFIXES)
    names.update(
        name
        for name in list(logging.root.manager.loggerDict)
        if name.split(".")[0] in WATCHED_PREFIXES
    )
    names.update(("sp_api.base.client", "sp_api.auth.access_token_client"))
    for name in names:
        protect_logger(logging.getLogger(name))
    for logger in extra_loggers:
        protect_logger(logger)
