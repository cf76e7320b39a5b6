# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import fields, models


class StockMove(models.Model):
    _inherit = "stock.move"

    amazon_customization = fields.Text(
        related="sale_line_id.amazon_customization", string="Personalisation"
    )

    def _should_assign_at_confirm(self):
        # Amazon already shipped these: the import validates them right after
        # confirmation, so reserving first would only be undone. Tracked
        # products keep the reservation, which picks their lots.
        if (
            self.env.context.get("amazon_validate_at_once")
            and self.product_id.is_storable
            and self.product_id.tracking == "none"
        ):
            return False
        return super()._should_assign_at_confirm()
