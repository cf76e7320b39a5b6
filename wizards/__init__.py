from . import amazon_import_order_wizard
