"""Security headers on every response (docs/security.md): a Content Security Policy without
'unsafe-inline', no framing, no sniffing, a same-origin referrer and opener; HTTPS-only
behaviour on in production and off in the embedded default."""

from __future__ import annotations

import re

import pytest

from clmsite.settings import BASE_DIR
from clmsite.tests.test_settings import STRONG_KEY, settings_of
from contracts.tests import factories

pytestmark = pytest.mark.django_db

PAGES = {
    "dashboard": "/",
    "contract list": "/contracts/?status=Draft&ordering=-end_date",
    "sign-in page": "/login/",
    "admin changelist": "/admin/connectors/connection/",
    "API": "/api/v1/contract-types/",
    "Swagger UI": "/api/v1/docs/",
    "Swagger UI's script": "/api/v1/docs/?script=",
    "not found": "/no-such-page/",
}


def csp_directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


@pytest.mark.parametrize("path", PAGES.values(), ids=PAGES.keys())
def test_every_response_carries_the_security_headers(admin_client, client, path):
    factories.ConnectionFactory(name="Reference CLM")
    browser = client if path == PAGES["sign-in page"] else admin_client

    response = browser.get(path)

    assert response.status_code in (200, 404), response.content[:300]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    directives = csp_directives(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "unsafe" not in response["Content-Security-Policy"]


def test_swagger_ui_loads_its_start_script_as_a_file(admin_client):
    page = admin_client.get("/api/v1/docs/").content.decode()

    assert re.search(r'<script src="[^"]*\?script=', page)
    assert "<style" not in page


# Markup the policy refuses: inline <script> (one with no src), <style>, style="", on*="".
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"javascript:", re.IGNORECASE)


def markup_sources():
    yield from sorted((BASE_DIR / "templates").rglob("*.html"))
    for app in ("contracts", "connectors"):
        yield from sorted(path for path in (BASE_DIR / app).rglob("*.py") if "tests" not in path.parts)


def test_no_template_or_admin_markup_has_inline_script_style_or_handlers():
    found = []
    for path in markup_sources():
        text = path.read_text()
        # Template comments may name what they avoid ("no style attribute").
        text = re.sub(r"{#.*?#}|{% comment %}.*?{% endcomment %}", "", text, flags=re.DOTALL)
        for pattern in (INLINE_SCRIPT, INLINE_STYLE, INLINE_HANDLER, JAVASCRIPT_URL):
            found += [f"{path.relative_to(BASE_DIR)}: {match.group(0)!r}" for match in pattern.finditer(text)]

    assert found == []


def https_settings(env: dict[str, str]) -> list[str]:
    result = settings_of(
        env,
        "settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, settings.SESSION_COOKIE_SECURE, "
        "settings.CSRF_COOKIE_SECURE, getattr(settings, 'SECURE_PROXY_SSL_HEADER', None) is not None",
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.replace(",", " ").split()


def test_production_is_https_only_by_default():
    assert https_settings({"DEBUG": "false", "SECRET_KEY": STRONG_KEY}) == ["True", "31536000", "True", "True", "False"]


def test_the_embedded_default_serves_plain_http():
    assert https_settings({}) == ["False", "0", "False", "False", "False"]


def test_https_settings_can_be_changed_from_the_environment():
    env = {
        "DEBUG": "false",
        "SECRET_KEY": STRONG_KEY,
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "600",
        "SECURE_PROXY_SSL_HEADER": "true",
    }

    assert https_settings(env) == ["False", "600", "True", "True", "True"]
