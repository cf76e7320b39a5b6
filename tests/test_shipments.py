# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user, tagged

from odoo.addons.sale_amazon_spapi.amazon import AmazonClient, MemoryStore, Pacer
from odoo.addons.sale_amazon_spapi.fake_amazon import orders_api
from odoo.addons.sale_amazon_spapi.models.amazon_account import AmazonAccount
from odoo.addons.sale_amazon_spapi.models.amazon_shipment_confirm import (
    AmazonShipmentConfirm,
)

from .common import AmazonImportCommon


@tagged("post_install", "-at_install")
class TestShipments(AmazonImportCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ship_product = cls.env["product.product"].create(
            {"name": "Shipping", "type": "service"}
        )
        cls.dhl = cls.env["delivery.carrier"].create(
            {"name": "DHL Express", "product_id": ship_product.id}
        )
        cls.speedy = cls.env["delivery.carrier"].create(
            {"name": "Speedy Couriers", "product_id": ship_product.id}
        )
        cls.Shipment = cls.env["amazon.shipment"]

    def setUp(self):
        super().setUp()
        # Amazon's budget of this test only, whichever way the tests run (a
        # shared store may outlive the test's transaction).
        self.pacing_store = MemoryStore()
        pacer = patch.object(
            AmazonAccount,
            "_get_amazon_pacer",
            lambda account, config: Pacer(
                key=config.pacing_key, store=self.pacing_store
            ),
        )
        pacer.start()
        self.addCleanup(pacer.stop)

    # --- helpers ------------------------------------------------------------ #

    def import_order(self, items, **kwargs):
        ref = self.add_order(items=items, **kwargs)
        # Each order is created a day ago: import from before it.
        self.account.last_import_datetime = datetime.now() - timedelta(days=60)
        stats = self.import_orders()
        order = self.orders([ref])
        self.assertTrue(order, f"imported: {dict(stats)}")
        return order

    def validate(self, picking, quantities=None, carrier=None, tracking="JJD0001"):
        picking.carrier_id = carrier if carrier is not None else self.dhl
        picking.carrier_tracking_ref = tracking
        for move in picking.move_ids:
            move.quantity = (quantities or {}).get(
                move.product_id, move.product_uom_qty
            )
            move.picked = True
        result = picking.button_validate()
        if isinstance(result, dict) and result.get("res_model"):
            wizard = Form(
                self.env[result["res_model"]].with_context(**result["context"])
            ).save()
            wizard.process()
        self.assertEqual(picking.state, "done")
        return picking.amazon_shipment_ids

    def send(self):
        return self.Shipment._cron_send_shipments()

    def sent_bodies(self, order):
        return self.fake.shipments.get(order.amazon_order_ref, [])

    def amazon_status(self, order):
        return self.fake.get_order_dict(order.amazon_order_ref)["fulfillment"][
            "fulfillmentStatus"
        ]

    def item_id(self, order, product):
        return order.order_line.filtered(
            lambda line: line.product_id == product
        ).amazon_item_ref

    def reimport(self):
        # Amazon's search sees changes older than two minutes only.
        self.fake.advance(180)
        return self.import_orders()

    # --- tests -------------------------------------------------------------- #

    def test_full_shipment_confirmed_once_and_status_follows(self):
        order = self.import_order([{"sku": "MUG", "qty": 2, "unit_price": "9.99"}])
        picking = order.picking_ids
        rows = self.validate(picking)
        self.assertEqual(len(rows), 1)
        self.assertEqual(picking.amazon_shipment_state, "to_send")
        self.assertFalse(self.fake.calls_to("confirmShipment"), "queued, not sent")
        stats = self.send()
        self.assertEqual(stats["sent"], 1)
        self.assertEqual(rows.state, "sent")
        self.assertTrue(rows.request_id)
        self.assertEqual(picking.amazon_shipment_state, "sent")
        [body] = self.sent_bodies(order)
        detail = body["packageDetail"]
        self.assertEqual(body["marketplaceId"], self.uk.marketplace_id)
        self.assertEqual(detail["packageReferenceId"], str(rows.id))
        self.assertEqual(detail["carrierCode"], "DHL")
        self.assertEqual(detail["carrierName"], "DHL Express")
        self.assertEqual(detail["trackingNumber"], "JJD0001")
        self.assertEqual(
            detail["orderItems"],
            [{"orderItemId": self.item_id(order, self.mug), "quantity": 2}],
        )
        self.assertEqual(self.amazon_status(order), "SHIPPED")
        # The next import sees Amazon's new status and changes nothing twice.
        stats = self.reimport()
        self.assertEqual(stats["updated"], 1)
        self.assertEqual(order.amazon_status, "SHIPPED")
        self.assertEqual(picking.amazon_shipment_ids, rows)
        self.assertEqual(rows.state, "sent")
        self.assertEqual(len(order.picking_ids), 1)
        self.assertFalse(order.activity_ids)
        self.send()
        self.assertEqual(len(self.fake.calls_to("confirmShipment")), 1)

    def test_partial_delivery_then_backorder(self):
        order = self.import_order([{"sku": "MUG", "qty": 3, "unit_price": "9.99"}])
        first = order.picking_ids
        self.validate(first, {self.mug: 1})
        self.send()
        self.assertEqual(self.amazon_status(order), "PARTIALLY_SHIPPED")
        self.reimport()
        self.assertEqual(order.amazon_status, "PARTIALLY_SHIPPED")
        backorder = order.picking_ids - first
        self.assertEqual(backorder.state, "assigned", "the import left it alone")
        self.assertFalse(backorder.amazon_shipment_ids)
        self.validate(backorder, tracking="JJD0002")
        self.send()
        bodies = self.sent_bodies(order)
        self.assertEqual(
            [b["packageDetail"]["orderItems"][0]["quantity"] for b in bodies], [1, 2]
        )
        self.assertEqual(
            [b["packageDetail"]["trackingNumber"] for b in bodies],
            ["JJD0001", "JJD0002"],
        )
        self.assertEqual(self.amazon_status(order), "SHIPPED")
        self.reimport()
        self.assertEqual(order.amazon_status, "SHIPPED")
        self.assertEqual(len(self.fake.calls_to("confirmShipment")), 2)

    def test_two_packages(self):
        order = self.import_order(
            [
                {"sku": "MUG", "qty": 1, "unit_price": "9.99"},
                {"sku": "CAP", "qty": 1, "unit_price": "15.00"},
            ]
        )
        picking = order.picking_ids
        Package = self.env["stock.quant.package"]
        for move in picking.move_ids:
            move.move_line_ids.result_package_id = Package.create(
                {"name": f"BOX-{move.product_id.default_code}"}
            )
        rows = self.validate(picking, tracking="TRK-A, TRK-B")
        self.assertEqual(len(rows), 2)
        stats = self.send()
        self.assertEqual(stats["sent"], 2, f"{dict(stats)} {rows.mapped('message')}")
        by_reference = {
            b["packageDetail"]["packageReferenceId"]: b["packageDetail"]
            for b in self.sent_bodies(order)
        }
        self.assertEqual(set(by_reference), {str(row.id) for row in rows})
        for row in rows:
            detail = by_reference[str(row.id)]
            product = self.mug if row.package_id.name == "BOX-MUG" else self.cap
            self.assertEqual(
                detail["orderItems"],
                [{"orderItemId": self.item_id(order, product), "quantity": 1}],
            )
            self.assertEqual(detail["trackingNumber"], row.tracking_number)
        self.assertEqual(set(rows.mapped("tracking_number")), {"TRK-A", "TRK-B"})
        self.assertEqual(self.amazon_status(order), "SHIPPED")

    def test_retry_after_5xx_then_error_and_resend(self):
        order = self.import_order([{"sku": "MUG", "qty": 1, "unit_price": "9.99"}])
        rows = self.validate(order.picking_ids)
        # One 503: the access layer repeats the call.
        self.fake.inject_fault("confirmShipment", "status", status=503)
        self.send()
        self.assertEqual(rows.state, "sent")
        self.assertEqual(len(self.sent_bodies(order)), 1)

        other = self.import_order([{"sku": "CAP", "qty": 1, "unit_price": "15.00"}])
        rows = self.validate(other.picking_ids)
        self.fake.inject_fault("confirmShipment", "status", times=100, status=500)
        with (
            patch("odoo.addons.sale_amazon_spapi.const.SHIPMENT_MAX_ATTEMPTS", 2),
            patch.object(AmazonClient, "_backoff_delay", return_value=0),
        ):
            self.send()
            self.assertEqual(rows.state, "to_send", "retried on the next run")
            self.assertEqual(rows.attempts, 1)
            self.send()
        self.assertEqual(rows.state, "error")
        self.assertIn("temporarily unavailable", rows.message)
        self.assertTrue(rows.request_id)
        self.assertEqual(other.picking_ids.amazon_shipment_state, "error")
        failed = self.env["stock.picking"].search(
            [("amazon_shipment_state", "=", "error")]
        )
        self.assertEqual(failed, other.picking_ids)
        log = self.env["amazon.import.log"].search(
            [("amazon_shipment_id", "=", rows.id)]
        )
        self.assertEqual((log.operation, log.state), ("shipment", "error"))
        self.assertEqual(log.request_id, rows.request_id)
        digest = self.env["mail.mail"].search(
            [("subject", "like", "Amazon shipment confirmations failed")]
        )
        self.assertEqual(len(digest), 1)
        self.assertIn(other.amazon_order_ref, str(digest.body_html))
        # Amazon is back: Resend sends it, once.
        self.fake.clear_faults()
        other.picking_ids.action_amazon_resend()
        self.assertEqual(rows.state, "to_send")
        self.assertEqual(log.state, "done")
        self.send()
        self.assertEqual(rows.state, "sent")
        self.assertEqual(len(self.sent_bodies(other)), 1)

    def test_throttled_mid_queue(self):
        orders = [
            self.import_order([{"sku": "MUG", "qty": 1, "unit_price": "9.99"}])
            for _ in range(3)
        ]
        rows = self.Shipment.union(*(self.validate(o.picking_ids) for o in orders))
        self.fake.rate_limits_enabled = True
        self.fake.set_usage_plan("confirmShipment", 0.001, 2)
        try:
            stats = self.send()
        finally:
            self.fake.set_usage_plan("confirmShipment", 2.0, 10)
        self.assertTrue(stats["throttled"])
        self.assertEqual(rows.mapped("state").count("sent"), 2)
        self.assertEqual(rows.mapped("state").count("to_send"), 1)
        statuses = [c.status for c in self.fake.calls_to("confirmShipment")]
        self.assertEqual(statuses, [204, 204, 429])
        cron = self.env.ref("sale_amazon_spapi.ir_cron_amazon_confirm_shipments")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]))
        # The budget refilled: the rest goes, once each.
        self.pacing_store = MemoryStore()
        self.fake.rate_limits_enabled = False
        self.send()
        self.assertEqual(set(rows.mapped("state")), {"sent"})
        self.assertEqual([len(self.sent_bodies(o)) for o in orders], [1, 1, 1])

    def test_crash_between_sending_and_recording(self):
        order = self.import_order([{"sku": "MUG", "qty": 2, "unit_price": "9.99"}])
        rows = self.validate(order.picking_ids)

        def crash(*args, **kwargs):
            raise MemoryError("worker killed")

        with (
            patch.object(AmazonShipmentConfirm, "_record", crash),
            self.assertRaises(MemoryError),
            self.env.cr.savepoint(),
        ):
            self.send()
        self.assertEqual(len(self.sent_bodies(order)), 1, "Amazon has it")
        # What the commit before the request left in the database.
        rows.write({"state": "sending"})
        self.send()
        self.assertEqual(rows.state, "sent")
        self.assertEqual(len(self.fake.calls_to("confirmShipment")), 1)
        self.assertEqual(len(self.fake.calls_to("getOrder")), 1)
        # A row left "sending" whose request never left is sent, once.
        other = self.import_order([{"sku": "CAP", "qty": 1, "unit_price": "15.00"}])
        rows = self.validate(other.picking_ids)
        rows.write({"state": "sending"})
        self.send()
        self.assertEqual(rows.state, "sent")
        self.assertEqual(len(self.sent_bodies(other)), 1)

    def test_reply_lost_then_amazon_refuses_the_repeat(self):
        order = self.import_order([{"sku": "MUG", "qty": 2, "unit_price": "9.99"}])
        rows = self.validate(order.picking_ids)
        # "Send now" in a request that then failed: Amazon has the package, the
        # row is still to send.
        with self.env.cr.savepoint(flush=True) as savepoint:
            order.picking_ids.action_amazon_send_now()
            savepoint.rollback()
        self.assertEqual(rows.state, "to_send")
        self.send()
        self.assertEqual(rows.state, "sent", "Amazon already had that package")
        self.assertEqual(len(self.sent_bodies(order)), 1)
        self.assertFalse(
            self.env["amazon.import.log"].search([("amazon_shipment_id", "=", rows.id)])
        )

    def test_missing_tracking_number_refused(self):
        order = self.import_order([{"sku": "MUG", "qty": 1, "unit_price": "9.99"}])
        picking = order.picking_ids
        picking.carrier_id = self.dhl
        picking.move_ids.quantity = 1
        picking.move_ids.picked = True
        with (
            self.assertRaisesRegex(UserError, "tracking number"),
            self.env.cr.savepoint(),
        ):
            picking.button_validate()
        picking.invalidate_recordset()
        self.assertNotEqual(picking.state, "done")
        # A carrier that needs none: sent without.
        self.speedy.amazon_tracking_required = False
        rows = self.validate(picking, carrier=self.speedy, tracking=False)
        self.send()
        self.assertEqual(rows.state, "sent")
        self.assertEqual(
            self.sent_bodies(order)[0]["packageDetail"]["trackingNumber"], ""
        )

    def test_unknown_carrier_and_no_carrier(self):
        self.assertEqual(self.dhl.amazon_carrier_code, "DHL")
        self.assertFalse(self.speedy.amazon_carrier_code)
        order = self.import_order([{"sku": "MUG", "qty": 1, "unit_price": "9.99"}])
        self.validate(order.picking_ids, carrier=self.speedy)
        self.send()
        detail = self.sent_bodies(order)[0]["packageDetail"]
        self.assertEqual(detail["carrierCode"], "Other")
        self.assertEqual(detail["carrierName"], "Speedy Couriers")
        # No carrier at all: the goods left; the row waits for one.
        other = self.import_order([{"sku": "CAP", "qty": 1, "unit_price": "15.00"}])
        rows = self.validate(other.picking_ids, carrier=self.env["delivery.carrier"])
        self.assertEqual(rows.state, "error")
        self.assertIn("no carrier", rows.message)
        self.send()
        self.assertFalse(self.sent_bodies(other))
        other.picking_ids.carrier_id = self.dhl
        other.picking_ids.action_amazon_resend()
        self.send()
        self.assertEqual(rows.state, "sent")

    def test_refused_by_amazon(self):
        order = self.import_order([{"sku": "MUG", "qty": 1, "unit_price": "9.99"}])
        rows = self.validate(order.picking_ids)
        record = self.fake.store.orders[order.amazon_order_ref]
        record.order["orderItems"][0]["orderItemId"] = "99999999999999"
        self.send()
        self.assertEqual(rows.state, "error")
        self.assertIn("Unknown orderItemId", rows.message)
        self.assertTrue(rows.request_id)
        self.assertEqual(len(self.fake.calls_to("getOrder")), 1, "checked first")

    def test_nothing_sent_for_fba_shipped_cancelled_or_other_orders(self):
        fba = self.import_order(
            [{"sku": "MUG", "qty": 1, "unit_price": "9.99"}],
            fulfilled_by="AMAZON",
            status="SHIPPED",
        )
        shipped = self.import_order(
            [{"sku": "CAP", "qty": 1, "unit_price": "15.00"}], status="SHIPPED"
        )
        self.assertEqual((fba | shipped).picking_ids.mapped("state"), ["done"] * 2)
        self.assertFalse((fba | shipped).picking_ids.amazon_shipment_ids)
        manual = self.env["sale.order"].create(
            {
                "partner_id": self.env["res.partner"].create({"name": "Walk-in"}).id,
                "order_line": [Command.create({"product_id": self.mug.id})],
            }
        )
        manual.action_confirm()
        self.assertFalse(self.validate(manual.picking_ids))
        self.send()
        self.assertFalse(self.fake.calls_to("confirmShipment"))

    def test_cancelled_before_shipping(self):
        order = self.import_order([{"sku": "MUG", "qty": 3, "unit_price": "9.99"}])
        first = order.picking_ids
        rows = self.validate(first, {self.mug: 1})
        backorder = order.picking_ids - first
        self.fake.set_status(order.amazon_order_ref, "CANCELLED")
        self.reimport()
        self.assertEqual(order.amazon_status, "CANCELLED")
        self.assertEqual(rows.state, "skipped")
        self.assertEqual(backorder.state, "cancel")
        self.send()
        self.assertFalse(self.fake.calls_to("confirmShipment"))

    def test_warehouse_user_queues_and_sends(self):
        user = new_test_user(
            self.env,
            login="amazon_warehouse",
            groups="stock.group_stock_user",
        )
        order = self.import_order([{"sku": "MUG", "qty": 1, "unit_price": "9.99"}])
        picking = order.picking_ids.with_user(user)
        rows = self.validate(picking)
        self.assertEqual(rows.state, "to_send")
        picking.action_amazon_send_now()
        self.assertEqual(rows.state, "sent")
        self.assertEqual(len(self.sent_bodies(order)), 1)
        with self.assertRaises(UserError):
            picking.action_amazon_send_now()

    def run_cron(self):
        """The scheduled action as Odoo runs it: its progress tells whether
        Odoo runs it again at once (some done and some remaining)."""
        cron = self.env.ref("sale_amazon_spapi.ir_cron_amazon_confirm_shipments")
        progress = self.env["ir.cron.progress"].create({"cron_id": cron.id})
        self.Shipment.with_context(
            ir_cron_progress_id=progress.id
        )._cron_send_shipments()
        return progress

    def test_blocked_channel_does_not_hold_up_the_others(self):
        order = self.import_order([{"sku": "MUG", "qty": 1, "unit_price": "9.99"}])
        row = self.validate(order.picking_ids)
        # A backlog of its own, bigger than a batch, then its credentials expire.
        blocked_rows = row | self.Shipment.create(
            [
                {
                    "picking_id": row.picking_id.id,
                    "sale_order_id": row.sale_order_id.id,
                    "account_id": row.account_id.id,
                    "items": row.items,
                    "ship_date": row.ship_date,
                    "carrier_code": "DHL",
                    "carrier_name": "DHL Express",
                    "tracking_number": f"JJD{n:04d}",
                }
                for n in range(110)
            ]
        )
        self.account.refresh_token_authorized_on = datetime.now().date() - timedelta(
            days=400
        )
        self.assertIn("expired", self.account._get_credentials_blocker())
        other_channel = self.add_channel("A3OTHERSELLER1")
        other_ref = self.add_order(
            items=[{"sku": "CAP", "qty": 1, "unit_price": "15.00"}],
            seller_id="A3OTHERSELLER1",
        )
        self.import_orders(other_channel)
        other = self.env["sale.order"].search([("amazon_order_ref", "=", other_ref)])
        self.assertTrue(other)
        other_row = self.validate(other.picking_ids)
        progress = self.run_cron()
        self.assertEqual(other_row.state, "sent")
        self.assertEqual(len(self.sent_bodies(other)), 1)
        self.assertEqual(set(blocked_rows.mapped("state")), {"to_send"})
        self.assertFalse(self.fake.calls_to("confirmShipment")[1:])
        self.assertFalse(
            progress.done and progress.remaining, "not run again at once for A"
        )
        # Nothing left it can send: the next run neither sends nor loops.
        progress = self.run_cron()
        self.assertFalse(progress.done and progress.remaining)
        self.assertEqual(len(self.fake.calls_to("confirmShipment")), 1)

    def confirm_elsewhere(self, order, reference, quantity=1, tracking="OTHER-TRK"):
        """Another tool (or a restored copy of the database) confirms a package
        of the order with this reference, straight at Amazon."""
        orders_api.confirm_shipment(
            self.fake.store,
            self.seller_id,
            order.amazon_order_ref,
            {
                "marketplaceId": self.uk.marketplace_id,
                "packageDetail": {
                    "packageReferenceId": reference,
                    "carrierCode": "DHL",
                    "trackingNumber": tracking,
                    "shipDate": "2026-01-01T10:00:00Z",
                    "orderItems": [
                        {
                            "orderItemId": order.order_line[:1].amazon_item_ref,
                            "quantity": quantity,
                        }
                    ],
                },
            },
        )

    def test_reference_taken_by_another_package_is_not_sent(self):
        order = self.import_order([{"sku": "MUG", "qty": 3, "unit_price": "9.99"}])
        rows = self.validate(order.picking_ids, {self.mug: 2})
        self.confirm_elsewhere(order, rows.reference)
        self.send()
        self.assertEqual(rows.state, "error")
        self.assertIn("already has a package with reference", rows.message)
        self.assertIn(order.amazon_order_ref, rows.message)
        self.assertIn("OTHER-TRK", rows.message)
        log = self.env["amazon.import.log"].search(
            [("amazon_shipment_id", "=", rows.id)]
        )
        self.assertEqual(log.state, "error")
        # Same items but another tracking number: still not ours.
        other = self.import_order([{"sku": "CAP", "qty": 1, "unit_price": "15.00"}])
        rows = self.validate(other.picking_ids)
        self.confirm_elsewhere(other, rows.reference)
        self.send()
        self.assertEqual(rows.state, "error")
        self.assertIn("tracking number", rows.message)
        # A crash left a row "sending" whose reference another package took.
        third = self.import_order([{"sku": "CAP", "qty": 2, "unit_price": "15.00"}])
        rows = self.validate(third.picking_ids, tracking="JJD0003")
        self.confirm_elsewhere(third, rows.reference, tracking="JJD0003")
        rows.write({"state": "sending"})
        self.send()
        self.assertEqual(rows.state, "error", "one unit there, two here")
        self.assertIn("already has a package", rows.message)
        self.assertTrue(
            self.env["amazon.import.log"].search([("amazon_shipment_id", "=", rows.id)])
        )

    def test_in_doubt_row_turns_to_error_when_amazon_cannot_say(self):
        order = self.import_order([{"sku": "MUG", "qty": 1, "unit_price": "9.99"}])
        rows = self.validate(order.picking_ids)
        rows.write({"state": "sending"})
        self.fake.inject_fault("getOrder", "status", times=1000, status=500)
        with (
            patch("odoo.addons.sale_amazon_spapi.const.SHIPMENT_MAX_ATTEMPTS", 2),
            patch.object(AmazonClient, "_backoff_delay", return_value=0),
        ):
            self.send()
            self.assertEqual(rows.state, "sending", "asked again on the next run")
            self.assertEqual(rows.attempts, 1)
            self.send()
        self.assertEqual(rows.state, "error")
        self.assertIn("could not say whether it has package", rows.message)
        self.assertIn(rows.reference, rows.message)
        self.assertFalse(self.fake.calls_to("confirmShipment"))
        self.assertTrue(
            self.env["amazon.import.log"].search([("amazon_shipment_id", "=", rows.id)])
        )
        # Amazon answers again: Resend sends it, once.
        self.fake.clear_faults()
        order.picking_ids.action_amazon_resend()
        self.assertEqual(rows.state, "to_send")
        self.send()
        self.assertEqual(rows.state, "sent")
        self.assertEqual(len(self.sent_bodies(order)), 1)
