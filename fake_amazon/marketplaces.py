"""Marketplaces the fake knows, with the tax facts the seed generator needs.

``tax_inclusive`` tells whether shelf prices (``unitPrice``) include the tax
(VAT/GST/consumption tax) or whether tax is added at checkout (US, CA).
"""

from collections import namedtuple
from decimal import ROUND_HALF_UP, Decimal

Marketplace = namedtuple(
    "Marketplace",
    "code id country currency name domain language tax_inclusive tax_rate region",
)

# code, marketplace id, country, currency, name, language, prices, tax rate, region
_TABLE = """
US ATVPDKIKX0DER  US USD Amazon.com    en_US net   0.0825 NA
CA A2EUQ1WTGCTBG2 CA CAD Amazon.ca     en_CA net   0.13   NA
MX A1AM78C64UM0Y8 MX MXN Amazon.com.mx es_MX gross 0.16   NA
BR A2Q3Y263D00KWC BR BRL Amazon.com.br pt_BR gross 0      NA
UK A1F83G8C2ARO7P GB GBP Amazon.co.uk  en_GB gross 0.20   EU
DE A1PA6795UKMFR9 DE EUR Amazon.de     de_DE gross 0.19   EU
FR A13V1IB3VIYZZH FR EUR Amazon.fr     fr_FR gross 0.20   EU
IT APJ6JRA9NG5V4  IT EUR Amazon.it     it_IT gross 0.22   EU
ES A1RKKUPIHCS9HS ES EUR Amazon.es     es_ES gross 0.21   EU
NL A1805IZSGTT6HS NL EUR Amazon.nl     nl_NL gross 0.21   EU
BE AMEN7PMS3EDWL  BE EUR Amazon.com.be fr_BE gross 0.21   EU
IE A28R8C7NBKEWEA IE EUR Amazon.ie     en_IE gross 0.23   EU
SE A2NODRKZP88ZB9 SE SEK Amazon.se     sv_SE gross 0.25   EU
PL A1C3SOZRARQ6R3 PL PLN Amazon.pl     pl_PL gross 0.23   EU
TR A33AVAJ2PDY3EV TR TRY Amazon.com.tr tr_TR gross 0.20   EU
IN A21TJRUUN4KGV  IN INR Amazon.in     en_IN gross 0.18   EU
JP A1VC38T7YXB528 JP JPY Amazon.co.jp  ja_JP gross 0.10   FE
AU A39IBJ37TRP1C6 AU AUD Amazon.com.au en_AU gross 0.10   FE
SG A19VAU5U5O7RUS SG SGD Amazon.sg     en_SG gross 0.09   FE
"""


def _row(line):
    code, mid, country, currency, name, language, prices, rate, region = line.split()
    domain = "www." + name.lower()
    inclusive = prices == "gross"
    return Marketplace(
        code, mid, country, currency, name, domain, language, inclusive, rate, region
    )


_ROWS = [_row(line) for line in _TABLE.strip().splitlines()]

MARKETPLACES = {m.code: m for m in _ROWS}
BY_ID = {m.id: m for m in MARKETPLACES.values()}

# Marketplaces the seed generator spreads orders over by default.
SEEDED = ("UK", "DE", "FR", "IT", "ES", "NL", "SE", "PL", "US", "CA", "MX", "JP", "AU")

ZERO_DECIMAL_CURRENCIES = {"JPY"}


def get(code_or_id):
    """Marketplace by short code ('UK'), country ('GB') or marketplace id."""
    if code_or_id in MARKETPLACES:
        return MARKETPLACES[code_or_id]
    if code_or_id in BY_ID:
        return BY_ID[code_or_id]
    for m in MARKETPLACES.values():
        if m.country == code_or_id:
            return m
    raise KeyError(f"unknown marketplace {code_or_id!r}")


def exponent(currency):
    return Decimal(1) if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")


def quantize(amount, currency):
    return Decimal(amount).quantize(exponent(currency), rounding=ROUND_HALF_UP)


def money(amount, currency):
    """Amazon's Money object: the amount is a string decimal."""
    value = quantize(amount, currency)
    if value == 0:
        value = abs(value)  # no "-0.00" on the wire
    return {"amount": str(value), "currencyCode": currency}
