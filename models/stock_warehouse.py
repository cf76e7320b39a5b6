# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import fields, models


class StockWarehouse(models.Model):
    _inherit = "stock.warehouse"

    amazon_user_id = fields.Many2one(
        "res.users",
        string="Amazon Shipping Responsible",
        domain="[('share', '=', False)]",
        help="Told when an Amazon delivery of this warehouse nears or passes its "
        "ship-by, if the channel has no responsible.",
    )
