# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import time
from datetime import date, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

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
        cls.app = cls.fake.add_app()
        cls.fake.add_seller(SELLER_ID, ["A1F83G8C2ARO7P", "A1PA6795UKMFR9"])
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
        self.assertTrue(
            response.headers["Location"].endswith(
                f"/odoo/amazon.account/{self.account.id}"
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
