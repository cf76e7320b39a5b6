# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.
"""Imported orders as an accountant and a warehouse need them (issue: order
fidelity): purchase dates, business buyers, partial shipments, address shapes,
currencies, product keys and the chatter."""

from datetime import datetime, timedelta, timezone

from odoo.tests import tagged

from .common import AmazonImportCommon


def _cap(qty=1):
    return {"sku": "CAP", "qty": qty, "unit_price": "10.00", "vat_rate": "0.20"}


@tagged("post_install", "-at_install")
class TestImportFidelity(AmazonImportCommon):
    def _logs(self):
        return self.env["amazon.import.log"].search(
            [("account_id", "=", self.account.id)]
        )

    def _amazon_order(self, ref):
        """The order as the fake Amazon keeps it, to reshape it like Amazon would."""
        return self.fake.store.orders[ref].order

    def test_order_date_stays_the_purchase_date(self):
        created = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(
            days=2, hours=3
        )
        ref = self.add_order(items=[_cap()], created=created)
        self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.state, "sale")
        purchase = created.replace(tzinfo=None)
        self.assertEqual(order.amazon_purchase_date, purchase)
        self.assertEqual(order.date_order, purchase, "not the confirmation time")

    def test_order_date_kept_when_confirmed_with_other_orders(self):
        bought = (datetime.now(timezone.utc) - timedelta(days=10)).replace(
            microsecond=0
        )
        ref = self.add_order(items=[_cap()], created=bought)
        self.import_orders()
        amazon = self.orders([ref])
        amazon._action_cancel()
        amazon.action_draft()
        self.assertEqual(amazon.state, "draft")
        other = self.env["sale.order"].create(
            {
                "partner_id": amazon.partner_id.id,
                "order_line": [(0, 0, {"product_id": self.cap.id})],
            }
        )
        (amazon | other).action_confirm()
        self.assertEqual(amazon.date_order, bought.replace(tzinfo=None))
        self.assertGreater(other.date_order, bought.replace(tzinfo=None))

    def test_business_order_company_contact_vat_and_po(self):
        ref = self.add_order(
            items=[_cap(5)],
            business=True,
            company_name="Acme Trading Ltd",
            purchase_order_number="PO-4711",
            buyer_tax_number="GB123456789",
            buyer_name="Jane Buyer",
        )
        self.import_orders()
        again = self.add_order(
            items=[_cap()],
            business=True,
            company_name="ACME Trading Ltd",
            buyer_tax_number="GB123456789",
            buyer_name="Jane Buyer",
            created=self.fake.now(),
        )
        self.fake.advance(180)
        self.import_orders()
        order = self.orders([ref])
        company = order.partner_id.parent_id
        self.assertTrue(company.is_company)
        self.assertEqual(company.name, "Acme Trading Ltd")
        self.assertEqual(company.vat, "GB123456789")
        self.assertEqual(order.partner_id.name, "Jane Buyer")
        self.assertEqual(order.partner_invoice_id, company)
        self.assertEqual(order.client_order_ref, "PO-4711")
        self.assertEqual(order.amazon_order_ref, ref)
        self.assertEqual(
            self.orders([again]).partner_id.parent_id, company, "found by VAT"
        )
        # The Amazon order ID still finds the order, from a field and the search.
        found = self.env["sale.order"].name_search(ref)
        self.assertEqual([order_id for order_id, _name in found], [order.id])
        self.assertEqual(
            self.env["sale.order"].search(
                [("amazon_account_id", "=", self.account.id), ("name", "ilike", "S")]
            )
            & order,
            order,
        )

    def test_partially_shipped_order_delivers_each_unit_once(self):
        self.env["stock.quant"]._update_available_quantity(
            self.cap, self.warehouse.lot_stock_id, 10
        )
        ref = self.add_order(items=[_cap(3)])
        self.fake.set_status(ref, "PARTIALLY_SHIPPED")
        item = self._amazon_order(ref)["orderItems"][0]
        item["fulfillment"].update(quantityFulfilled=1, quantityUnfulfilled=2)
        self.fake.advance(180)
        self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.state, "sale")
        line = order.order_line.filtered(lambda l: l.product_id == self.cap)
        self.assertEqual(sum(line.mapped("qty_delivered")), 1)
        done = order.picking_ids.filtered(lambda p: p.state == "done")
        open_ = order.picking_ids - done
        self.assertEqual(sum(done.move_ids.mapped("quantity")), 1)
        self.assertEqual(len(open_), 1, "a backorder for the units still to ship")
        self.assertEqual(sum(open_.move_ids.mapped("product_uom_qty")), 2)
        # Amazon then reports the rest shipped (shipped outside Odoo).
        self.fake.set_status(ref, "SHIPPED")
        self.fake.advance(180)
        self.import_orders()
        self.assertEqual(sum(line.mapped("qty_delivered")), 3)
        self.assertTrue(all(p.state == "done" for p in order.picking_ids))
        # Seen again, nothing moves twice.
        self.fake.set_status(ref, "SHIPPED")
        self.fake.advance(180)
        self.import_orders()
        self.assertEqual(sum(line.mapped("qty_delivered")), 3)

    def test_amazon_fulfilled_order_with_partial_address(self):
        refs = []
        for _i in range(2):
            ref = self.add_order(
                items=[_cap()],
                fulfilled_by="AMAZON",
                address={
                    "name": None,
                    "addressLine1": None,
                    "addressLine2": None,
                    "city": "Leeds",
                    "postalCode": "LS1 4AP",
                },
            )
            self._amazon_order(ref)["buyer"] = {}
            refs.append(ref)
        no_street = self.add_order(items=[_cap()], address={"addressLine1": None})
        self.import_orders()
        orders = self.orders(refs)
        self.assertEqual(len(orders), 2)
        customer = orders.partner_id
        self.assertEqual(len(customer), 1, "one customer per place")
        self.assertEqual(customer.name, "Amazon customer, Leeds")
        self.assertEqual(customer.country_id, self.env.ref("base.uk"))
        self.assertEqual(orders.partner_shipping_id, customer)
        self.assertFalse(self.orders([no_street]))
        log = self._logs()
        self.assertEqual(log.amazon_order_ref, no_street)
        self.assertIn("street", log.message)

    def test_states_by_code_name_and_local_script(self):
        bayern = self.add_order(
            items=[_cap()],
            address={"countryCode": "DE", "stateOrRegion": "bayern", "city": "München"},
        )
        hokkaido = self.add_order(
            items=[_cap()],
            address={"countryCode": "JP", "stateOrRegion": "北海道", "city": "札幌市"},
        )
        tokyo = self.add_order(
            items=[_cap()],
            address={"countryCode": "JP", "stateOrRegion": "東京", "city": "千代田区"},
        )
        california = self.add_order(
            items=[_cap()],
            address={"countryCode": "US", "stateOrRegion": "US-CA", "city": "Davis"},
        )
        nowhere = self.add_order(
            items=[_cap()],
            address={"countryCode": "GB", "stateOrRegion": "Yorkshire", "city": "York"},
        )
        self.import_orders()
        state = {
            ref: self.orders([ref]).partner_shipping_id.state_id
            for ref in (bayern, hokkaido, tokyo, california, nowhere)
        }
        self.assertEqual(state[bayern], self.env.ref("base.state_de_by"))
        self.assertEqual(state[hokkaido], self.env.ref("base.state_jp_jp-01"))
        self.assertEqual(state[tokyo].code, "13")
        self.assertEqual(state[california], self.env.ref("base.state_us_5"))
        self.assertFalse(state[nowhere], "no states in Odoo for the UK")
        self.assertFalse(self._logs())

    def test_order_in_another_currency_than_its_marketplace(self):
        ok = self.add_order(items=[_cap()])
        odd = self.add_order(items=[_cap()])
        amazon = self._amazon_order(odd)

        def to_eur(node):
            if isinstance(node, dict):
                if node.get("currencyCode") == "GBP":
                    node["currencyCode"] = "EUR"
                for value in node.values():
                    to_eur(value)
            elif isinstance(node, list):
                for value in node:
                    to_eur(value)

        to_eur(amazon)
        self.import_orders()
        self.assertTrue(self.orders([ok]))
        self.assertFalse(self.orders([odd]))
        log = self._logs()
        self.assertEqual(log.amazon_order_ref, odd)
        self.assertIn("EUR", log.message)
        self.assertIn("GBP", log.message)
        self.assertIn(odd, log.payload)

    def test_other_product_key_tried_before_unmapped(self):
        by_asin = self.add_order(
            items=[
                {
                    "sku": "OLD-SKU-9",
                    "asin": "B0MUG00001",
                    "qty": 1,
                    "unit_price": "9.99",
                }
            ]
        )
        self.import_orders()
        self.assertEqual(self.orders([by_asin]).order_line.product_id, self.mug)
        self.account.use_amazon_sku = False
        self.account.last_import_datetime = datetime.now() - timedelta(days=60)
        by_sku = self.add_order(
            items=[
                {"sku": "CAP", "asin": "B0UNKNOWN01", "qty": 1, "unit_price": "9.99"}
            ]
        )
        self.import_orders()
        order = self.orders([by_sku])
        self.assertFalse(order.amazon_unmapped_skus)
        self.assertIn(self.cap, order.order_line.product_id)

    def test_chatter_starts_with_one_import_note(self):
        ref = self.add_order(items=[_cap()], buyer_name="Ann Smith")
        self.fake.store.orders[ref].order["recipient"]["deliveryAddress"]["name"] = (
            "Ann Smith"
        )
        self.import_orders()
        order = self.orders([ref])
        messages = order.message_ids
        self.assertEqual(len(messages), 1, messages.mapped("body"))
        self.assertIn("Imported from Amazon", messages.body)
        self.assertIn(ref, messages.body)
        self.assertIn(self.uk.name, messages.body)
        self.assertFalse(messages.tracking_value_ids)
        self.assertNotIn("Ann Smith, Ann Smith", order.partner_shipping_id.display_name)
