# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import re
from datetime import timedelta
from urllib.parse import urlparse

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import email_normalize, email_split

from .. import const
from ..amazon import AmazonClient, AmazonError, ChannelConfig

# Fields holding credentials: readable by administrators only, never copied,
# blanked by data/neutralize.sql.
SECRET_FIELDS = (
    "lwa_client_secret",
    "lwa_refresh_token",
    "aws_access_key_id",
    "aws_secret_access_key",
)


class AmazonAccount(models.Model):
    _name = "amazon.account"
    _description = "Amazon Channel"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _check_company_auto = True
    _order = "sequence, name, id"

    # === General === #
    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    enabled = fields.Boolean(
        default=True,
        tracking=True,
        help="A disabled channel never calls Amazon: no import, no shipment "
        "confirmation.",
    )
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        tracking=True,
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        domain="[('share', '=', False)]",
        check_company=True,
        tracking=True,
        help="Receives the reminders and the activities raised by this channel.",
    )
    team_id = fields.Many2one(
        "crm.team",
        string="Sales Team",
        check_company=True,
        help="Sales team of the imported orders. An 'Amazon' team is created when left "
        "empty.",
    )

    # === Credentials === #
    lwa_client_id = fields.Char(
        string="LWA Client ID",
        tracking=True,
        help="Login with Amazon client identifier of your SP-API application "
        "(amzn1.application-oa2-client.…).",
    )
    lwa_client_secret = fields.Char(
        string="LWA Client Secret", groups="base.group_system", copy=False
    )
    lwa_refresh_token = fields.Char(
        string="LWA Refresh Token", groups="base.group_system", copy=False
    )
    lwa_auth_url = fields.Char(
        string="LWA Auth URL",
        required=True,
        default=const.DEFAULT_LWA_AUTH_URL,
        help="Token endpoint of Login with Amazon. Change it only to reach Amazon's "
        "sandbox or a local test server.",
    )
    application_id = fields.Char(
        string="Application ID",
        help="Identifier of your SP-API application (amzn1.sp.solution.…), used to "
        "build the Seller Central consent URL.",
    )
    aws_access_key_id = fields.Char(
        string="AWS Access Key ID", groups="base.group_system", copy=False
    )
    aws_secret_access_key = fields.Char(
        string="AWS Secret Access Key", groups="base.group_system", copy=False
    )
    aws_role_arn = fields.Char(
        string="AWS Role ARN",
        help="Optional. Amazon stopped requiring IAM roles and SigV4 signing in "
        "October 2023; kept for channels set up the old way.",
    )
    seller_id = fields.Char(
        string="Seller ID", tracking=True, help="Your Merchant Token."
    )

    # === Marketplaces === #
    seller_central_domain = fields.Selection(
        selection=[
            (code, label)
            for code, (label, _region) in const.SELLER_CENTRAL_DOMAINS.items()
        ],
        required=True,
        default="US",
        tracking=True,
    )
    region = fields.Selection(
        selection=[(key, label) for key, (label, _host, _aws) in const.REGIONS.items()],
        compute="_compute_region",
        store=True,
    )
    marketplace_ids = fields.Many2many(
        "amazon.marketplace",
        string="Sale Channel(s)",
        domain="[('region', '=', region)]",
        help="Amazon marketplaces whose orders this channel imports.",
    )
    marketplace_codes = fields.Char(
        string="Marketplace Codes",
        compute="_compute_marketplace_codes",
        inverse="_inverse_marketplace_codes",
        help="Comma-separated two-letter codes, e.g. UK,DE,FR.",
    )

    # === Orders & fulfilment === #
    last_import_datetime = fields.Datetime(
        string="Last Imported Datetime",
        copy=False,
        help="Orders created or updated after this moment are imported next.",
    )
    use_last_import_datetime = fields.Boolean(
        string="Use Last Imported Datetime", default=True
    )
    lookback_days = fields.Integer(
        string="Look-back Days",
        default=3,
        help="When 'Use Last Imported Datetime' is off, orders updated during this "
        "many past days are imported.",
    )
    import_interval = fields.Integer(
        string="Import Interval (minutes)",
        default=15,
        help="Minimal time between two scheduled imports of this channel.",
    )
    fba_mode = fields.Selection(
        string="FBA Import Mode",
        selection=[
            ("mfn", "Non-FBA only"),
            ("afn", "FBA only"),
            ("both", "FBA and non-FBA"),
        ],
        required=True,
        default="mfn",
    )
    fba_warehouse_id = fields.Many2one(
        "stock.warehouse",
        string="FBA Warehouse",
        check_company=True,
        help="Warehouse standing for Amazon's fulfilment centres: FBA orders are "
        "delivered from it.",
    )
    use_amazon_sku = fields.Boolean(
        string="Use Amazon SKU",
        default=True,
        help="Match products on the seller SKU (internal reference); otherwise on the "
        "ASIN.",
    )
    customization_level = fields.Selection(
        selection=[
            ("minimum", "Minimum – message only"),
            ("medium", "Medium – message and cosmetics"),
            ("maximum", "Maximum – all customisation data"),
        ],
        required=True,
        default="medium",
        help="How much of Amazon Custom personalisation is copied onto order lines.",
    )
    email_errors_to = fields.Char(
        string="Email Errors To",
        help="Comma-separated addresses receiving the import errors.",
    )

    # === Credential dates === #
    refresh_token_authorized_on = fields.Date(copy=False, tracking=True)
    refresh_token_expires_on = fields.Date(
        compute="_compute_refresh_token_expires_on", store=True
    )
    client_secret_rotated_on = fields.Date(copy=False, tracking=True)
    client_secret_expires_on = fields.Date(
        compute="_compute_client_secret_expires_on", store=True
    )

    # === Advanced === #
    sp_api_endpoint = fields.Char(
        string="SP-API Endpoint Override",
        groups="base.group_system",
        help="Leave empty to use the region's Amazon host. Set it to reach Amazon's "
        "sandbox or a local test server, e.g. http://127.0.0.1:8900.",
    )

    # === COMPUTE METHODS === #

    @api.depends("seller_central_domain")
    def _compute_region(self):
        for account in self:
            domain = const.SELLER_CENTRAL_DOMAINS.get(account.seller_central_domain)
            account.region = domain and domain[1]

    @api.depends("marketplace_ids")
    def _compute_marketplace_codes(self):
        for account in self:
            account.marketplace_codes = ",".join(account.marketplace_ids.mapped("code"))

    def _inverse_marketplace_codes(self):
        codes_by_account = {
            account: [
                const.COUNTRY_CODE_ALIASES.get(code, code)
                for code in re.split(
                    r"[\s,;]+", (account.marketplace_codes or "").upper()
                )
                if code
            ]
            for account in self
        }
        all_codes = {code for codes in codes_by_account.values() for code in codes}
        by_code = {
            marketplace.code: marketplace
            for marketplace in self.env["amazon.marketplace"]
            .with_context(active_test=False)
            .search([("code", "in", list(all_codes))])
        }
        for account, codes in codes_by_account.items():
            unknown = [code for code in codes if code not in by_code]
            if unknown:
                raise ValidationError(
                    self.env._(
                        "Unknown Amazon marketplace code(s): %(codes)s. Use two-letter "
                        "codes such as UK, DE, FR or US.",
                        codes=", ".join(unknown),
                    )
                )
            account.marketplace_ids = self.env["amazon.marketplace"].union(
                *(by_code[code] for code in codes)
            )

    @api.depends("refresh_token_authorized_on")
    def _compute_refresh_token_expires_on(self):
        for account in self:
            authorized_on = account.refresh_token_authorized_on
            account.refresh_token_expires_on = (
                authorized_on
                and authorized_on + timedelta(days=const.REFRESH_TOKEN_VALIDITY_DAYS)
            )

    @api.depends("client_secret_rotated_on")
    def _compute_client_secret_expires_on(self):
        for account in self:
            rotated_on = account.client_secret_rotated_on
            account.client_secret_expires_on = rotated_on and rotated_on + timedelta(
                days=const.CLIENT_SECRET_VALIDITY_DAYS
            )

    # === CONSTRAINT METHODS === #

    @api.constrains("marketplace_ids", "seller_central_domain")
    def _check_marketplaces_region(self):
        for account in self:
            foreign = account.marketplace_ids.filtered(
                lambda m, region=account.region: m.region != region
            )
            if foreign:
                raise ValidationError(
                    self.env._(
                        "The marketplace(s) %(marketplaces)s are not in the %(region)s "
                        "region of channel %(channel)s. One channel serves one SP-API "
                        "region: create another channel for them.",
                        marketplaces=", ".join(foreign.mapped("name")),
                        region=dict(
                            account._fields["region"]._description_selection(self.env)
                        )[account.region],
                        channel=account.name,
                    )
                )

    @api.constrains("fba_mode", "fba_warehouse_id")
    def _check_fba_warehouse(self):
        for account in self:
            if account.fba_mode in ("afn", "both") and not account.fba_warehouse_id:
                raise ValidationError(
                    self.env._(
                        "Channel %(channel)s imports FBA orders: choose the FBA "
                        "warehouse they are delivered from.",
                        channel=account.name,
                    )
                )

    @api.constrains("email_errors_to")
    def _check_email_errors_to(self):
        for account in self.filtered("email_errors_to"):
            parts = [p.strip() for p in account.email_errors_to.split(",") if p.strip()]
            # email_normalize() accepts a domain without a dot ("ops@example"), which no
            # mail server delivers to.
            invalid = [
                p
                for p in parts
                if len(email_split(p)) != 1
                or not re.fullmatch(
                    r"[^@\s]+@[^@\s]+\.[^@\s.]+", email_normalize(p) or ""
                )
            ]
            if invalid or not parts:
                raise ValidationError(
                    self.env._(
                        "Invalid e-mail address(es) in 'Email Errors To': "
                        "%(addresses)s. Separate addresses with commas.",
                        addresses=", ".join(invalid) or account.email_errors_to,
                    )
                )

    @api.constrains("lwa_client_id", "aws_role_arn", "seller_id", "lwa_auth_url")
    def _check_credential_formats(self):
        for account in self:
            if account.lwa_client_id and not account.lwa_client_id.startswith(
                const.CLIENT_ID_PREFIX
            ):
                raise ValidationError(
                    self.env._(
                        "The LWA Client ID must start with '%(prefix)s'. Copy it from "
                        "your application in Seller Central's Developer Console.",
                        prefix=const.CLIENT_ID_PREFIX,
                    )
                )
            if account.aws_role_arn and not re.match(
                const.ROLE_ARN_PATTERN, account.aws_role_arn
            ):
                raise ValidationError(
                    self.env._(
                        "The AWS Role ARN must look like "
                        "arn:aws:iam::123456789012:role/Name."
                    )
                )
            if account.seller_id and not re.match(
                const.SELLER_ID_PATTERN, account.seller_id
            ):
                raise ValidationError(
                    self.env._(
                        "The Seller ID (Merchant Token) has 10 to 16 capital letters "
                        "and digits, e.g. A2EXAMPLE12345."
                    )
                )
            if account.lwa_auth_url:
                url = urlparse(account.lwa_auth_url)
                # Plain http is tolerated on the loopback only, for a local test server.
                local = url.hostname in ("127.0.0.1", "localhost", "::1")
                if not url.netloc or (
                    url.scheme != "https" and not (local and url.scheme == "http")
                ):
                    raise ValidationError(
                        self.env._("The LWA Auth URL must be an https:// URL.")
                    )

    @api.constrains("lwa_refresh_token")
    def _check_refresh_token_format(self):
        for account in self.sudo():
            token = account.lwa_refresh_token
            if token and not token.startswith(const.REFRESH_TOKEN_PREFIX):
                raise ValidationError(
                    self.env._(
                        "An LWA refresh token starts with '%(prefix)s'. Authorise the "
                        "channel again or paste the token exactly as Seller Central "
                        "shows it.",
                        prefix=const.REFRESH_TOKEN_PREFIX,
                    )
                )

    @api.constrains("import_interval", "lookback_days")
    def _check_import_numbers(self):
        for account in self:
            if account.import_interval < 1:
                raise ValidationError(
                    self.env._("The import interval is at least one minute.")
                )
            if account.lookback_days < 1:
                raise ValidationError(self.env._("The look-back is at least one day."))

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        accounts = super().create(vals_list)
        accounts.filtered(lambda a: not a.team_id)._assign_amazon_team()
        return accounts

    def _assign_amazon_team(self):
        """Give teamless channels their company's "Amazon" team, made if needed."""
        Team = self.env["crm.team"]
        for company in self.company_id:
            team = Team.search(
                [("name", "=", "Amazon"), ("company_id", "=", company.id)], limit=1
            ) or Team.create({"name": "Amazon", "company_id": company.id})
            self.filtered(lambda a, c=company: a.company_id == c).team_id = team

    @api.onchange("seller_central_domain")
    def _onchange_seller_central_domain(self):
        if self.marketplace_ids.filtered(lambda m: m.region != self.region):
            self.marketplace_ids = self.marketplace_ids.filtered(
                lambda m: m.region == self.region
            )

    # === BUSINESS METHODS - AMAZON ACCESS === #

    def _get_amazon_endpoint(self):
        self.ensure_one()
        return self.sudo().sp_api_endpoint or const.REGIONS[self.region][1]

    def _get_amazon_config(self, **overrides):
        """Return the access layer's view of this channel's credentials.

        Secrets are read as superuser: users allowed to run an import need not be
        allowed to read the credentials.
        """
        self.ensure_one()
        account = self.sudo()
        values = {
            "client_id": account.lwa_client_id or "",
            "client_secret": account.lwa_client_secret or "",
            "refresh_token": account.lwa_refresh_token or None,
            "lwa_url": account.lwa_auth_url or const.DEFAULT_LWA_AUTH_URL,
            "endpoint": self._get_amazon_endpoint(),
            "marketplace_ids": tuple(account.marketplace_ids.mapped("marketplace_id")),
            "region": const.REGIONS[account.region][2],
        }
        values.update(overrides)
        return ChannelConfig(**values)

    def _get_amazon_client(self, max_wait=5.0, **overrides):
        self.ensure_one()
        return AmazonClient(self._get_amazon_config(**overrides), max_wait=max_wait)

    def _amazon_error_message(self, error):
        """Translated, secret-free text of an access-layer error."""
        return error.render(self.env._)

    def _amazon_call(self, method, *args, client=None, **kwargs):
        """Call ``method`` of an access-layer client; failures become UserError."""
        self.ensure_one()
        client = client or self._get_amazon_client()
        try:
            return getattr(client, method)(*args, **kwargs)
        except AmazonError as error:
            raise UserError(self._amazon_error_message(error)) from None
