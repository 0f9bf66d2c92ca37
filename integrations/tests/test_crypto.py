from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.management import call_command
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from integrations.models import Connection, Provider
from pace.lib import sealing

K1 = "k1:" + base64.b64encode(b"1" * 32).decode()
K2 = "k2:" + base64.b64encode(b"2" * 32).decode()


def test_it_opens_what_it_sealed_and_names_the_key(settings: Any) -> None:
    settings.PACE_TOKEN_KEYS = [K1]
    sealed = sealing.encrypt("secret-token", purpose="strava:access")
    assert sealed.startswith("k1$") and "secret-token" not in sealed
    assert sealing.decrypt(sealed, purpose="strava:access") == "secret-token"


def test_it_refuses_a_ciphertext_moved_to_another_purpose(settings: Any) -> None:
    settings.PACE_TOKEN_KEYS = [K1]
    sealed = sealing.encrypt("secret-token", purpose="strava:refresh")
    with pytest.raises(sealing.TokenDecryptError):
        sealing.decrypt(sealed, purpose="strava:access")


def test_it_opens_old_keys_ciphertexts_after_a_new_key_is_put_first(settings: Any) -> None:
    settings.PACE_TOKEN_KEYS = [K1]
    old = sealing.encrypt("t", purpose="p")
    settings.PACE_TOKEN_KEYS = [K2, K1]
    assert sealing.decrypt(old, purpose="p") == "t"
    assert sealing.encrypt("t", purpose="p").startswith("k2$")
    settings.PACE_TOKEN_KEYS = [K2]
    with pytest.raises(sealing.TokenDecryptError):
        sealing.decrypt(old, purpose="p")


@pytest.mark.parametrize(
    "spec",
    [["nokey"], ["k1:not-base64!"], ["k1:" + base64.b64encode(b"x" * 16).decode()], [K1, K1]],
)
def test_it_stops_start_up_on_a_bad_key_list(spec: list[str]) -> None:
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        sealing.parse_keys(spec)


@hsettings(max_examples=200, deadline=None)
@given(
    garbage=st.one_of(
        st.text(),
        st.text().map(lambda t: "dev$" + t),
        st.binary().map(lambda b: "dev$" + base64.b64encode(b).decode()),
    )
)
def test_it_raises_only_its_own_error_on_garbage(garbage: str) -> None:
    with pytest.raises(sealing.TokenDecryptError):
        sealing.decrypt(garbage, purpose="strava:access")


@pytest.mark.django_db
def test_it_keeps_tokens_sealed_in_the_database_repr_and_admin(settings: Any, client: Any) -> None:
    from django.db import connection as db

    from events.tests.factories import make_user

    user = make_user("ann")
    conn = Connection(user=user, provider=Provider.STRAVA, external_id="99")
    conn.set_tokens(
        access_token="plain-access-abc", refresh_token="plain-refresh-xyz",
        expires_at=datetime(2026, 12, 1, tzinfo=UTC),
    )  # fmt: skip
    conn.save()
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM integrations_connection")
        row = " ".join(str(v) for v in cursor.fetchone())
    assert "plain-access-abc" not in row and "plain-refresh-xyz" not in row
    assert "plain" not in repr(conn) and "plain" not in str(conn)
    staff = make_user("iris", staff=True)
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    page = client.get(f"/admin/integrations/connection/{conn.pk}/change/")
    assert page.status_code == 200
    assert (
        b"plain-access" not in page.content
        and conn.access_token_sealed.encode() not in page.content
    )


@pytest.mark.django_db
def test_rotate_token_key_reseals_with_the_first_key(settings: Any) -> None:
    from events.tests.factories import make_user

    settings.PACE_TOKEN_KEYS = [K1]
    conn = Connection(user=make_user("ann"), provider=Provider.STRAVA, external_id="99")
    conn.set_tokens(access_token="a-1", refresh_token="r-1", expires_at=None)
    conn.save()
    settings.PACE_TOKEN_KEYS = [K2, K1]
    call_command("rotate_token_key")
    conn.refresh_from_db()
    assert conn.token_key_id == "k2" and conn.access_token_sealed.startswith("k2$")
    settings.PACE_TOKEN_KEYS = [K2]  # the old key can go now
    assert conn.access_token() == "a-1" and conn.refresh_token() == "r-1"


def test_no_athletes_activity_data_is_in_the_admin() -> None:
    """Strava's terms: an athlete's data is shown to that athlete only, not to staff."""
    from django.contrib import admin

    from integrations.models import Activity, ActivityStream, Play

    for model in (Activity, ActivityStream, Play):
        assert not admin.site.is_registered(model), model
