from . import amazon_authorize_wizard
from . import amazon_connection_test_wizard
from . import amazon_import_now_wizard
from . import amazon_import_order_wizard
from . import amazon_map_sku_wizard
from . import amazon_rotate_secret_wizard
