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
