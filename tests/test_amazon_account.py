# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from datetime import date

from odoo.exceptions import ValidationError
from odoo.modules.neutralize import get_neutralization_queries
from odoo.tests import tagged

from odoo.addons.sale_amazon_spapi import const
from odoo.addons.sale_amazon_spapi.models.amazon_account import SECRET_FIELDS

from .common import AmazonCommon


@tagged("post_install", "-at_install")
class TestAmazonMarketplace(AmazonCommon):
    def test_marketplace_data_complete_and_unique(self):
        marketplaces = (
            self.env["amazon.marketplace"].with_context(active_test=False).search([])
        )
        self.assertEqual(len(marketplaces), 23)
        self.assertEqual(len(set(marketplaces.mapped("marketplace_id"))), 23)
        self.assertEqual(
            set(marketplaces.mapped("code")), set(const.SELLER_CENTRAL_DOMAINS)
        )
        for marketplace in marketplaces:
            host = const.REGIONS[marketplace.region][1]
            self.assertEqual(marketplace.api_endpoint, host, marketplace.code)
            self.assertEqual(
                const.SELLER_CENTRAL_DOMAINS[marketplace.code][1], marketplace.region
            )
            self.assertTrue(
                marketplace.seller_central_url.startswith("https://sellercentral.")
            )
            self.assertTrue(marketplace.currency_id and marketplace.country_id)
        self.assertEqual(self.uk.marketplace_id, "A1F83G8C2ARO7P")
        self.assertEqual(self.uk.country_id.code, "GB")
        self.assertEqual(self.us.marketplace_id, "ATVPDKIKX0DER")
        self.assertFalse(self.us.tax_included)
        self.assertTrue(self.de.tax_included)


@tagged("post_install", "-at_install")
class TestAmazonAccount(AmazonCommon):
    def test_region_follows_domain(self):
        self.assertEqual(self.account.region, "eu")
        self.account.marketplace_ids = False
        for code, (_label, region) in const.SELLER_CENTRAL_DOMAINS.items():
            self.account.seller_central_domain = code
            self.assertEqual(self.account.region, region, code)

    def test_marketplace_outside_region_rejected(self):
        with self.assertRaisesRegex(ValidationError, "Amazon.com"):
            self.account.marketplace_ids |= self.us
        with self.assertRaises(ValidationError):
            self.account.seller_central_domain = "US"

    def test_marketplace_codes_helper(self):
        self.assertEqual(set(self.account.marketplace_codes.split(",")), {"UK", "DE"})
        self.account.marketplace_codes = " gb, de;FR "
        self.assertEqual(self.account.marketplace_ids, self.uk | self.de | self.fr)

    def test_marketplace_codes_unknown(self):
        with self.assertRaisesRegex(ValidationError, "XX"):
            self.account.marketplace_codes = "UK,XX"
        self.assertEqual(self.account.marketplace_ids, self.uk | self.de)

    def test_marketplace_codes_wrong_region(self):
        with self.assertRaisesRegex(ValidationError, "region"):
            self.account.marketplace_codes = "UK,US"

    def test_fba_warehouse_required(self):
        with self.assertRaisesRegex(ValidationError, "FBA warehouse"):
            self.account.fba_mode = "both"
        warehouse = self.env["stock.warehouse"].search(
            [("company_id", "=", self.env.company.id)], limit=1
        )
        self.account.write({"fba_mode": "afn", "fba_warehouse_id": warehouse.id})
        self.assertEqual(self.account.fba_warehouse_id, warehouse)

    def test_email_errors_to(self):
        self.account.email_errors_to = "ops@example.com, owner@example.org"
        for bad in (
            "ops@example",
            "ops@example.com; owner@example.org",
            "not an address",
            ",",
        ):
            with self.subTest(bad=bad), self.assertRaises(ValidationError):
                self.account.email_errors_to = bad

    def test_credential_formats(self):
        good = {
            "lwa_client_id": "amzn1.application-oa2-client.abc",
            "lwa_refresh_token": "Atzr|abc",
            "aws_role_arn": "arn:aws:iam::123456789012:role/SellingPartnerRole",
            "seller_id": "A1B2C3D4E5F6G7",
            "lwa_auth_url": "https://api.amazon.com/auth/o2/token",
        }
        self.account.write(good)
        bad_values = {
            "lwa_client_id": ["amzn1.sp.solution.abc", "client"],
            "lwa_refresh_token": ["Atza|abc", "token"],
            "aws_role_arn": [
                "arn:aws:iam::1234:role/x",
                "arn:aws:iam::123456789012:user/x",
            ],
            "seller_id": ["a1b2c3d4e5", "A1B2C3", "A1B2C3D4E5F6G7H8I9"],
            "lwa_auth_url": ["http://api.amazon.com/auth/o2/token", "api.amazon.com"],
        }
        for field, values in bad_values.items():
            for value in values:
                with (
                    self.subTest(field=field, value=value),
                    self.assertRaises(ValidationError),
                ):
                    self.account.write({field: value})
        # A local fake Amazon is reachable over plain http on the loopback only.
        self.account.lwa_auth_url = "http://127.0.0.1:8900/auth/o2/token"

    def test_credential_expiry_dates(self):
        self.account.write(
            {
                "refresh_token_authorized_on": date(2026, 1, 10),
                "client_secret_rotated_on": date(2026, 1, 10),
            }
        )
        self.assertEqual(self.account.refresh_token_expires_on, date(2027, 1, 10))
        self.assertEqual(self.account.client_secret_expires_on, date(2026, 7, 9))

    def test_amazon_team_created_when_none(self):
        self.assertEqual(self.account.team_id.name, "Amazon")
        other = self.env["amazon.account"].create({"name": "Amazon DE"})
        self.assertEqual(
            other.team_id, self.account.team_id, "the company's team is reused"
        )
        team = self.env["crm.team"].create({"name": "Marketplaces"})
        chosen = self.env["amazon.account"].create(
            {"name": "Amazon FR", "team_id": team.id}
        )
        self.assertEqual(chosen.team_id, team)

    def test_copy_carries_no_secret(self):
        copy = self.account.copy()
        for field in SECRET_FIELDS:
            self.assertTrue(self.account[field], field)
            self.assertFalse(copy[field], field)
        self.assertEqual(copy.lwa_client_id, self.account.lwa_client_id)

    def test_neutralize_blanks_secrets(self):
        self.account.lwa_oauth_nonce = "pending-consent"
        self.env.flush_all()
        queries = get_neutralization_queries(["sale_amazon_spapi"])
        for query in queries:
            self.env.cr.execute(query)
        self.account.invalidate_recordset()
        for field in SECRET_FIELDS:
            self.assertFalse(self.account[field], field)
        self.assertFalse(self.account.enabled)
        self.assertFalse(self.account.lwa_oauth_nonce, "no consent left to redeem")
