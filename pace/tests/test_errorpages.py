"""A visit to a form's address gets a page of the site's, not the browser's blank 405."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["get", "head"])
def test_a_visit_to_a_post_only_address_gets_a_page_saying_why(client: Client, method) -> None:
    response = getattr(client, method)("/family-links/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"].startswith("text/html")
    if method == "get":
        page = response.content.decode()
        assert "This address takes a form, not a visit" in page
        assert "(POST)" in page
        assert '<meta name="robots" content="noindex">' in page


def test_a_scripts_other_methods_and_answers_with_a_body_are_left_as_they_are(
    client: Client,
) -> None:
    put = client.put("/osmand/")
    assert put.status_code == 405 and put.content == b""
    # An answer with its own body keeps it (an API's reason, say).
    from django.http import HttpResponseNotAllowed
    from django.test import RequestFactory

    from pace.lib.errorpages import MethodNotAllowedPage

    with_body = HttpResponseNotAllowed(["POST"], content=b'{"error": "POST only"}')
    answered = MethodNotAllowedPage(lambda request: with_body)(RequestFactory().get("/x/"))
    assert answered is with_body
