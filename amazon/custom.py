"""Amazon Custom: the ZIP behind an order item's ``customizedUrl``, made readable.

The ZIP holds one JSON document (plus, for image customisations, an XML file
and the buyer's images).  Its ``customizationInfo.version3.0.surfaces[].areas[]``
list is the flattened, printable view; ``customizationData`` is the tree the
buyer filled in.  The first is preferred, the tree is the fallback.
"""

import io
import json
import posixpath
import struct
import zipfile
import zlib

from .errors import AmazonError

LEVELS = ("minimum", "medium", "maximum")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".svg", ".webp", ".tif", ".tiff")
# A ZIP is decompressed in memory inside an Odoo worker: refuse bombs.
MAX_MEMBERS = 500
MAX_UNCOMPRESSED = 100 * 1024 * 1024
# Amazon's JSON documents weigh a few KB; parsed, JSON takes some 20 times its
# size in Python objects ("{}," is a 64-byte dict): the caps bound that memory.
MAX_JSON = 1024 * 1024
MAX_JSON_TOTAL = 2 * 1024 * 1024
# Members are decompressed this many bytes at a time: zipfile's read() of a
# whole member inflates everything in one call, whatever size was declared.
READ_CHUNK = 64 * 1024

# Kinds shown at each level: minimum is the buyer's text only, medium adds the
# chosen options and cosmetics (font, colour), maximum everything incl. images.
_KINDS = {
    "minimum": {"text"},
    "medium": {"text", "option", "font", "color"},
    "maximum": {"text", "option", "image", "font", "color", "other"},
}


def _error(detail):
    return AmazonError("customization", params={"detail": detail})


def _clean(value):
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return ""
    return " ".join(str(value).split())


def _field(label, value, kind, surface=None, **extra):
    field = {"label": _clean(label) or kind.capitalize(), "value": _clean(value)}
    field["kind"] = kind
    if surface:
        field["surface"] = _clean(surface)
    for key, extra_value in extra.items():
        if _clean(extra_value):
            field[key] = _clean(extra_value)
    return field


def _area_fields(area, surface):
    kind = str(area.get("customizationType") or "")
    label = area.get("label") or area.get("name")
    if kind == "TextPrinting":
        return [
            _field(
                label,
                area.get("text"),
                "text",
                surface,
                font=area.get("fontFamily"),
                color=area.get("colorName") or area.get("fill"),
                fill=area.get("fill"),
            )
        ]
    if kind == "Options":
        return [_field(label, area.get("optionValue"), "option", surface)]
    if kind == "ImagePrinting":
        image = area.get("image") if isinstance(area.get("image"), dict) else {}
        name = image.get("imageName") or area.get("imageName") or area.get("text")
        return [
            _field(label, name, "image", surface, filename=image.get("buyerFilename"))
        ]
    value = area.get("text") or area.get("optionValue") or area.get("value")
    return [_field(label, value, "other", surface)] if _clean(value) else []


def _surfaces(document):
    # Amazon nests customizationInfo → version3.0; some exports (and older
    # tooling) have version3.0 → customizationInfo.  Accept both.
    for outer, inner in (
        ("customizationInfo", "version3.0"),
        ("version3.0", "customizationInfo"),
    ):
        container = document.get(outer)
        if isinstance(container, dict) and isinstance(container.get(inner), dict):
            surfaces = container[inner].get("surfaces")
            if isinstance(surfaces, list):
                return surfaces
    return []


def _fields_from_surfaces(document):
    fields = []
    for index, surface in enumerate(_surfaces(document), start=1):
        if not isinstance(surface, dict):
            continue
        surface_name = surface.get("name") or f"Surface {index}"
        for area in surface.get("areas") or []:
            if isinstance(area, dict):
                fields.extend(_area_fields(area, surface_name))
    return fields


def _option_value(selection):
    if isinstance(selection, dict):
        return (
            selection.get("label")
            or selection.get("displayValue")
            or selection.get("name")
            or selection.get("value")
        )
    return selection


def _font_and_color(node):
    """Font family, colour name and value chosen inside a TextCustomization."""
    font = color = fill = None
    for child in node.get("children") or []:
        if not isinstance(child, dict):
            continue
        selection = child.get("fontSelection")
        if child.get("type") == "FontCustomization" and isinstance(selection, dict):
            font = selection.get("family")
        selection = child.get("colorSelection")
        if child.get("type") == "ColorCustomization" and isinstance(selection, dict):
            color = selection.get("name") or selection.get("value")
            fill = selection.get("value")
    return font, color, fill


def _node_fields(node, surface, fields, depth=0):
    if depth > 50 or not isinstance(node, dict):
        return
    node_type = str(node.get("type") or "")
    label = node.get("label") or node.get("name")
    if node_type == "TextCustomization":
        font, color, fill = _font_and_color(node)
        fields.append(
            _field(
                label,
                node.get("inputValue"),
                "text",
                surface,
                font=font,
                color=color,
                fill=fill,
            )
        )
        return
    if node_type == "OptionCustomization":
        value = _option_value(node.get("optionSelection") or node.get("displayValue"))
        fields.append(_field(label, value, "option", surface))
    elif node_type == "ImageCustomization":
        image = node.get("image") if isinstance(node.get("image"), dict) else {}
        name = image.get("imageName") or image.get("buyerFilename")
        if name:
            fields.append(
                _field(
                    label,
                    name,
                    "image",
                    surface,
                    filename=image.get("buyerFilename"),
                )
            )
    elif node_type == "FontCustomization":
        selection = node.get("fontSelection")
        family = selection.get("family") if isinstance(selection, dict) else None
        if family:
            fields.append(_field(label, family, "font", surface))
    elif node_type == "ColorCustomization":
        selection = node.get("colorSelection")
        if isinstance(selection, dict):
            color = selection.get("name") or selection.get("value")
            if color:
                fields.append(_field(label, color, "color", surface))
    elif node_type == "PlacementContainerCustomization":
        # One placement container per printable surface of the product.
        surface = node.get("name") or node.get("label") or surface
    for child in node.get("children") or []:
        _node_fields(child, surface, fields, depth + 1)


def _fields_from_tree(document):
    root = document.get("customizationData")
    fields = []
    if isinstance(root, dict):
        _node_fields(root, None, fields)
    return fields


def extract_fields(document):
    """All personalisation fields of one Amazon Custom JSON document."""
    if not isinstance(document, dict):
        raise _error("the JSON document is not an object")
    fields = _fields_from_surfaces(document)
    if not any(field["value"] for field in fields):
        fields = _fields_from_tree(document) or fields
    return fields


def _line(field, level):
    text = f"{field['label']}: {field['value']}"
    if level == "minimum":
        return text
    extras = []
    if field.get("font"):
        extras.append(f"font {field['font']}")
    if field.get("color"):
        color = field["color"]
        if level == "maximum" and field.get("fill") and field["fill"] != color:
            color = f"{color} {field['fill']}"
        extras.append(f"colour {color}")
    if level == "maximum" and field.get("filename"):
        extras.append(f"uploaded as {field['filename']}")
    if extras:
        text = f"{text} ({', '.join(extras)})"
    return text


def _product_line(document):
    parts = [
        _clean(document.get(key))
        for key in ("title", "asin", "sku")
        if _clean(document.get(key))
    ]
    if not parts:
        return ""
    line = "Product: " + " / ".join(parts)
    if _clean(document.get("quantity")):
        line = f"{line} × {_clean(document['quantity'])}"
    return line


def render(fields, images=(), level="minimum", header=()):
    """Readable, multi-line text of the fields at the given level of detail."""
    shown = [
        f
        for f in fields
        if f["kind"] in _KINDS[level] and (f["value"] or level == "maximum")
    ]
    lines = list(header) if level == "maximum" else []
    current = object()
    for field in shown:
        if level == "maximum" and field.get("surface") != current:
            current = field.get("surface")
            lines.append(f"[{current}]" if current else "")
        lines.append(_line(field, level))
    if level == "maximum" and images:
        lines.append("Files: " + ", ".join(images))
    return "\n".join(line for line in lines if line)


_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CENTRAL_ENTRY = b"PK\x01\x02"


def _central_directory(data):
    """The central directory's bytes, located the way ``zipfile`` locates them."""
    # zipfile trusts the directory, not the entry count: ZipFile() builds one
    # object per entry it finds there, so the entries are counted here first.
    if data[-22:-18] == _EOCD and data[-2:] == b"\0\0":
        at = len(data) - 22
    else:
        at = data.rfind(_EOCD, max(len(data) - 22 - 0xFFFF, 0))
    if at < 0 or len(data) - at < 22:
        raise _error("not a ZIP archive")
    (size,) = struct.unpack_from("<I", data, at + 12)
    end = at
    zip64 = at - 76
    if (
        zip64 >= 0
        and data[at - 20 : at - 16] == _EOCD64_LOCATOR
        and data[zip64 : zip64 + 4] == _EOCD64
    ):
        (size,) = struct.unpack_from("<Q", data, zip64 + 40)
        end = zip64
    if size > end:
        raise _error("not a ZIP archive")
    return memoryview(data)[end - size : end]


def _count_entries(directory, limit):
    """Entries of the central directory, counting no further than ``limit + 1``."""
    count = position = 0
    while position < len(directory):
        count += 1
        if count > limit:
            break
        header = directory[position : position + 46]
        if len(header) != 46 or bytes(header[:4]) != _CENTRAL_ENTRY:
            raise _error("not a ZIP archive")
        name, extra, comment = struct.unpack_from("<HHH", header, 28)
        position += 46 + name + extra + comment
    return count


def _read_zip(data):
    if _count_entries(_central_directory(data), MAX_MEMBERS) > MAX_MEMBERS:
        raise _error("too many files in the archive")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, TypeError):
        raise _error("not a ZIP archive") from None
    members = [
        info
        for info in archive.infolist()
        if not info.is_dir() and not info.filename.startswith("__MACOSX/")
    ]
    if len(archive.infolist()) > MAX_MEMBERS:
        archive.close()
        raise _error("too many files in the archive")
    # The declared sizes only refuse an honest big archive early; the limits
    # that hold are counted on the inflated bytes in _read_member.
    if sum(info.file_size for info in members) > MAX_UNCOMPRESSED:
        archive.close()
        raise _error("the archive is too large once unpacked")
    return archive, members


def _read_member(archive, info, budget):
    """The member's inflated bytes, refused past ``MAX_JSON`` or ``budget``."""
    limit = min(MAX_JSON, budget)
    chunks, size = [], 0
    with archive.open(info) as member:
        while True:
            chunk = member.read(min(READ_CHUNK, limit + 1 - size))
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_JSON:
                raise _error(f"{posixpath.basename(info.filename)} is too large")
            if size > budget:
                raise _error("the archive is too large once unpacked")
            chunks.append(chunk)


def parse_customization_zip(data, level="minimum"):
    """Amazon Custom ZIP → {text, fields: [{label, value, kind}], images}.

    ``level`` is how much to show: ``minimum`` (what the buyer typed or
    chose), ``medium`` (+ fonts, colours and image names), ``maximum``
    (+ every other detail, grouped by surface).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    if not data:
        raise _error("the file is empty")
    archive, members = _read_zip(data)
    images = sorted(
        posixpath.basename(info.filename)
        for info in members
        if info.filename.lower().endswith(IMAGE_EXTENSIONS)
    )
    documents = []
    budget = MAX_JSON_TOTAL
    with archive:
        for info in members:
            if not info.filename.lower().endswith(".json"):
                continue
            if info.file_size > MAX_JSON:
                raise _error(f"{posixpath.basename(info.filename)} is too large")
            try:
                raw = _read_member(archive, info, budget)
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                RuntimeError,
                NotImplementedError,
                OSError,
            ):
                # A member whose declared size is a lie fails its CRC check.
                raise _error("the archive is encrypted or damaged") from None
            budget -= len(raw)
            try:
                documents.append(json.loads(raw.decode("utf-8-sig")))
            except (ValueError, UnicodeDecodeError, RecursionError):
                # RecursionError: "[[[[…" nested deeper than the parser goes.
                raise _error(
                    f"{posixpath.basename(info.filename)} is not valid JSON"
                ) from None
    if not documents:
        raise _error("no customisation data (JSON) in the archive")
    all_fields = []
    for document in documents:
        all_fields.extend(extract_fields(document))
    fields = [
        f
        for f in all_fields
        if f["kind"] in _KINDS[level] and (f["value"] or level == "maximum")
    ]
    return {
        "text": render(
            all_fields,
            images,
            level,
            header=[_product_line(document) for document in documents],
        ),
        "fields": fields,
        "images": images,
    }
