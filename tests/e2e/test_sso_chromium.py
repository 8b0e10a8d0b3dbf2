"""The same journey in a real browser: Debian's chromium driven by Playwright, clicking as a person would."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_click_through_login_to_rcp_and_single_sign_on_into_cri(stack, page):
    page.goto(stack.rcp + "/")
    page.get_by_role("link", name="Log in").click()
    page.wait_for_url(stack.idp + "/login?uid=*")
    page.get_by_label("Username").fill(stack.username)
    page.get_by_label("Password").fill(stack.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(stack.rcp + "/")
    assert "Dana Example" in page.content()

    page.goto(stack.cri + "/")
    page.get_by_role("link", name="Log in").click()
    page.wait_for_url(stack.cri + "/")
    assert "Dana Example" in page.content()
    assert "Sign in" not in page.title()
