# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import api, fields, models


class ProductProduct(models.Model):
    _inherit = "product.product"

    amazon_asin = fields.Char(
        string="ASIN",
        index="btree_not_null",
        copy=False,
        help="Amazon Standard Identification Number: matches Amazon order items when "
        "the channel does not match on the seller SKU.",
    )
    amazon_sku_map_ids = fields.One2many(
        "amazon.sku.map", "product_id", string="Amazon Offers"
    )
    amazon_fba_reserved = fields.Integer(
        string="FBA Reserved",
        compute="_compute_amazon_fba_quantities",
        help="Units Amazon holds for orders being picked or transferred between "
        "fulfilment centres: not in the FBA warehouse's stock.",
    )
    amazon_fba_inbound = fields.Integer(
        string="FBA Inbound",
        compute="_compute_amazon_fba_quantities",
        help="Units on their way to Amazon's fulfilment centres: not in stock yet.",
    )

    @api.depends("amazon_sku_map_ids.fba_reserved", "amazon_sku_map_ids.fba_inbound")
    def _compute_amazon_fba_quantities(self):
        for product in self:
            offers = product.amazon_sku_map_ids.filtered(
                lambda offer: offer.fulfillment_channel == "amazon"
            )
            product.amazon_fba_reserved = sum(offers.mapped("fba_reserved"))
            product.amazon_fba_inbound = sum(offers.mapped("fba_inbound"))
