# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import time
from datetime import date, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.sale_amazon_spapi import const
from odoo.addons.sale_amazon_spapi.amazon import Pacer
from odoo.addons.sale_amazon_spapi.fake_amazon import FakeAmazon

SELLER_ID = "A3FAKESELLER01"
LOGGER = "odoo.addons.sale_amazon_spapi.controllers.main"


@tagged("post_install", "-at_install")
class TestAuthorizeCallback(HttpCase):
    """From an empty channel to an authorised one, through the OAuth callback."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = FakeAmazon().start()
        cls.addClassCleanup(cls.fake.stop)
        # The redirect URI registered in the Developer Console is this database's.
        cls.app = cls.fake.add_app(
            redirect_uris=[cls.base_url() + const.OAUTH_CALLBACK_ROUTE]
        )
        cls.fake.add_seller(SELLER_ID, ["A1F83G8C2ARO7P", "A1PA6795UKMFR9"])
        # The seller signed in to (fake) Seller Central when consenting.
        cls.fake.consent_seller_id = SELLER_ID
        cls.admin = new_test_user(
            cls.env,
            "amazon_admin",
            "base.group_system,sale_amazon_spapi.group_amazon_manager",
        )
        cls.manager = new_test_user(
            cls.env,
            "amazon_manager",
            "base.group_user,sale_amazon_spapi.group_amazon_manager",
        )
        cls.account = cls.env["amazon.account"].create(
            {
                "name": "Amazon EU",
                "seller_central_domain": "UK",
                "lwa_client_id": cls.app.client_id,
                "lwa_client_secret": cls.app.client_secret,
                "application_id": cls.app.application_id,
                "lwa_auth_url": cls.fake.lwa_url,
                "sp_api_endpoint": cls.fake.base_url,
            }
        )

    def setUp(self):
        super().setUp()
        Pacer.forget()

    def start_consent(self, user=None, timestamp=None):
        """What the wizard and Seller Central do before the callback."""
        user = user or self.admin
        state = self.account.with_user(user)._amazon_oauth_state(timestamp=timestamp)
        code = self.fake.issue_auth_code(
            self.app.client_id, self.account._get_amazon_redirect_uri(), SELLER_ID
        )
        return state, code

    def callback(self, login="amazon_admin", **params):
        self.authenticate(login, login + "x" * (8 - len(login)))
        url = f"{const.OAUTH_CALLBACK_ROUTE}?{urlencode(params)}"
        response = self.url_open(url, allow_redirects=False)
        self.env.invalidate_all()
        return response

    def assert_refused(self, response, status, text, code=None):
        self.assertEqual(response.status_code, status)
        self.assertIn("was not authorised", response.text)
        self.assertIn(text, response.text)
        self.assertFalse(self.account.sudo().lwa_refresh_token)
        self.assertFalse(self.account.refresh_token_authorized_on)
        if code:
            self.assertFalse(self.fake.store.auth_codes[code].used)

    def test_callback_success(self):
        state, code = self.start_consent()
        response = self.callback(
            state=state, spapi_oauth_code=code, selling_partner_id=SELLER_ID
        )
        self.assertEqual(response.status_code, 303)
        # The web client tells the outcome from the URL (amazon_authorised.js).
        self.assertTrue(
            response.headers["Location"].endswith(
                "/odoo/action-sale_amazon_spapi.action_amazon_account/"
                f"{self.account.id}?amazon_authorised=ok"
            )
        )
        account = self.account.sudo()
        token = account.lwa_refresh_token
        self.assertIn(token, self.fake.store.refresh_tokens)
        self.assertEqual(self.fake.store.refresh_tokens[token].seller_id, SELLER_ID)
        self.assertEqual(account.seller_id, SELLER_ID)
        self.assertEqual(account.refresh_token_authorized_on, date.today())
        self.assertEqual(
            account.refresh_token_expires_on, date.today() + timedelta(days=365)
        )
        self.assertFalse(account.lwa_oauth_nonce)
        # The connection was tested right away with the new token.
        self.assertEqual(account.connection_state, "ok")
        self.assertEqual(account.credentials_status, "ok")
        message = account.message_ids.filtered(lambda m: SELLER_ID in m.body)
        self.assertEqual(len(message), 1)
        self.assertIn("through Seller Central", message.body)
        for secret in (token, code, self.app.client_secret, state):
            self.assertNotIn(secret, message.body)

    def test_wizard_to_callback(self):
        """Empty channel → wizard → (Seller Central) → callback → tested channel."""
        account = self.account.with_user(self.admin)
        action = account.action_open_authorize_wizard()
        wizard = (
            self.env[action["res_model"]].with_user(self.admin).browse(action["res_id"])
        )
        self.assertEqual(wizard.redirect_uri, account._get_amazon_redirect_uri())
        consent = urlsplit(wizard.action_open_consent()["url"])
        self.assertEqual(consent.netloc, "sellercentral.amazon.co.uk")
        query = parse_qs(consent.query)
        self.assertEqual(query["application_id"], [self.app.application_id])
        # What Seller Central does once the seller confirms: a code for the
        # redirect URI of the consent link, back to it with the same state.
        code = self.fake.issue_auth_code(
            self.app.client_id, query["redirect_uri"][0], SELLER_ID
        )
        response = self.callback(
            state=query["state"][0],
            spapi_oauth_code=code,
            selling_partner_id=SELLER_ID,
        )
        self.assertEqual(response.status_code, 303)
        self.assertEqual(self.account.credentials_status, "ok")
        self.assertEqual(self.account.connection_state, "ok")
        self.assertEqual(self.account.seller_id, SELLER_ID)
        # The test connection offers the seller's marketplaces.
        result = self.account.action_test_connection()
        test = self.env[result["res_model"]].browse(result["res_id"])
        test.action_set_marketplaces()
        self.assertEqual(set(self.account.marketplace_ids.mapped("code")), {"UK", "DE"})

    def test_callback_forged_state(self):
        state, code = self.start_consent()
        forged = state[:-4] + ("0000" if not state.endswith("0000") else "1111")
        with self.assertLogs(LOGGER, "WARNING"):
            response = self.callback(
                state=forged, spapi_oauth_code=code, selling_partner_id=SELLER_ID
            )
        self.assert_refused(response, 403, "not valid", code)

    def test_callback_replayed_state(self):
        state, code = self.start_consent()
        first = self.callback(
            state=state, spapi_oauth_code=code, selling_partner_id=SELLER_ID
        )
        self.assertEqual(first.status_code, 303)
        stored = self.account.sudo().lwa_refresh_token
        _state, second_code = self.start_consent()
        with self.assertLogs(LOGGER, "WARNING"):
            response = self.callback(
                state=state, spapi_oauth_code=second_code, selling_partner_id=SELLER_ID
            )
        self.assertEqual(response.status_code, 403)
        self.assertIn("already used", response.text)
        self.assertEqual(self.account.sudo().lwa_refresh_token, stored)
        self.assertFalse(self.fake.store.auth_codes[second_code].used)

    def test_callback_expired_state(self):
        old = time.time() - const.OAUTH_STATE_TTL - 60
        state, code = self.start_consent(timestamp=old)
        with self.assertLogs(LOGGER, "WARNING"):
            response = self.callback(
                state=state, spapi_oauth_code=code, selling_partner_id=SELLER_ID
            )
        self.assert_refused(response, 403, "expired", code)

    def test_callback_expired_code(self):
        state, code = self.start_consent()
        self.fake.advance(301)
        response = self.callback(
            state=state, spapi_oauth_code=code, selling_partner_id=SELLER_ID
        )
        self.assert_refused(response, 400, "5 minutes")
        # The state is used up all the same: a new consent is needed.
        self.assertFalse(self.account.sudo().lwa_oauth_nonce)

    def test_callback_user_without_rights(self):
        state, code = self.start_consent(user=self.manager)
        with self.assertLogs(LOGGER, "WARNING"):
            response = self.callback(
                login="amazon_manager",
                state=state,
                spapi_oauth_code=code,
                selling_partner_id=SELLER_ID,
            )
        self.assert_refused(response, 403, "Only an administrator", code)

    def test_callback_amazon_error(self):
        state, _code = self.start_consent()
        response = self.callback(state=state, error="MD1000")
        self.assert_refused(response, 400, "version=beta")

    def open_consent(self, draft=False):
        """The administrator's Authorise wizard: the consent URL it opens."""
        account = self.account.with_user(self.admin)
        action = account.action_open_authorize_wizard()
        wizard = (
            self.env[action["res_model"]].with_user(self.admin).browse(action["res_id"])
        )
        wizard.draft_application = draft
        self.assertTrue(wizard.consent_preview.startswith(self.fake.seller_central_url))
        return wizard.action_open_consent()["url"]

    def test_consent_page_to_callback(self):
        """Wizard → fake Seller Central consent → callback: nobody plays Amazon."""
        self.account.seller_central_url_override = self.fake.seller_central_url
        self.fake.calls.clear()
        url = self.open_consent()
        consent = urlsplit(url)
        self.assertEqual(
            f"{consent.scheme}://{consent.netloc}{consent.path}",
            self.fake.seller_central_url + "/apps/authorize/consent",
        )
        self.authenticate("amazon_admin", "amazon_admin")
        # Seller Central's 302 to the callback, the callback's 303 to the channel.
        response = self.url_open(url)
        self.env.invalidate_all()
        self.assertEqual([r.status_code for r in response.history], [302, 303])
        back = response.history[0].headers["Location"]
        self.assertTrue(back.startswith(self.account._get_amazon_redirect_uri() + "?"))
        self.assertEqual(response.status_code, 200)
        self.assertTrue(
            response.url.endswith(
                "/odoo/action-sale_amazon_spapi.action_amazon_account/"
                f"{self.account.id}?amazon_authorised=ok"
            )
        )
        self.assertEqual([c.status for c in self.fake.calls_to("consent")], [302])
        code = parse_qs(urlsplit(back).query)["spapi_oauth_code"][0]
        self.assertTrue(self.fake.store.auth_codes[code].used)
        account = self.account.sudo()
        token = account.lwa_refresh_token
        self.assertIn(token, self.fake.store.refresh_tokens)
        self.assertEqual(self.fake.store.refresh_tokens[token].seller_id, SELLER_ID)
        self.assertEqual(account.seller_id, SELLER_ID)
        self.assertEqual(account.refresh_token_authorized_on, date.today())
        self.assertEqual(
            account.refresh_token_expires_on, date.today() + timedelta(days=365)
        )
        self.assertFalse(account.lwa_oauth_nonce)
        self.assertEqual(account.connection_state, "ok")
        self.assertEqual(account.credentials_status, "ok")
        for secret in (token, code, self.app.client_secret):
            self.assertNotIn(secret, response.text)

    def test_consent_page_draft_without_beta(self):
        """A draft app without version=beta stops at Amazon's MD1000 page."""
        self.patch(self.app, "draft", True)
        self.account.seller_central_url_override = self.fake.seller_central_url
        self.fake.calls.clear()
        codes = set(self.fake.store.auth_codes)
        url = self.open_consent(draft=False)
        self.authenticate("amazon_admin", "amazon_admin")
        response = self.url_open(url)
        self.env.invalidate_all()
        self.assertEqual(response.status_code, 400)
        self.assertFalse(response.history)  # Amazon's own page: no way back
        self.assertTrue(response.url.startswith(self.fake.seller_central_url))
        self.assertIn("MD1000", response.text)
        self.assertEqual(set(self.fake.store.auth_codes), codes)
        account = self.account.sudo()
        self.assertFalse(account.lwa_refresh_token)
        self.assertFalse(account.refresh_token_authorized_on)
        self.assertFalse(account.seller_id)
        self.assertEqual(account.credentials_status, "missing")
        # Ticking 'Draft application' in the wizard is the way out.
        response = self.url_open(self.open_consent(draft=True))
        self.env.invalidate_all()
        self.assertEqual([r.status_code for r in response.history], [302, 303])
        self.assertTrue(self.account.sudo().lwa_refresh_token)
        self.assertEqual(self.account.credentials_status, "ok")

    def test_consent_url_override(self):
        """The override swaps Seller Central's host and nothing else."""
        self.account.seller_central_domain = "DE"
        plain = urlsplit(self.account._get_amazon_consent_url("S.1", draft=True))
        self.assertEqual(plain.netloc, "sellercentral.amazon.de")
        self.account.seller_central_url_override = self.fake.seller_central_url + "/"
        url = urlsplit(self.account._get_amazon_consent_url("S.1", draft=True))
        self.assertEqual(f"{url.scheme}://{url.netloc}", self.fake.seller_central_url)
        self.assertEqual((url.path, url.query), (plain.path, plain.query))
        # A manager's consent URL (were one built) follows the override too.
        manager_url = self.account.with_user(self.manager)._get_amazon_consent_url("S")
        self.assertTrue(manager_url.startswith(self.fake.seller_central_url))
        self.assertNotIn(
            "seller_central_url_override",
            self.env["amazon.account"].with_user(self.manager).fields_get(),
        )
        for bad in ("sellercentral.amazon.de", "ftp://x.example.com", "http://x.com"):
            with self.subTest(bad=bad), self.assertRaises(ValidationError):
                self.account.seller_central_url_override = bad
                self.account.flush_recordset()
        self.account.seller_central_url_override = "https://sellercentral.amazon.de"
        self.account.flush_recordset()

    def test_callback_with_failing_connection_test(self):
        """Authorised, but the test right after fails: the client warns, it does
        not congratulate."""
        self.fake.inject_fault(
            "getMarketplaceParticipations", "status", times=10, status=403
        )
        self.addCleanup(self.fake.clear_faults)
        state, code = self.start_consent()
        response = self.callback(
            state=state, spapi_oauth_code=code, selling_partner_id=SELLER_ID
        )
        self.assertEqual(response.status_code, 303)
        self.assertTrue(
            response.headers["Location"].endswith(
                f"/{self.account.id}?amazon_authorised=check"
            )
        )
        account = self.account.sudo()
        self.assertTrue(account.lwa_refresh_token)
        self.assertEqual(account.connection_state, "failed")
