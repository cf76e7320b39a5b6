import io
import json
import struct
import tracemalloc
import zipfile
import zlib

import pytest

from amazon import AmazonError, custom
from amazon.custom import parse_customization_zip

SPEC = {
    "text": "Anna & Ben",
    "color": "Red",
    "font": "Lobster",
    "option": "Matte",
    "image": "photo.png",
}


def _zip(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            if not isinstance(content, bytes | str):
                content = json.dumps(content)
            archive.writestr(name, content)
    return buffer.getvalue()


def _amazon_document():
    """Layout of a real download: customizationInfo → version3.0 → surfaces."""
    return {
        "orderId": "028-1234567-1234567",
        "orderItemId": "12345678901234",
        "asin": "B0TESTASIN",
        "title": "Engraved mug",
        "quantity": 1,
        "customizationInfo": {
            "version3.0": {
                "surfaces": [
                    {
                        "name": "Front",
                        "areas": [
                            {
                                "customizationType": "TextPrinting",
                                "name": "Line 1",
                                "label": "First line",
                                "text": "Happy  birthday\nGrandma",
                                "fontFamily": "Arial",
                                "colorName": "Gold",
                                "fill": "#FFD700",
                            },
                            {
                                "customizationType": "Options",
                                "name": "Size",
                                "label": "Size",
                                "optionValue": "Large",
                            },
                        ],
                    },
                    {
                        "name": "Back",
                        "areas": [
                            {
                                "customizationType": "ImagePrinting",
                                "name": "Photo",
                                "label": "Your photo",
                                "image": {
                                    "imageName": "a1b2.jpg",
                                    "buyerFilename": "me.jpg",
                                },
                            },
                            {
                                "customizationType": "TextPrinting",
                                "label": "Empty line",
                                "text": "",
                            },
                        ],
                    },
                ]
            }
        },
    }


def test_real_layout_minimum():
    data = _zip({"1.json": _amazon_document(), "a1b2.jpg": b"\xff\xd8jpeg"})
    result = parse_customization_zip(data)
    # Minimum: the buyer's text only.
    assert result["text"] == "First line: Happy birthday Grandma"
    assert result["fields"] == [
        {
            "label": "First line",
            "value": "Happy birthday Grandma",
            "kind": "text",
            "surface": "Front",
            "font": "Arial",
            "color": "Gold",
            "fill": "#FFD700",
        },
    ]
    assert result["images"] == ["a1b2.jpg"]


def test_real_layout_medium_and_maximum():
    data = _zip({"1.json": _amazon_document(), "a1b2.jpg": b"\xff\xd8jpeg"})
    medium = parse_customization_zip(data, level="medium")
    assert medium["text"].splitlines() == [
        "First line: Happy birthday Grandma (font Arial, colour Gold)",
        "Size: Large",
    ]
    maximum = parse_customization_zip(data, level="maximum")
    assert maximum["text"].splitlines() == [
        "Product: Engraved mug / B0TESTASIN × 1",
        "[Front]",
        "First line: Happy birthday Grandma (font Arial, colour Gold #FFD700)",
        "Size: Large",
        "[Back]",
        "Your photo: a1b2.jpg (uploaded as me.jpg)",
        "Empty line: ",
        "Files: a1b2.jpg",
    ]
    assert {f["kind"] for f in maximum["fields"]} == {"text", "option", "image"}


def test_fake_server_zip_all_levels():
    from fake_amazon.custom_zip import build_zip

    order = {"orderId": "028-1"}
    item = {
        "orderItemId": "OI-9",
        "quantityOrdered": 2,
        "product": {"asin": "B0X", "title": "Mug", "sellerSku": "MUG-1"},
    }
    data = build_zip(order, item, SPEC)
    minimum = parse_customization_zip(data, "minimum")
    assert minimum["text"] == "Your text: Anna & Ben"
    assert "photo.png" in minimum["images"]
    medium = parse_customization_zip(data, "medium")["text"]
    assert "Your text: Anna & Ben (font Lobster, colour Red)" in medium
    assert "Choose a finish: Matte" in medium
    # Image references are for the maximum level only.
    assert "photo.png" not in medium
    maximum = parse_customization_zip(data, "maximum")["text"]
    assert maximum.startswith("Product: Mug / B0X / MUG-1 × 2")
    assert "uploaded as IMG_0042.png" in maximum


def test_legacy_tree_only():
    document = {
        "customizationData": {
            "type": "ContainerCustomization",
            "children": [
                {
                    "type": "PlacementContainerCustomization",
                    "name": "Lid",
                    "children": [
                        {
                            "type": "TextCustomization",
                            "label": "Engraving",
                            "inputValue": "J + M",
                            "children": [
                                {
                                    "type": "FontCustomization",
                                    "fontSelection": {"family": "Times"},
                                },
                                {
                                    "type": "ColorCustomization",
                                    "colorSelection": {
                                        "name": "Black",
                                        "value": "#000",
                                    },
                                },
                            ],
                        },
                        {
                            "type": "OptionCustomization",
                            "label": "Wood",
                            "optionSelection": {"name": "oak", "label": "Oak"},
                        },
                        {
                            "type": "ImageCustomization",
                            "label": "Logo",
                            "image": {"imageName": "logo.png"},
                        },
                    ],
                }
            ],
        }
    }
    result = parse_customization_zip(_zip({"x.json": document}), "medium")
    assert result["text"].splitlines() == [
        "Engraving: J + M (font Times, colour Black)",
        "Wood: Oak",
    ]
    assert result["fields"][0]["surface"] == "Lid"


def test_several_json_documents_and_bom():
    first = json.dumps(_amazon_document()).encode("utf-8-sig")
    second = {
        "customizationData": {
            "type": "TextCustomization",
            "label": "Note",
            "inputValue": "Ciao",
        }
    }
    data = _zip({"a.json": first, "b.json": second, "__MACOSX/._a.json": b"junk"})
    text = parse_customization_zip(data)["text"]
    assert text.splitlines()[-1] == "Note: Ciao"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"not a zip at all", "not a ZIP"),
        (_zip({"readme.txt": "hi"}), "no customisation data"),
        (_zip({"a.json": "{broken"}), "not valid JSON"),
        (_zip({"a.json": "[1, 2]"}), "not an object"),
    ],
)
def test_unreadable_archives(data, message):
    with pytest.raises(AmazonError) as info:
        parse_customization_zip(data)
    assert info.value.code == "customization"
    assert message in str(info.value)


def test_zip_bomb_is_refused(monkeypatch):
    monkeypatch.setattr("amazon.custom.MAX_UNCOMPRESSED", 1000)
    data = _zip({"a.json": json.dumps({"pad": "x" * 5000})})
    with pytest.raises(AmazonError, match="too large"):
        parse_customization_zip(data)
    monkeypatch.setattr("amazon.custom.MAX_MEMBERS", 2)
    data = _zip({f"{n}.json": "{}" for n in range(3)})
    with pytest.raises(AmazonError, match="too many"):
        parse_customization_zip(data)


def test_bad_level():
    with pytest.raises(ValueError):
        parse_customization_zip(b"PK", level="all")


# -- archives that lie ----------------------------------------------------------


def _deflated_spaces(size):
    """A raw deflate stream of ``size`` spaces, built without holding them."""
    block = b" " * (1024 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    # After a full flush the stream restarts from an empty window, so one
    # flushed block can be repeated as many times as needed.
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    return repeated * (size // len(block)) + compressor.flush()


def _raw_zip(members, entry_count=None):
    """A ZIP built by hand: members are (name, deflated bytes, declared size)."""
    local, central = io.BytesIO(), io.BytesIO()
    for name, payload, declared in members:
        name = name.encode()
        offset = local.tell()
        common = struct.pack(
            "<HHHHHIIIHH", 20, 0, 8, 0, 0, 0, len(payload), declared, len(name), 0
        )
        local.write(b"PK\x03\x04" + common + name + payload)
        central.write(
            b"PK\x01\x02"
            + struct.pack("<H", 20)
            + common
            + struct.pack("<HHHII", 0, 0, 0, 0, offset)
            + name
        )
    count = min(len(members), 0xFFFF) if entry_count is None else entry_count
    directory = central.getvalue()
    end = struct.pack(
        "<4sHHHHIIH",
        b"PK\x05\x06",
        0,
        0,
        count,
        count,
        len(directory),
        local.tell(),
        0,
    )
    return local.getvalue() + directory + end


def _peak_memory(func, *args):
    tracemalloc.start()
    try:
        func(*args)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_lying_member_size_is_refused_in_little_memory():
    # About 1 MB on the wire, 1 GiB once inflated, declared as 100 bytes: the
    # old archive.read() inflated it all in one call before checking anything.
    payload = _deflated_spaces(1024**3)
    assert len(payload) < 2 * 1024 * 1024
    data = _raw_zip([("custom.json", payload, 100)])
    error = []

    def parse():
        with pytest.raises(AmazonError) as info:
            parse_customization_zip(data)
        error.append(info.value)

    peak = _peak_memory(parse)
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1024 / 1024:.1f} MiB"
    assert error[0].code == "customization"
    assert "damaged" in str(error[0])


def test_inflated_bytes_are_capped_per_member_and_in_total(monkeypatch):
    # zipfile stops at the declared size, so the caps are checked on the
    # reader itself: they count what was inflated, not what was declared.
    archive = zipfile.ZipFile(io.BytesIO(_zip({"a.json": " " * 5000})))
    info = archive.getinfo("a.json")
    assert len(custom._read_member(archive, info, 5000)) == 5000
    with pytest.raises(AmazonError, match="too large once unpacked"):
        custom._read_member(archive, info, 4999)
    monkeypatch.setattr("amazon.custom.MAX_JSON", 4000)
    with pytest.raises(AmazonError, match="a.json is too large"):
        custom._read_member(archive, info, 10_000)


@pytest.mark.parametrize("declared", [None, 1])
def test_entry_count_is_checked_before_zipfile_parses(monkeypatch, declared):
    # 100,000 entries: ZipFile() would build as many objects before any check.
    # The count the end record declares may lie too: the directory is counted.
    names = [(f"{n}.json", b"", 0) for n in range(100_000)]
    data = _raw_zip(names, entry_count=declared)

    def no_zipfile(*args, **kwargs):
        raise AssertionError("ZipFile built before the entries were counted")

    monkeypatch.setattr("amazon.custom.zipfile.ZipFile", no_zipfile)
    with pytest.raises(AmazonError, match="too many files"):
        parse_customization_zip(data)
    assert _peak_memory(_refused, data) < 1024 * 1024


def _refused(data):
    with pytest.raises(AmazonError):
        parse_customization_zip(data)


# -- JSON that explodes once parsed ---------------------------------------------


def test_json_parsed_objects_are_bounded():
    # "{}," is 3 bytes of JSON and a 64-byte dict once parsed: ten such 10 MB
    # files took 2.4 GB. Their bytes are capped before parsing, per file and
    # for the archive.
    big = "[" + ",".join(["{}"] * (custom.MAX_JSON // 3 + 1)) + "]"
    data = _zip({"a.json": '{"x": ' + big + "}"})
    tracemalloc.start()
    try:
        with pytest.raises(AmazonError, match="a.json is too large"):
            parse_customization_zip(data)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024
    part = '{"x": [' + ",".join(["{}"] * (custom.MAX_JSON // 4)) + "]}"
    data = _zip({f"{n}.json": part for n in range(3)})
    with pytest.raises(AmazonError, match="too large once unpacked"):
        parse_customization_zip(data)


def test_deeply_nested_json_is_not_valid_json():
    data = _zip({"a.json": "[" * 100_000 + "]" * 100_000})
    with pytest.raises(AmazonError, match="a.json is not valid JSON"):
        parse_customization_zip(data)
