# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import logging
import re
from contextlib import contextmanager, suppress
from datetime import timedelta
from urllib.parse import urlsplit

from odoo import api, fields, models, modules, sql_db
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import (
    config,
    email_normalize,
    email_split,
)

from .. import const
from ..amazon import (
    AmazonClient,
    AmazonError,
    ChannelConfig,
    Pacer,
)

_logger = logging.getLogger(__name__)

IMPORT_DEFAULT_INTERVAL = 15

# Fields holding credentials: readable by administrators only, never copied,
# blanked by data/neutralize.sql.
SECRET_FIELDS = (
    "lwa_client_secret",
    "lwa_refresh_token",
    "aws_access_key_id",
    "aws_secret_access_key",
)
# Fields deciding where the credentials and the signed OAuth state are sent:
# only administrators (Settings) set them; a copy keeps the administrator's values.
HOST_FIELDS = (
    "lwa_auth_url",
    "application_id",
    "sp_api_endpoint",
    "seller_central_url_override",
)


def amazon_url_allowed(url, hosts):
    """Whether ``url`` leads to one of ``hosts`` over https, or to the loopback.

    Userinfo, backslashes and whitespace are refused outright: parsers disagree
    on them, and the host checked here must be the host the HTTP client calls.
    """
    if not url or any(c.isspace() or c in "\\@" for c in url):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if host in const.LOOPBACK_HOSTS:
        return parts.scheme in ("http", "https")
    return parts.scheme == "https" and host in hosts and port in (None, 443)


class AmazonAccount(models.Model):
    _name = "amazon.account"
    _description = "Amazon Channel"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _check_company_auto = True
    _order = "sequence, name, id"
    # Amazon's maximum page size: one searchOrders call per 100 orders.
    _import_page_size = 100

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
        help="Receives the reminders and the activities raised by this channel, and is "
        "the salesperson of the orders it imports.",
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
    # Where the credentials and the signed OAuth state go: administrators only
    # (HOST_FIELDS), and only Amazon's hosts or the loopback (_check_amazon_hosts).
    lwa_auth_url = fields.Char(
        string="LWA Auth URL",
        required=True,
        default=const.DEFAULT_LWA_AUTH_URL,
        groups="base.group_system",
        help="Token endpoint of Login with Amazon. Change it only to reach a local "
        "test server.",
    )
    application_id = fields.Char(
        string="Application ID",
        groups="base.group_system",
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
        default=lambda self: self._default_seller_central_domain(),
        tracking=True,
        help="Defaults from the company's country; empty when Amazon has no Seller "
        "Central for it.",
    )
    region = fields.Selection(
        selection=[(key, label) for key, (label, _host, _aws) in const.REGIONS.items()],
        compute="_compute_region",
        store=True,
    )
    marketplace_ids = fields.Many2many(
        "amazon.marketplace",
        string="Marketplaces",
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
    confirm_shipments = fields.Boolean(
        string="Confirm Shipments to Amazon",
        default=True,
        help="Validating the delivery of a merchant-fulfilled order tells Amazon "
        "the carrier and tracking number of each package. Untick when another "
        "tool confirms the shipments.",
    )
    sku_concat_labels = fields.Char(
        string="SKU Concatenation Labels",
        help="Attribute names, in order, that Amazon SKUs append to the internal "
        "reference, e.g. 'Colour,Size' for TEE-Red-XL.",
    )
    sku_separator = fields.Char(string="SKU Separator", default="-", required=True)
    sku_map_ids = fields.One2many("amazon.sku.map", "account_id", string="SKU Mapping")
    last_import_run = fields.Datetime(
        string="Last Import Run", copy=False, readonly=True
    )
    # A search window in progress: where it started, Amazon's upper bound of it and
    # the page to fetch next, so that a large backlog resumes in the next run.
    import_window_start = fields.Datetime(copy=False, readonly=True)
    import_window_end = fields.Datetime(copy=False, readonly=True)
    import_next_token = fields.Char(copy=False, readonly=True)
    import_window_opened_on = fields.Datetime(copy=False, readonly=True)
    # The channel-level trouble in progress, alerted once when it starts.
    import_incident = fields.Selection(
        selection=[
            ("failing", "Import failing"),
            ("throttled", "Throttled by Amazon"),
            ("stalled", "Search window not completing"),
        ],
        copy=False,
        readonly=True,
    )
    import_incident_since = fields.Datetime(copy=False, readonly=True)
    import_incident_message = fields.Text(copy=False, readonly=True)
    import_throttled_since = fields.Datetime(copy=False, readonly=True)
    # The logs hold buyers' names and addresses: Amazon administrators only.
    import_log_ids = fields.One2many(
        "amazon.import.log",
        "account_id",
        groups="sale_amazon_spapi.group_amazon_manager",
    )
    import_error_count = fields.Integer(
        compute="_compute_import_error_count",
        groups="sale_amazon_spapi.group_amazon_manager",
    )
    sale_order_count = fields.Integer(compute="_compute_sale_order_count")
    ship_reminder_hours = fields.Integer(
        string="Ship-by Reminder (hours)",
        default=4,
        help="An activity tells the responsible when an Amazon delivery is still "
        "open this many hours before its ship-by, and another once it is late.",
    )
    ship_today_count = fields.Integer(
        compute="_compute_ship_counts", groups="stock.group_stock_user"
    )
    ship_late_count = fields.Integer(
        compute="_compute_ship_counts", groups="stock.group_stock_user"
    )

    # === Credential dates === #
    refresh_token_authorized_on = fields.Date(copy=False, tracking=True)
    refresh_token_expires_on = fields.Date(
        compute="_compute_refresh_token_expires_on", store=True
    )
    client_secret_rotated_on = fields.Date(
        copy=False,
        tracking=True,
        help="Set to today when a new client secret is entered; it starts the "
        "secret's 180 days and their reminders.",
    )
    client_secret_rotation_requested_on = fields.Date(
        string="Rotation Requested On",
        copy=False,
        readonly=True,
        help="Amazon was asked to rotate the client secret on that day: the new "
        "secret must be entered within the 7 days the current one keeps working.",
    )
    client_secret_rotation_deadline = fields.Date(
        string="Enter the New Secret By",
        compute="_compute_client_secret_rotation_deadline",
    )
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
    seller_central_url_override = fields.Char(
        string="Seller Central URL Override",
        groups="base.group_system",
        help="Leave empty to use the Seller Central of the channel's domain. Set it "
        "to send the website authorisation to Amazon's sandbox or a local fake "
        "Amazon, e.g. http://127.0.0.1:8900.",
    )

    # === DEFAULT METHODS === #

    @api.model
    def _default_seller_central_domain(self):
        """The Seller Central of the channel's company (its default company when
        the context gives one): most sellers sell first where they are based."""
        company_id = self.env.context.get("default_company_id")
        company = (
            self.env["res.company"].browse(company_id)
            if isinstance(company_id, int)
            else self.env.company
        )
        return self._get_seller_central_domain_of(company.country_id)

    @api.model
    def _get_seller_central_domain_of(self, country):
        """Amazon's domain code for ``country``, or False when Amazon has none."""
        code = const.COUNTRY_CODE_ALIASES.get(country.code, country.code)
        return code if code in const.SELLER_CENTRAL_DOMAINS else False

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

    @api.depends("client_secret_rotation_requested_on")
    def _compute_client_secret_rotation_deadline(self):
        overlap = timedelta(days=const.CLIENT_SECRET_OVERLAP_DAYS)
        for account in self:
            requested_on = account.client_secret_rotation_requested_on
            account.client_secret_rotation_deadline = (
                requested_on and requested_on + overlap
            )

    @api.depends("client_secret_rotated_on")
    def _compute_client_secret_expires_on(self):
        for account in self:
            rotated_on = account.client_secret_rotated_on
            account.client_secret_expires_on = rotated_on and rotated_on + timedelta(
                days=const.CLIENT_SECRET_VALIDITY_DAYS
            )

    def _compute_import_error_count(self):
        counts = dict(
            self.env["amazon.import.log"]._read_group(
                [("account_id", "in", self.ids), ("state", "=", "error")],
                ["account_id"],
                ["__count"],
            )
        )
        for account in self:
            account.import_error_count = counts.get(account, 0)

    def _compute_sale_order_count(self):
        counts = dict(
            self.env["sale.order"]._read_group(
                [("amazon_account_id", "in", self.ids)],
                ["amazon_account_id"],
                ["__count"],
            )
        )
        for account in self:
            account.sale_order_count = counts.get(account, 0)

    def _compute_ship_counts(self):
        Picking = self.env["stock.picking"]
        counts = {}
        for due in ("today", "late"):
            counts[due] = dict(
                Picking._read_group(
                    [
                        ("amazon_account_id", "in", self.ids),
                        ("amazon_ship_due", "=", due),
                    ],
                    ["amazon_account_id"],
                    ["__count"],
                )
            )
        for account in self:
            account.ship_today_count = counts["today"].get(account, 0)
            account.ship_late_count = counts["late"].get(account, 0)

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

    @api.constrains("lwa_client_id", "aws_role_arn", "seller_id")
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

    @api.constrains(*HOST_FIELDS)
    def _check_amazon_hosts(self):
        allowed = {
            "lwa_auth_url": const.LWA_TOKEN_HOSTS,
            "sp_api_endpoint": const.SP_API_HOSTS,
            "seller_central_url_override": const.SELLER_CENTRAL_HOSTS,
        }
        # sudo: the fields are for administrators, the check is for every writer.
        for account in self.sudo():
            for field, hosts in allowed.items():
                url = account[field]
                if url and not amazon_url_allowed(url, hosts):
                    raise ValidationError(
                        self._amazon_host_error(account._fields[field], url, hosts)
                    )
            application_id = account.application_id
            if application_id and not re.match(
                const.APPLICATION_ID_PATTERN, application_id
            ):
                raise ValidationError(
                    self.env._(
                        "The Application ID must look like amzn1.sp.solution.… "
                        "(letters, digits and dashes after the prefix). Copy it from "
                        "your application in Seller Central's Developer Console."
                    )
                )

    @api.model
    def _amazon_host_error(self, field, url, hosts):
        return self.env._(
            "%(field)s: %(url)s is not allowed. Enter an https:// address of one of "
            "Amazon's hosts (%(hosts)s), or, for a local test server, an address on "
            "this server's loopback (http://127.0.0.1:port).",
            field=field._description_string(self.env),
            url=url,
            hosts=", ".join(sorted(hosts)),
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

    @api.model
    def _amazon_track_secret(self, vals):
        """A new client secret starts its 180 days today, unless its date is
        given; it ends a pending rotation."""
        if "lwa_client_secret" not in vals:
            return vals
        vals = dict(vals, client_secret_rotation_requested_on=False)
        if vals["lwa_client_secret"] and "client_secret_rotated_on" not in vals:
            vals["client_secret_rotated_on"] = fields.Date.context_today(self)
        return vals

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._amazon_track_secret(vals) for vals in vals_list]
        vals_list = [
            self._amazon_fill_seller_central_domain(vals) for vals in vals_list
        ]
        accounts = super().create(vals_list)
        # Odoo checks field groups on write, not on create: without this, a
        # channel manager could create a channel (or pass default_* context
        # keys) that sends the credentials elsewhere once authorised.
        if not self._amazon_may_set_hosts():
            defaults = self._amazon_host_defaults()
            for account in accounts.sudo():
                changed = [f for f, v in defaults.items() if account[f] != v]
                if changed:
                    raise self._amazon_host_access_error(changed)
        accounts.filtered(lambda a: not a.team_id)._assign_amazon_team()
        self._sync_import_cron()
        return accounts

    @api.model
    def _amazon_fill_seller_central_domain(self, vals):
        """The domain of a channel created without one: its company's, else
        the United States (the former default). The form leaves it empty
        instead when the company's country has no Seller Central, so that the
        user picks it; code creating a channel keeps working."""
        if "seller_central_domain" in vals or (
            "default_seller_central_domain" in self.env.context
        ):
            return vals
        if vals.get("company_id"):
            country = self.env["res.company"].browse(vals["company_id"]).country_id
            domain = self._get_seller_central_domain_of(country)
        else:
            domain = self._default_seller_central_domain()
        return dict(vals, seller_central_domain=domain or "US")

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        if "name" not in (default or {}):
            for account, vals in zip(self, vals_list, strict=True):
                vals["name"] = self.env._("%(name)s (copy)", name=account.name)
        return vals_list

    @api.ondelete(at_uninstall=False)
    def _unlink_except_with_orders(self):
        # Deleting would leave the orders with an Amazon ID and no channel, and
        # take their import log, SKU maps and shipment confirmations along.
        if (
            self.env["sale.order"]
            .sudo()
            .search_count([("amazon_account_id", "in", self.ids)], limit=1)
        ):
            raise UserError(
                self.env._(
                    "A channel that imported orders cannot be deleted: archive it "
                    "instead (Action › Archive), or turn off Enabled to stop it."
                )
            )

    def copy(self, default=None):
        if self._amazon_may_set_hosts():
            return super().copy(default)
        default = dict(default or {})
        forbidden = [f for f in HOST_FIELDS if f in default]
        if forbidden:
            raise self._amazon_host_access_error(forbidden)
        # A channel manager may duplicate a channel but neither read nor set the
        # host fields: the copy starts from their defaults, then gets the values
        # an administrator set on the original.
        copies = super().copy({**self._amazon_host_defaults(), **default})
        for original, duplicate in zip(self.sudo(), copies.sudo(), strict=True):
            duplicate.write({field: original[field] for field in HOST_FIELDS})
        return copies

    @api.model
    def _amazon_host_defaults(self):
        return {
            **dict.fromkeys(HOST_FIELDS, False),
            "lwa_auth_url": const.DEFAULT_LWA_AUTH_URL,
        }

    def _amazon_may_set_hosts(self):
        return self.env.su or self.env.user.has_group("base.group_system")

    def _amazon_host_access_error(self, field_names):
        return AccessError(
            self.env._(
                "Only an administrator (Settings rights) can set %(fields)s: these "
                "decide where the Amazon credentials are sent.",
                fields=", ".join(
                    self._fields[f]._description_string(self.env) for f in field_names
                ),
            )
        )

    def _sync_import_cron(self):
        """Run the import job at the shortest interval of the enabled channels."""
        # sudo: channel managers configure channels, not scheduled actions.
        cron = self.sudo().env.ref(
            "sale_amazon_spapi.ir_cron_amazon_import_orders", raise_if_not_found=False
        )
        if not cron:
            return
        intervals = (
            self.sudo().search([("enabled", "=", True)]).mapped("import_interval")
        )
        minutes = min(intervals, default=IMPORT_DEFAULT_INTERVAL)
        if (cron.interval_type, cron.interval_number) != ("minutes", minutes):
            cron.sudo().write({"interval_type": "minutes", "interval_number": minutes})

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
            # Customisation links are order data: fetched from these hosts only.
            "download_hosts": const.CUSTOMIZATION_DOWNLOAD_HOSTS,
        }
        values.update(overrides)
        # A value saved before the hosts were checked on write (or straight in
        # the database) must not carry the credentials elsewhere either.
        for field, key, hosts in (
            ("lwa_auth_url", "lwa_url", const.LWA_TOKEN_HOSTS),
            ("sp_api_endpoint", "endpoint", const.SP_API_HOSTS),
        ):
            if not amazon_url_allowed(values[key], hosts):
                raise UserError(
                    self._amazon_host_error(self._fields[field], values[key], hosts)
                    + " "
                    + self.env._("An administrator must correct it on the channel.")
                )
        return ChannelConfig(**values)

    def _get_amazon_client(self, max_wait=5.0, **overrides):
        self.ensure_one()
        config = self._get_amazon_config(**overrides)
        return AmazonClient(
            config, pacer=self._get_amazon_pacer(config), max_wait=max_wait
        )

    def _get_amazon_pacer(self, config):
        """Amazon's request budget of ``config``, shared by every worker.

        The pacer itself keeps nothing: its buckets are rows of the database,
        so a cron, a user's click and another server spend one budget.
        """
        store = self.env["amazon.rate.limit"]._pacing_store()
        return Pacer(key=config.pacing_key, store=store)

    def _amazon_error_message(self, error):
        """Translated, secret-free text of an access-layer error."""
        return error.render(self.env._)

    def _amazon_call(self, method, *args, client=None, **kwargs):
        """Call ``method`` of an access-layer client; failures become UserError."""
        self.ensure_one()
        blocker = self._get_credentials_blocker()
        if blocker:
            raise UserError(blocker)
        client = client or self._get_amazon_client()
        try:
            return getattr(client, method)(*args, **kwargs)
        except AmazonError as error:
            raise UserError(self._amazon_error_message(error)) from None

    # === ACTION METHODS - SET-UP === #

    def action_create_fba_warehouse(self, company_id=None, channel_name=None):
        """Create a warehouse standing for Amazon's fulfilment centres.

        Called by the channel form's "Create FBA Warehouse" button, on the
        channel being edited (none while it is new): the form sets the
        warehouse on the channel itself, so that its unsaved FBA mode, which
        needs one, can then be saved.

        :param company_id: the company chosen on the form (default: the channel's)
        :param channel_name: the name typed on the form, for the warehouse's name
        :return: the warehouse as {"id", "display_name"}
        """
        # Those who may configure the channel may give it its FBA warehouse.
        # Creating a warehouse is for Inventory administrators, which an Amazon
        # administrator (a Sales Manager) often is not; sudo is bounded by this
        # check and by the fixed values below, which choose nothing else.
        self.check_access("write" if self else "create")
        if self:
            company_id = company_id or self.ensure_one().company_id.id
            channel_name = channel_name or self.name
        company = self.env["res.company"].browse(company_id or self.env.company.id)
        if company not in self.env.user.company_ids:
            raise AccessError(
                self.env._(
                    "You cannot create a warehouse in company %(company)s.",
                    company=company.sudo().name,
                )
            )
        warehouse = (
            self.env["stock.warehouse"]
            .sudo()
            .with_company(company)
            .create(self._get_fba_warehouse_values(company, channel_name))
        )
        return {"id": warehouse.id, "display_name": warehouse.display_name}

    @api.model
    def _get_fba_warehouse_values(self, company, channel_name):
        """Name and short name free in ``company``: "Amazon FBA (channel)" and
        FBA, FBA2… (a short name has 5 characters at most)."""
        taken = (
            self.env["stock.warehouse"]
            .sudo()
            .with_context(active_test=False)
            .search_read([("company_id", "=", company.id)], ["name", "code"])
        )
        names = {warehouse["name"] for warehouse in taken}
        codes = {(warehouse["code"] or "").upper() for warehouse in taken}
        base_name = (
            self.env._("Amazon FBA (%(channel)s)", channel=channel_name)
            if channel_name
            else self.env._("Amazon FBA")
        )
        name = base_name
        number = 1
        while name in names:
            number += 1
            name = f"{base_name} {number}"
        code = next(
            (
                candidate
                for candidate in ("FBA", *(f"FBA{n}" for n in range(2, 100)))
                if candidate not in codes
            ),
            None,
        )
        if not code:
            raise UserError(
                self.env._(
                    "Company %(company)s has no free FBA short name left: create "
                    "the FBA warehouse in Inventory.",
                    company=company.name,
                )
            )
        return {"name": name, "code": code, "company_id": company.id}

    # === BUSINESS METHODS - CHANNEL JOBS === #

    @api.model
    def _can_commit(self):
        # As account.move's: no commit inside tests, whichever way they run.
        return not (modules.module.current_test or config["test_enable"])

    @contextmanager
    def _advisory_lock(self, name, commit=False):
        """Hold the channel's lock ``name`` (see ``_import_lock``): a session
        lock on a connection of its own when the caller commits, a
        transaction lock otherwise.

        :return: (as context) whether the lock was taken
        """
        self.ensure_one()
        key = [name, self.id]
        if not commit:
            self.env.cr.execute(
                "SELECT pg_try_advisory_xact_lock(hashtext(%s), %s)", key
            )
            yield self.env.cr.fetchone()[0]
            return
        lock_cr = sql_db.db_connect(self.env.cr.dbname).cursor()
        locked = False
        try:
            lock_cr.execute("SELECT pg_try_advisory_lock(hashtext(%s), %s)", key)
            locked = lock_cr.fetchone()[0]
            yield locked
        finally:
            try:
                if locked:
                    lock_cr.execute("SELECT pg_advisory_unlock(hashtext(%s), %s)", key)
            except Exception:  # the caller's own error comes first
                _logger.exception("Amazon lock %s of channel %s", name, self.id)
                # Unlocking failed: the connection must not keep the lock.
                with suppress(Exception):
                    lock_cr._cnx.close()
            finally:
                with suppress(Exception):
                    lock_cr.close()

    def _send_errors_mail(self, template, logs, subject):
        """The channel's error e-mail to *Email Errors To*, if any.

        :param template: xmlid of the QWeb body, rendered with account and logs
        """
        self.ensure_one()
        if not self.email_errors_to:
            return
        body = self.env["ir.qweb"]._render(template, {"account": self, "logs": logs})
        self.env["mail.mail"].sudo().create(
            {
                "subject": subject,
                "email_from": (
                    self.company_id.email_formatted
                    or self.env.user.email_formatted
                    or self.env.company.catchall_formatted
                ),
                "email_to": self.email_errors_to,
                "body_html": body,
                "auto_delete": True,
            }
        )
