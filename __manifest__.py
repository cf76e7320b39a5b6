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
    "depends": ["sale_management", "sale_stock", "stock_delivery", "mail"],
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
        "data/mail_activity_type_data.xml",
        "data/mail_template_credentials.xml",
        "data/ir_cron_credentials.xml",
        "wizards/amazon_import_order_wizard_views.xml",
        "wizards/amazon_import_now_wizard_views.xml",
        "wizards/amazon_authorize_wizard_views.xml",
        "wizards/amazon_authorize_templates.xml",
        "wizards/amazon_rotate_secret_wizard_views.xml",
        "wizards/amazon_connection_test_wizard_views.xml",
        "views/amazon_marketplace_views.xml",
        "views/amazon_account_views.xml",
        "views/amazon_sku_map_views.xml",
        "views/amazon_stock_views.xml",
        "views/amazon_import_log_views.xml",
        "views/sale_order_views.xml",
        "views/product_views.xml",
        "views/report_deliveryslip.xml",
        "views/stock_picking_views.xml",
        "views/menus.xml",
        "views/amazon_shipment_views.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "sale_amazon_spapi/static/src/**/*",
        ],
        "web.assets_tests": [
            "sale_amazon_spapi/static/tests/tours/**/*",
        ],
    },
    "installable": True,
    "application": False,
    "uninstall_hook": "uninstall_hook",
}
