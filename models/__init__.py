from . import amazon_marketplace
from . import amazon_account
from . import amazon_sku_map
from . import amazon_import_log
from . import product_product
from . import sale_order
from . import sale_order_line
from . import stock_move
