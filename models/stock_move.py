# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import fields, models


class StockMove(models.Model):
    _inherit = "stock.move"

    amazon_customization = fields.Text(
        related="sale_line_id.amazon_customization", string="Personalisation"
    )
