# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from datetime import timedelta

from lxml import etree

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.modules.neutralize import get_neutralization_queries
from odoo.tests import new_test_user, tagged

from .common import AmazonCommon, AmazonImportCommon

HOST_VALUES = {
    "lwa_auth_url": "https://api.amazon.co.uk/auth/o2/token",
    "application_id": "amzn1.sp.solution.0123abcd-4567",
    "sp_api_endpoint": "https://sandbox.sellingpartnerapi-eu.amazon.com",
    "seller_central_url_override": "https://sellercentral-europe.amazon.com",
}
HTML = "<img src=x onerror=alert(1)><b>x</b>"


def _users(env):
    return (
        new_test_user(env, "amz_sec_salesman", groups="sales_team.group_sale_salesman"),
        new_test_user(env, "amz_sec_manager", groups="sales_team.group_sale_manager"),
    )


@tagged("post_install", "-at_install")
class TestHostFields(AmazonCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman, cls.manager = _users(cls.env)

    def test_only_administrators_set_where_credentials_go(self):
        for user in (self.salesman, self.manager):
            account = self.account.with_user(user)
            for field, value in HOST_VALUES.items():
                with (
                    self.subTest(user=user.login, field=field),
                    self.assertRaises(AccessError),
                ):
                    account.write({field: value})
        Marketplace = self.env["amazon.marketplace"].with_user(self.manager)
        for field, value in (
            ("seller_central_url", "https://sellercentral.amazon.de"),
            ("api_endpoint", "https://sellingpartnerapi-na.amazon.com"),
        ):
            with self.subTest(field=field), self.assertRaises(AccessError):
                Marketplace.browse(self.uk.id).write({field: value})
        # The rest of the channel stays theirs to configure.
        mine = self.account.with_user(self.manager)
        mine.write({"lookback_days": 4, "email_errors_to": "ops@example.com"})
        self.assertEqual(mine.lookback_days, 4)
        self.account.write(HOST_VALUES)
        for field, value in HOST_VALUES.items():
            self.assertEqual(self.account[field], value)

    def test_hosts_validated_on_write(self):
        bad = (
            "not a url",
            "ftp://api.amazon.com/x",
            "http://example.com",
            "https://example.com",
            "https://api.amazon.com.example.com",
            "https://api.amazon.com@example.com",
            "https://user:pw@api.amazon.com",
            "https://api.amazon.com\\@example.com",
            "https://api.amazon.com:8443",
            "http://api.amazon.com",
            "http://sellingpartnerapi-eu.amazon.com",
            "http://sellercentral.amazon.de",
            "https://sellingpartnerapi-eu.amazon.com\n",
        )
        for field in ("lwa_auth_url", "sp_api_endpoint", "seller_central_url_override"):
            for value in bad:
                with (
                    self.subTest(field=field, value=value),
                    self.assertRaises(ValidationError),
                ):
                    self.account.write({field: value})
        # assertRaises, not assertRaisesRegex: only the former rolls back.
        with self.assertRaises(ValidationError) as e:
            self.account.sp_api_endpoint = "http://example.com"
        self.assertIn("SP-API Endpoint Override", str(e.exception))
        self.assertIn("sellingpartnerapi-eu.amazon.com", str(e.exception))
        self.assertIn("127.0.0.1", str(e.exception))
        # A host of one kind is no host of another.
        with self.assertRaises(ValidationError):
            self.account.lwa_auth_url = "https://sellingpartnerapi-eu.amazon.com"
        with self.assertRaises(ValidationError):
            self.account.sp_api_endpoint = "https://api.amazon.com"
        good = {
            "lwa_auth_url": (
                "https://api.amazon.com/auth/o2/token",
                "https://API.amazon.co.jp/auth/o2/token",
                "http://127.0.0.1:8900/auth/o2/token",
                "http://localhost:8900/auth/o2/token",
                "http://[::1]:8900/auth/o2/token",
            ),
            "sp_api_endpoint": (
                "https://sellingpartnerapi-na.amazon.com",
                "https://sandbox.sellingpartnerapi-fe.amazon.com/",
                "http://127.0.0.1:8900",
            ),
            "seller_central_url_override": (
                "https://sellercentral.amazon.co.uk",
                "https://sellercentral-japan.amazon.com",
                "http://127.0.0.1:8900",
            ),
        }
        for field, values in good.items():
            for value in values:
                with self.subTest(field=field, value=value):
                    self.account.write({field: value})

    def test_host_saved_before_the_checks_is_refused_at_use(self):
        # A value written before this version checked hosts, or in SQL.
        self.env.cr.execute(
            "UPDATE amazon_account SET lwa_auth_url = %s WHERE id = %s",
            ["https://collector.example.com/token", self.account.id],
        )
        self.account.invalidate_recordset(["lwa_auth_url"])
        with self.assertRaises(UserError) as raised:
            self.account.with_user(self.manager)._get_amazon_client()
        self.assertIn("collector.example.com", str(raised.exception))
        self.assertIn("administrator", str(raised.exception))
        self.env.cr.execute(
            "UPDATE amazon_account SET lwa_auth_url = %s, sp_api_endpoint = %s"
            " WHERE id = %s",
            [
                "https://api.amazon.com/auth/o2/token",
                "http://example.com",
                self.account.id,
            ],
        )
        self.account.invalidate_recordset(["lwa_auth_url", "sp_api_endpoint"])
        with self.assertRaises(UserError):
            self.account._get_amazon_config()

    def test_application_id_format(self):
        self.account.application_id = "amzn1.sp.solution.abc"
        for bad in (
            "app",
            "amzn1.sp.solution.",
            "amzn1.sp.solution.x&redirect_uri=https://example.com",
            "amzn1.sp.solution.abc\n",
        ):
            with self.subTest(bad=bad), self.assertRaises(ValidationError):
                self.account.application_id = bad

    def test_shipped_marketplaces_validate(self):
        marketplaces = (
            self.env["amazon.marketplace"].with_context(active_test=False).search([])
        )
        marketplaces._check_amazon_hosts()
        for field in ("seller_central_url", "api_endpoint"):
            with self.subTest(field=field), self.assertRaises(ValidationError):
                self.uk.write({field: "https://example.com"})
        self.uk.seller_central_url = "https://sellercentral-europe.amazon.com"

    def test_trailing_newline_refused(self):
        for field, value in (
            ("seller_id", "A2EXAMPLE12345\n"),
            ("aws_role_arn", "arn:aws:iam::123456789012:role/Name\n"),
        ):
            with self.subTest(field=field), self.assertRaises(ValidationError):
                self.account.write({field: value})

    def test_copy_by_administrator_only(self):
        """Issue 11: a channel is created (or copied) by whoever can finish it. A
        Sales Manager may not enter its secrets, so she may not start one either;
        the list says why instead of offering "New"."""
        self.account.write(HOST_VALUES)
        copy = self.account.copy()
        self.assertEqual(copy.name, "Amazon EU (copy)")
        for field, value in HOST_VALUES.items():
            self.assertEqual(copy[field], value, "the administrator's value is kept")
        self.assertFalse(copy.lwa_client_secret or copy.lwa_refresh_token)
        for user in (self.manager, self.salesman):
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    self.account.with_user(user).copy()
                with self.assertRaises(AccessError):
                    self.env["amazon.account"].with_user(user).create(
                        {"name": "Mine", "seller_central_domain": "UK"}
                    )
        # She still runs the channel she was given, and may archive it, not
        # delete it.
        self.account.with_user(self.manager).write({"lookback_days": 4})
        self.assertEqual(self.account.lookback_days, 4)
        with self.assertRaises(AccessError):
            self.account.with_user(self.manager).unlink()
        self.account.with_user(self.manager).action_archive()
        self.assertFalse(self.account.active)
        Account = self.env["amazon.account"]
        for user, can_create in ((self.manager, "False"), (self.env.user, None)):
            arch = etree.fromstring(
                Account.with_user(user).get_view(view_type="list")["arch"]
            )
            self.assertEqual(arch.get("create"), can_create, user.login)
        action = self.env.ref("sale_amazon_spapi.action_amazon_account")
        self.assertIn("Settings administrators create and authorise", action.help)

    def test_channel_with_orders_is_archived_not_deleted(self):
        spare = self.account.copy()
        self.env["sale.order"].create(
            {
                "partner_id": self.env.company.partner_id.id,
                "amazon_account_id": self.account.id,
                "amazon_order_ref": "202-0000000-0000001",
            }
        )
        with self.assertRaises(UserError) as refused:
            self.account.unlink()
        self.assertIn("archive it", str(refused.exception))
        self.assertTrue(self.account.exists())
        spare.unlink()
        self.assertFalse(spare.exists())

    def test_non_admins_open_their_forms(self):
        Account = self.env["amazon.account"]
        for user in (self.salesman, self.manager):
            arch = etree.fromstring(Account.with_user(user).get_view()["arch"])
            names = arch.xpath("//field[not(ancestor::field)]/@name")
            with self.subTest(user=user.login):
                self.account.with_user(user).read(names)
                for field in (
                    "lwa_auth_url",
                    "application_id",
                    "lwa_client_secret",
                    "sp_api_endpoint",
                ):
                    self.assertNotIn(field, names)
                self.assertEqual(
                    "import_error_count" in names, user == self.manager, user.login
                )
        marketplace_view = (
            self.env["amazon.marketplace"]
            .with_user(self.manager)
            .get_view(view_type="list")
        )
        self.assertNotIn("seller_central_url", marketplace_view["arch"])
        self.uk.with_user(self.manager).write({"tax_included": True})

    def test_buyer_data_for_amazon_managers_only(self):
        log = self.env["amazon.import.log"].create(
            {
                "account_id": self.account.id,
                "amazon_order_ref": "205-1234567-1234567",
                "message": "problem",
                "payload": '{"buyerName": "Jane Doe"}',
            }
        )
        product = self.env["product.product"].create({"name": "Thing"})
        sku_map = self.env["amazon.sku.map"].create(
            {"account_id": self.account.id, "sku": "THING", "product_id": product.id}
        )
        with self.assertRaises(AccessError):
            log.with_user(self.salesman).read(["payload"])
        with self.assertRaises(AccessError):
            log.with_user(self.salesman).write({"state": "done"})
        self.assertEqual(sku_map.with_user(self.salesman).sku, "THING")
        with self.assertRaises(AccessError):
            sku_map.with_user(self.salesman).write({"sku": "OTHER"})
        with self.assertRaises(AccessError):
            self.env["amazon.sku.map"].with_user(self.salesman).create(
                {"account_id": self.account.id, "sku": "X", "product_id": product.id}
            )
        self.assertIn("Jane Doe", log.with_user(self.manager).payload)
        sku_map.with_user(self.manager).sku = "OTHER"

    def test_neutralize_blanks_wizard_secrets(self):
        rotate = self.env["amazon.rotate.secret.wizard"].create(
            {"account_id": self.account.id, "new_client_secret": "amzn1.oa2-cs.new"}
        )
        authorize = self.env["amazon.authorize.wizard"].create(
            {"account_id": self.account.id, "refresh_token": "Atzr|pasted"}
        )
        self.env.flush_all()
        for query in get_neutralization_queries(["sale_amazon_spapi"]):
            self.env.cr.execute(query)
        self.env.invalidate_all()
        self.assertFalse(rotate.new_client_secret)
        self.assertFalse(authorize.refresh_token)


@tagged("post_install", "-at_install")
class TestSecurityOnImport(AmazonImportCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman, cls.manager = _users(cls.env)

    def test_manager_tests_connection_on_administrator_host(self):
        account = self.account.with_user(self.manager)
        with self.assertRaises(AccessError):
            account.write({"lwa_auth_url": "http://127.0.0.1:9/listener"})
        action = account.action_test_connection()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        self.assertTrue(wizard.success, wizard.message)
        self.assertEqual(
            [c.operation for c in self.fake.calls],
            ["token", "getMarketplaceParticipations"],
        )

    def test_amazon_text_escaped_in_activity_note(self):
        ref = self.add_order(
            items=[{"sku": HTML, "qty": 1, "unit_price": "5.00", "title": HTML}],
            buyer_name=HTML,
            gift_message=HTML,
        )
        self.import_orders()
        order = self.orders([ref])
        activity = order.activity_ids
        self.assertTrue(activity)
        self.assertIn("&lt;b&gt;x&lt;/b&gt;", activity.note)
        self.assertNotIn("<b>", activity.note)
        self.assertNotIn("<img", activity.note)
        self.assertEqual(order.amazon_gift_message, HTML, "stored as plain text")

    def test_channel_name_escaped_in_reminders_and_digest(self):
        self.account.name = f"EU {HTML}"
        expires_on = fields.Date.today() + timedelta(days=7)
        text = self.account._credential_expiring_text(
            "refresh_token", expires_on, expires_on, fields.Date.today()
        )
        self.account._remind_credential(
            "refresh_token", expires_on, expires_on, 7, text
        )
        activity = self.account.activity_ids
        self.assertIn("&lt;b&gt;x&lt;/b&gt;", activity.note)
        self.assertNotIn("<b>", activity.note)
        log = self.env["amazon.import.log"].create(
            {"account_id": self.account.id, "message": f"SKU {HTML} is unknown"}
        )
        self.account._send_error_digest(log)
        mails = self.env["mail.mail"].search([("email_to", "=", "ops@example.com")])
        self.assertEqual(len(mails), 2)
        for mail in mails:
            self.assertIn("&lt;b&gt;x&lt;/b&gt;", mail.body_html)
            self.assertNotIn("<b>x", mail.body_html)
            self.assertNotIn("<img", mail.body_html)

    def test_user_name_escaped_in_chatter(self):
        admin = new_test_user(
            self.env, "amz_sec_admin", groups="base.group_system", name=HTML
        )
        self.account.with_user(admin)._amazon_save_refresh_token(
            self.account.sudo().lwa_refresh_token, how="by hand"
        )
        body = self.account.message_ids[:1].body
        self.assertIn("&lt;b&gt;x&lt;/b&gt;", body)
        self.assertNotIn("<b>", body)

    def test_inactive_currency_logged_not_activated(self):
        eur = self.env.ref("base.EUR")
        eur.active = False
        euro_ref = self.add_order(
            marketplace="DE", items=[{"sku": "MUG", "qty": 1, "unit_price": "5.00"}]
        )
        pound_ref = self.add_order(
            items=[{"sku": "MUG", "qty": 1, "unit_price": "5.00"}]
        )
        self.import_orders()
        self.assertFalse(eur.active, "the import never activates a currency")
        self.assertFalse(self.orders([euro_ref]))
        self.assertTrue(self.orders([pound_ref]))
        log = self.env["amazon.import.log"].search(
            [("account_id", "=", self.account.id), ("amazon_order_ref", "=", euro_ref)]
        )
        self.assertIn("EUR", log.message)
        self.assertIn("Accounting", log.message)

    def test_salesman_import_failure_without_log_access(self):
        self.env.ref("base.EUR").active = False
        ref = self.add_order(
            marketplace="DE", items=[{"sku": "MUG", "qty": 1, "unit_price": "5.00"}]
        )
        wizard = (
            self.env["amazon.import.order.wizard"]
            .with_user(self.salesman)
            .create({"account_id": self.account.id, "order_refs": ref})
        )
        action = wizard.action_import()
        self.assertEqual(action["tag"], "display_notification")
        self.assertNotIn(ref, action["params"]["message"])
