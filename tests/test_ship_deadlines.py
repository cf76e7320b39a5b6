# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from datetime import datetime, timedelta, timezone

from freezegun import freeze_time

from odoo.tests import new_test_user, tagged

from odoo.addons.sale_amazon_spapi.amazon import mapping

from .common import AmazonImportCommon

UTC = timezone.utc
# The clock of the filter and reminder tests; the orders are imported before
# it is frozen (the fake Amazon keeps its own clock, in a thread).
NOW = datetime(2030, 1, 15, 10, 0)


def _mug(qty=1, price="19.99"):
    return {"sku": "MUG", "qty": qty, "unit_price": price, "vat_rate": "0.20"}


def _utc(naive):
    return naive.replace(tzinfo=UTC)


@tagged("post_install", "-at_install")
class TestShipDeadlines(AmazonImportCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.tz = "UTC"
        # Warehouse staff: stock rights only, no sales nor Amazon group.
        cls.stock_user = new_test_user(
            cls.env, login="amazon_packer", groups="stock.group_stock_user", tz="UTC"
        )

    def _window(self, ref):
        fulfillment = self.fake.get_order_dict(ref)["fulfillment"]
        return (
            mapping.parse_datetime(fulfillment["shipByWindow"]["latestDateTime"]),
            mapping.parse_datetime(fulfillment["deliverByWindow"]["latestDateTime"]),
        )

    def _add_at(self, ship_by, **kwargs):
        """An order at Amazon shipping by ``ship_by`` (naive UTC); its ID."""
        return self.add_order(
            items=[_mug()],
            ship_by=_utc(ship_by),
            deliver_by=_utc(ship_by + timedelta(days=2)),
            **kwargs,
        )

    def _import_at(self, *ship_bys, **kwargs):
        """Orders shipping by each ``ship_by``, imported together; their
        deliveries, in the same order."""
        refs = [self._add_at(ship_by, **kwargs) for ship_by in ship_bys]
        self.import_orders()
        return [self.orders([ref]).picking_ids for ref in refs]

    @staticmethod
    def _validate(picking):
        picking.move_ids.quantity = 1
        picking.move_ids.picked = True
        picking.button_validate()

    # --- deadlines and priority --------------------------------------------

    def test_deadline_and_priority_of_each_service_level(self):
        cases = {
            ("STANDARD", False): "0",
            ("FREE_ECONOMY", False): "0",
            ("STANDARD", True): "1",  # Prime
            ("EXPEDITED", False): "1",
            ("PRIORITY", False): "1",
            ("SECOND_DAY", False): "1",
            ("NEXT_DAY", False): "1",
            ("SAME_DAY", False): "1",
            ("SCHEDULED", False): "1",
        }
        refs = {
            key: self.add_order(items=[_mug()], service_level=key[0], prime=key[1])
            for key in cases
        }
        fba = self.add_order(
            items=[_mug()], fulfilled_by="AMAZON", status="SHIPPED", prime=True
        )
        stats = self.import_orders()
        self.assertEqual(stats["created"], len(cases) + 1)
        for key, priority in cases.items():
            order = self.orders([refs[key]])
            picking = order.picking_ids
            ship_by, deliver_by = self._window(refs[key])
            with self.subTest(level=key[0], prime=key[1]):
                self.assertEqual(len(picking), 1)
                self.assertEqual(order.amazon_service_level, key[0])
                self.assertEqual(order.amazon_latest_ship_date, ship_by)
                self.assertEqual(order.commitment_date, deliver_by)
                self.assertEqual(picking.date_deadline, ship_by)
                self.assertLessEqual(picking.scheduled_date, ship_by)
                self.assertFalse(picking.has_deadline_issue)
                self.assertEqual(picking.priority, priority)
                self.assertEqual(picking.amazon_order_ref, refs[key])
        # The standard "Priority" sort puts the starred ones first.
        pickings = self.env["stock.picking"].search(
            [("id", "in", self.orders().picking_ids.ids), ("state", "!=", "done")]
        )
        starred = pickings.filtered(lambda p: p.priority == "1")
        self.assertEqual(len(starred), 7)
        self.assertEqual(pickings[: len(starred)], starred)
        # FBA: delivered at import, no Amazon deadline nor star.
        fba_order = self.orders([fba])
        self.assertEqual(fba_order.picking_ids.state, "done")
        self.assertFalse(fba_order.commitment_date)
        self.assertEqual(fba_order.picking_ids.priority, "0")
        self.assertNotEqual(
            fba_order.picking_ids.date_deadline, fba_order.amazon_latest_ship_date
        )

    def test_update_from_amazon_moves_the_window(self):
        ref = self.add_order(items=[_mug()], service_level="STANDARD")
        standard = self.add_order(items=[_mug()], service_level="STANDARD")
        self.import_orders()
        order = self.orders([ref])
        picking = order.picking_ids
        old_ship_by, _deliver_by = self._window(ref)
        self.assertEqual(picking.date_deadline, old_ship_by)
        self.assertEqual(picking.priority, "0")
        # Amazon gives two more days, and upgrades the order to next day.
        new_ship_by = old_ship_by + timedelta(days=2)
        new_deliver_by = new_ship_by + timedelta(days=1)
        self.fake.set_ship_window(ref, _utc(new_ship_by), _utc(new_deliver_by))
        record = self.fake.store.orders[ref]
        record.order["fulfillment"]["fulfillmentServiceLevel"] = "NEXT_DAY"
        self.fake.advance(180)
        stats = self.import_orders()
        self.assertEqual(stats["updated"], 1)
        self.assertEqual(order.amazon_latest_ship_date, new_ship_by)
        self.assertEqual(order.commitment_date, new_deliver_by)
        self.assertEqual(order.amazon_service_level, "NEXT_DAY")
        self.assertEqual(picking.date_deadline, new_ship_by)
        self.assertEqual(picking.scheduled_date, new_ship_by)
        self.assertEqual(picking.priority, "1")
        # Then earlier than it was: the delivery is scheduled no later.
        earlier = old_ship_by - timedelta(hours=6)
        self.fake.set_ship_window(ref, _utc(earlier))
        self.fake.advance(180)
        self.import_orders()
        self.assertEqual(picking.date_deadline, earlier)
        self.assertEqual(picking.scheduled_date, earlier)
        self.assertEqual(order.commitment_date, new_deliver_by)
        # The order Amazon did not move is untouched.
        other = self.orders([standard]).picking_ids
        self.assertEqual(other.date_deadline, self._window(standard)[0])
        self.assertEqual(other.priority, "0")

    # --- the floor's view ----------------------------------------------------

    def _floor(self):
        """Deliveries late, due today, tomorrow and later at NOW, and others."""
        late, today, tomorrow, later, done = self._import_at(
            NOW - timedelta(hours=2),
            NOW + timedelta(hours=10),
            NOW + timedelta(days=1, hours=2),
            NOW + timedelta(days=3),
            NOW + timedelta(hours=1),
        )
        self._validate(done)
        self.assertEqual(done.state, "done")
        return late, today, tomorrow, later

    def test_to_ship_filters_and_counts(self):
        fba = self.add_order(
            items=[_mug()], fulfilled_by="AMAZON", status="SHIPPED", prime=True
        )
        late, today, tomorrow, later = self._floor()
        fba_picking = self.orders([fba]).picking_ids
        self.assertTrue(fba_picking)
        Picking = self.env["stock.picking"].with_user(self.stock_user)
        with freeze_time(NOW):

            def due(*values):
                return Picking.search(
                    [("amazon_ship_due", "in", list(values))]
                ).filtered(lambda p: p.amazon_account_id == self.account)

            self.assertEqual(due("late"), late)
            self.assertEqual(due("today"), today)
            self.assertEqual(due("tomorrow"), tomorrow)
            self.assertEqual(due("later"), later)
            self.assertEqual(due("late", "today"), late | today)
            self.assertEqual(late.with_user(self.stock_user).amazon_ship_due, "late")
            self.assertEqual(tomorrow.amazon_ship_due, "tomorrow")
            self.assertEqual(self.account.ship_today_count, 1)
            self.assertEqual(self.account.ship_late_count, 1)
            action = self.account.with_context(
                amazon_ship_due="today"
            ).action_view_to_ship()
            self.assertEqual(action["context"]["search_default_amazon_today"], 1)
            in_view = Picking.search(action["domain"])
            self.assertEqual(in_view, late | today | tomorrow | later)
            self.assertNotIn(fba_picking, in_view)
            # The floor's list opens for warehouse staff, the urgent first.
            arch = Picking.get_views([(False, "list")])["views"]["list"]["arch"]
            spec = {
                name: {}
                for name in (
                    "name",
                    "priority",
                    "amazon_order_ref",
                    "amazon_marketplace_name",
                    "amazon_service_level",
                    "amazon_is_prime",
                    "date_deadline",
                    "amazon_ship_due",
                )
            }
            rows = Picking.web_search_read(action["domain"], spec)["records"]
            self.assertEqual(len(rows), 4)
            self.assertEqual(rows[0]["amazon_marketplace_name"], self.uk.name)
            self.assertTrue(arch)
        # Days are the user's: at 10:00 UTC it is already 23:00 in Auckland,
        # where the delivery due at 20:00 UTC is due tomorrow.
        with freeze_time(NOW):
            in_auckland = Picking.with_context(tz="Pacific/Auckland")
            found = in_auckland.search([("amazon_ship_due", "=", "tomorrow")])
            self.assertIn(today, found)

    # --- reminders -------------------------------------------------------------

    def _activities(self, picking):
        return self.env["mail.activity"].search(
            [("res_model", "=", "stock.picking"), ("res_id", "=", picking.id)]
        )

    def _cron(self, when):
        with freeze_time(when):
            self.env["stock.picking"]._cron_amazon_ship_reminders()

    def test_reminder_before_ship_by_then_late_each_once(self):
        self.account.ship_reminder_hours = 4
        ship_by = NOW + timedelta(hours=10)
        (picking,) = self._import_at(ship_by)
        self._cron(ship_by - timedelta(hours=5))
        self.assertFalse(self._activities(picking), "not yet within 4 hours")
        self._cron(ship_by - timedelta(hours=3))
        soon = self._activities(picking)
        self.assertEqual(len(soon), 1)
        self.assertEqual(soon.user_id, self.account.user_id)
        self.assertEqual(
            soon.activity_type_id, self.env.ref("mail.mail_activity_data_todo")
        )
        self.assertIn(picking.amazon_order_ref, soon.summary)
        self.assertEqual(soon.date_deadline, ship_by.date())
        self.assertEqual(picking.amazon_ship_alert, "soon")
        self._cron(ship_by - timedelta(hours=1))
        self.assertEqual(self._activities(picking), soon, "never twice")
        self._cron(ship_by + timedelta(minutes=30))
        activities = self._activities(picking)
        late = activities - soon
        self.assertEqual(len(late), 1)
        self.assertEqual(
            late.activity_type_id, self.env.ref("mail.mail_activity_data_warning")
        )
        self.assertIn("late", late.summary)
        self.assertEqual(picking.amazon_ship_alert, "late")
        self._cron(ship_by + timedelta(hours=5))
        self.assertEqual(self._activities(picking), activities, "never twice")

    def test_reminders_go_to_the_warehouse_responsible_and_skip_done(self):
        keeper = new_test_user(
            self.env, login="amazon_keeper", groups="stock.group_stock_user"
        )
        self.warehouse.amazon_user_id = keeper
        self.account.user_id = False
        already_late, shipped = self._import_at(
            NOW - timedelta(hours=1), NOW + timedelta(hours=1)
        )
        self._validate(shipped)
        self._cron(NOW)
        activities = self._activities(already_late)
        # Late already at its first check: the late notice only.
        self.assertEqual(len(activities), 1)
        self.assertEqual(activities.user_id, keeper)
        self.assertEqual(
            activities.activity_type_id, self.env.ref("mail.mail_activity_data_warning")
        )
        self.assertFalse(self._activities(shipped))
        self.assertFalse(shipped.amazon_ship_alert)

    def test_reminder_note_keeps_amazon_text_as_text(self):
        (picking,) = self._import_at(NOW + timedelta(hours=1))
        # Whatever Amazon's text holds stays text in the HTML note.
        picking.sale_id.amazon_order_ref = "<b>402-1234567-1234567</b>"
        self._cron(NOW)
        note = str(self._activities(picking).note)
        self.assertIn("&lt;b&gt;402-1234567-1234567&lt;/b&gt;", note)
        self.assertNotIn("<b>402", note)

    # --- slips -------------------------------------------------------------------

    def _render(self, report, picking):
        html, _format = self.env["ir.actions.report"]._render_qweb_html(
            report, picking.ids
        )
        return html.decode()

    def test_gift_slip_has_the_message_and_no_price(self):
        (picking,) = self._import_at(
            NOW, gift_message="Happy <b>birthday</b> & love, Zoë"
        )
        order = picking.sale_id
        html = self._render("stock.report_deliveryslip", picking)
        self.assertIn("Gift Message", html)
        self.assertIn("Happy &lt;b&gt;birthday&lt;/b&gt; &amp; love, Zoë", html)
        self.assertNotIn("<b>birthday", html)
        for price in ("19.99", "19,99", "16.66", "16,66"):
            self.assertNotIn(price, html)
        self.assertIn(order.amazon_order_ref, html)

    def test_slip_shows_amazon_order_marketplace_and_ship_by(self):
        (picking,) = self._import_at(datetime(2030, 1, 15, 16, 45))
        order = picking.sale_id
        html = self._render("stock.report_deliveryslip", picking)
        self.assertIn("Amazon Order", html)
        self.assertIn(order.amazon_order_ref, html)
        self.assertIn(order.amazon_marketplace_id.name, html)
        self.assertIn("Ship By", html)
        lang = self.env["res.lang"]._get_data(code=self.env.user.lang or "en_US")
        self.assertIn(order.amazon_latest_ship_date.strftime(lang.date_format), html)
        self.assertNotIn("Gift Message", html)
        pick_list = self._render("stock.report_picking", picking)
        self.assertIn(order.amazon_order_ref, pick_list)
