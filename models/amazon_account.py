# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

import logging
import re
import secrets
import time
from collections import Counter
from contextlib import contextmanager, suppress
from datetime import timedelta, timezone
from urllib.parse import urlencode, urlsplit

from markupsafe import escape

from odoo import api, fields, models, modules, sql_db
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import (
    config,
    consteq,
    email_normalize,
    email_split,
    format_date,
    format_datetime,
    plaintext2html,
)
from odoo.tools.misc import hmac

from .. import const
from ..amazon import (
    AmazonClient,
    AmazonError,
    ChannelConfig,
    Pacer,
    ThrottledError,
    invalidate_access_tokens,
    redact,
)

_logger = logging.getLogger(__name__)

IMPORT_LOCK = "sale_amazon_spapi.import_orders"
# "Import now" stays within the request; the cron continues a longer backlog.
IMPORT_NOW_MAX_BATCHES = 5
IMPORT_DEFAULT_INTERVAL = 15
IMPORT_INCIDENT_ACTIVITY = "sale_amazon_spapi.mail_activity_type_amazon_import_incident"

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


def _one_line(error):
    """The type and first line of an unexpected exception, for users."""
    first_line = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line}"[:500]


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

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        if "name" not in (default or {}):
            for account, vals in zip(self, vals_list, strict=True):
                vals["name"] = self.env._("%(name)s (copy)", name=account.name)
        return vals_list

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

    # === CREDENTIALS LIFECYCLE === #

    credentials_status = fields.Selection(
        selection=[
            ("missing", "Not authorised"),
            ("ok", "OK"),
            ("expiring", "Expiring soon"),
            ("expired", "Expired"),
        ],
        compute="_compute_credentials_status",
        search="_search_credentials_status",
        help="Whether the refresh token and the client secret are still valid. "
        "Reminders start 30 days before a credential expires.",
    )
    credentials_status_message = fields.Char(compute="_compute_credentials_status")
    connection_state = fields.Selection(
        selection=[
            ("untested", "Not tested"),
            ("ok", "Connected"),
            ("failed", "Failed"),
        ],
        default="untested",
        required=True,
        copy=False,
        readonly=True,
    )
    connection_checked_on = fields.Datetime(
        string="Connection Checked On", copy=False, readonly=True
    )
    connection_message = fields.Char(copy=False, readonly=True)
    # Nonce of the consent in progress: the signed state must carry it, and it is
    # cleared by the callback so that a state works only once.
    lwa_oauth_nonce = fields.Char(groups="base.group_system", copy=False)
    # Reminders already sent, as "credential:deadline:stage" keys; a new deadline
    # (renewal) gives new keys, so nothing is sent twice for the same deadline.
    credentials_reminders_sent = fields.Char(copy=False, readonly=True)

    status_banner = fields.Selection(
        selection=[
            ("missing", "Not authorised"),
            ("expired", "Credentials expired"),
            ("failed", "Connection failed"),
            ("untested", "Never tested"),
            ("rotation", "Rotation pending"),
            ("expiring", "Credentials expiring"),
            ("import", "Import failing"),
        ],
        compute="_compute_status_banner",
        help="What the channel needs first; the form shows it with the button that "
        "fixes it.",
    )

    @api.depends(
        "lwa_refresh_token",
        "credentials_status",
        "connection_state",
        "client_secret_rotation_requested_on",
        "import_incident",
    )
    def _compute_status_banner(self):
        for account in self:
            # One thing at a time, the one that blocks the others first. A
            # channel never authorised may have an expiring secret already.
            if not account.sudo().lwa_refresh_token:
                banner = "missing"
            elif account.credentials_status == "expired":
                banner = "expired"
            elif account.connection_state in ("failed", "untested"):
                banner = account.connection_state
            elif account.client_secret_rotation_requested_on:
                banner = "rotation"
            elif account.credentials_status == "expiring":
                banner = "expiring"
            elif account.import_incident:
                banner = "import"
            else:
                banner = False
            account.status_banner = banner

    @api.depends(
        "refresh_token_expires_on",
        "client_secret_expires_on",
        "connection_state",
        "lwa_refresh_token",
    )
    def _compute_credentials_status(self):
        today = fields.Date.today()
        for account in self:
            status, message = account._get_credentials_status(today)
            account.credentials_status = status
            account.credentials_status_message = message

    def _search_credentials_status(self, operator, value):
        if operator not in ("=", "!=", "in", "not in"):
            raise UserError(self.env._("Unsupported search on the credentials status."))
        values = {value} if isinstance(value, str) else set(value or ())
        today = fields.Date.today()
        warn_until = today + timedelta(days=max(const.CREDENTIAL_REMINDER_DAYS))
        overlap = timedelta(days=const.CLIENT_SECRET_OVERLAP_DAYS)
        # Same rules as _get_credentials_status(), which depends on today and so
        # cannot be stored. Sudo: the refresh token is for administrators only.
        accounts = self.sudo().with_context(active_test=False)
        expired = set(
            accounts.search(
                [
                    "|",
                    ("refresh_token_expires_on", "<=", today),
                    ("client_secret_expires_on", "<=", today - overlap),
                ]
            ).ids
        )
        expiring = (
            set(
                accounts.search(
                    [
                        "|",
                        ("refresh_token_expires_on", "<=", warn_until),
                        ("client_secret_expires_on", "<=", warn_until),
                    ]
                ).ids
            )
            - expired
        )
        missing = (
            set(accounts.search([("lwa_refresh_token", "=", False)]).ids)
            - expired
            - expiring
        )
        groups = {"expired": expired, "expiring": expiring, "missing": missing}
        if "ok" in values:
            # "ok" is whatever has none of the other statuses.
            excluded = set().union(
                *(ids for status, ids in groups.items() if status not in values)
            )
            domain = [("id", "not in", list(excluded))]
        else:
            matching = set().union(*(groups.get(v, set()) for v in values))
            domain = [("id", "in", list(matching))]
        return domain if operator in ("=", "in") else ["!", *domain]

    def _get_credential_deadlines(self):
        """[(credential, expires_on, blocked_on)] of the dated credentials.

        A client secret stays accepted by Amazon for an overlap after its expiry
        (when it was rotated), so a channel is blocked only once that has passed.
        """
        self.ensure_one()
        deadlines = []
        if self.refresh_token_expires_on:
            expires_on = self.refresh_token_expires_on
            deadlines.append(("refresh_token", expires_on, expires_on))
        if self.client_secret_expires_on:
            expires_on = self.client_secret_expires_on
            overlap = timedelta(days=const.CLIENT_SECRET_OVERLAP_DAYS)
            deadlines.append(("client_secret", expires_on, expires_on + overlap))
        return deadlines

    def _credential_label(self, credential):
        return {
            "refresh_token": self.env._("seller authorisation (refresh token)"),
            "client_secret": self.env._("LWA client secret"),
        }[credential]

    def _credential_expired_text(self, credential, expires_on, blocked_on):
        if credential == "refresh_token":
            return self.env._(
                "The seller authorisation (refresh token) of channel %(channel)s "
                "expired on %(date)s. Use 'Authorise' on the channel to authorise "
                "it again.",
                channel=self.name,
                date=format_date(self.env, expires_on),
            )
        return self.env._(
            "The LWA client secret of channel %(channel)s expired on %(date)s and "
            "Amazon stopped accepting it on %(end)s. Rotate the secret in the "
            "Developer Console and enter the new one with 'Rotate Secret'.",
            channel=self.name,
            date=format_date(self.env, expires_on),
            end=format_date(self.env, blocked_on),
        )

    def _credential_expiring_text(self, credential, expires_on, blocked_on, today):
        if credential == "client_secret" and expires_on <= today:
            return self.env._(
                "The LWA client secret of channel %(channel)s expired on %(date)s; "
                "Amazon accepts it until %(end)s only. Rotate it now with 'Rotate "
                "Secret'.",
                channel=self.name,
                date=format_date(self.env, expires_on),
                end=format_date(self.env, blocked_on),
            )
        if credential == "refresh_token":
            return self.env._(
                "The seller authorisation (refresh token) of channel %(channel)s "
                "expires on %(date)s (in %(days)s days). Use 'Authorise' on the "
                "channel to renew it before then.",
                channel=self.name,
                date=format_date(self.env, expires_on),
                days=(expires_on - today).days,
            )
        return self.env._(
            "The LWA client secret of channel %(channel)s expires on %(date)s (in "
            "%(days)s days). Use 'Rotate Secret' on the channel to renew it before "
            "then.",
            channel=self.name,
            date=format_date(self.env, expires_on),
            days=(expires_on - today).days,
        )

    def _get_credentials_status(self, today):
        """(status, message) of the channel's credentials on ``today``."""
        self.ensure_one()
        warn = timedelta(days=max(const.CREDENTIAL_REMINDER_DAYS))
        expiring = []
        for credential, expires_on, blocked_on in self._get_credential_deadlines():
            if today >= blocked_on:
                text = self._credential_expired_text(credential, expires_on, blocked_on)
                return "expired", text
            if today >= expires_on - warn:
                expiring.append(
                    self._credential_expiring_text(
                        credential, expires_on, blocked_on, today
                    )
                )
        if expiring:
            return "expiring", " ".join(expiring)
        if not self.sudo().lwa_refresh_token:
            return "missing", self.env._(
                "The channel is not authorised yet: use 'Authorise'."
            )
        return "ok", False

    def _get_credentials_blocker(self):
        """Why no call to Amazon may be made for this channel (translated), or False.

        Only expired credentials block: a channel without dates (set up by hand)
        is not blocked, Amazon itself will say if a credential is no good.
        """
        self.ensure_one()
        today = fields.Date.today()
        for credential, expires_on, blocked_on in self._get_credential_deadlines():
            if today >= blocked_on:
                return self._credential_expired_text(credential, expires_on, blocked_on)
        return False

    def write(self, vals):
        vals = self._amazon_track_secret(vals)
        renewed = [
            credential
            for credential, date_field in const.CREDENTIAL_DATE_FIELDS.items()
            if date_field in vals
        ]
        if (
            not self.env.context.get("amazon_connection_checked")
            and "connection_state" not in vals
            and const.CONNECTION_FIELDS.intersection(vals)
        ):
            vals = dict(vals, connection_state="untested", connection_message=False)
        res = super().write(vals)
        if renewed:
            self._clear_credential_reminders(renewed)
        if {"import_interval", "enabled", "active"}.intersection(vals):
            self._sync_import_cron()
        return res

    def _clear_credential_reminders(self, credentials):
        """A renewed credential needs no reminder: drop its pending activities."""
        xmlids = [const.CREDENTIAL_ACTIVITY_TYPES[c] for c in credentials]
        self.sudo().activity_unlink(xmlids)
        for account in self.sudo():
            keys = [
                key
                for key in (account.credentials_reminders_sent or "").split()
                if key.split(":", 1)[0] not in credentials
            ]
            account.write({"credentials_reminders_sent": " ".join(keys) or False})

    # --- Reminders --- #

    @api.model
    def _cron_credentials_reminders(self):
        today = fields.Date.today()
        for account in self.search([("enabled", "=", True)]):
            account._send_credentials_reminders(today)

    def _send_credentials_reminders(self, today):
        """Remind of the credentials expiring soon or expired, once per stage.

        Stages are the reminder days (30, 7) and "expired"; a channel first seen
        inside a stage gets that stage's reminder only, not the earlier ones.
        """
        self.ensure_one()
        sent = set((self.credentials_reminders_sent or "").split())
        added = []
        for credential, expires_on, blocked_on in self._get_credential_deadlines():
            if today >= blocked_on:
                stage = "expired"
                text = self._credential_expired_text(credential, expires_on, blocked_on)
            else:
                days_left = (expires_on - today).days
                stage = next(
                    (
                        d
                        for d in sorted(const.CREDENTIAL_REMINDER_DAYS)
                        if days_left <= d
                    ),
                    None,
                )
                if stage is None:
                    continue
                text = self._credential_expiring_text(
                    credential, expires_on, blocked_on, today
                )
            key = f"{credential}:{expires_on.isoformat()}:{stage}"
            if key in sent:
                continue
            self._remind_credential(credential, expires_on, blocked_on, stage, text)
            added.append(key)
        if added:
            self.write(
                {"credentials_reminders_sent": " ".join(sorted(sent.union(added)))}
            )

    def _remind_credential(self, credential, expires_on, blocked_on, stage, text):
        activity_type = const.CREDENTIAL_ACTIVITY_TYPES[credential]
        # The latest reminder replaces the earlier one: one to-do per credential.
        self.activity_unlink([activity_type])
        if stage == "expired":
            summary = self.env._(
                "Amazon %(credential)s expired",
                credential=self._credential_label(credential),
            )
        else:
            summary = self.env._(
                "Amazon %(credential)s expires on %(date)s",
                credential=self._credential_label(credential),
                date=format_date(self.env, expires_on),
            )
        user = self.user_id or self.env.ref("base.user_admin", raise_if_not_found=False)
        self.activity_schedule(
            activity_type,
            date_deadline=fields.Date.today() if stage == "expired" else expires_on,
            summary=summary,
            # The note is HTML: a channel name must not become markup.
            note=escape(text),
            user_id=user.id if user else self.env.uid,
        )
        if self.email_errors_to:
            template = self.env.ref(
                "sale_amazon_spapi.mail_template_amazon_credentials_reminder"
            )
            template.with_context(
                amazon_reminder_subject=summary, amazon_reminder_text=text
            ).send_mail(self.id, email_layout_xmlid="mail.mail_notification_light")

    # --- Authorisation --- #

    def _get_amazon_redirect_uri(self):
        """Callback to register as OAuth redirect URI of the Amazon application."""
        self.ensure_one()
        return self.get_base_url().rstrip("/") + const.OAUTH_CALLBACK_ROUTE

    def _get_amazon_consent_url(self, state, draft=False):
        """Seller Central consent page of the channel's domain."""
        self.ensure_one()
        # sudo: only administrators see the hosts and the application, but they
        # apply to everyone.
        account = self.sudo()
        marketplace = (
            account.env["amazon.marketplace"]
            .with_context(active_test=False)
            .search([("code", "=", self.seller_central_domain)], limit=1)
        )
        base = (
            account.seller_central_url_override
            or marketplace.seller_central_url
            or "https://sellercentral.amazon.com"
        )
        params = {
            "application_id": account.application_id or "",
            "state": state,
            "redirect_uri": self._get_amazon_redirect_uri(),
        }
        if draft:
            # Amazon refuses a draft application without it (error MD1000).
            params["version"] = "beta"
        return f"{base.rstrip('/')}/apps/authorize/consent?{urlencode(params)}"

    def _amazon_oauth_state(self, timestamp=None):
        """A fresh signed state for the consent, bound to channel, user and time.

        Starting a new consent invalidates the previous state of the channel.
        """
        self.ensure_one()
        nonce = secrets.token_urlsafe(16)
        self.sudo().lwa_oauth_nonce = nonce
        timestamp = int(time.time() if timestamp is None else timestamp)
        payload = f"{self.id}.{self.env.uid}.{timestamp}.{nonce}"
        return f"{payload}.{self._amazon_oauth_signature(payload)}"

    def _amazon_oauth_signature(self, payload):
        return hmac(self.env(su=True), "sale_amazon_spapi.oauth_state", payload)

    @api.model
    def _amazon_consume_oauth_state(self, state):
        """Check a state coming back from Seller Central and use it up.

        :return: (channel, False) or (empty recordset, translated reason)
        """
        nothing = self.browse()
        if not self.env.user.has_group("base.group_system"):
            return nothing, self.env._(
                "Only an administrator (Settings rights) can authorise an Amazon "
                "channel."
            )
        invalid = self.env._(
            "This authorisation link is not valid: it was not issued by this "
            "database. Start the authorisation again from the channel."
        )
        parts = (state or "").split(".")
        if len(parts) != 5 or not all(p.isdigit() for p in parts[:3]):
            return nothing, invalid
        account_id, uid, timestamp, _nonce, signature = parts
        payload = state.rsplit(".", 1)[0]
        if not consteq(signature, self._amazon_oauth_signature(payload)):
            return nothing, invalid
        if int(uid) != self.env.uid:
            return nothing, self.env._(
                "This authorisation was started by another user. Start it again "
                "yourself from the channel."
            )
        age = time.time() - int(timestamp)
        if not 0 <= age <= const.OAUTH_STATE_TTL:
            return nothing, self.env._(
                "This authorisation link has expired (it is valid for %(minutes)s "
                "minutes). Start the authorisation again from the channel.",
                minutes=const.OAUTH_STATE_TTL // 60,
            )
        account = self.browse(int(account_id)).exists()
        nonce = account.sudo().lwa_oauth_nonce if account else None
        if not nonce or not consteq(parts[3], nonce):
            return nothing, self.env._(
                "This authorisation link was already used or replaced by a newer "
                "one. Start the authorisation again from the channel."
            )
        account.sudo().lwa_oauth_nonce = False
        return account, False

    @api.model
    def _amazon_consent_error_message(self, error, description=None):
        """Plain words for an error Seller Central reports to the callback."""
        raw = " ".join(filter(None, (error, description)))
        for code, explanation in self._amazon_consent_errors().items():
            if code in raw:
                return f"{code}: {explanation}"
        return self.env._(
            "Seller Central did not authorise the application (%(error)s).",
            error=redact(raw) or self.env._("no reason given"),
        )

    @api.model
    def _amazon_consent_errors(self):
        return {
            "MD1000": self.env._(
                "the application is still a draft. Tick 'Draft application' in "
                "the Authorise wizard (it adds version=beta to the consent link) "
                "and try again."
            ),
            "MD5101": self.env._(
                "the redirect URI is not one of the application's OAuth Redirect "
                "URIs. Register the redirect URI shown in the Authorise wizard in "
                "the Developer Console, exactly as shown."
            ),
            "MD5110": self.env._(
                "the redirect URI is not valid: Amazon accepts only https:// "
                "addresses without a fragment. Check this database's base URL."
            ),
            "MD9100": self.env._(
                "the application has no valid OAuth Login or Redirect URI. Fill "
                "them in the Developer Console and try again."
            ),
            "access_denied": self.env._(
                "the seller declined to authorise the application."
            ),
        }

    def _amazon_authorize_with_code(self, code, selling_partner_id=None):
        """Trade a consent code for a refresh token and store it.

        :raise UserError: with plain words when Amazon refuses the code
        """
        self.ensure_one()
        self.check_access("write")
        client = self._get_amazon_client(refresh_token=None)
        try:
            refresh_token = client.exchange_authorization_code(
                code, self._get_amazon_redirect_uri()
            )
        except AmazonError as error:
            if error.code in ("invalid_grant", "invalid_request"):
                raise UserError(
                    self.env._(
                        "Amazon refused the authorisation code: a code is valid "
                        "for 5 minutes and once only, and the redirect URI must be "
                        "the one registered for the application. Start the "
                        "authorisation again. Amazon said: %(detail)s",
                        detail=error.params.get("detail") or error.code,
                    )
                ) from None
            raise UserError(self._amazon_error_message(error)) from None
        if selling_partner_id and not re.match(
            const.SELLER_ID_PATTERN, selling_partner_id
        ):
            selling_partner_id = None
        self._amazon_save_refresh_token(
            refresh_token,
            seller_id=selling_partner_id,
            how=self.env._("through Seller Central"),
        )

    def _amazon_save_refresh_token(self, refresh_token, seller_id=None, how=""):
        self.ensure_one()
        old_config = self._get_amazon_config()
        vals = {
            "lwa_refresh_token": refresh_token,
            "refresh_token_authorized_on": fields.Date.today(),
            "lwa_oauth_nonce": False,
        }
        if seller_id:
            vals["seller_id"] = seller_id
        self.sudo().write(vals)
        invalidate_access_tokens(old_config)
        self.message_post(
            body=self.env._(
                "Seller account %(seller)s authorised %(how)s by %(user)s. The "
                "authorisation is valid until %(date)s.",
                seller=self.seller_id or "-",
                how=how,
                user=self.env.user.name,
                date=format_date(self.env, self.refresh_token_expires_on),
            )
        )
        self._amazon_test_connection()

    # --- Connection test --- #

    def _amazon_test_connection(self):
        """Refresh an access token and list the seller's marketplaces.

        The outcome is recorded on the channel. Never raises for Amazon's refusals.
        :return: (participations, False) or (None, translated error)
        """
        self.ensure_one()
        try:
            client = self._get_amazon_client()
            client.check_credentials()
            participations = client.get_marketplace_participations()
        except AmazonError as error:
            message = self._amazon_error_message(error)
            self.sudo().with_context(amazon_connection_checked=True).write(
                {
                    "connection_state": "failed",
                    "connection_checked_on": fields.Datetime.now(),
                    "connection_message": message,
                }
            )
            return None, message
        self.sudo().with_context(amazon_connection_checked=True).write(
            {
                "connection_state": "ok",
                "connection_checked_on": fields.Datetime.now(),
                "connection_message": False,
            }
        )
        return participations, False

    def action_test_connection(self):
        self.ensure_one()
        self.check_access("write")
        participations, error = self._amazon_test_connection()
        wizard = self.env["amazon.connection.test.wizard"]._from_result(
            self, participations, error
        )
        return wizard._action_open()

    def action_open_authorize_wizard(self):
        self.ensure_one()
        return self._open_credentials_wizard(
            "amazon.authorize.wizard", self.env._("Authorise Amazon Channel")
        )

    def action_open_rotate_secret_wizard(self):
        self.ensure_one()
        return self._open_credentials_wizard(
            "amazon.rotate.secret.wizard", self.env._("Rotate Client Secret")
        )

    def _open_credentials_wizard(self, model, name):
        if not self.env.user.has_group("base.group_system"):
            raise UserError(
                self.env._(
                    "Only an administrator (Settings rights) can change the Amazon "
                    "credentials."
                )
            )
        wizard = self.env[model].create({"account_id": self.id})
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": model,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    # === ACTION METHODS - ORDERS === #

    def action_import_orders(self):
        """Import now, in this request, up to a few pages; the cron does the rest."""
        self.check_access("read")
        stats = Counter()
        for account in self.sudo():
            # The import writes what an Amazon user may not write directly
            # (channel cursor, pricelists, logs); sudo keeps the user as author.
            result = account._import_orders(max_batches=IMPORT_NOW_MAX_BATCHES)
            if result.get("skipped"):
                raise UserError(
                    self.env._(
                        "Channel %(channel)s did not import: %(reason)s",
                        channel=account.name,
                        reason=result["skipped"],
                    )
                )
            stats.update({k: v for k, v in result.items() if isinstance(v, int)})
        message = self.env._(
            "%(created)s new order(s), %(updated)s updated, %(cancelled)s cancelled, "
            "%(errors)s error(s).",
            created=stats["created"],
            updated=stats["updated"],
            cancelled=stats["cancelled"],
            errors=stats["errors"] + stats["failed"],
        )
        failures = [
            f"{account.name}: {account.import_incident_message}"
            for account in self.sudo()
            if account.import_incident == "failing"
        ]
        if stats["failed"] and failures:
            message += " " + " ".join(failures)
        if stats["throttled"] or any(self.mapped("import_next_token")):
            message += " " + self.env._("The rest follows with the scheduled import.")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Amazon import"),
                "message": message,
                "type": "warning" if stats["errors"] or stats["failed"] else "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_view_sale_orders(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sale.action_orders")
        action.update(
            domain=[("amazon_account_id", "=", self.id)],
            context={"default_amazon_account_id": self.id, "create": False},
        )
        return action

    def action_view_to_ship(self):
        """The channel's Amazon deliveries to ship, filtered as the button says."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sale_amazon_spapi.action_amazon_to_ship"
        )
        due = self.env.context.get("amazon_ship_due")
        context = {"search_default_amazon_group_ship_by": 1, "create": False}
        if due in ("today", "late"):
            context[f"search_default_amazon_{due}"] = 1
        action["context"] = context
        action["domain"] = self.env["stock.picking"]._amazon_to_ship_domain() + [
            ("amazon_account_id", "=", self.id)
        ]
        return action

    def action_view_import_logs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sale_amazon_spapi.action_amazon_import_log"
        )
        action.update(
            domain=[("account_id", "=", self.id)],
            context={"search_default_to_retry": 1},
        )
        return action

    # === BUSINESS METHODS - ORDER IMPORT === #

    def _get_amazon_fulfilled_by(self):
        self.ensure_one()
        return {
            "mfn": ("MERCHANT",),
            "afn": ("AMAZON",),
            "both": ("MERCHANT", "AMAZON"),
        }[self.fba_mode]

    def _get_import_start(self):
        """Where a new search window starts."""
        self.ensure_one()
        if self.use_last_import_datetime and self.last_import_datetime:
            return self.last_import_datetime
        return fields.Datetime.now() - timedelta(days=self.lookback_days)

    def _is_import_due(self, now):
        self.ensure_one()
        return (
            not self.last_import_run
            or self.import_next_token
            or self.last_import_run + timedelta(minutes=self.import_interval) <= now
        )

    @api.model
    def _cron_import_orders(self):
        now = fields.Datetime.now()
        accounts = self.search([("enabled", "=", True)])
        due = accounts.filtered(lambda a: a._is_import_due(now))
        commit = self._can_commit()
        for done, account in enumerate(due, start=1):
            account._import_orders_guarded(commit)
            self.env["ir.cron"]._notify_progress(
                done=done,
                remaining=len(due) - done + (1 if account.import_next_token else 0),
            )

    def _import_orders_guarded(self, commit):
        """Import this channel; whatever it raises, the next channel still runs.

        The failure becomes an incident of the channel (one log entry, one
        alert) instead of the failure of the whole job, which Odoo would end
        up switching off.
        """
        self.ensure_one()
        try:
            if commit:
                self._import_orders(commit=True)
            else:
                with self.env.cr.savepoint():
                    self._import_orders()
        except Exception as error:
            if commit:
                self.env.cr.rollback()
            _logger.exception("Amazon import of channel %s failed", self.id)
            logs_before = self._get_open_error_logs()
            self._update_import_incident(
                "failing",
                self.env._(
                    "The import stopped on an unexpected error: %(error)s",
                    error=redact(_one_line(error)),
                ),
            )
            new_errors = self._get_open_error_logs() - logs_before
            if new_errors:
                self._send_error_digest(new_errors)
            if commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _can_commit(self):
        # As account.move's: no commit inside tests, whichever way they run.
        return not (modules.module.current_test or config["test_enable"])

    def _import_orders(self, max_batches=None, commit=False):
        """Import the orders created or updated since the cursor, page by page.

        Each page (up to 100 orders, one searchOrders call) is processed in a
        savepoint and committed when ``commit`` is set (cron), together with the
        resume state, so a crash, a kill or throttling loses at most the page in
        progress, and the next run takes over from the last committed page. The
        cursor (Last Imported Datetime) moves only when a window is complete, and
        then to Amazon's own upper bound of that window.

        :return: Counter of what happened; ``skipped`` says why nothing was done
        """
        self.ensure_one()
        stats = Counter()
        blocker = self._get_import_blocker()
        if blocker:
            _logger.info("Amazon import of channel %s skipped: %s", self.id, blocker)
            stats["skipped"] = blocker
            return stats
        with self._import_lock(commit=commit) as locked:
            if not locked:
                _logger.info(
                    "Amazon import of channel %s is already running: skipped", self.id
                )
                stats["skipped"] = self.env._("an import is already running")
                return stats
            run_start = fields.Datetime.now()
            logs_before = self._get_open_error_logs()
            with self._get_amazon_client() as client:
                failure = self._import_pages(client, stats, max_batches, commit)
            self.last_import_run = run_start
            self._check_import_health(stats, failure, run_start)
            new_errors = self._get_open_error_logs() - logs_before
            if new_errors:
                self._send_error_digest(new_errors)
            if commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
        if self.import_next_token and max_batches:
            # The rest of the backlog is for the scheduled job, right away.
            self.env.ref("sale_amazon_spapi.ir_cron_amazon_import_orders")._trigger()
        return stats

    def _get_open_error_logs(self):
        self.ensure_one()
        return self.import_log_ids.filtered(lambda log: log.state == "error")

    # --- Import health: one alert per incident --- #

    def _check_import_health(self, stats, failure, now):
        """Open, escalate or close the channel's import incident after a run.

        An incident is a channel-level trouble lasting across runs: Amazon
        refusing or failing the search, throttling that lets no page through
        for an hour, or a search window that does not complete for several
        intervals. Each gives one log entry, one e-mail and one activity for
        the responsible when it starts, not one per run; the first healthy run
        closes it with a note in the chatter.

        :param stats: Counter of the run
        :param failure: the AmazonError that stopped the search, or None
        """
        self.ensure_one()
        if failure is not None:
            self._update_import_incident(
                "failing",
                self._amazon_error_message(failure),
                request_id=failure.request_id,
            )
            return
        if stats["throttled"] and not stats["calls"]:
            since = self.import_throttled_since or now
            if not self.import_throttled_since:
                self.import_throttled_since = since
            if now - since >= timedelta(minutes=const.IMPORT_THROTTLED_ALERT_MINUTES):
                self._update_import_incident(
                    "throttled",
                    self.env._(
                        "Amazon has throttled every search of this channel since "
                        "%(since)s: no order was imported since. Another "
                        "application using the same seller account may be "
                        "spending the searchOrders quota.",
                        since=self._format_utc(since),
                    ),
                )
            return
        if self.import_throttled_since:
            self.import_throttled_since = False
        opened_on = self.import_window_opened_on
        stalled_after = timedelta(
            minutes=max(
                const.IMPORT_STALLED_INTERVALS * self.import_interval,
                const.IMPORT_THROTTLED_ALERT_MINUTES,
            )
        )
        if self.import_next_token and opened_on and now - opened_on >= stalled_after:
            self._update_import_incident(
                "stalled",
                self.env._(
                    "The import has not completed its search window since "
                    "%(since)s (orders updated after %(start)s): it goes on page "
                    "by page at the pace Amazon allows (one searchOrders page "
                    "every few minutes once the burst is spent). Check that the "
                    "scheduled action runs, and that the look-back is not "
                    "longer than needed.",
                    since=self._format_utc(opened_on),
                    start=self._format_utc(self.import_window_start),
                ),
            )
            return
        if self.import_incident:
            self._close_import_incident(now)

    def _update_import_incident(self, kind, message, request_id=None):
        """Record the incident ``kind``; alert only when it starts or changes kind."""
        self.ensure_one()
        if self.import_incident == kind:
            return False
        labels = dict(self._fields["import_incident"]._description_selection(self.env))
        vals = {"import_incident": kind, "import_incident_message": message}
        if not self.import_incident:
            vals["import_incident_since"] = fields.Datetime.now()
        self.write(vals)
        self.env["amazon.import.log"].create(
            {
                "account_id": self.id,
                "message": self.env._(
                    "%(incident)s: %(message)s", incident=labels[kind], message=message
                ),
                "request_id": request_id,
            }
        )
        self.activity_unlink([IMPORT_INCIDENT_ACTIVITY])
        user = self.user_id or self.env.ref("base.user_admin", raise_if_not_found=False)
        self.activity_schedule(
            IMPORT_INCIDENT_ACTIVITY,
            summary=self.env._(
                "Amazon import: %(incident)s", incident=labels[kind].lower()
            ),
            note=plaintext2html(message),
            user_id=user.id if user else self.env.uid,
        )
        return True

    def _close_import_incident(self, now):
        self.ensure_one()
        labels = dict(self._fields["import_incident"]._description_selection(self.env))
        self.message_post(
            body=self.env._(
                "The Amazon import works again (%(incident)s since %(since)s).",
                incident=labels[self.import_incident].lower(),
                since=self._format_utc(self.import_incident_since or now),
            ),
            subtype_xmlid="mail.mt_note",
        )
        self.activity_unlink([IMPORT_INCIDENT_ACTIVITY])
        self.import_log_ids.filtered(
            lambda log: log.state == "error" and not log.amazon_order_ref
        ).state = "done"
        self.write(
            {
                "import_incident": False,
                "import_incident_since": False,
                "import_incident_message": False,
            }
        )

    def _format_utc(self, value):
        """A stored (UTC) datetime in the user's time zone, for messages."""
        return format_datetime(self.env, value) if value else "-"

    def _import_pages(self, client, stats, max_batches, commit):
        SaleOrder = self.env["sale.order"]
        window_start = self.import_window_start or self._get_import_start()
        token = self.import_next_token or None
        restarted = False
        batches = 0
        while True:
            try:
                page = client.search_orders(
                    last_updated_after=window_start,
                    pagination_token=token,
                    fulfilled_by=self._get_amazon_fulfilled_by(),
                    max_results=self._import_page_size,
                )
            except ThrottledError as error:
                stats["throttled"] += 1
                _logger.info(
                    "Amazon import of channel %s throttled, resumes next run: %s",
                    self.id,
                    error.code,
                )
                break
            except AmazonError as error:
                if error.code == "pagination_expired" and token and not restarted:
                    # A page token lives 24 h: search the window again (re-seen
                    # orders are updated, never duplicated).
                    token, restarted = None, True
                    continue
                # Logged once per incident, not once per run (_check_import_health).
                stats["failed"] += 1
                return error
            stats["calls"] += 1
            with self.env.cr.savepoint():
                stats.update(
                    SaleOrder._amazon_import_batch(
                        self, page.orders, request_id=page.request_id, client=client
                    )
                )
                # Amazon's bound is aware UTC; Odoo stores naive UTC.
                window_end = (
                    page.window_end.astimezone(timezone.utc).replace(tzinfo=None)
                    if page.window_end
                    else self.import_window_end
                )
                if page.next_token:
                    self.write(
                        {
                            "import_window_start": window_start,
                            "import_window_end": window_end,
                            "import_next_token": page.next_token,
                            "import_window_opened_on": self.import_window_opened_on
                            or fields.Datetime.now(),
                        }
                    )
                else:
                    self.write(
                        {
                            "last_import_datetime": max(
                                window_end or window_start, window_start
                            ),
                            "import_window_start": False,
                            "import_window_end": False,
                            "import_next_token": False,
                            "import_window_opened_on": False,
                        }
                    )
            batches += 1
            if commit:
                # One page and its resume state per transaction (cron only): a
                # crash or kill loses at most the page in progress.
                self.env.cr.commit()  # pylint: disable=invalid-commit
            token = page.next_token
            if not token or (max_batches and batches >= max_batches):
                break
        return None

    def _get_import_blocker(self):
        """Why this channel cannot import now (translated), or False."""
        self.ensure_one()
        if not self.enabled or not self.active:
            return self.env._("the channel is disabled")
        if not self.marketplace_ids:
            return self.env._("the channel has no marketplace")
        credentials = self.sudo()
        if not (
            credentials.lwa_client_id
            and credentials.lwa_client_secret
            and credentials.lwa_refresh_token
        ):
            return self.env._("the channel is not authorised yet")
        if hasattr(self, "_get_credentials_blocker"):
            return self._get_credentials_blocker()
        return False

    @contextmanager
    def _import_lock(self, commit=False):
        """Hold the channel's import lock for a whole run.

        A run that commits page by page (cron) holds a PostgreSQL session
        advisory lock on a connection of its own: it survives the commits,
        dies with the connection if the worker is killed, and is released even
        when the import's own transaction is aborted, without masking the
        error that aborted it. A run that does not commit ("Import Orders
        Now", one order) holds a transaction lock instead, released only when
        its transaction ends: a cron run cannot start on orders not committed
        yet.
        """
        key = [IMPORT_LOCK, self.id]
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
            except Exception:
                _logger.exception("Amazon import lock of channel %s", self.id)
                # Unlocking failed: the connection must not keep the lock.
                with suppress(Exception):
                    lock_cr._cnx.close()
            finally:
                with suppress(Exception):
                    lock_cr.close()

    def _log_import_error(self, error, order_ref=None, payload=None):
        self.env["amazon.import.log"].create(
            {
                "account_id": self.id,
                "amazon_order_ref": order_ref,
                "message": self._amazon_error_message(error),
                "payload": payload,
                "request_id": error.request_id,
            }
        )

    def _log_retry_failures(self, failures):
        """Log the orders Amazon did not return on a retry: each replaces the
        order's entry to retry, so an order is listed once. An order Amazon
        does not know (404) will not come back by retrying: its entry is
        logged as resolved."""
        self.env["amazon.import.log"].search(
            [
                ("account_id", "=", self.id),
                ("amazon_order_ref", "in", [ref for ref, _error in failures]),
                ("state", "=", "error"),
            ]
        ).write({"state": "done"})
        self.env["amazon.import.log"].create(
            [
                {
                    "account_id": self.id,
                    "amazon_order_ref": ref,
                    "message": self._amazon_error_message(error),
                    "request_id": error.request_id,
                    "state": "done"
                    if error.code == "not_found" or error.status == 404
                    else "error",
                }
                for ref, error in failures
            ]
        )

    def _import_order_refs(self, refs):
        """Import the given Amazon orders one by one (getOrder): support and retries."""
        self.ensure_one()
        blocker = self._get_import_blocker()
        if blocker:
            raise UserError(
                self.env._(
                    "Channel %(channel)s cannot call Amazon: %(reason)s",
                    channel=self.name,
                    reason=blocker,
                )
            )
        SaleOrder = self.env["sale.order"]
        stats = Counter()
        with self._import_lock() as locked, self._get_amazon_client() as client:
            if not locked:
                raise UserError(
                    self.env._(
                        "An import of channel %(channel)s is running: try again in a "
                        "minute.",
                        channel=self.name,
                    )
                )
            raw_orders = []
            failures = []
            for ref in refs:
                try:
                    raw_orders.append(client.get_order(ref.strip()))
                except AmazonError as error:
                    failures.append((ref, error))
                    stats["failed"] += 1
            if failures:
                self._log_retry_failures(failures)
            # A quotation waiting for a SKU mapping is completed in place by
            # the import (see _ImportBatch.run).
            if raw_orders:
                stats.update(
                    SaleOrder._amazon_import_batch(self, raw_orders, client=client)
                )
        # The logs of the orders that are now complete need no retry any more.
        complete = SaleOrder.search(
            [
                ("amazon_account_id", "=", self.id),
                ("amazon_order_ref", "in", refs),
                ("amazon_unmapped_skus", "=", False),
            ]
        )
        if complete:
            self.env["amazon.import.log"].search(
                [
                    ("account_id", "=", self.id),
                    ("amazon_order_ref", "in", complete.mapped("amazon_order_ref")),
                    ("state", "=", "error"),
                ]
            ).write({"state": "done"})
        return stats

    def _amazon_find_products(self, skus, asins):
        """Products of Amazon SKUs/ASINs: {("sku", sku) or ("asin", asin): product}.

        Found: by the channel's SKU map, by internal reference, by ASIN and by
        SKU concatenation labels; the caller decides which key wins. A few
        queries for the whole batch, whatever its size.
        """
        self.ensure_one()
        Product = self.env["product.product"]
        company_domain = [("company_id", "in", [self.company_id.id, False])]
        found = {}
        maps = self.env["amazon.sku.map"].search(
            [("account_id", "=", self.id), ("sku", "in", list(skus))]
        )
        for sku_map in maps:
            found[("sku", sku_map.sku)] = sku_map.product_id
            # Marks an explicit mapping: it wins over any other key.
            found[("map", sku_map.sku)] = sku_map.product_id
        remaining = {sku for sku in skus if ("sku", sku) not in found}
        # Both keys are looked up: "Use Amazon SKU" only says which one wins
        # when both find a product (see sale.order _resolve_products).
        if remaining:
            for product in Product.search(
                [("default_code", "in", list(remaining)), *company_domain],
                order="id",
            ):
                found.setdefault(("sku", product.default_code), product)
        if asins:
            for product in Product.search(
                [("amazon_asin", "in", list(asins)), *company_domain], order="id"
            ):
                found.setdefault(("asin", product.amazon_asin), product)
        remaining = {sku for sku in skus if ("sku", sku) not in found}
        if remaining and self.sku_concat_labels:
            found.update(self._amazon_find_concatenated(remaining, company_domain))
        return found

    def _amazon_find_concatenated(self, skus, company_domain):
        """Variants whose internal reference plus attribute values make the SKU."""
        labels = [
            label.strip().casefold()
            for label in self.sku_concat_labels.split(",")
            if label.strip()
        ]
        separator = self.sku_separator or "-"
        wanted = {}
        for sku in skus:
            parts = sku.split(separator)
            if len(parts) <= len(labels):
                continue
            reference = separator.join(parts[: -len(labels)])
            values = tuple(part.strip().casefold() for part in parts[-len(labels) :])
            wanted[sku] = (reference, values)
        if not wanted:
            return {}
        references = {reference for reference, _values in wanted.values()}
        Product = self.env["product.product"]
        templates = Product.search(
            [("default_code", "in", list(references)), *company_domain]
        ).product_tmpl_id
        templates |= self.env["product.template"].search(
            [("default_code", "in", list(references)), *company_domain]
        )
        index = {}
        for template in templates:
            refs = {template.default_code} | set(
                template.product_variant_ids.mapped("default_code")
            )
            for variant in template.product_variant_ids:
                by_attribute = {
                    ptav.attribute_id.name.casefold(): ptav.name.casefold()
                    for ptav in variant.product_template_attribute_value_ids
                }
                if not all(label in by_attribute for label in labels):
                    continue
                values = tuple(by_attribute[label] for label in labels)
                for ref in refs - {False}:
                    index.setdefault((ref, values), variant)
        return {("sku", sku): index[key] for sku, key in wanted.items() if key in index}

    def _amazon_marketplaces_by_id(self):
        marketplaces = (
            self.env["amazon.marketplace"]
            .with_context(active_test=False)
            .search([("marketplace_id", "!=", False)])
        )
        return {marketplace.marketplace_id: marketplace for marketplace in marketplaces}

    def _send_error_digest(self, logs):
        """One e-mail per run listing the orders that failed."""
        self.ensure_one()
        if not self.email_errors_to:
            return
        body = self.env["ir.qweb"]._render(
            "sale_amazon_spapi.amazon_import_error_digest",
            {"account": self, "logs": logs},
        )
        self.env["mail.mail"].sudo().create(
            {
                "subject": self.env._(
                    "Amazon import errors on %(channel)s: %(count)s order(s)",
                    channel=self.name,
                    count=len(logs),
                ),
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
