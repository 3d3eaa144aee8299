"""Whatever people type, forms answer with a page (explained errors or success), never a 500,
and nothing leaks across agencies."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insights.models import Client

pytestmark = pytest.mark.django_db

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(name=text, notes=text, time_zone=st.one_of(text, st.sampled_from(["UTC", "Asia/Tokyo"])))
def test_client_form(world, name, notes, time_zone):
    http = world.client_for("a_member")
    before = Client.objects.filter(agency=world.b).count()
    response = http.post(
        "/a/alpha/clients/new/", {"name": name, "notes": notes, "time_zone": time_zone}
    )
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert b"error" in response.content  # the form says what is wrong
    assert Client.objects.filter(agency=world.b).count() == before


@pytest.mark.parametrize("pk", ["9223372036854775808", "-1", "1e3", "１"])
def test_client_ids_no_column_holds_are_refused_with_the_form(world, pk):
    """Found by test_invitation_form: 2**63 as a client id was a 500 (OverflowError)."""
    data = {"email": "x@example.com", "role": "member", "limited_to_clients": "on"}
    response = world.client_for("a_admin").post("/a/alpha/members/", {**data, "clients": [pk]})
    assert response.status_code == 200 and b"error" in response.content
    membership = world.memberships["a_member"]
    response = world.client_for("a_owner").post(
        f"/a/alpha/members/{membership.pk}/", {**data, "clients": [pk]}
    )
    assert response.status_code == 200


@FUZZ
@given(
    email=text,
    role=st.one_of(text, st.sampled_from(["member", "viewer", "owner"])),
    limited=st.booleans(),
    clients=st.lists(st.one_of(text, st.integers(-5, 10**6)), max_size=3),
)
def test_invitation_form(world, email, role, limited, clients):
    http = world.client_for("a_admin")
    data = {"email": email, "role": role, "clients": [str(c) for c in clients]}
    if limited:
        data["limited_to_clients"] = "on"
    response = http.post("/a/alpha/members/", data)
    assert response.status_code in (200, 302)


@FUZZ
@given(state=text, code=text, error=st.one_of(st.none(), text))
def test_oauth_callback_with_anything(world, state, code, error):
    http = world.client_for("a_member")
    params = {"state": state, "code": code}
    if error is not None:
        params["error"] = error
    response = http.get("/oauth/instagram/callback/", params, follow=True)
    assert response.status_code == 400
    assert b"Traceback" not in response.content


@FUZZ
@given(value=text)
def test_meta_callbacks_with_anything(client, value):
    for url in ("/meta/facebook/deauthorize/", "/meta/instagram/data-deletion/"):
        response = client.post(url, {"signed_request": value})
        assert response.status_code == 400
