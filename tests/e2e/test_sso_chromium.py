"""The same journey in a real browser: Debian's chromium driven by Playwright, clicking as a person would."""

from __future__ import annotations

import pytest

from journeys import click_log_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_click_through_login_to_rcp_and_single_sign_on_into_cri(stack, page):
    click_log_in(page, stack, stack.rcp)
    page.wait_for_url(stack.rcp + "/")
    assert "Dana Example" in page.content()

    page.goto(stack.cri + "/")
    page.get_by_role("link", name="Log in").click()
    page.wait_for_url(stack.cri + "/")
    assert "Dana Example" in page.content()
    assert "Sign in" not in page.title()
