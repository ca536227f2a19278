"""Content-Security-Policy (SPEC 7): every page carries it, and no page needs it relaxed, since
no template has inline script, inline style or an event-handler attribute."""

import re
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_FOLDERS = [ROOT / "templates", *ROOT.glob("*/templates")]
INLINE_CODE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


def test_no_template_has_inline_script_or_style():
    found = [
        f"{path.relative_to(ROOT)}: {kind}"
        for folder in TEMPLATE_FOLDERS
        for path in folder.rglob("*.html")
        for kind, pattern in INLINE_CODE.items()
        if pattern.search(path.read_text())
    ]

    assert found == []


@pytest.mark.django_db
def test_pages_carry_a_policy_of_our_own_sources_only(client: Client):
    for path in ("/accounts/login/", "/healthz"):
        directives = _directives(client.get(path))

        assert directives["default-src"] == ["'self'"], path
        assert directives["script-src"] == ["'self'"], path
        assert directives["style-src"] == ["'self'"], path
        assert directives["frame-ancestors"] == ["'none'"], path
        assert directives["object-src"] == ["'none'"], path


@pytest.mark.django_db
def test_the_api_docs_load_their_script_from_a_file_and_allow_only_inline_styles(client: Client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert not INLINE_CODE["inline script"].search(html)
    directives = _directives(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'", "'unsafe-inline'"]
