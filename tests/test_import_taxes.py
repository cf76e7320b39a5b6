# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from datetime import datetime, timedelta
from decimal import Decimal

from odoo import Command
from odoo.tests import tagged

from odoo.addons.sale_amazon_spapi.fake_amazon.seed import generate_orders

from .common import AmazonImportCommon

EU = ("UK", "DE", "FR", "IT", "ES", "NL", "SE", "PL")


@tagged("post_install", "-at_install")
class TestImportTaxes(AmazonImportCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fr = cls.env.ref("sale_amazon_spapi.marketplace_fr")
        cls.us = cls.env.ref("sale_amazon_spapi.marketplace_us")
        cls.jp = cls.env.ref("sale_amazon_spapi.marketplace_jp")
        cls.account.marketplace_ids |= cls.fr
        # Shipping and promotions are taxed like the goods.
        for xmlid in ("shipping", "gift_wrap", "promotion"):
            cls.env.ref(
                f"sale_amazon_spapi.product_amazon_{xmlid}"
            ).taxes_id = cls.vat20
        cls.adjustment = cls.env.ref("sale_amazon_spapi.product_amazon_adjustment")

    def _tax(self, name, amount, included=True, **vals):
        return self.env["account.tax"].create(
            {
                "name": name,
                "amount": amount,
                "tax_group_id": self.tax_group.id,
                "price_include_override": "tax_included"
                if included
                else "tax_excluded",
                "company_id": self.company.id,
                "country_id": self.env.ref("base.uk").id,
                **vals,
            }
        )

    def _channel(self, domain, marketplaces, **vals):
        return self.account.copy(
            {
                "name": f"Amazon {domain}",
                "seller_central_domain": domain,
                "marketplace_ids": [Command.set(marketplaces.ids)],
                "lwa_client_secret": self.account.lwa_client_secret,
                "lwa_refresh_token": self.fake.add_refresh_token(
                    self.account.lwa_client_id,
                    seller_id=self.seller_id,
                    marketplace_ids=marketplaces.mapped("marketplace_id"),
                ),
                "fba_mode": "both",
                **vals,
            }
        )

    def _amazon_tax(self, ref):
        order = self.fake.get_order_dict(ref)
        return sum(
            Decimal(b["subtotal"]["amount"])
            for b in order["proceeds"]["breakdowns"]
            if b["type"] == "TAX"
        )

    def _tax_activities(self, orders):
        return orders.activity_ids.filtered(
            lambda a: a.summary == "Amazon tax without Odoo tax"
        )

    def _assert_amazon_taxes(self, ref, tax, currency_digits=2):
        order = self.env["sale.order"].search([("amazon_order_ref", "=", ref)])
        self.assertTrue(order)
        # Odoo rounds a charge summed over the items once, Amazon per item:
        # one minor unit at most, booked as rounding.
        unit = 10**-currency_digits
        adjustments = order.order_line.filtered(
            lambda line: line.product_id == self.adjustment
        )
        self.assertLessEqual(abs(sum(adjustments.mapped("price_unit"))), unit)
        priced = order.order_line.filtered(lambda line: line.product_id) - adjustments
        self.assertEqual(priced.tax_id, tax, order.activity_ids.mapped("note"))
        self.assertAlmostEqual(
            order.amount_tax, float(self._amazon_tax(ref)), delta=unit * 1.1
        )
        self.assertAlmostEqual(
            order.amount_total, self.amazon_total(ref), places=currency_digits
        )
        self.assertFalse(self._tax_activities(order))
        return order

    def _items(self, price="12.99", cap="8.70"):
        return [
            {"sku": "MUG", "qty": 3, "unit_price": price},
            {"sku": "CAP", "qty": 1, "unit_price": cap},
        ]

    def test_uk_20_included(self):
        ref = self.add_order(
            marketplace="UK", items=self._items(), shipping="3.99", discount="1.00"
        )
        self.import_orders()
        self._assert_amazon_taxes(ref, self.vat20)

    def test_fr_20_included_through_fiscal_position(self):
        fr20 = self._tax("TVA 20% FR", 20)
        self.fr.fiscal_position_id = self.env["account.fiscal.position"].create(
            {
                "name": "Amazon France",
                "tax_ids": [
                    Command.create(
                        {"tax_src_id": self.vat20.id, "tax_dest_id": fr20.id}
                    )
                ],
            }
        )
        ref = self.add_order(
            marketplace="FR", items=self._items(), shipping="4.49", gift_wrap="2.99"
        )
        self.import_orders()
        order = self._assert_amazon_taxes(ref, fr20)
        self.assertEqual(order.fiscal_position_id, self.fr.fiscal_position_id)

    def test_de_19_by_rate(self):
        de19 = self._tax("MwSt 19% DE", 19)
        ref = self.add_order(
            marketplace="DE", items=self._items(), shipping="4.49", discount="2.00"
        )
        self.import_orders()
        self._assert_amazon_taxes(ref, de19)

    def test_jp_10_included(self):
        self.env.ref("base.JPY").active = True
        jp10 = self._tax("消費税 10%", 10)
        channel = self._channel("JP", self.jp)
        ref = self.add_order(
            marketplace="JP", items=self._items("1280", "870"), shipping="500"
        )
        self.import_orders(channel)
        self._assert_amazon_taxes(ref, jp10, currency_digits=0)

    def _us_order(self):
        self.env.ref("base.USD").active = True
        channel = self._channel("US", self.us, fba_mode="mfn")
        ref = self.add_order(
            marketplace="US",
            items=self._items("12.99", "8.70"),
            shipping="4.99",
            address={"stateOrRegion": "WA"},
        )
        return channel, ref

    def test_us_state_rate_booked_on_facilitator_tax(self):
        liability = self.env["account.account"].create(
            {
                "name": "Amazon-collected sales tax",
                "code": "AMZ250",
                "account_type": "liability_current",
            }
        )
        self.us.facilitator_tax = "book"
        self.us.facilitator_account_id = liability
        wa = self._tax("WA 10.1% (Amazon)", 10.1, included=False)
        (wa.invoice_repartition_line_ids | wa.refund_repartition_line_ids).filtered(
            lambda line: line.repartition_type == "tax"
        ).account_id = liability
        # A tax of the same rate on the seller's own account is not Amazon's.
        self._tax("Seller tax 10.1%", 10.1, included=False)
        channel, ref = self._us_order()
        self.import_orders(channel)
        order = self._assert_amazon_taxes(ref, wa)
        mug = order.order_line.filtered(lambda line: line.product_id == self.mug)
        self.assertEqual(mug.price_unit, 12.99, "US prices exclude the tax")

    def test_us_facilitator_tax_left_out_of_revenue(self):
        self.assertEqual(self.us.facilitator_tax, "exclude")
        channel, ref = self._us_order()
        self.import_orders(channel)
        order = self.env["sale.order"].search([("amazon_order_ref", "=", ref)])
        self.assertFalse(order.order_line.tax_id)
        self.assertFalse(order.order_line.product_id & self.adjustment)
        self.assertAlmostEqual(
            order.amount_total, self.amazon_total(ref) - float(self._amazon_tax(ref))
        )
        self.assertFalse(self._tax_activities(order))

    def test_bare_15_default_gets_activity_then_missing_taxes(self):
        """Old code: 15 % VAT plus an untaxed adjustment line, and no word."""
        tax15 = self._tax("Tax 15%", 15, included=False)
        self.vat20.active = False
        (self.mug | self.cap).taxes_id = tax15
        for xmlid in ("shipping", "gift_wrap", "promotion"):
            self.env.ref(f"sale_amazon_spapi.product_amazon_{xmlid}").taxes_id = tax15
        ref = self.add_order(marketplace="FR", items=self._items(), shipping="4.49")
        self.import_orders()
        order = self.orders([ref])
        self.assertFalse(order.order_line.tax_id, "no silent 15 %")
        self.assertFalse(order.order_line.product_id & self.adjustment)
        self.assertAlmostEqual(order.amount_total, self.amazon_total(ref))
        activity = self._tax_activities(order)
        self.assertEqual(len(activity), 1)
        for word in ("Amazon.fr", "20 %", "price included", "Create Missing Taxes"):
            self.assertIn(word, str(activity.note))
        (missing,) = self.account.amazon_missing_taxes.values()
        self.assertEqual(
            (missing["marketplace_id"], missing["percent"], missing["price_include"]),
            (self.fr.id, "20", True),
        )
        # The proposal, accepted: a FR tax and a fiscal position for Amazon.fr.
        self.account.action_create_missing_taxes()
        self.assertFalse(self.account.amazon_missing_taxes)
        fr20 = self.env["account.tax"].search([("name", "=", "Amazon FR 20% incl.")])
        self.assertEqual((fr20.amount, fr20.price_include), (20, True))
        fiscal_position = self.fr.with_company(self.company).fiscal_position_id
        self.assertEqual(fiscal_position.map_tax(tax15), fr20)
        later = self.add_order(marketplace="FR", items=self._items(), shipping="4.49")
        self.account.last_import_datetime = datetime.now() - timedelta(days=60)
        self.import_orders()
        self._assert_amazon_taxes(later, fr20)

    def test_absurd_rates_are_not_proposed_and_standard_is_most_seen(self):
        """Attack review: 9900 % and -20 % rates became taxes, and the highest
        rate seen became the marketplace's standard rate."""
        self.account._amazon_note_missing_taxes(
            [
                (self.fr, "9900", True, False, "A"),
                (self.fr, "-20", True, False, "B"),
                (self.fr, "20", True, False, "C"),
                (self.fr, "20", True, False, "D"),
                (self.fr, "5.5", True, False, "E"),
            ]
        )
        rates = {r["percent"] for r in self.account.amazon_missing_taxes.values()}
        self.assertEqual(rates, {"20", "5.5"})
        self.account.action_create_missing_taxes()
        created = self.env["account.tax"].search([("name", "like", "Amazon FR %")])
        self.assertEqual(sorted(created.mapped("amount")), [5.5, 20.0])
        fiscal_position = self.fr.with_company(self.company).fiscal_position_id
        self.assertEqual(fiscal_position.map_tax(self.vat20).amount, 20)

    def test_default_mix_books_rounding_only(self):
        """With taxes created as readme/USAGE.md says, the fake's default mix of
        EU orders books no adjustment above one cent."""
        self.account.marketplace_ids = self.env["amazon.marketplace"].union(
            *(self.env.ref(f"sale_amazon_spapi.marketplace_{c.lower()}") for c in EU)
        )
        self.account.marketplace_ids.currency_id.active = True
        orders = generate_orders(
            60, seed=7, marketplaces=EU, seller_id=self.seller_id, pending_ratio=0
        )
        skus = {
            item["product"]["sellerSku"] for o in orders for item in o["orderItems"]
        }
        self.env["product.product"].create(
            [
                {"name": sku, "default_code": sku, "taxes_id": self.vat20.ids}
                for sku in skus
            ]
        )
        first, second = orders[:20], orders[20:]
        self.fake.add_orders(first, seller_id=self.seller_id)
        self.import_orders()
        self.assertTrue(self.account.amazon_missing_taxes, "DE 19 %, IT 22 %, ...")
        self.account.action_create_missing_taxes()
        self.fake.add_orders(second, seller_id=self.seller_id)
        self.fake.advance(180)
        self.account.last_import_datetime = datetime.now() - timedelta(days=60)
        stats = self.import_orders()
        imported = self.orders([o["orderId"] for o in second])
        self.assertGreater(len(imported), 10, stats)
        self.assertFalse(self._tax_activities(imported))
        self.assertFalse(stats.get("tax_differences"))
        adjustments = imported.order_line.filtered(
            lambda line: line.product_id == self.adjustment
        )
        self.assertTrue(all(abs(line.price_unit) <= 0.01 for line in adjustments))
        for order in imported.filtered(lambda o: o.state != "cancel"):
            ref = order.amazon_order_ref
            self.assertAlmostEqual(order.amount_total, self.amazon_total(ref))
            self.assertAlmostEqual(
                order.amount_tax, float(self._amazon_tax(ref)), delta=0.011
            )
