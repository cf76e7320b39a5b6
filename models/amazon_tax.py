# Part of sale_amazon_spapi. See LICENSE file for full copyright and licensing details.

from collections import defaultdict
from decimal import Decimal

from odoo import Command, fields, models
from odoo.exceptions import UserError

from ..amazon import mapping

# No VAT, GST or sales tax in the world is above this (Hungary's 27 % is the
# highest VAT): a higher or negative rate comes from a broken order.
MAX_TAX_PERCENT = Decimal(30)
# Decimals tried, simplest first, when guessing a tax rate from Amazon's amounts.
RATE_DECIMALS = (0, 1, 2, 3)


class AmazonAccount(models.Model):
    _inherit = "amazon.account"

    amazon_missing_taxes = fields.Json(
        string="Amazon Tax Rates Without Odoo Tax",
        readonly=True,
        copy=False,
        help="Tax rates Amazon charged that no Odoo tax of the company matches, "
        "per marketplace: Create Missing Taxes creates them.",
    )

    def action_create_missing_taxes(self):
        """Create the sale taxes (and, abroad, a fiscal position per
        marketplace) for the rates Amazon charged that no Odoo tax matches."""
        self.ensure_one()
        self.check_access("write")
        company = self.company_id
        Tax = self.env["account.tax"].with_company(company)
        # The rate seen most often is the marketplace's standard rate (reduced
        # rates are rarer); between equals, the higher one.
        seen = sorted(
            (
                rate
                for rate in (self.amazon_missing_taxes or {}).values()
                if 0 <= Decimal(rate["percent"]) <= MAX_TAX_PERCENT
            ),
            key=lambda r: (
                r["marketplace_id"],
                -r.get("count", 1),
                -Decimal(r["percent"]),
            ),
        )
        base = company.account_sale_tax_id or Tax.search(
            [
                *Tax._check_company_domain(company),
                ("type_tax_use", "=", "sale"),
                ("amount_type", "=", "percent"),
            ],
            limit=1,
        )
        created = Tax
        standard = {}
        for rate in seen:
            marketplace = (
                self.env["amazon.marketplace"]
                .browse(rate["marketplace_id"])
                .with_company(company)
            )
            tax = self._amazon_create_tax(marketplace, rate, base)
            created |= tax
            if not rate["facilitator"]:
                # The highest rate seen is the marketplace's standard rate.
                standard.setdefault(marketplace, tax)
        fiscal_country = company.account_fiscal_country_id or company.country_id
        sources = Tax.search(
            [
                *Tax._check_company_domain(company),
                ("type_tax_use", "=", "sale"),
                ("id", "not in", created.ids),
            ]
        )
        for marketplace, tax in standard.items():
            if marketplace.fiscal_position_id or marketplace.country_id == (
                fiscal_country
            ):
                continue
            # Whatever tax a product has, a sale there is taxed at its rate.
            marketplace.fiscal_position_id = self.env["account.fiscal.position"].create(
                {
                    "name": self.env._("Amazon %(name)s", name=marketplace.name),
                    "company_id": company.id,
                    "country_id": marketplace.country_id.id,
                    "tax_ids": [
                        Command.create({"tax_src_id": src.id, "tax_dest_id": tax.id})
                        for src in sources
                    ],
                }
            )
        self.amazon_missing_taxes = False
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._(
                    "Taxes created: %(taxes)s",
                    taxes=", ".join(created.mapped("name")) or "-",
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _amazon_create_tax(self, marketplace, rate, base):
        company = self.company_id
        Tax = self.env["account.tax"].with_company(company)
        incl = rate["price_include"]
        if rate["facilitator"]:
            name = self.env._(
                "Amazon %(code)s collected tax %(rate)s%%",
                code=marketplace.code,
                rate=rate["percent"],
            )
        else:
            name = self.env._(
                "Amazon %(code)s %(rate)s%%%(incl)s",
                code=marketplace.code,
                rate=rate["percent"],
                incl=self.env._(" incl.") if incl else "",
            )
        existing = Tax.search(
            [
                *Tax._check_company_domain(company),
                ("name", "=", name),
                ("type_tax_use", "=", "sale"),
            ],
            limit=1,
        )
        if existing:
            return existing
        vals = {
            "name": name,
            "amount": float(rate["percent"]),
            "amount_type": "percent",
            "type_tax_use": "sale",
            "price_include_override": "tax_included" if incl else "tax_excluded",
            "company_id": company.id,
        }
        if not rate["facilitator"]:
            # The accounts of the company's own sale tax.
            return base.copy(vals) if base else Tax.create(vals)
        account = marketplace.facilitator_account_id
        if not account:
            raise UserError(
                self.env._(
                    "Set the Facilitator Tax Account of marketplace %(marketplace)s "
                    "(Amazon Marketplaces) first: the tax Amazon collects there is "
                    "booked on it.",
                    marketplace=marketplace.name,
                )
            )
        tax = Tax.create(vals)
        lines = tax.invoice_repartition_line_ids | tax.refund_repartition_line_ids
        lines.filtered(lambda line: line.repartition_type == "tax").write(
            {"account_id": account.id}
        )
        return tax

    def _amazon_note_missing_taxes(self, rates):
        """Remember rates without Odoo tax for Create Missing Taxes.

        :param rates: iterable of (marketplace, percent str, price_include,
            facilitator, order ref)
        """
        missing = dict(self.amazon_missing_taxes or {})
        for marketplace, percent, incl, facilitator, ref in rates:
            if not 0 <= Decimal(percent) <= MAX_TAX_PERCENT:
                # A rate no tax authority charges is a broken order, not a
                # tax to create (the order's activity still names it).
                continue
            key = f"{marketplace.id}|{percent}|{int(incl)}|{int(facilitator)}"
            if key not in missing:
                missing[key] = {
                    "marketplace_id": marketplace.id,
                    "percent": percent,
                    "price_include": incl,
                    "facilitator": facilitator,
                    "order": ref,
                    "count": 0,
                }
            missing[key] = dict(missing[key], count=missing[key].get("count", 0) + 1)
        if missing != (self.amazon_missing_taxes or {}):
            self.sudo().amazon_missing_taxes = missing


class TaxMatcher:
    """Amazon's tax of each line → the Odoo tax that computes it.

    The company's sale taxes are read once per page; each line or charge then
    gets, in order: the product's taxes mapped by the order's fiscal position
    when they reproduce Amazon's tax, else the tax of the closest fitting rate
    (a destination of the fiscal position first). Taxes booked on a
    marketplace's facilitator account serve Amazon-collected tax only.
    """

    def __init__(self, env, company, marketplaces):
        self.env = env
        self.company = company
        Tax = env["account.tax"].with_company(company)
        taxes = Tax.search(
            [
                *Tax._check_company_domain(company),
                ("type_tax_use", "=", "sale"),
                ("amount_type", "=", "percent"),
            ]
        )
        facilitator_accounts = {
            marketplace.with_company(company).facilitator_account_id.id
            for marketplace in marketplaces
        } - {False}
        # (price_include, facilitator account id or False) → {percent: taxes}
        self.pools = defaultdict(lambda: defaultdict(lambda: Tax))
        for tax in taxes:
            accounts = set(
                tax.invoice_repartition_line_ids.filtered(
                    lambda line: line.repartition_type == "tax"
                ).account_id.ids
            )
            account = next(iter(accounts & facilitator_accounts), False)
            key = (tax.price_include, account)
            self.pools[key][Decimal(str(tax.amount))] |= tax
        self.mapped = {}

    def fiscal_taxes(self, fiscal_position, taxes):
        key = (fiscal_position.id, tuple(taxes.ids))
        if key not in self.mapped:
            self.mapped[key] = fiscal_position.map_tax(taxes)
        return self.mapped[key]

    def match(self, product, fiscal_position, part, price_include, account=False):
        """(taxes, percent) for Amazon's ``part`` (net, tax, quantity, quantum,
        preferred percent) of ``product``, or None when no Odoo tax fits."""
        net, tax, quantity, quantum, preferred = part
        pool = self.pools.get((price_include, account or False), {})
        taxes = self.fiscal_taxes(
            fiscal_position,
            product.taxes_id.filtered(lambda t: t.company_id == self.company),
        )
        if not tax and not account and not taxes:
            return taxes, Decimal(0)
        if len(taxes) == 1 and taxes in pool.get(Decimal(str(taxes.amount)), ()):
            percent = Decimal(str(taxes.amount))
            if mapping.rate_fits(
                net, tax, percent, price_include, quantum, quantity
            ) and (preferred is None or percent == preferred or not net):
                return taxes, percent
        if not net and not tax:
            return taxes.browse(), None
        percent = mapping.closest_rate(
            net, tax, list(pool), price_include, quantum, quantity, preferred
        )
        if percent is None:
            if not tax and not account:
                # Untaxed at Amazon, and no 0 % tax in Odoo: no tax at all.
                return taxes.browse(), Decimal(0)
            return None
        candidates = pool[percent]
        preferred_taxes = candidates & fiscal_position.tax_ids.tax_dest_id
        return (preferred_taxes or candidates)[:1], percent


def guess_percent(parts, price_include, quantum):
    """Rates (percent strings) that explain Amazon's ``parts`` (net, tax)
    without an Odoo tax, the largest amounts first: the simplest percent
    (fewest decimals) that fits each part not explained yet."""
    found = []
    for net, tax in sorted(parts, key=lambda p: -abs(p[0])):
        if any(mapping.rate_fits(net, tax, p, price_include, quantum) for p in found):
            continue
        effective = mapping.effective_rate(net, tax)
        if effective is None:
            continue
        for digits in RATE_DECIMALS:
            percent = round(effective * 100, digits)
            if mapping.rate_fits(net, tax, percent, price_include, quantum):
                found.append(percent)
                break
        else:
            found.append(round(effective * 100, 4))
    return [f"{percent.normalize():f}" for percent in found]
