"""Many people signing in at once from one address (an office, a NAT) are not throttled by each other: the
address's attempt counter is shared, and its first row is made by whichever login comes first."""

from __future__ import annotations

import pytest

from helpers import TEST_PASSWORD, csrf, race


@pytest.mark.parametrize("n", [8])
def test_parallel_first_logins_from_one_address_all_succeed(app, make_user, n):
    names = [make_user(f"office{i}").username for i in range(n)]
    browsers = [app.test_client() for _ in range(n)]
    tokens = {id(b): csrf(b) for b in browsers}
    form = {id(b): name for b, name in zip(browsers, names)}

    def send(browser):
        return browser.post("/login", data={"csrf_token": tokens[id(browser)], "username": form[id(browser)],
                                            "password": TEST_PASSWORD})

    results = race(app, browsers, send)
    assert [status for status, _ in results] == [303] * n, [body[:200] for status, body in results if status != 303]
