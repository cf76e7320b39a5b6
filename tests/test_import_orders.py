# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from datetime import datetime, timedelta, timezone
from unittest.mock import patch

from odoo import Command, sql_db
from odoo.tests import new_test_user, tagged

from odoo.addons.sale_amazon_spapi.fake_amazon.seed import make_malformed_order

from .common import AmazonImportCommon

SALE_ORDER = "odoo.addons.sale_amazon_spapi.models.sale_order.SaleOrder"
ACCOUNT = "odoo.addons.sale_amazon_spapi.models.amazon_account_import.AmazonAccount"


def _tee(qty=1, price="12.00", **extra):
    return dict(sku="TEE-Red-XL", qty=qty, unit_price=price, vat_rate="0.20", **extra)


@tagged("post_install", "-at_install")
class TestImportOrders(AmazonImportCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account.sku_concat_labels = "Colour,Size"
        # A UK seller taxes shipping, gift wrap and promotions like the goods.
        for xmlid in ("shipping", "gift_wrap", "promotion"):
            cls.env.ref(
                f"sale_amazon_spapi.product_amazon_{xmlid}"
            ).taxes_id = cls.vat20
        cls.tee_red_xl = cls.tee.product_variant_ids.filtered(
            lambda p: (
                set(p.product_template_attribute_value_ids.mapped("name"))
                == {"Red", "XL"}
            )
        )

    def _set_cap_stock(self, quantity):
        """Leave `quantity` caps in the warehouse's stock location; its quant."""
        quant = self.env["stock.quant"].search(
            [
                ("product_id", "=", self.cap.id),
                ("location_id", "=", self.warehouse.lot_stock_id.id),
            ]
        )
        quant.sudo().quantity = quantity
        return quant

    def test_import_confirms_orders_once(self):
        refs = [
            self.add_order(items=[{"sku": "MUG", "qty": 2, "unit_price": "9.99"}]),
            self.add_order(items=[{"sku": "CAP", "qty": 1, "unit_price": "15.00"}]),
        ]
        stats = self.import_orders()
        self.assertEqual(stats["created"], 2)
        self.assertEqual(len(self.fake.calls_to("searchOrders")), 1)
        manual = self.env["sale.order"].create(
            {
                "partner_id": self.env["res.partner"].create({"name": "Walk-in"}).id,
                "order_line": [Command.create({"product_id": self.tee_red_xl.id})],
            }
        )
        manual.action_confirm()
        manual_note = manual.picking_ids.message_ids.filtered(
            lambda m: "has been created from" in (m.body or "")
        )
        self.assertEqual(len(manual_note), 1)
        self.assertEqual(len(self.fake.calls_to("getOrder")), 0)
        orders = self.orders(refs)
        self.assertEqual(len(orders), 2)
        for order in orders:
            self.assertEqual(order.state, "sale")
            self.assertEqual(order.client_order_ref, order.amazon_order_ref)
            self.assertEqual(order.amazon_marketplace_id, self.uk)
            self.assertEqual(order.amazon_fulfilled_by, "MERCHANT")
            self.assertEqual(order.amazon_status, "UNSHIPPED")
            self.assertEqual(order.team_id, self.account.team_id)
            self.assertIn(order.partner_id, order.message_partner_ids)
            self.assertEqual(order.currency_id.name, "GBP")
            self.assertEqual(order.partner_shipping_id.parent_id, order.partner_id)
            self.assertEqual(order.partner_shipping_id.country_id.code, "GB")
            self.assertTrue(order.picking_ids, "a delivery for the warehouse staff")
            self.assertEqual(order.picking_ids.state, "assigned")
            self.assertAlmostEqual(
                order.amount_total, self.amazon_total(order.amazon_order_ref)
            )
            # The delivery says where it comes from, once, as sale_stock does.
            notes = order.picking_ids.message_ids.filtered(
                lambda m: "has been created from" in (m.body or "")
            )
            self.assertEqual(len(notes), 1)
            self.assertEqual(notes.subtype_id, self.env.ref("mail.mt_note"))
            self.assertEqual(
                notes.body.replace(str(order.id), "ID").replace(order.name, "NAME"),
                manual_note.body.replace(str(manual.id), "ID").replace(
                    manual.name, "NAME"
                ),
            )
        self.assertTrue(
            self.account.last_import_datetime > datetime.now() - timedelta(hours=1)
        )
        # Re-running over the same window updates, never duplicates.
        self.account.last_import_datetime = datetime.now() - timedelta(days=60)
        stats = self.import_orders()
        self.assertEqual(stats["created"], 0)
        self.assertEqual(stats["updated"], 2)
        self.assertEqual(len(self.orders(refs)), 2)

    def test_same_buyer_reuses_partner(self):
        email = "buyer42@marketplace.amazon.co.uk"
        refs = [
            self.add_order(buyer_email=email, items=[_tee()]),
            self.add_order(buyer_email=email, items=[_tee()]),
        ]
        self.import_orders()
        orders = self.orders(refs)
        self.assertEqual(len(orders.partner_id), 1)
        self.assertEqual(len(orders.partner_shipping_id), 1)
        self.add_order(buyer_email=email, items=[_tee()])
        self.import_orders()
        self.assertEqual(len(self.orders().partner_id), 1)

    def test_totals_tax_included_marketplace(self):
        ref = self.add_order(
            items=[
                _tee(qty=3, price="12.99"),
                {"sku": "MUG", "qty": 1, "unit_price": "9.99", "vat_rate": "0.20"},
            ],
            shipping="3.99",
            discount="2.50",
            gift_wrap="1.50",
            gift_message="Happy birthday Zoë",
        )
        self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.amount_total, self.amazon_total(ref))
        self.assertEqual(order.amazon_gift_message, "Happy birthday Zoë")
        products = order.order_line.product_id
        self.assertIn(
            self.env.ref("sale_amazon_spapi.product_amazon_shipping"), products
        )
        self.assertIn(
            self.env.ref("sale_amazon_spapi.product_amazon_gift_wrap"), products
        )
        self.assertIn(
            self.env.ref("sale_amazon_spapi.product_amazon_promotion"), products
        )
        tee_line = order.order_line.filtered(
            lambda line: line.product_id == self.tee_red_xl
        )
        self.assertEqual(sum(tee_line.mapped("product_uom_qty")), 3)
        self.assertEqual(tee_line.price_unit, 12.99, "VAT-inclusive unit price kept")
        self.assertEqual(tee_line.tax_id, self.vat20)
        # The VAT Odoo computes is Amazon's, to the cent.
        self.assertAlmostEqual(
            order.amount_tax,
            float(
                next(
                    b["subtotal"]["amount"]
                    for b in self.fake.get_order_dict(ref)["proceeds"]["breakdowns"]
                    if b["type"] == "TAX"
                )
            ),
            places=2,
        )

    def test_totals_tax_excluded_marketplace(self):
        us = self.env.ref("sale_amazon_spapi.marketplace_us")
        account = self.account.copy(
            {
                "name": "Amazon US",
                "seller_central_domain": "US",
                "marketplace_ids": [Command.set(us.ids)],
                "lwa_client_secret": self.account.lwa_client_secret,
                "lwa_refresh_token": self.fake.add_refresh_token(
                    self.account.lwa_client_id,
                    seller_id=self.seller_id,
                    marketplace_ids=[us.marketplace_id],
                ),
                "fba_mode": "mfn",
                "sku_concat_labels": False,
            }
        )
        sales_tax = self.env["account.tax"].create(
            {
                "name": "Sales tax 8.25%",
                "tax_group_id": self.tax_group.id,
                "amount": 8.25,
                "company_id": self.company.id,
                "country_id": self.env.ref("base.uk").id,
            }
        )
        hat = self.env["product.product"].create(
            {
                "name": "Hat",
                "default_code": "HAT",
                "taxes_id": [Command.set(sales_tax.ids)],
            }
        )
        ref = self.add_order(
            marketplace="US",
            items=[
                # A tax the seller collects itself (not Amazon as facilitator).
                {
                    "sku": "HAT",
                    "qty": 3,
                    "unit_price": "10.00",
                    "tax_rate": "0.0825",
                    "facilitator": False,
                }
            ],
            shipping="4.99",
        )
        self.import_orders(account)
        order = self.env["sale.order"].search([("amazon_order_ref", "=", ref)])
        self.assertEqual(order.currency_id.name, "USD")
        line = order.order_line.filtered(lambda line: line.product_id == hat)
        self.assertEqual(line.price_unit, 10.0, "US prices exclude the tax")
        self.assertAlmostEqual(line.price_tax, 2.48)
        self.assertEqual(order.amount_total, self.amazon_total(ref))

    def test_tax_without_odoo_tax_is_said_not_adjusted(self):
        # Odoo's product tax (20%) differs from the VAT Amazon charged (5%):
        # no adjustment line hides it any more, an activity says it.
        ref = self.add_order(
            items=[{"sku": "MUG", "qty": 3, "unit_price": "10.00", "vat_rate": "0.05"}]
        )
        self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.amount_total, self.amazon_total(ref))
        self.assertFalse(order.order_line.tax_id)
        self.assertFalse(
            order.order_line.product_id
            & self.env.ref("sale_amazon_spapi.product_amazon_adjustment")
        )
        self.assertIn("5 %", str(order.activity_ids.note))

    def test_pending_orders_wait_until_unshipped(self):
        ref = self.add_order(status="PENDING", items=[_tee()])
        stats = self.import_orders()
        self.assertEqual(stats["pending"], 1)
        self.assertFalse(self.orders([ref]))
        # Weeks later Amazon releases it: the update time moves and it is imported.
        self.fake.set_status(ref, "UNSHIPPED")
        # Searches end two minutes before Amazon's now.
        self.fake.advance(180)
        self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.amazon_status, "UNSHIPPED")

    def test_cancellations(self):
        kept = self.add_order(items=[_tee()])
        delivered = self.add_order(
            items=[{"sku": "MUG", "qty": 1, "unit_price": "9.99"}]
        )
        never = self.add_order(status="CANCELLED", items=[_tee()])
        self.import_orders()
        self.assertFalse(
            self.orders([never]), "a never-imported cancellation is skipped"
        )
        delivered_order = self.orders([delivered])
        delivered_order.picking_ids.move_ids.quantity = 1
        delivered_order.picking_ids.move_ids.picked = True
        delivered_order.picking_ids.button_validate()
        self.assertEqual(delivered_order.picking_ids.state, "done")
        self.fake.set_status(kept, "CANCELLED")
        self.fake.set_status(delivered, "CANCELLED")
        self.fake.advance(180)
        stats = self.import_orders()
        self.assertEqual(stats["cancelled"], 1)
        self.assertEqual(self.orders([kept]).state, "cancel")
        self.assertEqual(delivered_order.state, "sale")
        self.assertEqual(delivered_order.amazon_status, "CANCELLED")
        self.assertIn(
            "already delivered",
            delivered_order.activity_ids.note or "",
            "an activity instead",
        )

    def test_fba_order_delivered_from_fba_warehouse(self):
        ref = self.add_order(
            fulfilled_by="AMAZON",
            status="SHIPPED",
            items=[{"sku": "MUG", "qty": 2, "unit_price": "9.99"}],
        )
        self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.warehouse_id, self.fba_warehouse)
        self.assertEqual(order.picking_ids.state, "done")
        self.assertEqual(order.amazon_fulfilled_by, "AMAZON")
        # The FBA warehouse had no mug in Odoo: imported all the same, with a warning.
        self.assertIn("not enough stock", order.activity_ids.note or "")

    def test_shipped_order_with_just_enough_stock_needs_no_warning(self):
        self._set_cap_stock(2)
        self.assertEqual(
            self.cap.with_context(warehouse_id=self.warehouse.id).qty_available, 2
        )
        ref = self.add_order(
            status="SHIPPED", items=[{"sku": "CAP", "qty": 2, "unit_price": "15.00"}]
        )
        self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.picking_ids.state, "done")
        self.assertFalse(order.activity_ids, "reserved stock is not missing stock")

    def test_shipped_orders_share_the_last_stock_in_order(self):
        stock = self.warehouse.lot_stock_id
        quant = self._set_cap_stock(3)
        first = self.add_order(
            status="SHIPPED", items=[{"sku": "CAP", "qty": 2, "unit_price": "15.00"}]
        )
        second = self.add_order(
            status="SHIPPED", items=[{"sku": "CAP", "qty": 2, "unit_price": "15.00"}]
        )
        waiting = self.add_order(items=[{"sku": "MUG", "qty": 1, "unit_price": "9.99"}])
        self.import_orders()
        first, second, waiting = (
            self.orders([first]),
            self.orders([second]),
            self.orders([waiting]),
        )
        self.assertEqual((first | second).picking_ids.mapped("state"), ["done"] * 2)
        # Stock for one of them: the other one is short, whichever came first.
        warned = (first | second).filtered(
            lambda o: "not enough stock" in (o.activity_ids.note or "")
        )
        self.assertEqual(len(warned), 1)
        self.assertEqual(warned, (first | second).sorted("id")[-1])
        # Both left the warehouse: 3 - 2 - 2.
        self.assertEqual(self.cap.with_context(location=stock.id).qty_available, -1)
        self.assertFalse(quant.exists() and quant.reserved_quantity)
        # An order still to ship keeps its reservation for the warehouse staff.
        self.assertEqual(waiting.picking_ids.state, "assigned")
        self.assertEqual(waiting.picking_ids.move_ids.quantity, 1)

    def test_shipped_order_takes_stock_from_a_bin(self):
        stock = self.warehouse.lot_stock_id
        shelf = self.env["stock.location"].create(
            {"name": "Shelf 1", "location_id": stock.id, "usage": "internal"}
        )
        scarf = self.env["product.product"].create(
            {"name": "Wool Scarf", "default_code": "SCARF", "is_storable": True}
        )
        self.env["stock.quant"]._update_available_quantity(scarf, shelf, 5)
        ref = self.add_order(
            status="SHIPPED", items=[{"sku": "SCARF", "qty": 2, "unit_price": "20.00"}]
        )
        self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.picking_ids.state, "done")
        self.assertEqual(order.picking_ids.move_line_ids.location_id, shelf)
        self.assertFalse(order.activity_ids, "the bin had the stock")
        quants = self.env["stock.quant"].search(
            [("product_id", "=", scarf.id), ("location_id.usage", "=", "internal")]
        )
        self.assertEqual(quants.location_id, shelf, "no negative quant beside it")
        self.assertEqual(sum(quants.mapped("quantity")), 3)

    def test_shipped_order_leaves_before_orders_to_ship_reserve(self):
        self._set_cap_stock(2)
        to_ship = self.add_order(
            items=[{"sku": "CAP", "qty": 2, "unit_price": "15.00"}]
        )
        shipped = self.add_order(
            status="SHIPPED", items=[{"sku": "CAP", "qty": 2, "unit_price": "15.00"}]
        )
        self.import_orders()
        to_ship, shipped = self.orders([to_ship]), self.orders([shipped])
        self.assertEqual(shipped.picking_ids.state, "done")
        self.assertFalse(shipped.activity_ids, "the units it took were there")
        # The warehouse is empty now: the order to ship waits for stock.
        self.assertEqual(to_ship.state, "sale")
        self.assertEqual(to_ship.picking_ids.state, "confirmed")
        self.assertEqual(to_ship.picking_ids.move_ids.quantity, 0)

    def test_delivery_odoo_refuses_leaves_the_others_validated(self):
        self.env["product.product"].create(
            {
                "name": "Camera",
                "default_code": "CAMERA",
                "is_storable": True,
                "tracking": "serial",
            }
        )
        refused = self.add_order(
            status="SHIPPED", items=[{"sku": "CAMERA", "qty": 1, "unit_price": "450"}]
        )
        fine = self.add_order(
            status="SHIPPED", items=[{"sku": "MUG", "qty": 1, "unit_price": "9.99"}]
        )
        stats = self.import_orders()
        refused, fine = self.orders([refused]), self.orders([fine])
        self.assertEqual(fine.picking_ids.state, "done")
        self.assertEqual(refused.state, "sale", "imported and confirmed all the same")
        self.assertNotEqual(refused.picking_ids.state, "done")
        self.assertIn(
            refused.picking_ids.name, refused.activity_ids.note or "", "who must act"
        )
        self.assertEqual(stats["delivery_errors"], 1)
        self.assertEqual(stats["delivered"], 1)

    def test_shipped_order_of_lot_tracked_product_takes_its_lot(self):
        lens = self.env["product.product"].create(
            {
                "name": "Camera Lens",
                "default_code": "LENS",
                "is_storable": True,
                "tracking": "lot",
            }
        )
        lot = self.env["stock.lot"].create({"name": "LOT-7", "product_id": lens.id})
        self.env["stock.quant"]._update_available_quantity(
            lens, self.warehouse.lot_stock_id, 5, lot_id=lot
        )
        ref = self.add_order(
            status="SHIPPED", items=[{"sku": "LENS", "qty": 2, "unit_price": "99.00"}]
        )
        self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.picking_ids.state, "done")
        self.assertEqual(order.picking_ids.move_line_ids.lot_id, lot)
        self.assertFalse(order.activity_ids)

    def test_fba_mode_filters_orders(self):
        self.account.fba_mode = "mfn"
        mfn = self.add_order(items=[_tee()])
        afn = self.add_order(fulfilled_by="AMAZON", status="SHIPPED", items=[_tee()])
        self.import_orders()
        self.assertTrue(self.orders([mfn]))
        self.assertFalse(self.orders([afn]))
        params = self.fake.calls_to("searchOrders")[0].params
        self.assertIn("MERCHANT", str(params.get("fulfilledBy")))
        self.account.fba_mode = "afn"
        self.account.last_import_datetime = datetime.now() - timedelta(days=60)
        self.import_orders()
        self.assertTrue(self.orders([afn]))

    def test_customization_levels(self):
        customization = {
            "text": "Zoë & Ben",
            "font": "Great Vibes",
            "color": "Gold",
            "label": "Engraving",
            "option": "Large",
            "image": "photo.png",
        }
        texts = {}
        for level in ("minimum", "medium", "maximum"):
            self.account.customization_level = level
            ref = self.add_order(items=[_tee()], customization=customization)
            self.account.last_import_datetime = datetime.now() - timedelta(days=60)
            self.import_orders()
            order = self.orders([ref])
            line = order.order_line.filtered("amazon_item_ref")
            texts[level] = line.amazon_customization or ""
            self.assertIn("Zoë & Ben", texts[level], level)
            attachment = self.env["ir.attachment"].search(
                [("res_model", "=", "sale.order"), ("res_id", "=", order.id)]
            )
            self.assertEqual(attachment.mimetype, "application/zip")
            move = order.picking_ids.move_ids.filtered("sale_line_id")
            self.assertEqual(move.amazon_customization, line.amazon_customization)
            slip = (
                self.env["ir.actions.report"]
                ._render_qweb_html(
                    "stock.action_report_delivery", order.picking_ids.ids
                )[0]
                .decode()
            )
            self.assertIn("Personalisation", slip)
            self.assertIn("Zoë &amp; Ben", slip)
        self.assertNotIn("Great Vibes", texts["minimum"])
        self.assertIn("Great Vibes", texts["medium"])
        self.assertIn("Gold", texts["medium"])
        self.assertIn("photo.png", texts["maximum"])
        self.assertNotIn("photo.png", texts["medium"])
        self.assertEqual(len(self.fake.calls_to("customization")), 3)

    def test_product_matching(self):
        mapped = self.env["product.product"].create({"name": "Mapped Product"})
        self.env["amazon.sku.map"].create(
            {"account_id": self.account.id, "sku": "LEGACY-1", "product_id": mapped.id}
        )
        ref = self.add_order(
            items=[
                {"sku": "LEGACY-1", "qty": 1, "unit_price": "5.00"},
                {"sku": "TEE-Blue-M", "qty": 1, "unit_price": "12.00"},
                {"sku": "MUG", "qty": 1, "unit_price": "9.99"},
            ]
        )
        self.import_orders()
        order = self.orders([ref])
        blue_m = self.tee.product_variant_ids.filtered(
            lambda p: (
                set(p.product_template_attribute_value_ids.mapped("name"))
                == {"Blue", "M"}
            )
        )
        self.assertEqual(
            set(order.order_line.filtered("amazon_sku").mapped("product_id").ids),
            {mapped.id, blue_m.id, self.mug.id},
        )
        self.assertEqual(order.state, "sale")

    def test_asin_matching(self):
        self.account.use_amazon_sku = False
        ref = self.add_order(
            items=[
                {
                    "sku": "OTHER-SKU",
                    "asin": "B0MUG00001",
                    "qty": 1,
                    "unit_price": "9.99",
                }
            ]
        )
        self.import_orders()
        self.assertEqual(self.orders([ref]).order_line.product_id[:1], self.mug)

    def test_unmapped_sku_then_retry(self):
        ref = self.add_order(
            items=[{"sku": "NEW-THING", "qty": 2, "unit_price": "7.00"}]
        )
        stats = self.import_orders()
        self.assertEqual(stats["waiting_mapping"], 1)
        order = self.orders([ref])
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.amazon_unmapped_skus, "NEW-THING")
        self.assertFalse(order.order_line.filtered(lambda line: line.price_unit))
        self.assertIn("NEW-THING", order.activity_ids.summary)
        thing = self.env["product.product"].create({"name": "New Thing"})
        self.env["amazon.sku.map"].create(
            {"account_id": self.account.id, "sku": "NEW-THING", "product_id": thing.id}
        )
        name, order_id = order.name, order.id
        order.message_post(body="Called the buyer about the gift wrap")
        note = self.env["ir.attachment"].create(
            {
                "name": "buyer.txt",
                "raw": b"x",
                "res_model": "sale.order",
                "res_id": order.id,
            }
        )
        reminder = order.activity_schedule(
            "mail.mail_activity_data_call", summary="Call the buyer back"
        )
        action = order.action_amazon_retry()
        retried = self.orders([ref])
        # Completed in place: the same record, name, chatter, files and activities.
        self.assertEqual(retried.id, order_id)
        self.assertEqual(retried.name, name)
        self.assertEqual(retried.state, "sale")
        self.assertFalse(retried.amazon_unmapped_skus)
        self.assertEqual(retried.order_line.product_id[:1], thing)
        self.assertFalse(retried.order_line.filtered("display_type"))
        self.assertEqual(retried.amount_total, self.amazon_total(ref))
        self.assertTrue(retried.picking_ids)
        self.assertIn("Called the buyer", "".join(retried.message_ids.mapped("body")))
        self.assertTrue(note.exists())
        self.assertEqual(retried.activity_ids, reminder)
        self.assertEqual(action["params"]["next"]["tag"], "soft_reload")
        self.assertEqual(len(self.fake.calls_to("getOrder")), 1)

    def test_retry_still_unmapped_keeps_one_activity(self):
        ref = self.add_order(
            items=[
                {"sku": "NEW-THING", "qty": 1, "unit_price": "7.00"},
                {"sku": "MUG", "qty": 1, "unit_price": "9.99"},
            ]
        )
        self.import_orders()
        order = self.orders([ref])
        order.action_amazon_retry()
        self.assertEqual(self.orders([ref]), order)
        self.assertEqual(order.state, "draft")
        self.assertEqual(len(order.activity_ids), 1)
        self.assertEqual(len(order.order_line.filtered("display_type")), 1)
        self.assertEqual(order.order_line.product_id, self.mug)

    def test_retry_from_log_replaces_its_entry(self):
        Log = self.env["amazon.import.log"]
        ref = self.add_order(items=[_tee()])
        log = Log.create(
            {"account_id": self.account.id, "amazon_order_ref": ref, "message": "x"}
        )
        self.fake.inject_fault("getOrder", "status", times=10, status=503)
        log.action_retry()
        to_retry = Log.search(
            [("account_id", "=", self.account.id), ("state", "=", "error")]
        )
        self.assertEqual(len(to_retry), 1, "one entry to retry per order")
        self.assertEqual(to_retry.amazon_order_ref, ref)
        self.fake.clear_faults()
        to_retry.action_retry()
        self.assertTrue(self.orders([ref]))
        self.assertFalse(
            Log.search([("account_id", "=", self.account.id), ("state", "=", "error")])
        )

    def test_retry_of_order_unknown_at_amazon_is_not_to_retry(self):
        Log = self.env["amazon.import.log"]
        log = Log.create(
            {
                "account_id": self.account.id,
                "amazon_order_ref": "202-0000000-0000000",
                "message": "x",
            }
        )
        log.action_retry()
        logs = Log.search([("account_id", "=", self.account.id)])
        self.assertEqual(set(logs.mapped("state")), {"done"})
        self.assertIn("404", logs.sorted("id")[-1].message)

    def test_malformed_orders_logged_others_imported(self):
        good = self.add_order(items=[_tee()])
        bad = {}
        for kind in (
            "missing_address",
            "unknown_country",
            "zero_quantity",
            "unknown_currency",
            "no_items",
        ):
            order = make_malformed_order(
                kind, created=datetime.now(timezone.utc) - timedelta(days=1)
            )
            bad[kind] = self.fake.add_order(
                order, validate=False, seller_id=self.seller_id
            )
        self.import_orders()
        self.assertTrue(self.orders([good]))
        self.assertFalse(self.orders(list(bad.values())))
        logs = self.env["amazon.import.log"].search(
            [("account_id", "=", self.account.id)]
        )
        self.assertEqual(sorted(logs.mapped("amazon_order_ref")), sorted(bad.values()))
        for log in logs:
            self.assertIn(log.amazon_order_ref, log.payload)
            self.assertEqual(log.state, "error")
        self.assertIn(
            "XX",
            logs.filtered(
                lambda l: l.amazon_order_ref == bad["unknown_country"]
            ).message,
        )
        self.assertIn(
            "XXX",
            logs.filtered(
                lambda l: l.amazon_order_ref == bad["unknown_currency"]
            ).message,
        )
        mails = self.env["mail.mail"].search([("email_to", "=", "ops@example.com")])
        self.assertEqual(len(mails), 1, "one digest per run")
        for ref in bad.values():
            self.assertIn(ref, mails.body_html)
        self.assertEqual(self.account.import_error_count, 5)
        # Fixed at Amazon (here: the address comes back), the order imports and its
        # log entry is resolved.
        fixed = self.fake.store.orders[bad["missing_address"]].order
        fixed["recipient"]["deliveryAddress"] = {
            "name": "Jane Doe",
            "addressLine1": "1 High Street",
            "city": "Leeds",
            "postalCode": "LS1 1AA",
            "countryCode": "GB",
        }
        self.fake.set_status(bad["missing_address"], "UNSHIPPED")
        self.fake.advance(180)
        self.import_orders()
        self.assertTrue(self.orders([bad["missing_address"]]))
        self.account.invalidate_recordset(["import_error_count"])
        self.assertEqual(self.account.import_error_count, 4)

    def test_crash_after_first_batch_then_rerun(self):
        refs = [self.add_order(items=[_tee()]) for _i in range(5)]
        original = type(self.env["sale.order"])._amazon_import_batch
        calls = []

        def crash_on_second(model, *args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                raise RuntimeError("worker killed")
            return original(model, *args, **kwargs)

        # Not assertRaises: Odoo's rolls back to a savepoint, a crash does not
        # undo the pages committed before it.
        with (
            patch.object(type(self.account), "_import_page_size", 2),
            patch(f"{SALE_ORDER}._amazon_import_batch", crash_on_second),
        ):
            crashed = False
            try:
                self.import_orders()
            except RuntimeError:
                crashed = True
            self.assertTrue(crashed, "the crash did not happen")
        self.assertEqual(len(self.orders(refs)), 2, "the first page was kept")
        self.assertTrue(self.account.import_next_token)
        cursor = self.account.last_import_datetime
        self.assertTrue(
            cursor < datetime.now() - timedelta(days=59), "cursor not moved"
        )
        with patch.object(type(self.account), "_import_page_size", 2):
            self.import_orders()
        self.assertEqual(len(self.orders(refs)), 5)
        self.assertEqual(len(self.orders()), 5, "no duplicate")
        self.assertFalse(self.account.import_next_token)

    def test_throttled_mid_run_resumes(self):
        refs = [self.add_order(items=[_tee()]) for _i in range(5)]
        original = type(self.env["sale.order"])._amazon_import_batch
        fake = self.fake

        def throttle_after_first(model, *args, **kwargs):
            result = original(model, *args, **kwargs)
            fake.inject_fault("searchOrders", "status", times=10, status=429)
            return result

        with (
            patch.object(type(self.account), "_import_page_size", 2),
            patch(f"{SALE_ORDER}._amazon_import_batch", throttle_after_first),
        ):
            stats = self.import_orders()
        self.assertEqual(stats["throttled"], 1)
        self.assertEqual(len(self.orders(refs)), 2)
        token = self.account.import_next_token
        self.assertTrue(token)
        self.fake.clear_faults()
        # Amazon's budget refills with time: give it back at once.
        self.env.cr.execute("DELETE FROM amazon_rate_limit")
        with patch.object(type(self.account), "_import_page_size", 2):
            self.import_orders()
        self.assertEqual(len(self.orders()), 5)
        resumed = self.fake.calls_to("searchOrders")[-3]
        self.assertEqual(resumed.params.get("paginationToken"), token)

    def test_concurrent_run_skips(self):
        # A channel of its own: the imports of the other tests of this class
        # hold their transaction locks until the transaction they share ends.
        channel = self.add_channel("A6CONCURRENT12")
        ref = self.add_order(items=[_tee()], seller_id="A6CONCURRENT12")
        other = sql_db.db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute(
                "SELECT pg_try_advisory_lock(hashtext(%s), %s)",
                ["sale_amazon_spapi.import_orders", channel.id],
            )
            self.assertTrue(other.fetchone()[0])
            stats = self.import_orders(channel)
            self.assertIn("already running", stats["skipped"])
            stats = self.import_orders(channel, commit=True)
            self.assertIn("already running", stats["skipped"])
            self.assertFalse(self.fake.calls_to("searchOrders"))
        finally:
            other.execute(
                "SELECT pg_advisory_unlock(hashtext(%s), %s)",
                ["sale_amazon_spapi.import_orders", channel.id],
            )
            other.close()
        self.import_orders(channel)
        self.assertTrue(self.env["sale.order"].search([("amazon_order_ref", "=", ref)]))

    def test_cron_imports_due_channels(self):
        ref = self.add_order(items=[_tee()])
        self.account.last_import_run = datetime.now() - timedelta(minutes=5)
        self.env["amazon.account"]._cron_import_orders()
        self.assertFalse(self.orders([ref]), "not due: 15 minute interval")
        self.account.last_import_run = datetime.now() - timedelta(minutes=16)
        self.env["amazon.account"]._cron_import_orders()
        self.assertTrue(self.orders([ref]))
        cron = self.env.ref("sale_amazon_spapi.ir_cron_amazon_import_orders")
        self.account.import_interval = 5
        self.assertEqual((cron.interval_number, cron.interval_type), (5, "minutes"))
        self.account.enabled = False
        self.fake.calls.clear()
        self.account.last_import_run = False
        self.env["amazon.account"]._cron_import_orders()
        self.assertFalse(self.fake.calls, "a disabled channel never calls Amazon")

    def test_import_one_order_and_user_rights(self):
        ref = self.add_order(items=[_tee()])
        salesman = new_test_user(
            self.env, "amz_salesman", groups="sales_team.group_sale_salesman_all_leads"
        )
        wizard = (
            self.env["amazon.import.order.wizard"]
            .with_user(salesman)
            .create({"account_id": self.account.id, "order_refs": ref})
        )
        action = wizard.action_import()
        order = self.orders([ref])
        self.assertEqual(action["res_id"], order.id)
        self.assertEqual(order.state, "sale")
        self.assertEqual(self.fake.calls_to("getOrder")[0].status, 200)
        other = self.add_order(items=[_tee()])
        action = self.account.with_user(salesman).action_import_orders()
        self.assertTrue(self.orders([other]))
        self.assertIn("1 new order(s)", action["params"]["message"])
