# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import time
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, new_test_user, tagged

from odoo.addons.sale_amazon_spapi import const
from odoo.addons.sale_amazon_spapi.amazon import (
    ROTATION_SCOPE,
    Pacer,
    has_cached_access_token,
)
from odoo.addons.sale_amazon_spapi.fake_amazon import FakeAmazon

from .common import AmazonCommon

RT_ACTIVITY = "sale_amazon_spapi.mail_activity_type_amazon_refresh_token"
CS_ACTIVITY = "sale_amazon_spapi.mail_activity_type_amazon_client_secret"
SELLER_ID = "A3FAKESELLER01"


class FakeAmazonChannel(TransactionCase):
    """A channel whose application is known to a fake Amazon on 127.0.0.1."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.fake = FakeAmazon().start()
        cls.addClassCleanup(cls.fake.stop)
        cls.uk = cls.env.ref("sale_amazon_spapi.marketplace_uk")
        cls.de = cls.env.ref("sale_amazon_spapi.marketplace_de")
        cls.fr = cls.env.ref("sale_amazon_spapi.marketplace_fr")
        cls.us = cls.env.ref("sale_amazon_spapi.marketplace_us")
        cls.app = cls.fake.add_app()
        cls.account = cls.env["amazon.account"].create(
            {
                "name": "Amazon EU",
                "seller_central_domain": "UK",
                "marketplace_ids": [Command.set(cls.uk.ids)],
                "lwa_client_id": cls.app.client_id,
                "lwa_client_secret": cls.app.client_secret,
                "application_id": cls.app.application_id,
                "lwa_auth_url": cls.fake.lwa_url,
                "sp_api_endpoint": cls.fake.base_url,
                "email_errors_to": "ops@example.com",
            }
        )

    def setUp(self):
        super().setUp()
        Pacer.forget()
        self.fake.clear_faults()
        self.fake.calls.clear()

    def new_refresh_token(self, marketplaces=None):
        marketplaces = marketplaces or (self.uk | self.de | self.fr | self.us)
        return self.fake.add_refresh_token(
            self.app.client_id,
            seller_id=SELLER_ID,
            marketplace_ids=marketplaces.mapped("marketplace_id"),
        )

    def authorise(self):
        token = self.new_refresh_token()
        self.account.write(
            {
                "lwa_refresh_token": token,
                "refresh_token_authorized_on": fields.Date.today(),
            }
        )
        return token

    def token_calls(self):
        return [c.params for c in self.fake.calls_to("token")]


@tagged("post_install", "-at_install")
class TestCredentialsConsent(AmazonCommon):
    def test_consent_url_per_domain(self):
        self.account.write(
            {"marketplace_ids": False, "application_id": "amzn1.sp.solution.abc"}
        )
        expected_hosts = {
            "UK": "sellercentral.amazon.co.uk",
            "DE": "sellercentral.amazon.de",
            "US": "sellercentral.amazon.com",
            "JP": "sellercentral.amazon.co.jp",
            "AU": "sellercentral.amazon.com.au",
        }
        redirect_uri = self.account._get_amazon_redirect_uri()
        self.assertEqual(
            redirect_uri, self.account.get_base_url() + "/sale_amazon_spapi/authorize"
        )
        for domain, host in expected_hosts.items():
            self.account.seller_central_domain = domain
            for draft in (False, True):
                url = urlsplit(self.account._get_amazon_consent_url("S.1", draft))
                query = parse_qs(url.query)
                self.assertEqual(
                    (url.scheme, url.netloc, url.path),
                    ("https", host, "/apps/authorize/consent"),
                )
                self.assertEqual(query["application_id"], ["amzn1.sp.solution.abc"])
                self.assertEqual(query["state"], ["S.1"])
                self.assertEqual(query["redirect_uri"], [redirect_uri])
                self.assertEqual(query.get("version"), ["beta"] if draft else None)

    def test_wizard_opens_consent_with_fresh_state(self):
        self.account.application_id = "amzn1.sp.solution.abc"
        action = self.account.action_open_authorize_wizard()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        wizard.draft_application = True
        self.assertEqual(wizard.redirect_uri, self.account._get_amazon_redirect_uri())
        result = wizard.action_open_consent()
        self.assertEqual(result["type"], "ir.actions.act_url")
        query = parse_qs(urlsplit(result["url"]).query)
        self.assertEqual(query["version"], ["beta"])
        state = query["state"][0]
        self.assertEqual(
            state.split(".")[:2], [str(self.account.id), str(self.env.uid)]
        )
        self.assertIn(self.account.lwa_oauth_nonce, state)

    def test_state_valid_once(self):
        state = self.account._amazon_oauth_state()
        Account = self.env["amazon.account"]
        self.assertEqual(
            Account._amazon_consume_oauth_state(state), (self.account, False)
        )
        self.assertFalse(self.account.lwa_oauth_nonce)
        account, problem = Account._amazon_consume_oauth_state(state)
        self.assertFalse(account)
        self.assertIn("already used", problem)

    def test_state_replaced_by_newer_one(self):
        first = self.account._amazon_oauth_state()
        second = self.account._amazon_oauth_state()
        Account = self.env["amazon.account"]
        self.assertIn("already used", Account._amazon_consume_oauth_state(first)[1])
        self.assertEqual(Account._amazon_consume_oauth_state(second)[0], self.account)

    def test_state_forged(self):
        state = self.account._amazon_oauth_state()
        payload, signature = state.rsplit(".", 1)
        other = self.env["amazon.account"].create(
            {"name": "Other", "seller_central_domain": "US"}
        )
        other_state = other._amazon_oauth_state()
        forged = [
            f"{payload}.{'0' * len(signature)}",
            # A valid signature of another channel on this channel's payload.
            f"{payload}.{other_state.rsplit('.', 1)[1]}",
            f"{other.id}.{state.split('.', 1)[1]}",
            "",
            "garbage",
        ]
        for value in forged:
            account, problem = self.env["amazon.account"]._amazon_consume_oauth_state(
                value
            )
            self.assertFalse(account, value)
            self.assertIn("not valid", problem, value)
        # Nothing was used up by the forgeries.
        self.assertTrue(self.account.lwa_oauth_nonce)
        self.assertTrue(other.lwa_oauth_nonce)

    def test_state_expired(self):
        old = time.time() - const.OAUTH_STATE_TTL - 5
        state = self.account._amazon_oauth_state(timestamp=old)
        account, problem = self.env["amazon.account"]._amazon_consume_oauth_state(state)
        self.assertFalse(account)
        self.assertIn("expired", problem)

    def test_state_bound_to_user(self):
        other_admin = new_test_user(
            self.env, "amazon_other_admin", "base.group_system,base.group_user"
        )
        state = self.account._amazon_oauth_state()
        account, problem = (
            self.env["amazon.account"]
            .with_user(other_admin)
            ._amazon_consume_oauth_state(state)
        )
        self.assertFalse(account)
        self.assertIn("another user", problem)

    def test_non_admin_cannot_change_credentials(self):
        manager = new_test_user(
            self.env,
            "amazon_mgr",
            "base.group_user,sale_amazon_spapi.group_amazon_manager",
        )
        account = self.account.with_user(manager)
        with self.assertRaisesRegex(UserError, "administrator"):
            account.action_open_authorize_wizard()
        with self.assertRaisesRegex(UserError, "administrator"):
            account.action_open_rotate_secret_wizard()
        for model in ("amazon.authorize.wizard", "amazon.rotate.secret.wizard"):
            with self.assertRaises(AccessError):
                self.env[model].with_user(manager).create({"account_id": account.id})
        problem = (
            self.env["amazon.account"]
            .with_user(manager)
            ._amazon_consume_oauth_state("x")[1]
        )
        self.assertIn("administrator", problem)

    def test_consent_errors_in_plain_words(self):
        Account = self.env["amazon.account"]
        self.assertIn("version=beta", Account._amazon_consent_error_message("MD1000"))
        self.assertIn(
            "Redirect URIs",
            Account._amazon_consent_error_message("invalid_request", "MD5101 error"),
        )
        self.assertIn(
            "declined", Account._amazon_consent_error_message("access_denied")
        )
        message = Account._amazon_consent_error_message(
            "weird", "token Atzr|IwEBsecret"
        )
        self.assertIn("weird", message)
        self.assertNotIn("IwEBsecret", message)


@tagged("post_install", "-at_install")
class TestCredentialsSelfAuthorisation(FakeAmazonChannel):
    def paste(self, token):
        action = self.account.action_open_authorize_wizard()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        wizard.write({"method": "self", "refresh_token": token})
        return wizard.action_save_refresh_token()

    def test_pasted_token_valid(self):
        token = self.new_refresh_token()
        result = self.paste(token)
        self.assertEqual(self.account.lwa_refresh_token, token)
        self.assertEqual(self.account.refresh_token_authorized_on, date.today())
        self.assertEqual(
            self.account.refresh_token_expires_on, date.today() + timedelta(days=365)
        )
        self.assertEqual(self.account.connection_state, "ok")
        self.assertEqual(self.account.credentials_status, "ok")
        self.assertIn("refresh_token", [c["grant_type"] for c in self.token_calls()])
        test = self.env[result["res_model"]].browse(result["res_id"])
        self.assertTrue(test.success)
        message = self.account.message_ids[0]
        self.assertIn("Developer Console", message.body)
        self.assertNotIn(token, message.body)

    def test_pasted_token_invalid(self):
        before = self.account.lwa_refresh_token
        revoked = self.new_refresh_token()
        self.fake.revoke_refresh_token(revoked)
        with self.assertRaisesRegex(UserError, "refused the seller authorisation"):
            self.paste(revoked)
        with self.assertRaisesRegex(UserError, "starts with"):
            self.paste("not-a-token")
        self.assertEqual(self.account.lwa_refresh_token, before)
        self.assertFalse(self.account.refresh_token_authorized_on)


@tagged("post_install", "-at_install")
class TestCredentialsConnection(FakeAmazonChannel):
    def test_connection_success_offers_marketplaces(self):
        self.authorise()
        result = self.account.action_test_connection()
        wizard = self.env[result["res_model"]].browse(result["res_id"])
        self.assertTrue(wizard.success)
        self.assertIn("4 marketplace", wizard.message)
        # The US marketplace is in another region: offered as a hint only.
        self.assertEqual(wizard.marketplace_ids, self.uk | self.de | self.fr)
        self.assertIn("Amazon.com", wizard.other_region_summary)
        self.assertIn("A1F83G8C2ARO7P", wizard.participation_summary)
        self.assertEqual(self.account.connection_state, "ok")
        self.assertEqual(
            [c.operation for c in self.fake.calls],
            ["token", "getMarketplaceParticipations"],
        )
        wizard.action_set_marketplaces()
        self.assertEqual(self.account.marketplace_ids, self.uk | self.de | self.fr)

    def test_credential_change_resets_connection_state(self):
        self.authorise()
        self.account._amazon_test_connection()
        self.assertEqual(self.account.connection_state, "ok")
        self.account.lwa_auth_url = self.fake.lwa_url + "?"
        self.assertEqual(self.account.connection_state, "untested")

    def assert_failure(self, expected):
        result = self.account.action_test_connection()
        wizard = self.env[result["res_model"]].browse(result["res_id"])
        self.assertFalse(wizard.success)
        self.assertIn(expected, wizard.message)
        self.assertEqual(self.account.connection_state, "failed")
        self.assertEqual(self.account.connection_message, wizard.message)
        return wizard.message

    def test_connection_failures_mapped(self):
        token = self.authorise()
        secret = self.account.lwa_client_secret
        self.account.lwa_client_secret = "amzn1.oa2-cs.v1.badsecret42"
        message = self.assert_failure("refused the application credentials")
        self.assertNotIn("badsecret42", message)
        self.account.lwa_client_secret = secret
        self.fake.revoke_refresh_token(token)
        self.assert_failure("refused the seller authorisation")
        self.authorise()
        self.fake.inject_fault(
            "getMarketplaceParticipations", "status", times=1, status=403
        )
        self.assert_failure("Amazon denied access")
        self.fake.inject_fault("token", "status", times=10, status=503)
        self.assert_failure("temporarily unavailable")
        self.fake.clear_faults()
        self.account.lwa_refresh_token = False
        self.assert_failure("No seller authorisation")
        self.authorise()
        self.assertEqual(
            self.account.action_test_connection()["res_model"],
            "amazon.connection.test.wizard",
        )
        self.assertEqual(self.account.connection_state, "ok")


@tagged("post_install", "-at_install")
class TestCredentialsRotation(FakeAmazonChannel):
    def setUp(self):
        super().setUp()
        # A new application per test: a rotation at the fake outlives the test.
        self.app = self.fake.add_app()
        self.account.write(
            {
                "lwa_client_id": self.app.client_id,
                "lwa_client_secret": self.app.client_secret,
                # A channel set up without the date: a rotation sets it.
                "client_secret_rotated_on": False,
                "application_id": self.app.application_id,
            }
        )
        self.authorise()
        self.old_secret = self.account.lwa_client_secret

    def wizard(self, method="console"):
        action = self.account.action_open_rotate_secret_wizard()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        wizard.method = method
        return wizard

    def old_config(self):
        return self.account._get_amazon_config(client_secret=self.old_secret)

    def test_rotation_console_success(self):
        self.account._get_amazon_client().get_marketplace_participations()
        self.assertTrue(has_cached_access_token(self.old_config()))
        # What "Rotate Secret" in the Developer Console does at Amazon.
        new_secret, _grace = self.fake.store.rotate_secret(self.app)
        wizard = self.wizard()
        wizard.new_client_secret = new_secret.value
        self.fake.calls.clear()
        result = wizard.action_validate()
        self.assertEqual(self.account.lwa_client_secret, new_secret.value)
        self.assertEqual(self.account.client_secret_rotated_on, date.today())
        self.assertEqual(
            self.account.client_secret_expires_on, date.today() + timedelta(days=180)
        )
        # Checked with the new secret before saving; no token of the old one kept.
        self.assertEqual(
            {c["client_secret"] for c in self.token_calls()}, {new_secret.value}
        )
        self.assertFalse(has_cached_access_token(self.old_config()))
        self.assertEqual(self.account.connection_state, "ok")
        self.assertTrue(self.env[result["res_model"]].browse(result["res_id"]).success)
        body = self.account.message_ids[0].body
        self.assertIn("replaced the LWA client secret", body)
        self.assertNotIn(new_secret.value, body)
        self.assertNotIn(self.old_secret, body)

    def test_rotation_invalid_secret_keeps_old(self):
        wizard = self.wizard()
        wizard.new_client_secret = "amzn1.oa2-cs.v1.notthenewone"
        with self.assertRaisesRegex(UserError, "current one is kept"):
            wizard.action_validate()
        wizard.new_client_secret = self.old_secret
        with self.assertRaisesRegex(UserError, "already uses"):
            wizard.action_validate()
        self.assertEqual(self.account.lwa_client_secret, self.old_secret)
        self.assertFalse(self.account.client_secret_rotated_on)
        self.assertEqual(self.account._amazon_test_connection()[1], False)

    def unauthorise(self):
        self.account.write(
            {"lwa_refresh_token": False, "refresh_token_authorized_on": False}
        )

    def test_rotation_without_refresh_token(self):
        self.unauthorise()
        # The old secret's grantless token (e.g. from a rotation request).
        self.account._get_amazon_client().check_client_credentials()
        self.assertTrue(has_cached_access_token(self.old_config(), ROTATION_SCOPE))
        new_secret, _grace = self.fake.store.rotate_secret(self.app)
        wizard = self.wizard()
        wizard.new_client_secret = new_secret.value
        self.fake.calls.clear()
        result = wizard.action_validate()
        self.assertEqual(self.account.lwa_client_secret, new_secret.value)
        self.assertEqual(self.account.client_secret_rotated_on, date.today())
        calls = self.token_calls()
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0]["grant_type"], "client_credentials")
        self.assertEqual(calls[0]["client_secret"], new_secret.value)
        self.assertNotIn("refresh_token", calls[0])
        self.assertFalse(has_cached_access_token(self.old_config(), ROTATION_SCOPE))
        # No connection test (it needs a seller): the channel says what is next.
        self.assertEqual(result["tag"], "display_notification")
        self.assertIn("Authorise the seller account", result["params"]["message"])
        self.assertEqual(self.account.connection_state, "untested")
        self.assertEqual(self.account.credentials_status, "missing")
        body = self.account.message_ids[0].body
        self.assertIn("replaced the LWA client secret", body)
        self.assertNotIn(new_secret.value, body)
        self.assertNotIn(self.old_secret, body)
        # The new secret then also serves the seller authorisation.
        self.authorise()
        self.assertFalse(self.account._amazon_test_connection()[1])

    def test_rotation_without_refresh_token_bad_secret(self):
        self.unauthorise()
        messages = len(self.account.message_ids)
        wizard = self.wizard()
        wizard.new_client_secret = "amzn1.oa2-cs.v1.notthenewone"
        with self.assertRaisesRegex(
            UserError, "current one is kept: Amazon refused the application"
        ) as raised:
            wizard.action_validate()
        self.assertNotIn("notthenewone", str(raised.exception))
        self.assertNotIn(self.old_secret, str(raised.exception))
        self.assertEqual(self.account.lwa_client_secret, self.old_secret)
        self.assertFalse(self.account.client_secret_rotated_on)
        self.assertEqual(len(self.account.message_ids), messages)
        # Past its 7-day overlap after a rotation, an old secret is refused too.
        new_secret, _grace = self.fake.store.rotate_secret(self.app)
        past_overlap = 7 * 24 * 3600 + 1
        self.fake.advance(past_overlap)
        # The fake serves the whole class: give the other tests their time back.
        self.addCleanup(self.fake.advance, -past_overlap)
        self.account.write(
            {"lwa_client_secret": new_secret.value, "client_secret_rotated_on": False}
        )
        wizard.new_client_secret = self.old_secret
        with self.assertRaisesRegex(UserError, "current one is kept"):
            wizard.action_validate()
        self.assertEqual(self.account.lwa_client_secret, new_secret.value)
        self.assertFalse(self.account.client_secret_rotated_on)

    def test_rotation_through_api(self):
        wizard = self.wizard("api")
        wizard.action_request_rotation()
        self.assertTrue(wizard.rotation_requested)
        self.assertEqual(len(self.fake.rotations), 1)
        rotation = self.fake.rotations[0]
        self.assertEqual(rotation["old_secret"], self.old_secret)
        # Until the new secret is entered the old one stays, and still works.
        self.assertEqual(self.account.lwa_client_secret, self.old_secret)
        self.assertFalse(self.account._amazon_test_connection()[1])
        self.assertIn("rotate the LWA client secret", self.account.message_ids[0].body)
        wizard.new_client_secret = rotation["new_secret"]
        wizard.action_validate()
        self.assertEqual(self.account.lwa_client_secret, rotation["new_secret"])
        self.assertEqual(self.account.client_secret_rotated_on, date.today())

    def test_rotation_request_pending_until_new_secret(self):
        # The fake serves the whole class: its record of rotations must not
        # outlive this test.
        self.addCleanup(self.fake.rotations.clear)
        self.wizard("api").action_request_rotation()
        deadline = date.today() + timedelta(days=const.CLIENT_SECRET_OVERLAP_DAYS)
        self.assertEqual(self.account.client_secret_rotation_requested_on, date.today())
        self.assertEqual(self.account.client_secret_rotation_deadline, deadline)
        activity = self.account.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.date_deadline, deadline)
        # Opened again, the wizard asks for the new secret, not for a rotation.
        wizard = self.env["amazon.rotate.secret.wizard"].browse(
            self.account.action_open_rotate_secret_wizard()["res_id"]
        )
        self.assertTrue(wizard.rotation_requested)
        self.assertEqual(wizard.method, "api")
        self.assertEqual(wizard.rotation_deadline, deadline)
        wizard.new_client_secret = self.fake.rotations[0]["new_secret"]
        wizard.action_validate()
        self.assertFalse(self.account.client_secret_rotation_requested_on)
        self.assertFalse(self.account.activity_ids)
        self.assertEqual(len(self.fake.rotations), 1)

    def test_typed_secret_starts_its_clock(self):
        self.account.lwa_client_secret = "amzn1.oa2-cs.v1.typedbyhand"
        self.assertEqual(self.account.client_secret_rotated_on, date.today())
        self.assertEqual(
            self.account.client_secret_expires_on, date.today() + timedelta(days=180)
        )
        given = date.today() - timedelta(days=30)
        self.account.write(
            {
                "lwa_client_secret": "amzn1.oa2-cs.v1.anotherone",
                "client_secret_rotated_on": given,
            }
        )
        self.assertEqual(self.account.client_secret_rotated_on, given)
        channel = self.env["amazon.account"].create(
            {
                "name": "Pasted",
                "seller_central_domain": "UK",
                "lwa_client_secret": "amzn1.oa2-cs.v1.pastedatcreation",
            }
        )
        self.assertEqual(channel.client_secret_rotated_on, date.today())
        self.assertEqual(channel.credentials_status, "missing")

    def test_rotation_request_refused(self):
        self.app.rotation_enrolled = False
        self.addCleanup(setattr, self.app, "rotation_enrolled", True)
        wizard = self.wizard("api")
        with self.assertRaisesRegex(UserError, "did not rotate"):
            wizard.action_request_rotation()
        self.assertFalse(self.fake.rotations)
        self.assertEqual(self.account.lwa_client_secret, self.old_secret)


@tagged("post_install", "-at_install")
class TestCredentialsReminders(AmazonCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(
            cls.env, "amazon_responsible", "sale_amazon_spapi.group_amazon_manager"
        )
        cls.account.write(
            {
                "user_id": cls.user.id,
                "email_errors_to": "ops@example.com",
                "refresh_token_authorized_on": date(2026, 1, 10),
            }
        )
        cls.expiry = date(2026, 1, 10) + timedelta(days=365)

    def run_cron(self, day):
        with freeze_time(day):
            self.env["amazon.account"]._cron_credentials_reminders()
            self.account.invalidate_recordset()
            return self.account.credentials_status

    def activities(self, xmlid=RT_ACTIVITY):
        return self.account.activity_search([xmlid])

    def mails(self):
        return self.env["mail.mail"].search(
            [("model", "=", "amazon.account"), ("res_id", "=", self.account.id)]
        )

    def test_refresh_token_reminders_on_the_right_days(self):
        expiry = self.expiry
        self.assertEqual(self.run_cron(expiry - timedelta(days=31)), "ok")
        self.assertFalse(self.activities())
        self.assertFalse(self.mails())

        self.assertEqual(self.run_cron(expiry - timedelta(days=30)), "expiring")
        activity = self.activities()
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.user)
        self.assertEqual(activity.date_deadline, expiry)
        self.assertEqual(len(self.mails()), 1)
        mail = self.mails()
        self.assertEqual(mail.email_to, "ops@example.com")
        self.assertIn("in 30 days", mail.body_html)
        self.assertNotIn(self.account.lwa_refresh_token, mail.body_html)
        self.assertNotIn(self.account.lwa_client_secret, mail.body_html)

        for days in (29, 20, 8):
            self.run_cron(expiry - timedelta(days=days))
        self.run_cron(expiry - timedelta(days=30))  # the cron ran twice a day
        self.assertEqual(len(self.activities()), 1)
        self.assertEqual(len(self.mails()), 1)

        self.run_cron(expiry - timedelta(days=7))
        self.assertEqual(len(self.mails()), 2)
        self.assertEqual(len(self.activities()), 1)
        self.assertIn("in 7 days", self.activities().note)
        for days in (6, 1):
            self.run_cron(expiry - timedelta(days=days))
        self.assertEqual(len(self.mails()), 2)

        self.assertEqual(self.run_cron(expiry), "expired")
        self.assertEqual(len(self.mails()), 3)
        self.assertIn("Authorise", self.activities().note)
        self.run_cron(expiry + timedelta(days=3))
        self.assertEqual(len(self.mails()), 3)
        self.assertFalse(self.activities(CS_ACTIVITY))

        with freeze_time(expiry + timedelta(days=3)):
            self.assertIn("expired", self.account._get_credentials_blocker())
            self.account.refresh_token_authorized_on = fields.Date.today()
            self.assertFalse(self.activities())
            self.assertEqual(self.account.credentials_status, "ok")
            self.assertFalse(self.account._get_credentials_blocker())

    def test_late_channel_gets_the_current_stage_only(self):
        self.run_cron(self.expiry - timedelta(days=5))
        self.assertEqual(len(self.mails()), 1)
        self.assertIn("in 5 days", self.mails().body_html)
        self.run_cron(self.expiry - timedelta(days=4))
        self.assertEqual(len(self.mails()), 1)

    def test_client_secret_overlap(self):
        self.account.write(
            {
                "refresh_token_authorized_on": False,
                "client_secret_rotated_on": date(2026, 1, 10),
            }
        )
        expiry = date(2026, 1, 10) + timedelta(days=180)
        self.assertEqual(self.run_cron(expiry - timedelta(days=30)), "expiring")
        self.assertEqual(len(self.activities(CS_ACTIVITY)), 1)
        self.assertFalse(self.activities(RT_ACTIVITY))
        # Past the expiry Amazon still takes the secret for 7 days: not blocked.
        self.assertEqual(self.run_cron(expiry + timedelta(days=6)), "expiring")
        self.assertEqual(len(self.mails()), 2)
        with freeze_time(expiry + timedelta(days=6)):
            self.assertFalse(self.account._get_credentials_blocker())
            self.assertIn("accepts it until", self.account.credentials_status_message)
        self.assertEqual(self.run_cron(expiry + timedelta(days=7)), "expired")
        self.assertEqual(len(self.mails()), 3)
        with freeze_time(expiry + timedelta(days=7)):
            reason = self.account._get_credentials_blocker()
            self.assertIn("client secret", reason)
            # Every call through the channel stops, before reaching Amazon.
            with self.assertRaisesRegex(UserError, "client secret"):
                self.account._amazon_call("get_marketplace_participations")
            self.account.client_secret_rotated_on = fields.Date.today()
            self.assertFalse(self.activities(CS_ACTIVITY))
            self.assertEqual(self.account.credentials_status, "ok")

    def test_no_mail_without_address_and_disabled_channel_skipped(self):
        self.account.email_errors_to = False
        self.run_cron(self.expiry - timedelta(days=30))
        self.assertEqual(len(self.activities()), 1)
        self.assertFalse(self.mails())
        other = self.account.copy({"name": "Disabled", "enabled": False})
        other.refresh_token_authorized_on = date(2026, 1, 10)
        self.run_cron(self.expiry - timedelta(days=7))
        self.assertFalse(other.activity_ids)

    def test_status_values(self):
        Account = self.env["amazon.account"]
        with freeze_time(self.expiry - timedelta(days=10)):
            self.assertEqual(self.account.credentials_status, "expiring")
            self.assertIn(
                self.account,
                Account.search([("credentials_status", "in", ("expiring", "expired"))]),
            )
            self.assertNotIn(
                self.account, Account.search([("credentials_status", "=", "ok")])
            )
        with freeze_time(date(2026, 2, 1)):
            # Computed on the fly from today: forget the value of another day.
            self.account.invalidate_recordset(["credentials_status"])
            self.assertEqual(self.account.credentials_status, "ok")
            self.assertIn(
                self.account, Account.search([("credentials_status", "=", "ok")])
            )
            self.assertNotIn(
                self.account, Account.search([("credentials_status", "!=", "ok")])
            )
            self.account.lwa_refresh_token = False
            self.account.refresh_token_authorized_on = False
            self.assertEqual(self.account.credentials_status, "missing")
            self.assertEqual(
                Account.search(
                    [
                        ("id", "=", self.account.id),
                        ("credentials_status", "=", "missing"),
                    ]
                ),
                self.account,
            )
        with freeze_time(self.expiry + timedelta(days=1)):
            self.account.refresh_token_authorized_on = date(2026, 1, 10)
            self.account.invalidate_recordset(["credentials_status"])
            self.assertEqual(self.account.credentials_status, "expired")
            self.assertIn(
                self.account, Account.search([("credentials_status", "=", "expired")])
            )
            self.assertNotIn(
                self.account,
                Account.search([("credentials_status", "in", ("ok", "expiring"))]),
            )

    def test_expired_channel_skipped_by_import(self):
        with freeze_time(self.expiry + timedelta(days=1)):
            stats = self.account._import_orders()
        self.assertIn("refresh token", stats["skipped"])
        self.assertIn("expired", stats["skipped"])
