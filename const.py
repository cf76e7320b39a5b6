# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.
"""Fixed Amazon tables the models rely on."""

# SP-API regions: (label, selling partner API host, AWS region of the host).
REGIONS = {
    "na": ("North America", "https://sellingpartnerapi-na.amazon.com", "us-east-1"),
    "eu": ("Europe", "https://sellingpartnerapi-eu.amazon.com", "eu-west-1"),
    "fe": ("Far East", "https://sellingpartnerapi-fe.amazon.com", "us-west-2"),
}

# Seller Central domains, keyed like the marketplace codes: (label, region).
SELLER_CENTRAL_DOMAINS = {
    "AE": ("United Arab Emirates (amazon.ae)", "eu"),
    "AU": ("Australia (amazon.com.au)", "fe"),
    "BE": ("Belgium (amazon.com.be)", "eu"),
    "BR": ("Brazil (amazon.com.br)", "na"),
    "CA": ("Canada (amazon.ca)", "na"),
    "DE": ("Germany (amazon.de)", "eu"),
    "EG": ("Egypt (amazon.eg)", "eu"),
    "ES": ("Spain (amazon.es)", "eu"),
    "FR": ("France (amazon.fr)", "eu"),
    "IE": ("Ireland (amazon.ie)", "eu"),
    "IN": ("India (amazon.in)", "eu"),
    "IT": ("Italy (amazon.it)", "eu"),
    "JP": ("Japan (amazon.co.jp)", "fe"),
    "MX": ("Mexico (amazon.com.mx)", "na"),
    "NL": ("Netherlands (amazon.nl)", "eu"),
    "PL": ("Poland (amazon.pl)", "eu"),
    "SA": ("Saudi Arabia (amazon.sa)", "eu"),
    "SE": ("Sweden (amazon.se)", "eu"),
    "SG": ("Singapore (amazon.sg)", "fe"),
    "TR": ("Turkey (amazon.com.tr)", "eu"),
    "UK": ("United Kingdom (amazon.co.uk)", "eu"),
    "US": ("United States (amazon.com)", "na"),
    "ZA": ("South Africa (amazon.co.za)", "eu"),
}

# Amazon calls the United Kingdom "UK"; ISO 3166 says "GB". Both are accepted.
COUNTRY_CODE_ALIASES = {"GB": "UK"}

DEFAULT_LWA_AUTH_URL = "https://api.amazon.com/auth/o2/token"

# Hosts an order's Amazon Custom link (customizedUrl) and its redirects may be
# downloaded from: Amazon's own domains and S3. A name also covers its
# subdomains; "*" stands for one label (see amazon/links.py:host_allowed).
CUSTOMIZATION_DOWNLOAD_HOSTS = (
    "amazon.com",
    "amazon.ca",
    "amazon.com.mx",
    "amazon.com.br",
    "amazon.co.uk",
    "amazon.de",
    "amazon.fr",
    "amazon.it",
    "amazon.es",
    "amazon.nl",
    "amazon.se",
    "amazon.pl",
    "amazon.com.be",
    "amazon.com.tr",
    "amazon.ae",
    "amazon.sa",
    "amazon.eg",
    "amazon.in",
    "amazon.co.za",
    "amazon.co.jp",
    "amazon.com.au",
    "amazon.sg",
    "s3.amazonaws.com",
    "s3.*.amazonaws.com",
    "s3-*.amazonaws.com",
    "s3.dualstack.*.amazonaws.com",
)

# Credential lifetimes (days), from Amazon's SP-API documentation.
REFRESH_TOKEN_VALIDITY_DAYS = 365
CLIENT_SECRET_VALIDITY_DAYS = 180
CLIENT_SECRET_OVERLAP_DAYS = 7

# Credential formats, checked on the channel form.
CLIENT_ID_PREFIX = "amzn1.application-oa2-client."
REFRESH_TOKEN_PREFIX = "Atzr|"
# \Z, not $: "$" also matches before a trailing newline.
ROLE_ARN_PATTERN = r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]{1,512}\Z"
SELLER_ID_PATTERN = r"^[A-Z0-9]{10,16}\Z"
# The consent URL carries it as a query parameter: letters, digits and dashes only.
APPLICATION_ID_PATTERN = r"^amzn1\.sp\.solution\.[A-Za-z0-9-]{1,64}\Z"

# Hosts the credentials and the signed OAuth state may be sent to. Any other host
# could collect them, so the URL fields accept only these (over https) or, for a
# local test server, the loopback (https or plain http).
LWA_TOKEN_HOSTS = frozenset({"api.amazon.com", "api.amazon.co.uk", "api.amazon.co.jp"})
SP_API_HOSTS = frozenset(
    host
    for region in ("na", "eu", "fe")
    for host in (
        f"sellingpartnerapi-{region}.amazon.com",
        f"sandbox.sellingpartnerapi-{region}.amazon.com",
    )
)
# The Seller Central of every marketplace of data/amazon_marketplace_data.xml, and
# the regional ones Amazon redirects to.
SELLER_CENTRAL_HOSTS = frozenset(
    {
        *(
            f"sellercentral.amazon.{tld}"
            for tld in (
                "ae",
                "ca",
                "co.jp",
                "co.uk",
                "co.za",
                "com",
                "com.au",
                "com.be",
                "com.br",
                "com.mx",
                "com.tr",
                "de",
                "eg",
                "es",
                "fr",
                "ie",
                "in",
                "it",
                "nl",
                "pl",
                "sa",
                "se",
                "sg",
            )
        ),
        "sellercentral-europe.amazon.com",
        "sellercentral-japan.amazon.com",
    }
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# Credentials lifecycle.
# Days before an expiry on which the responsible is reminded.
CREDENTIAL_REMINDER_DAYS = (30, 7)
# Date field recording the renewal of each dated credential.
CREDENTIAL_DATE_FIELDS = {
    "refresh_token": "refresh_token_authorized_on",
    "client_secret": "client_secret_rotated_on",
}
CREDENTIAL_ACTIVITY_TYPES = {
    "refresh_token": "sale_amazon_spapi.mail_activity_type_amazon_refresh_token",
    "client_secret": "sale_amazon_spapi.mail_activity_type_amazon_client_secret",
}
# Fields whose change makes the last connection test meaningless.
CONNECTION_FIELDS = frozenset(
    {
        "lwa_client_id",
        "lwa_client_secret",
        "lwa_refresh_token",
        "lwa_auth_url",
        "sp_api_endpoint",
        "seller_central_domain",
    }
)
# OAuth redirect URI path of the website authorisation, and how long (seconds) a
# consent started from Odoo may take.
OAUTH_CALLBACK_ROUTE = "/sale_amazon_spapi/authorize"
# Query parameter of the callback's redirect to the channel: "ok" or "check".
AUTHORISED_URL_PARAM = "amazon_authorised"
OAUTH_STATE_TTL = 30 * 60

# Import health: a channel throttled without any page for this long, or whose
# search window stays open for this many import intervals (and at least as
# long), gets one alert (see amazon.account._check_import_health).
IMPORT_THROTTLED_ALERT_MINUTES = 60
IMPORT_STALLED_INTERVALS = 4

# Stock sync: up to this many changed SKUs go out as patchListingsItem calls
# (5/s, answered at once); more go in one JSON_LISTINGS_FEED.
STOCK_PATCH_MAX = 5

# Shipment confirmations (confirmShipment, 2 requests/s, burst 10): rows sent
# per transaction (a crash leaves at most these in doubt), rows per cron run
# (a run stays well within the worker's time limit), and the runs a row may
# fail on Amazon's side (5xx, bad replies) before it is shown as an error.
SHIPMENT_CHUNK = 10
SHIPMENT_CRON_BATCH = 100
SHIPMENT_MAX_ATTEMPTS = 5
SHIPMENT_LOCK = "sale_amazon_spapi.confirm_shipments"
