# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import api, fields, models
from odoo.exceptions import UserError

SHIPMENT_STATES = [
    ("to_send", "To Send"),
    ("sending", "Sending"),
    ("sent", "Sent"),
    ("error", "Error"),
    ("skipped", "Not Needed"),
]
# Rows Amazon may still have to hear about.
PENDING_STATES = ("to_send", "sending", "error")


class AmazonShipment(models.Model):
    """One package of a validated delivery, to confirm to Amazon once.

    Its id is the package reference Amazon receives: unique within the order,
    positive and numeric as Amazon wants it, and the key that tells, after a
    crash, whether Amazon already has the package.
    """

    _name = "amazon.shipment"
    _description = "Amazon Shipment Confirmation"
    _order = "id desc"
    _rec_name = "reference"

    picking_id = fields.Many2one(
        "stock.picking",
        string="Delivery",
        required=True,
        ondelete="cascade",
        index=True,
    )
    sale_order_id = fields.Many2one(
        "sale.order", string="Sale Order", required=True, ondelete="cascade", index=True
    )
    account_id = fields.Many2one(
        "amazon.account",
        string="Channel",
        required=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    amazon_order_ref = fields.Char(
        related="sale_order_id.amazon_order_ref", string="Amazon Order ID", store=True
    )
    reference = fields.Char(
        string="Package Reference",
        compute="_compute_reference",
        search="_search_reference",
    )
    package_id = fields.Many2one("stock.quant.package", string="Package")
    items = fields.Json(
        string="Order Items",
        required=True,
        help="[[Amazon order item ID, quantity], ...] shipped in this package.",
    )
    items_summary = fields.Char(string="Items", compute="_compute_items_summary")
    carrier_code = fields.Char(string="Amazon Carrier Code")
    carrier_name = fields.Char()
    shipping_method = fields.Char()
    tracking_number = fields.Char()
    ship_date = fields.Datetime(required=True)
    state = fields.Selection(
        SHIPMENT_STATES, default="to_send", required=True, index=True, readonly=True
    )
    attempts = fields.Integer(readonly=True)
    message = fields.Text(string="Amazon's Answer", readonly=True)
    request_id = fields.Char(string="Amazon Request ID", readonly=True)
    sent_on = fields.Datetime(readonly=True)

    # === COMPUTE METHODS === #

    def _compute_reference(self):
        for shipment in self:
            shipment.reference = str(shipment.id) if shipment.id else False

    def _search_reference(self, operator, value):
        if operator == "=" and str(value).isdigit():
            return [("id", "=", int(value))]
        if operator == "in":
            return [("id", "in", [int(v) for v in value if str(v).isdigit()])]
        return [("id", "=", 0)]

    @api.depends("items")
    def _compute_items_summary(self):
        for shipment in self:
            shipment.items_summary = ", ".join(
                f"{item_id} × {quantity}" for item_id, quantity in shipment.items or []
            )

    # === ACTION METHODS === #

    def action_resend(self):
        """Queue again, with the delivery's current carrier and tracking number."""
        self.picking_id.check_access("write")
        self.sudo()._requeue()
        return True

    def action_send_now(self):
        self.picking_id.check_access("write")
        return self.env["amazon.shipment.confirm"]._send_now(self)

    # === BUSINESS METHODS === #

    def _requeue(self):
        """Errors go back to the queue with the delivery's current carrier and
        tracking number (fixed since, typically)."""
        rows = self.filtered(lambda s: s.state in ("error", "to_send"))
        Confirm = self.env["amazon.shipment.confirm"]
        for picking, picking_rows in rows.grouped("picking_id").items():
            # Tracking numbers are listed per package, in the rows' order.
            siblings = picking.amazon_shipment_ids.sorted("id")
            carriers = Confirm._prepare_carrier_vals_list(picking, len(siblings))
            for row, vals in zip(siblings, carriers, strict=True):
                if row not in picking_rows:
                    continue
                if vals.get("state") == "error":
                    raise UserError(vals["message"])
                row.write({**vals, "state": "to_send", "attempts": 0, "message": False})
        if rows:
            self.env["amazon.import.log"].sudo().search(
                [("amazon_shipment_id", "in", rows.ids), ("state", "=", "error")]
            ).state = "done"
            self.env.ref(
                "sale_amazon_spapi.ir_cron_amazon_confirm_shipments"
            )._trigger()

    def _skip(self, message):
        self.filtered(lambda s: s.state in PENDING_STATES).write(
            {"state": "skipped", "message": message}
        )

    @api.model
    def _cron_send_shipments(self):
        """Send the queue, channel by channel, a batch per run.

        A run sends at most SHIPMENT_CRON_BATCH rows, then reports what is
        left so that Odoo runs the job again at once: no run outlives the
        worker's time limit, and a crash costs at most one chunk's doubt.
        """
        return self.env["amazon.shipment.confirm"]._cron_send()

    @api.model
    def _get_queue(self, limit=None):
        """The rows a run can send now, oldest first.

        Channels that cannot send (expired credentials, another sender at
        work) are left out before the limit: their rows would otherwise fill
        every batch and starve the other channels.
        """
        domain = [
            ("state", "in", ("to_send", "sending")),
            ("account_id.enabled", "=", True),
            ("account_id.active", "=", True),
        ]
        Shipment = self.sudo()
        accounts = self.env["amazon.account"].union(
            *(account for (account,) in Shipment._read_group(domain, ["account_id"]))
        )
        waiting = self.env["amazon.shipment.confirm"]._get_waiting_accounts(accounts)
        if waiting:
            domain.append(("account_id", "not in", list(waiting)))
        return Shipment.search(domain, order="id", limit=limit)

    # --- What the order import tells (hooks of _ImportBatch) ----------------- #

    @api.model
    def _amazon_orders_updated(self, updates):
        """Amazon reports these orders' new status (``[(order, header)]``).

        Once Amazon says Shipped, nothing is left to confirm: what we had not
        sent yet (shipped elsewhere, e.g. in Seller Central) is dropped, and
        what we sent stays as it is.
        """
        shipped = self.env["sale.order"].union(
            *(order for order, header in updates if header["status"] == "SHIPPED")
        )
        if not shipped:
            return
        self.sudo().search(
            [("sale_order_id", "in", shipped.ids), ("state", "in", PENDING_STATES)]
        )._skip(self.env._("Amazon reports the order as shipped."))

    @api.model
    def _amazon_orders_cancelled(self, orders):
        """The buyer cancelled before shipping: no confirmation may follow, and
        the deliveries still open are cancelled."""
        orders = orders.filtered(lambda o: o.amazon_fulfilled_by == "MERCHANT")
        if not orders:
            return
        self.sudo().search(
            [("sale_order_id", "in", orders.ids), ("state", "in", PENDING_STATES)]
        )._skip(self.env._("Amazon cancelled the order."))
        open_pickings = orders.picking_ids.filtered(
            lambda p: p.state not in ("done", "cancel")
        )
        if open_pickings:
            open_pickings.action_cancel()
