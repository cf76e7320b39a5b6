# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from .common import AmazonImportCommon


def _item(sku, **extra):
    return dict(sku=sku, qty=1, unit_price="10.00", vat_rate="0.20", **extra)


@tagged("post_install", "-at_install")
class TestMapSku(AmazonImportCommon):
    def _custom_files(self, order):
        return self.env["ir.attachment"].search(
            [
                ("res_model", "=", "sale.order"),
                ("res_id", "=", order.id),
                ("name", "=like", "amazon-custom-%"),
            ]
        )

    def test_retried_personalised_order_keeps_its_files_once(self):
        ref = self.add_order(
            items=[
                _item("ENGRAVED-1", customization={"text": "For Ada"}),
                _item("MUG", customization={"text": "For Ben"}),
            ]
        )
        self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.amazon_unmapped_skus, "ENGRAVED-1")
        self.assertEqual(len(self._custom_files(order)), 2)
        engraved = self.env["product.product"].create({"name": "Engraved Pen"})
        self.env["amazon.sku.map"].create(
            {
                "account_id": self.account.id,
                "sku": "ENGRAVED-1",
                "product_id": engraved.id,
            }
        )
        order.action_amazon_retry()
        self.assertEqual(order.state, "sale")
        lines = order.order_line.filtered("amazon_item_ref")
        by_sku = {line.amazon_sku: line for line in lines}
        # The completed lines carry the personalisation as on a first import.
        self.assertIn("For Ada", by_sku["ENGRAVED-1"].amazon_customization)
        self.assertIn("For Ben", by_sku["MUG"].amazon_customization)
        moves = order.picking_ids.move_ids
        self.assertIn(
            "For Ada",
            moves.filtered(lambda m: m.product_id == engraved).amazon_customization,
        )
        # The files of the first import stay, once each; Amazon is not asked again.
        self.assertEqual(len(self._custom_files(order)), 2)
        self.assertEqual(len(self.fake.calls_to("customization")), 2)

    # --- the "Map SKU" wizard ------------------------------------------------------

    def _manager(self, login="amz_map_manager"):
        return new_test_user(
            self.env,
            login,
            groups="sales_team.group_sale_salesman_all_leads,"
            "sale_amazon_spapi.group_amazon_manager",
        )

    def _salesman(self, login="amz_map_salesman"):
        # All documents: the imported orders belong to the channel's salesperson.
        return new_test_user(
            self.env, login, groups="sales_team.group_sale_salesman_all_leads"
        )

    def _open_wizard(self, order):
        action = order.action_amazon_open_map_sku()
        self.assertEqual(action["res_model"], "amazon.map.sku.wizard")
        self.assertEqual(action["target"], "new")
        return Form(self.env[action["res_model"]].with_context(**action["context"]))

    def test_map_skus_from_the_order_completes_it_in_place(self):
        ref = self.add_order(
            items=[
                _item("NEW-PEN", asin="B0PEN00001"),
                _item("NEW-INK", asin="B0INK00001"),
                _item("MUG"),
            ]
        )
        self.import_orders()
        order = self.orders([ref])
        self.assertEqual(order.state, "draft")
        manager = self._manager()
        order = order.with_user(manager)
        wizard = self._open_wizard(order)
        self.assertEqual(wizard.order_id, order)
        self.assertEqual(wizard.account_id, self.account)
        pen = self.env["product.product"].create({"name": "Pen"})
        ink = self.env["product.product"].create({"name": "Ink"})
        items = {}
        for index in range(len(wizard.line_ids)):
            with wizard.line_ids.edit(index) as line:
                items[line.sku] = line.asin
                line.product_id = pen if line.sku == "NEW-PEN" else ink
        self.assertEqual(items, {"NEW-PEN": "B0PEN00001", "NEW-INK": "B0INK00001"})
        name, order_id = order.name, order.id
        action = wizard.save().action_map_and_retry()
        maps = self.env["amazon.sku.map"].search([("account_id", "=", self.account.id)])
        self.assertEqual(
            {(m.sku, m.product_id) for m in maps},
            {("NEW-PEN", pen), ("NEW-INK", ink)},
        )
        order = self.orders([ref])
        self.assertEqual((order.id, order.name), (order_id, name))
        self.assertEqual(order.state, "sale")
        self.assertFalse(order.amazon_unmapped_skus)
        self.assertEqual(order.order_line.product_id & (pen | ink), pen | ink)
        self.assertEqual(order.amount_total, self.amazon_total(ref))
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn(name, action["params"]["message"])
        # The dialog closes onto the order, which reloads.
        self.assertEqual(
            action["params"]["next"], {"type": "ir.actions.act_window_close"}
        )

    def test_sku_mapped_meanwhile_is_updated_not_duplicated(self):
        ref = self.add_order(items=[_item("NEW-PEN")])
        self.import_orders()
        order = self.orders([ref])
        pen = self.env["product.product"].create({"name": "Pen"})
        other = self.env["product.product"].create({"name": "Other pen"})
        sku_map = self.env["amazon.sku.map"].create(
            {"account_id": self.account.id, "sku": "NEW-PEN", "product_id": pen.id}
        )
        wizard = self._open_wizard(order.with_user(self._manager()))
        # The mapping made on the channel meanwhile is the proposal.
        self.assertEqual(wizard.line_ids.edit(0).product_id, pen)
        with wizard.line_ids.edit(0) as line:
            line.product_id = other
        wizard.save().action_map_and_retry()
        maps = self.env["amazon.sku.map"].search([("account_id", "=", self.account.id)])
        self.assertEqual(maps, sku_map)
        self.assertEqual(sku_map.product_id, other)
        self.assertEqual(order.order_line.product_id[:1], other)

    def test_other_orders_waiting_for_the_sku_are_completed_too(self):
        first = self.add_order(items=[_item("NEW-PEN")])
        second = self.add_order(items=[_item("NEW-PEN")])
        both = self.add_order(items=[_item("NEW-PEN"), _item("NEW-INK")])
        unrelated = self.add_order(items=[_item("NEW-PEN-2")])
        self.import_orders()
        order = self.orders([first])
        wizard = self._open_wizard(order.with_user(self._manager()))
        self.assertEqual(wizard.other_order_count, 2)
        pen = self.env["product.product"].create({"name": "Pen"})
        with wizard.line_ids.edit(0) as line:
            line.product_id = pen
        self.fake.calls.clear()
        action = wizard.save().action_map_and_retry()
        self.assertEqual(self.orders([first, second]).mapped("state"), ["sale"] * 2)
        self.assertEqual(self.orders([both]).amazon_unmapped_skus, "NEW-INK")
        self.assertEqual(self.orders([unrelated]).amazon_unmapped_skus, "NEW-PEN-2")
        self.assertEqual(len(self.fake.calls_to("getOrder")), 3)
        message = action["params"]["message"]
        self.assertIn("1 other order(s) waiting for these SKUs completed", message)
        self.assertIn("1 other order(s) still wait", message)

    def test_salesman_is_told_to_ask_a_manager(self):
        ref = self.add_order(items=[_item("NEW-PEN")])
        self.import_orders()
        order = self.orders([ref]).with_user(self._salesman())
        with self.assertRaisesRegex(AccessError, "ask one to map NEW-PEN"):
            order.action_amazon_open_map_sku()
        with self.assertRaises(AccessError):
            self.env["amazon.map.sku.wizard"].with_user(order.env.user).create(
                {"order_id": order.id}
            )
        arch = order.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn("action_amazon_open_map_sku", arch)
        self.assertIn("Ask an Amazon", arch)
        manager_arch = order.with_user(self._manager()).get_views([(False, "form")])[
            "views"
        ]["form"]["arch"]
        self.assertIn('name="action_amazon_open_map_sku"', manager_arch)
        self.assertNotIn("Ask an Amazon", manager_arch)

    # --- retry from the list -------------------------------------------------------

    def test_retry_selected_orders_isolates_failures(self):
        done = self.add_order(items=[_item("NEW-PEN")])
        waiting = self.add_order(items=[_item("NEW-INK")])
        gone = self.add_order(items=[_item("NEW-PEN")])
        complete = self.add_order(items=[_item("MUG")])
        self.import_orders()
        blocked = self.add_channel("A3BLOCKED1234")
        blocked_ref = self.add_order(
            items=[_item("NEW-PEN")], seller_id="A3BLOCKED1234"
        )
        self.import_orders(blocked)
        blocked_order = self.env["sale.order"].search(
            [("amazon_order_ref", "=", blocked_ref)]
        )
        self.assertEqual(blocked_order.state, "draft")
        blocked.lwa_refresh_token = False
        pen = self.env["product.product"].create({"name": "Pen"})
        self.env["amazon.sku.map"].create(
            [
                {"account_id": account.id, "sku": "NEW-PEN", "product_id": pen.id}
                for account in (self.account, blocked)
            ]
        )
        del self.fake.store.orders[gone]
        manual = self.env["sale.order"].create(
            {"partner_id": self.env["res.partner"].create({"name": "Walk-in"}).id}
        )
        selection = (
            self.orders([done, waiting, gone, complete]) | blocked_order | manual
        )
        action = selection.with_user(self._salesman()).action_amazon_retry_selected()
        self.assertEqual(self.orders([done]).state, "sale")
        self.assertEqual(self.orders([waiting]).state, "draft")
        self.assertEqual(self.orders([gone]).state, "draft")
        self.assertEqual(blocked_order.state, "draft")
        params = action["params"]
        self.assertEqual(params["type"], "danger")
        message = params["message"]
        self.assertIn("Completed: 1.", message)
        self.assertIn(
            f"Still waiting for a SKU mapping: {self.orders([waiting]).name}", message
        )
        self.assertIn(self.orders([gone]).name, message.split("Failed:")[1])
        self.assertIn(blocked_order.name, message.split("Failed:")[1])
        self.assertIn("cannot call Amazon", message)
        self.assertIn(f"{self.orders([gone]).name}: the channel's import log", message)
        self.assertIn("Not waiting for a SKU mapping, left as they are: 1.", message)
        self.assertIn("Not Amazon orders, ignored: 1.", message)

    def test_retry_action_in_the_list_for_amazon_users(self):
        action = self.env.ref("sale_amazon_spapi.sale_order_action_amazon_retry")
        self.assertEqual(action.binding_model_id.model, "sale.order")
        self.assertEqual(action.binding_view_types, "list")
        self.assertEqual(
            action.groups_id, self.env.ref("sale_amazon_spapi.group_amazon_user")
        )
        ref = self.add_order(items=[_item("NEW-PEN")])
        self.import_orders()
        pen = self.env["product.product"].create({"name": "Pen"})
        self.env["amazon.sku.map"].create(
            {"account_id": self.account.id, "sku": "NEW-PEN", "product_id": pen.id}
        )
        order = self.orders([ref])
        result = (
            action.with_user(self._salesman())
            .with_context(
                active_model="sale.order", active_ids=order.ids, active_id=order.id
            )
            .run()
        )
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(order.state, "sale")
        inventory = new_test_user(
            self.env, "amz_stock_only", groups="stock.group_stock_user"
        )
        with self.assertRaises(AccessError):
            order.with_user(inventory)._amazon_retry_isolated()

    def test_retry_from_the_log_isolates_channels(self):
        Log = self.env["amazon.import.log"]
        ref = self.add_order(items=[_item("MUG")])
        blocked = self.add_channel("A3BLOCKED5678", lwa_refresh_token=False)
        logs = Log.create(
            [
                {
                    "account_id": self.account.id,
                    "amazon_order_ref": ref,
                    "message": "x",
                },
                {
                    "account_id": blocked.id,
                    "amazon_order_ref": "202-0000000-0000001",
                    "message": "x",
                },
            ]
        )
        action = logs.with_user(self._manager()).action_retry()
        self.assertEqual(self.orders([ref]).state, "sale")
        self.assertEqual(logs[0].state, "done")
        self.assertEqual(logs[1].state, "error")
        self.assertIn("cannot call Amazon", action["params"]["message"])
