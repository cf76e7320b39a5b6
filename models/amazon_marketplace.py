# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .. import const
from .amazon_account import amazon_url_allowed


class AmazonMarketplace(models.Model):
    _name = "amazon.marketplace"
    _description = "Amazon Marketplace"
    _order = "region, name"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        required=True,
        help="Amazon's two-letter code of the marketplace (UK for the United Kingdom).",
    )
    country_id = fields.Many2one("res.country", required=True)
    marketplace_id = fields.Char(string="Marketplace ID", required=True)
    region = fields.Selection(
        selection=[(key, label) for key, (label, _host, _aws) in const.REGIONS.items()],
        required=True,
    )
    # The consent page (and the signed state with it) goes to the Seller Central
    # URL: administrators only, and only Amazon's hosts (_check_amazon_hosts).
    api_endpoint = fields.Char(
        string="SP-API Endpoint",
        required=True,
        groups="base.group_system",
        help="Selling Partner API host of the region.",
    )
    seller_central_url = fields.Char(
        string="Seller Central URL", required=True, groups="base.group_system"
    )
    amazon_domain = fields.Char(required=True)
    currency_id = fields.Many2one("res.currency", required=True)
    tax_included = fields.Boolean(
        string="Prices Include Tax",
        help="Whether prices shown to buyers on this marketplace include taxes "
        "(VAT/GST).",
    )
    # Per company: marketplaces are shared, fiscal positions and accounts are not.
    fiscal_position_id = fields.Many2one(
        "account.fiscal.position",
        company_dependent=True,
        help="Fiscal position of this marketplace's orders. Empty: Odoo's own "
        "choice for the delivery address.",
    )
    facilitator_tax = fields.Selection(
        string="Tax Collected by Amazon",
        selection=[
            ("exclude", "Leave Out of Revenue"),
            ("book", "Book on a Dedicated Tax"),
        ],
        default="exclude",
        required=True,
        help="Tax Amazon collects and remits itself (marketplace facilitator, e.g. "
        "US sales tax). Leave Out of Revenue: the order carries the net amounts "
        "only. Book on a Dedicated Tax: the order carries it on a tax of its own "
        "rate whose account is the Facilitator Tax Account.",
    )
    facilitator_account_id = fields.Many2one(
        "account.account",
        string="Facilitator Tax Account",
        company_dependent=True,
        help="Account of the taxes Amazon collects and remits (Book on a "
        "Dedicated Tax).",
    )
    active = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "marketplace_id_unique",
            "UNIQUE(marketplace_id)",
            "An Amazon marketplace ID must be unique.",
        ),
        ("code_unique", "UNIQUE(code)", "An Amazon marketplace code must be unique."),
    ]

    @api.constrains("api_endpoint", "seller_central_url")
    def _check_amazon_hosts(self):
        Account = self.env["amazon.account"]
        allowed = {
            "api_endpoint": const.SP_API_HOSTS,
            "seller_central_url": const.SELLER_CENTRAL_HOSTS,
        }
        for marketplace in self.sudo():
            for field, hosts in allowed.items():
                url = marketplace[field]
                if not amazon_url_allowed(url, hosts):
                    raise ValidationError(
                        Account._amazon_host_error(self._fields[field], url, hosts)
                    )
