# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import api, fields, models

from .amazon_shipment import PENDING_STATES


class StockPicking(models.Model):
    """Shipment confirmations of deliveries (its own file: the delivery's
    Amazon deadlines and slip live in stock_picking.py)."""

    _inherit = "stock.picking"

    amazon_shipment_ids = fields.One2many(
        "amazon.shipment", "picking_id", string="Amazon Confirmations", readonly=True
    )
    amazon_shipment_state = fields.Selection(
        [
            ("to_send", "To Send"),
            ("sent", "Sent"),
            ("error", "Error"),
            ("skipped", "Not Needed"),
        ],
        string="Amazon Confirmation",
        compute="_compute_amazon_shipment_state",
        store=True,
        index="btree_not_null",
        help="Whether Amazon was told that this delivery shipped.",
    )

    @api.depends("amazon_shipment_ids.state")
    def _compute_amazon_shipment_state(self):
        for picking in self:
            states = set(picking.amazon_shipment_ids.mapped("state"))
            if "error" in states:
                picking.amazon_shipment_state = "error"
            elif states & set(PENDING_STATES):
                picking.amazon_shipment_state = "to_send"
            elif "sent" in states:
                picking.amazon_shipment_state = "sent"
            else:
                picking.amazon_shipment_state = "skipped" if states else False

    def _action_done(self):
        res = super()._action_done()
        # After super(): shipping connectors set the tracking number there.
        if self.env["amazon.shipment.confirm"]._queue(self):
            self.env.ref(
                "sale_amazon_spapi.ir_cron_amazon_confirm_shipments"
            )._trigger()
        return res

    def action_amazon_send_now(self):
        self.check_access("write")
        return self.env["amazon.shipment.confirm"]._send_now(self.amazon_shipment_ids)

    def action_amazon_resend(self):
        self.check_access("write")
        self.amazon_shipment_ids.sudo()._requeue()
        return True
