"""§3.1 profile_picture_url: an expiring CDN URL that serves the picture (sandbox/cdn.py)."""

from PIL import Image


def test_profile_picture_url_serves_a_jpeg(sandbox, make_account):
    import io

    account = make_account(login="instagram", username="pictured")
    me = sandbox.get(
        "graph.instagram.com",
        "v25.0/me",
        account["access_token"],
        fields="user_id,profile_picture_url",
    ).json()
    url = me["profile_picture_url"]
    assert "/scontent.cdninstagram.com/v/t51.2885-19/" in url
    response = sandbox.http.get(url, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.content)).size == (206, 206)
    again = sandbox.http.get(url, timeout=10)
    assert again.content == response.content  # deterministic


def test_unknown_picture_is_refused(sandbox):
    response = sandbox.http.get(
        sandbox.url("scontent.cdninstagram.com", "v/t51.2885-19/1784_1_n.jpg"), timeout=10
    )
    assert response.status_code == 403
