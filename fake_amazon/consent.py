"""Seller Central's consent page (``/apps/authorize/consent``).

What the website authorisation workflow needs from Seller Central:

* ``application_id`` must be a registered application's id;
* ``version=beta`` is required while the application is a draft (``MD1000``);
* ``redirect_uri`` is optional; when given it must be one of the application's
  OAuth Redirect URIs (``MD5101``); without it the first one is used, and an
  application with none gets ``MD9100``;
* on consent the seller is sent (302) to the redirect URI with
  ``spapi_oauth_code`` (single use, 5 fake minutes, bound to that redirect URI:
  LWA checks it at the exchange), ``selling_partner_id`` and ``state`` as given.

Amazon shows its errors on its own page and does not redirect; so does the
fake (400, small HTML page carrying the MD code). Amazon also insists on
https:// redirect URIs (``MD5110``); the fake does not, since the Odoo tests
and the demo run on plain http.
"""

from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode

PATH = "/apps/authorize/consent"


class ConsentError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Consent:
    app: object
    redirect_uri: str
    state: str


def check(store, params):
    """Validate consent parameters like Seller Central; raises ConsentError."""
    application_id = params.get("application_id") or ""
    app = next(
        (a for a in store.apps.values() if a.application_id == application_id), None
    )
    if app is None:
        # Amazon names no MD code for this; the page says what is wrong.
        raise ConsentError("UNKNOWN_APPLICATION", "The application could not be found.")
    if app.draft and params.get("version") != "beta":
        raise ConsentError(
            "MD1000",
            "The application is in draft state: authorise it with version=beta.",
        )
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri:
        if not app.redirect_uris:
            raise ConsentError(
                "MD9100", "The application has no valid OAuth Redirect URI."
            )
        redirect_uri = app.redirect_uris[0]
    elif redirect_uri not in app.redirect_uris:
        raise ConsentError(
            "MD5101",
            "The redirect URI is not one of the application's OAuth Redirect URIs.",
        )
    return Consent(app, redirect_uri, params.get("state"))


def redirect_location(consent, code, seller_id):
    query = {"spapi_oauth_code": code, "selling_partner_id": seller_id}
    if consent.state is not None:
        query["state"] = consent.state
    separator = "&" if "?" in consent.redirect_uri else "?"
    return consent.redirect_uri + separator + urlencode(query)


def _page(title, body):
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head><body>{body}</body></html>"
    ).encode()


def error_page(error):
    return _page(
        "Amazon Seller Central - Error",
        f"<h1>We're sorry</h1><p>Error code: <b id='error-code'>{escape(error.code)}"
        f"</b></p><p>{escape(error.message)}</p>",
    )


def confirm_page(consent, params, seller):
    """The Approve form of the demo; the tests use auto-approval."""
    hidden = "".join(
        f"<input type='hidden' name='{escape(name)}' value='{escape(value)}'>"
        for name, value in params.items()
        if name in ("application_id", "state", "redirect_uri", "version")
        and isinstance(value, str)
    )
    return _page(
        "Amazon Seller Central - Authorise application",
        f"<h1>Authorise application {escape(consent.app.application_id)}</h1>"
        f"<p>Seller {escape(seller.seller_id)} ({escape(seller.store_name)}) "
        "is asked to let this application access its data. You will be sent "
        f"back to {escape(consent.redirect_uri)}.</p>"
        f"<form method='post' action='{PATH}'>{hidden}"
        "<button type='submit'>Confirm</button></form>",
    )
