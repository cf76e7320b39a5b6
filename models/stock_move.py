# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import fields, models


class StockMove(models.Model):
    _inherit = "stock.move"

    amazon_customization = fields.Text(
        related="sale_line_id.amazon_customization", string="Personalisation"
    )

    def _should_assign_at_confirm(self):
        # Amazon already shipped these: the import validates their deliveries
        # right after confirmation, so a reservation would only be undone. It
        # names the products whose stock needs no reservation to be found
        # (untracked, directly in the stock location, no package or owner).
        unreserved = self.env.context.get("amazon_unreserved_product_ids")
        if unreserved and self.sale_line_id and self.product_id.id in unreserved:
            return False
        return super()._should_assign_at_confirm()
