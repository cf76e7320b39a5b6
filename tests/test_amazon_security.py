# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from odoo.addons.sale_amazon_spapi.models.amazon_account import SECRET_FIELDS

from .common import AmazonCommon


@tagged("post_install", "-at_install")
class TestAmazonSecurity(AmazonCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sales_user = new_test_user(
            cls.env, "amz_sales", groups="sales_team.group_sale_salesman"
        )
        cls.amazon_user = new_test_user(
            cls.env,
            "amz_user",
            groups="base.group_user,sale_amazon_spapi.group_amazon_user",
        )
        cls.amazon_manager = new_test_user(
            cls.env, "amz_manager", groups="sales_team.group_sale_manager"
        )
        cls.admin = new_test_user(cls.env, "amz_admin", groups="base.group_system")

    def test_secrets_hidden_from_non_admins(self):
        for user in (self.sales_user, self.amazon_user, self.amazon_manager):
            account = self.account.with_user(user)
            self.assertEqual(account.name, "Amazon EU")
            self.assertEqual(account.seller_id, "A2EXAMPLE12345")
            for field in SECRET_FIELDS:
                with (
                    self.subTest(user=user.login, field=field),
                    self.assertRaises(AccessError),
                ):
                    account.read([field])
                account.invalidate_recordset()
        admin_account = self.account.with_user(self.admin)
        for field in SECRET_FIELDS:
            self.assertTrue(admin_account.read([field])[0][field], field)

    def test_user_cannot_configure_channel(self):
        with self.assertRaises(AccessError):
            self.account.with_user(self.amazon_user).write({"name": "Renamed"})
        with self.assertRaises(AccessError):
            self.env["amazon.account"].with_user(self.sales_user).create(
                {"name": "New"}
            )
        self.account.with_user(self.amazon_manager).write({"lookback_days": 5})
        self.assertEqual(self.account.lookback_days, 5)

    def test_manager_cannot_write_secrets(self):
        with self.assertRaises(AccessError):
            self.account.with_user(self.amazon_manager).write(
                {"lwa_client_secret": "stolen"}
            )

    def test_multi_company_rule(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        other_account = self.env["amazon.account"].create(
            {"name": "Amazon Other", "company_id": other_company.id}
        )
        user = new_test_user(
            self.env,
            "amz_user_main_co",
            groups="sales_team.group_sale_salesman",
            company_id=self.env.company.id,
            company_ids=[self.env.company.id],
        )
        visible = self.env["amazon.account"].with_user(user).search([])
        self.assertIn(self.account, visible)
        self.assertNotIn(other_account, visible)
        with self.assertRaises(AccessError):
            other_account.with_user(user).read(["name"])

    def test_admin_sees_every_channel_field_in_the_form(self):
        expected = {
            "name", "enabled", "company_id", "user_id", "team_id",
            "lwa_client_id", "lwa_client_secret", "lwa_refresh_token", "lwa_auth_url",
            "application_id", "aws_access_key_id", "aws_secret_access_key",
            "aws_role_arn", "seller_id", "seller_central_domain", "region",
            "marketplace_ids", "marketplace_codes", "last_import_datetime",
            "use_last_import_datetime", "lookback_days", "import_interval", "fba_mode",
            "fba_warehouse_id", "use_amazon_sku", "customization_level",
            "email_errors_to", "refresh_token_authorized_on",
            "refresh_token_expires_on", "client_secret_rotated_on",
            "client_secret_expires_on", "sp_api_endpoint",
            "sku_concat_labels",
        }  # fmt: skip
        admin_view = (
            self.env["amazon.account"].with_user(self.admin).get_view(view_type="form")
        )
        self.assertFalse(expected - set(admin_view["models"]["amazon.account"]))
        for secret in (
            "lwa_client_secret",
            "lwa_refresh_token",
            "aws_secret_access_key",
        ):
            self.assertRegex(
                admin_view["arch"], rf'name="{secret}"[^>]*password="True"'
            )
        user_view = (
            self.env["amazon.account"]
            .with_user(self.amazon_manager)
            .get_view(view_type="form")
        )
        self.assertNotIn("lwa_client_secret", user_view["arch"])
