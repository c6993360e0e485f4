"""Every service's `/docs` renders its operations in a real browser, with no CDN to reach."""

from tenure_tools.services import SERVICES


def test_every_service_docs_page_renders_offline(api, page):
    requested_hosts = set()
    page.on("request", lambda request: requested_hosts.add(request.url.split("/")[2]))
    for service in SERVICES:
        page.goto(api.urls[service] + "/docs")
        page.wait_for_selector(".opblock", timeout=15_000)  # the OpenAPI 3.1 document parsed and drawn
        assert page.locator(".opblock").count() > 0
    assert requested_hosts <= {url.split("/")[2] for url in api.urls.values()}
