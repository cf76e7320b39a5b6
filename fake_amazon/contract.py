"""Amazon's published SP-API models, used as the contract of the fake.

The Swagger 2.0 files are read from the shared folder at run time (they are
never copied into the addon): ``$SPAPI_MODELS_DIR`` when set, else
``<addon root>/../shared/spapi-models``.  Swagger schemas are JSON Schema
draft 4 with ``#/definitions/...`` references, so a response schema is
validated by embedding it next to its model's ``definitions``.

Public helpers (also used by the access layer tests)::

    load_models()                         # {model name: swagger dict}, cached
    validate_response(op_id, status, body) -> list of problems (str)
    validate_request(op_id, query, path_params, body) -> list of problems
    sandbox_examples(op_id) -> [Example(...)]  # Amazon's shipped examples
"""

import functools
import json
import os
import re
from collections import namedtuple
from datetime import datetime

import jsonschema

ADDON_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Operation ids are not unique across models (getOrder exists in v0 and
# 2026-01-01), so each operation the fake serves is pinned to one model.
OPERATION_MODELS = {
    "searchOrders": "orders_2026-01-01",
    "getOrder": "orders_2026-01-01",
    "confirmShipment": "ordersV0",
    "getMarketplaceParticipations": "sellers",
    "rotateApplicationClientSecret": "application_2023-11-30",
    "createFeedDocument": "feeds_2021-06-30",
    "createFeed": "feeds_2021-06-30",
    "getFeed": "feeds_2021-06-30",
    "getFeedDocument": "feeds_2021-06-30",
    "patchListingsItem": "listingsItems_2021-08-01",
    "getInventorySummaries": "fbaInventory",
}

Operation = namedtuple("Operation", "model operation_id method path spec")
Example = namedtuple("Example", "operation_id status kind request response")


class ModelsMissing(RuntimeError):
    """The models folder cannot be found; validation has to be skipped."""


def models_dir():
    return os.environ.get("SPAPI_MODELS_DIR") or os.path.join(
        os.path.dirname(ADDON_ROOT), "shared", "spapi-models"
    )


def models_missing_reason():
    """None when the models are usable, else a human readable reason."""
    folder = models_dir()
    missing = [
        name
        for name in sorted(set(OPERATION_MODELS.values()))
        if not os.path.isfile(os.path.join(folder, name + ".json"))
    ]
    if missing:
        return (
            f"SP-API models not found in {folder} (missing "
            f"{', '.join(m + '.json' for m in missing)}); set SPAPI_MODELS_DIR"
        )
    return None


@functools.lru_cache(maxsize=4)
def _load(folder):
    models = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                spec = json.load(f)
            if "swagger" in spec:
                models[name[: -len(".json")]] = spec
    return models


def load_models():
    reason = models_missing_reason()
    if reason:
        raise ModelsMissing(reason)
    return _load(models_dir())


def operation(operation_id, model=None):
    model = model or OPERATION_MODELS.get(operation_id)
    for name, spec in load_models().items():
        if model and name != model:
            continue
        for path, ops in spec["paths"].items():
            for method, op in ops.items():
                if isinstance(op, dict) and op.get("operationId") == operation_id:
                    return Operation(name, operation_id, method.upper(), path, op)
    raise KeyError(f"unknown operation {operation_id!r} (model {model})")


def _parameters(op):
    # Path-level parameters would be merged here; the served models have none.
    return op.spec.get("parameters", [])


def _validator(model, schema):
    root = {"allOf": [schema], "definitions": load_models()[model]["definitions"]}
    return jsonschema.Draft4Validator(
        root, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def _problems(validator, instance, where):
    problems = []
    for err in sorted(
        validator.iter_errors(instance), key=lambda e: [str(p) for p in e.path]
    ):
        path = "/".join(str(p) for p in err.absolute_path)
        problems.append(f"{where}: {path + ': ' if path else ''}{err.message[:300]}")
    return problems


def validate_schema(model, definition, instance, where=None):
    """Validate ``instance`` against ``#/definitions/<definition>`` of a model."""
    schema = {"$ref": f"#/definitions/{definition}"}
    return _problems(_validator(model, schema), instance, where or definition)


def validate_response(operation_id, status, body, model=None):
    op = operation(operation_id, model)
    where = f"response {operation_id} {status}"
    responses = op.spec.get("responses", {})
    response = responses.get(str(status)) or responses.get("default")
    if response is None:
        return [f"{where}: status {status} is not documented by the model"]
    schema = response.get("schema")
    if schema is None:
        if body not in (None, b"", "", {}):
            return [f"{where}: the model documents no body, got {body!r:.200}"]
        return []
    return _problems(_validator(op.model, schema), body, where)


@functools.lru_cache(maxsize=8)
def _document_validator(folder, name):
    with open(os.path.join(folder, name + ".json"), encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def validate_document(name, instance):
    """Check a feed document or report against one of Amazon's JSON schemas
    (e.g. ``listings-feed-schema-v2``); [] when the schema is not there."""
    folder = models_dir()
    if not os.path.isfile(os.path.join(folder, name + ".json")):
        return []
    return _problems(_document_validator(folder, name), instance, name)


def split_array(values):
    """Swagger 2 arrays in a query default to csv; repeated keys also occur."""
    out = []
    for value in values:
        out.extend(v for v in value.split(",") if v != "")
    return out


_INT = re.compile(r"^-?\d+$")


def coerce_param(param, values):
    """Turn raw query strings into the JSON value the parameter declares.

    Returns (value, problem); unparseable values give a problem and None.
    """
    kind = param.get("type")
    if kind == "array":
        return split_array(values), None
    raw = values[-1]
    if kind == "integer":
        if not _INT.match(raw):
            return None, f"{param['name']}: {raw!r} is not an integer"
        return int(raw), None
    if kind == "number":
        try:
            return float(raw), None
        except ValueError:
            return None, f"{param['name']}: {raw!r} is not a number"
    if kind == "boolean":
        if raw not in ("true", "false"):
            return None, f"{param['name']}: {raw!r} is not a boolean"
        return raw == "true", None
    return raw, None


def _param_schema(param):
    keys = ("type", "items", "enum", "format", "minimum", "maximum")
    keys += ("maxItems", "minItems", "maxLength", "minLength", "pattern")
    return {k: param[k] for k in keys if k in param}


def validate_request(operation_id, query=None, path_params=None, body=None, model=None):
    """Check a request against the operation's parameters.

    ``query`` maps names to lists of raw strings (as parsed from the URL).
    Unknown query parameters are not violations: Amazon ignores them.
    """
    op = operation(operation_id, model)
    where = f"request {operation_id}"
    query = query or {}
    path_params = path_params or {}
    problems = []
    for param in _parameters(op):
        name, location = param["name"], param["in"]
        if location == "body":
            if body is None:
                if param.get("required"):
                    problems.append(f"{where}: body is required")
                continue
            validator = _validator(op.model, param["schema"])
            problems += _problems(validator, body, f"{where}: body")
            continue
        if location == "query":
            raw = query.get(name)
        elif location == "path":
            raw = [path_params[name]] if name in path_params else None
        else:
            continue
        if not raw:
            if param.get("required"):
                problems.append(f"{where}: parameter {name} is required")
            continue
        value, problem = coerce_param(param, raw)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        validator = jsonschema.Draft4Validator(
            _param_schema(param),
            format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER,
        )
        problems += _problems(validator, value, f"{where}: {name}")
    return problems


def sandbox_examples(operation_id, model=None):
    """Static sandbox examples and response examples Amazon ships in a model."""
    op = operation(operation_id, model)
    examples = []
    for status, response in op.spec.get("responses", {}).items():
        for kind, cases in (response.get("x-amzn-api-sandbox") or {}).items():
            for case in cases:
                request = {
                    name: spec.get("value")
                    for name, spec in case.get("request", {})
                    .get("parameters", {})
                    .items()
                }
                examples.append(
                    Example(
                        operation_id, int(status), kind, request, case.get("response")
                    )
                )
        shipped = response.get("examples") or {}
        # Swagger keys examples by mime type; some models put the body there.
        bodies = shipped.values() if all("/" in k for k in shipped) else [shipped]
        for body in bodies if shipped else []:
            examples.append(Example(operation_id, int(status), "examples", None, body))
    return examples


def parse_datetime(value):
    """ISO 8601 as Amazon accepts it; returns an aware datetime or None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed
