# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo.tests import Form, new_test_user, tagged

from .common import AmazonCommon


@tagged("post_install", "-at_install")
class TestSetupHelpers(AmazonCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            "amz_setup_manager",
            groups="base.group_user,sale_amazon_spapi.group_amazon_manager",
        )
        cls.salesman = new_test_user(
            cls.env,
            "amz_setup_salesman",
            groups="sales_team.group_sale_salesman_all_leads",
        )

    def _company(self, country_xmlid, name):
        return self.env["res.company"].create(
            {"name": name, "country_id": self.env.ref(country_xmlid).id}
        )

    # --- Seller Central Domain from the company's country --- #

    def test_seller_central_domain_follows_company_country(self):
        Account = self.env["amazon.account"]
        company = self.env.company
        for country, domain in (
            ("base.uk", "UK"),
            ("base.de", "DE"),
            ("base.fr", "FR"),
            ("base.ie", "IE"),
            ("base.tr", "TR"),
            ("base.us", "US"),
            ("base.ca", "CA"),
            ("base.jp", "JP"),
            ("base.au", "AU"),
            ("base.in", "IN"),
            ("base.ae", "AE"),
            ("base.ch", False),
        ):
            company.country_id = self.env.ref(country)
            with self.subTest(country=country):
                self.assertEqual(
                    Account.default_get(["seller_central_domain"]).get(
                        "seller_central_domain", False
                    ),
                    domain,
                )

    def test_seller_central_domain_from_the_channel_company(self):
        self.env.company.country_id = self.env.ref("base.us")
        german = self._company("base.de", "Amazon Setup DE")
        self.env.user.company_ids |= german
        defaults = (
            self.env["amazon.account"]
            .with_context(default_company_id=german.id)
            .default_get(["seller_central_domain"])
        )
        self.assertEqual(defaults["seller_central_domain"], "DE")
        # Created by code without a domain: the company's, else the former default.
        channel = self.env["amazon.account"].create(
            {"name": "Amazon DE", "company_id": german.id}
        )
        self.assertEqual(channel.seller_central_domain, "DE")
        self.assertEqual(channel.region, "eu")
        swiss = self._company("base.ch", "Amazon Setup CH")
        channel = self.env["amazon.account"].create(
            {"name": "Amazon CH", "company_id": swiss.id}
        )
        self.assertEqual(channel.seller_central_domain, "US")

    def test_form_defaults_domain_region_and_marketplaces(self):
        self.env.company.country_id = self.env.ref("base.uk")
        form = Form(self.env["amazon.account"])
        form.name = "Amazon UK"
        self.assertEqual(form.seller_central_domain, "UK")
        self.assertEqual(form.region, "eu")
        form.marketplace_ids.add(self.uk)
        form.marketplace_ids.add(self.de)
        form.seller_central_domain = "DE"
        self.assertEqual(len(form.marketplace_ids), 2, "same region: kept")
        form.seller_central_domain = "US"
        self.assertEqual(form.region, "na")
        self.assertEqual(len(form.marketplace_ids), 0, "other region: removed")
        form.marketplace_ids.add(self.us)
        channel = form.save()
        self.assertEqual(channel.marketplace_ids, self.us)

    def test_form_leaves_domain_empty_without_seller_central(self):
        self.env.company.country_id = self.env.ref("base.ch")
        form = Form(self.env["amazon.account"])
        form.name = "Amazon CH"
        self.assertFalse(form.seller_central_domain)
        self.assertFalse(form.region)
        form.seller_central_domain = "DE"
        self.assertEqual(form.save().region, "eu")
