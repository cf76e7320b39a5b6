# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import fields, models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    amazon_item_ref = fields.Char(
        string="Amazon Order Item ID", readonly=True, copy=False
    )
    amazon_sku = fields.Char(string="Amazon SKU", readonly=True, copy=False)
    amazon_asin = fields.Char(string="ASIN", readonly=True, copy=False)
    amazon_customization = fields.Text(
        string="Personalisation",
        readonly=True,
        copy=False,
        help="Amazon Custom personalisation chosen by the buyer, as production needs "
        "it.",
    )

    def _prepare_procurement_values(self, group_id=False):
        values = super()._prepare_procurement_values(group_id=group_id)
        # Amazon counts a shipment late after the ship-by, whatever the
        # delivery promise (the commitment date) says.
        ship_by = self.order_id._amazon_ship_by()
        if ship_by:
            values["date_deadline"] = ship_by
            if not values.get("date_planned") or values["date_planned"] > ship_by:
                values["date_planned"] = ship_by
            if self.order_id._amazon_is_urgent():
                values["priority"] = "1"
        return values
