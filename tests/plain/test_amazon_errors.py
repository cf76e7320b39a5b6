import ast
import os
import pickle

import pytest

import amazon
from amazon import MESSAGES, AmazonError, ThrottledError
from amazon.errors import REQUEST_ID_TEMPLATE, redact

ERRORS_PY = os.path.join(os.path.dirname(amazon.__file__), "errors.py")


def test_message_and_request_id():
    err = AmazonError(
        "invalid_grant", params={"detail": "revoked"}, request_id="rid-123", status=400
    )
    assert err.code == "invalid_grant"
    assert "Authorise the seller account again" in str(err)
    assert "revoked" in str(err)
    assert str(err).endswith("(Amazon request ID: rid-123)")
    assert err.message_template == MESSAGES["invalid_grant"]
    assert err.params == {"detail": "revoked"}
    assert not err.retryable
    assert "rid-123" in repr(err)


def test_without_request_id_and_missing_params():
    err = AmazonError("bad_request")
    assert "request ID" not in str(err)
    assert "HTTP" in str(err)  # placeholder left empty, no KeyError
    # Odoo's env._ formats with a plain dict: every placeholder is present.
    assert err.params == {"status": "", "detail": ""}
    assert err.render(lambda source, **params: source % params)


def test_render_with_translation_function():
    calls = []

    def translate(source, **params):
        calls.append((source, params))
        return "T:" + source % params

    err = AmazonError("not_found", params={"detail": "x"}, request_id="r1")
    text = err.render(translate)
    assert text.startswith("T:Amazon does not know")
    assert text.endswith("(T:Amazon request ID: r1)")
    assert calls[0][0] == MESSAGES["not_found"]
    assert calls[1] == (REQUEST_ID_TEMPLATE, {"request_id": "r1"})


def test_secrets_are_redacted_from_params_and_text():
    err = AmazonError(
        "lwa_error",
        params={
            "detail": "bad token Atza|IwEBaccess and Atzr|IwEBrefresh "
            "secret amzn1.oa2-cs.v1.abcdef",
            "lwa_code": "x",
        },
    )
    text = str(err)
    assert "Atza|" not in text and "Atzr|" not in text and "oa2-cs" not in text
    assert text.count("[redacted]") == 3
    assert redact(None) is None


def test_throttled_error():
    err = ThrottledError("searchOrders", 178.6, request_id="r9", status=429)
    assert isinstance(err, AmazonError)
    assert err.code == "throttled" and err.retryable and err.status == 429
    assert err.params["retry_after"] == 179
    assert "next run" in str(err) and "r9" in str(err)


def test_errors_pickle():
    for err in (
        AmazonError("forbidden", params={"detail": "d"}, request_id="r", status=403),
        ThrottledError("getOrder", 2.0, request_id="r"),
    ):
        clone = pickle.loads(pickle.dumps(err))
        assert type(clone) is type(err)
        assert str(clone) == str(err)


def test_every_template_is_marked_for_translation():
    """Odoo's extractor only sees literal ``_lt("...")`` calls."""
    with open(ERRORS_PY, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    marked = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "_lt"
        and isinstance(node.args[0], ast.Constant)
    }
    for template in [*MESSAGES.values(), REQUEST_ID_TEMPLATE]:
        assert template in marked


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_template_renders(code):
    params = {
        "detail": "d",
        "status": 400,
        "operation": "op",
        "retry_after": 1,
        "attempts": 2,
        "lwa_code": "c",
    }
    assert "%(" not in str(AmazonError(code, params=params, request_id="r"))
