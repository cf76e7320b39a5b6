# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import fields, models


class StockMove(models.Model):
    _inherit = "stock.move"

    amazon_customization = fields.Text(
        related="sale_line_id.amazon_customization", string="Personalisation"
    )

    def _action_done(self, cancel_backorder=False):
        moves = super()._action_done(cancel_backorder=cancel_backorder)
        # The free quantity of these products changed: their merchant offers
        # go out with the next stock sync. One search and one write for all.
        # Offers already marked are stamped again: a send running now clears
        # only the marks older than its start, so this change is not lost.
        products = moves.filtered(lambda move: move.state == "done").product_id
        if products:
            self.env["amazon.sku.map"].sudo().search(
                [
                    ("product_id", "in", products.ids),
                    ("fulfillment_channel", "=", "merchant"),
                ]
            )._stock_mark_changed()
        return moves

    def _should_assign_at_confirm(self):
        # Amazon already shipped these: the import validates their deliveries
        # right after confirmation, so a reservation would only be undone. It
        # names the products whose stock needs no reservation to be found
        # (untracked, directly in the stock location, no package or owner).
        unreserved = self.env.context.get("amazon_unreserved_product_ids")
        if unreserved and self.sale_line_id and self.product_id.id in unreserved:
            return False
        return super()._should_assign_at_confirm()

    def _get_new_picking_values(self):
        values = super()._get_new_picking_values()
        # Prime and expedited Amazon orders come first in the "Priority" sort.
        if any(order._amazon_is_urgent() for order in self.sale_line_id.order_id):
            values["priority"] = "1"
        return values
