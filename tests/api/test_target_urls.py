"""The URL rules at creation (SPEC 4): localhost names are loopback, and host names DNS cannot
hold are refused, each as a 400 on `url`."""

import pytest

URL = "/api/v1/webhooks/"
EVENTS = ["products.create.v0"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"https://{'a' * 64}.example.com/hook", "longer than 63"),
        (f"https://{'.'.join(['a' * 63] * 4)}/hook", "longer than 253"),
    ],
)
def test_host_names_dns_cannot_hold_are_a_400_on_url(api, url, message):
    response = api.post(URL, {"url": url, "events": EVENTS}, format="json")

    assert response.status_code == 400
    assert message in response.json()["errors"]["url"][0]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["https://localhost./hook", "https://api.localhost/hook"])
def test_localhost_names_are_refused_without_private_targets(api, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    response = api.post(URL, {"url": url, "events": EVENTS}, format="json")

    assert response.status_code == 400
    assert "loopback" in response.json()["errors"]["url"][0]
