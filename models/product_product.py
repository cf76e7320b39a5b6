# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import fields, models


class ProductProduct(models.Model):
    _inherit = "product.product"

    amazon_asin = fields.Char(
        string="ASIN",
        index="btree_not_null",
        copy=False,
        help="Amazon Standard Identification Number: matches Amazon order items when "
        "the channel does not match on the seller SKU.",
    )
