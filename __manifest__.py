# Copyright 2026 sale_amazon_spapi developers
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Amazon Connector (SP-API)",
    "summary": "Import Amazon orders as sale orders through the Selling Partner API",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "website": "https://github.com/sale-amazon-spapi/sale_amazon_spapi",
    "author": "sale_amazon_spapi developers",
    "license": "LGPL-3",
    "depends": ["sale_management", "sale_stock", "mail"],
    # Odoo 18 expects the PyPI distribution name here; the import name `sp_api`
    # would log a warning at every install.
    "external_dependencies": {"python": ["python-amazon-sp-api"]},
    "data": [
        "security/amazon_security.xml",
        "security/ir.model.access.csv",
        "data/amazon_marketplace_data.xml",
        "data/product_data.xml",
        "data/ir_cron.xml",
        "data/mail_templates.xml",
        "wizards/amazon_import_order_wizard_views.xml",
        "views/amazon_marketplace_views.xml",
        "views/amazon_account_views.xml",
        "views/amazon_sku_map_views.xml",
        "views/amazon_import_log_views.xml",
        "views/sale_order_views.xml",
        "views/product_views.xml",
        "views/report_deliveryslip.xml",
        "views/menus.xml",
    ],
    "installable": True,
    "application": False,
}
