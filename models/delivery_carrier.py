# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import api, fields, models

from ..amazon import shipments


class DeliveryCarrier(models.Model):
    _inherit = "delivery.carrier"

    amazon_carrier_code = fields.Char(
        string="Amazon Carrier Code",
        compute="_compute_amazon_carrier_code",
        store=True,
        readonly=False,
        help="The carrier code Amazon knows this carrier by (e.g. UPS, Royal Mail, "
        'DHL). Empty: sent as "Other" with the carrier\'s name.',
    )
    amazon_tracking_required = fields.Boolean(
        string="Tracking Required by Amazon",
        default=True,
        help="Amazon orders shipped with this carrier cannot be validated without "
        "a tracking number. Untick only for untracked services.",
    )

    @api.depends("name", "delivery_type")
    def _compute_amazon_carrier_code(self):
        for carrier in self:
            carrier.amazon_carrier_code = shipments.carrier_code(
                carrier.name, carrier.delivery_type
            )
