"""Amazon Custom customisation ZIPs, as downloaded from ``customizedUrl``.

The archive holds ``<orderItemId>.json`` with both layouts sellers meet in
the wild: the current ``version3.0`` → ``customizationInfo`` → ``surfaces[]``
→ ``areas[]`` (``customizationType`` ``TextPrinting`` / ``ImagePrinting`` /
``Options``) and the older ``customizationData`` tree of typed nodes
(``TextCustomization`` with ``FontCustomization`` / ``ColorCustomization``
children, ``OptionCustomization``, ``ImageCustomization``).  A preview SVG is
always included; image customisations also ship the buyer's image (PNG).
"""

import io
import json
import struct
import zipfile
import zlib
from xml.sax.saxutils import escape

COLOUR_HEX = {
    "Red": "#C62828",
    "Blue": "#1565C0",
    "Black": "#000000",
    "White": "#FFFFFF",
    "Green": "#2E7D32",
}


def _png(width=8, height=8, rgb=(200, 40, 40)):
    """A tiny valid PNG, enough for an import to store and show."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _areas(spec):
    colour = spec.get("color")
    areas = []
    if spec.get("text") is not None:
        area = {
            "customizationType": "TextPrinting",
            "name": spec.get("name", "Name"),
            "label": spec.get("label", "Your text"),
            "text": spec["text"],
            "fontFamily": spec.get("font", "Arial"),
            "Position": {"x": 120, "y": 80},
            "Dimensions": {"width": 300, "height": 60},
        }
        if colour:
            area.update(colorName=colour, fill=COLOUR_HEX.get(colour, "#000000"))
        areas.append(area)
    if spec.get("image"):
        areas.append(
            {
                "customizationType": "ImagePrinting",
                "name": "Photo",
                "label": spec.get("image_label", "Upload your photo"),
                "image": {"imageName": spec["image"], "buyerFilename": "IMG_0042.png"},
                "Position": {"x": 40, "y": 160},
                "Dimensions": {"width": 400, "height": 300},
            }
        )
    if spec.get("option"):
        areas.append(
            {
                "customizationType": "Options",
                "name": "Finish",
                "label": spec.get("option_label", "Choose a finish"),
                "optionValue": spec["option"],
                "priceDelta": {
                    "currencyCode": spec.get("currency", "EUR"),
                    "amount": 0,
                },
            }
        )
    return areas


def _legacy_tree(spec):
    children = []
    if spec.get("text") is not None:
        text_children = [
            {
                "type": "FontCustomization",
                "name": "Font",
                "label": "Font",
                "fontSelection": {"family": spec.get("font", "Arial")},
            }
        ]
        if spec.get("color"):
            text_children.append(
                {
                    "type": "ColorCustomization",
                    "name": "Colour",
                    "label": "Colour",
                    "colorSelection": {
                        "name": spec["color"],
                        "value": COLOUR_HEX.get(spec["color"], "#000000"),
                    },
                }
            )
        children.append(
            {
                "type": "TextCustomization",
                "name": spec.get("name", "Name"),
                "label": spec.get("label", "Your text"),
                "inputValue": spec["text"],
                "children": text_children,
            }
        )
    if spec.get("option"):
        children.append(
            {
                "type": "OptionCustomization",
                "name": "Finish",
                "label": spec.get("option_label", "Choose a finish"),
                "optionSelection": {
                    "name": spec["option"],
                    "displayValue": spec["option"],
                },
            }
        )
    if spec.get("image"):
        children.append(
            {
                "type": "ImageCustomization",
                "name": "Photo",
                "label": spec.get("image_label", "Upload your photo"),
                "image": {"imageName": spec["image"], "buyerFilename": "IMG_0042.png"},
            }
        )
    surface = {"type": "PlacementContainerCustomization", "name": "Surface 1"}
    preview = {
        "type": "PreviewContainerCustomization",
        "name": "Product",
        "label": "Product",
    }
    preview["children"] = [dict(surface, children=children)]
    return {
        "type": "ContainerCustomization",
        "name": "",
        "label": "",
        "children": [preview],
    }


def _svg(spec):
    text = escape(spec.get("text") or spec.get("option") or "")
    fill = COLOUR_HEX.get(spec.get("color"), "#000000")
    font = escape(spec.get("font", "Arial"))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="480" height="480">'
        '<rect width="480" height="480" fill="#f4f4f4"/>'
        f'<text x="240" y="120" text-anchor="middle" font-family="{font}" '
        f'font-size="40" fill="{fill}">{text}</text></svg>'
    )


def build_zip(order, item, spec):
    """Bytes of the customisation ZIP for one order item."""
    item_id = item["orderItemId"]
    product = item.get("product", {})
    info = {
        "orderId": order["orderId"],
        "orderItemId": item_id,
        "asin": product.get("asin"),
        "title": product.get("title"),
        "sku": product.get("sellerSku"),
        "quantity": item.get("quantityOrdered"),
        "customizationData": _legacy_tree(spec),
        "version3.0": {
            "customizationInfo": {
                "surfaces": [{"name": "Surface 1", "areas": _areas(spec)}]
            }
        },
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            f"{item_id}.json", json.dumps(info, ensure_ascii=False, indent=2)
        )
        archive.writestr(f"{item_id}.svg", _svg(spec))
        if spec.get("image"):
            archive.writestr(spec["image"], _png())
    return buffer.getvalue()
