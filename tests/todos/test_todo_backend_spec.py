"""The Todo-Backend specification (todobackend.com's browser spec runner) driven against a live
server with httpx: every behaviour of its test list, following the `url`s the API returns, each
request preceded by the CORS preflight a browser would send from another origin. It runs for an
anonymous caller and for a signed-in one, whose list is their own."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

ORIGIN = "https://www.todobackend.com"


class Browser:
    """Sends what the spec runner's browser sends: a preflight for anything but a simple request,
    then the request with `Origin` (and the JSON content type for bodies); answers must allow it."""

    def __init__(self, http: httpx.Client, headers: dict[str, str] | None = None) -> None:
        self.http = http
        self.headers = headers or {}

    def request(
        self, method: str, url: str, body: Any = None, *, expect: int | None = None
    ) -> httpx.Response:
        asked = sorted(
            {*(name.lower() for name in self.headers), *(["content-type"] if body is not None else [])}
        )
        if method not in ("GET", "HEAD") or asked:
            preflight = self.http.options(
                url,
                headers={
                    "Origin": ORIGIN,
                    "Access-Control-Request-Method": method,
                    **({"Access-Control-Request-Headers": ", ".join(asked)} if asked else {}),
                },
            )
            assert preflight.status_code in (200, 204), (method, url, preflight.text)
            assert preflight.headers["access-control-allow-origin"] == "*"
            methods = {name.strip() for name in preflight.headers["access-control-allow-methods"].split(",")}
            assert {"GET", "POST", "PATCH", "DELETE"} <= methods
            if asked:
                allowed = {
                    name.strip().lower()
                    for name in preflight.headers["access-control-allow-headers"].split(",")
                }
                assert set(asked) <= allowed
        headers = {"Origin": ORIGIN, **self.headers}
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = self.http.request(method, url, json=body, headers=headers)
        assert response.headers["access-control-allow-origin"] == "*", (method, url)
        assert 200 <= response.status_code < 300, (method, url, response.text)
        if expect is not None:
            assert response.status_code == expect
        return response

    def json(self, method: str, url: str, body: Any = None) -> Any:
        return self.request(method, url, body).json()


def run_the_spec(browser: Browser, root: str) -> None:
    """Each `specify`/`it` of the Todo-Backend spec list, in its order."""
    # The pre-requisites.
    browser.request("GET", root)
    assert browser.json("POST", root, {"title": "a todo"})["title"] == "a todo"
    browser.request("DELETE", root)
    browser.request("DELETE", root)
    assert browser.json("GET", root) == []

    # Storing new todos by posting to the root url.
    browser.request("DELETE", root)
    browser.request("POST", root, {"title": "walk the dog"}, expect=201)
    todos = browser.json("GET", root)
    assert len(todos) == 1
    assert todos[0]["title"] == "walk the dog"

    browser.request("DELETE", root)
    created = browser.json("POST", root, {"title": "blah"})
    listed = browser.json("GET", root)[0]
    for todo in (created, listed):
        assert todo["completed"] is False  # initially not completed
        assert isinstance(todo["url"], str)  # each new todo has a url...
        assert todo["url"].startswith("http://127.0.0.1:")  # ...an absolute one
    browser.request("DELETE", root)
    mine = browser.json("POST", root, {"title": "my todo"})
    assert browser.json("GET", mine["url"])["title"] == "my todo"  # ...which returns a todo

    # Working with an existing todo.
    browser.request("DELETE", root)
    browser.json("POST", root, {"title": "todo the first"})
    browser.json("POST", root, {"title": "todo the second"})
    todos = browser.json("GET", root)
    assert len(todos) == 2
    assert "title" in browser.json("GET", todos[0]["url"])  # navigate via urls

    browser.request("DELETE", root)
    url = browser.json("POST", root, {"title": "initial title"})["url"]
    assert browser.json("PATCH", url, {"title": "bathe the cat"})["title"] == "bathe the cat"

    browser.request("DELETE", root)
    url = browser.json("POST", root, {"title": "blah"})["url"]
    assert browser.json("PATCH", url, {"completed": True})["completed"] is True

    browser.request("DELETE", root)
    url = browser.json("POST", root, {"title": "blah"})["url"]
    patched = browser.json("PATCH", url, {"title": "changed title", "completed": True})
    refetched = browser.json("GET", patched["url"])
    todos = browser.json("GET", root)
    assert len(todos) == 1
    for todo in (refetched, todos[0]):  # changes are persisted
        assert (todo["title"], todo["completed"]) == ("changed title", True)

    browser.request("DELETE", root)
    url = browser.json("POST", root, {"title": "blah"})["url"]
    browser.request("DELETE", url, expect=204)
    assert browser.json("GET", root) == []

    # Tracking todo order.
    assert browser.json("POST", root, {"title": "blah", "order": 523})["order"] == 523
    url = browser.json("POST", root, {"title": "blah", "order": 10})["url"]
    assert browser.json("PATCH", url, {"order": 95})["order"] == 95
    url = browser.json("POST", root, {"title": "blah", "order": 10})["url"]
    patched = browser.json("PATCH", url, {"order": 95})
    assert browser.json("GET", patched["url"])["order"] == 95  # remembers the change


@pytest.fixture
def http() -> Any:
    with httpx.Client(timeout=10) as client:
        yield client


def test_the_todo_backend_spec_passes_anonymously(live_server: str, http: httpx.Client) -> None:
    run_the_spec(Browser(http), f"{live_server}/api/todos")


def test_the_spec_passes_for_a_signed_in_user_on_a_list_of_their_own(
    live_server: str, http: httpx.Client
) -> None:
    root = f"{live_server}/api/todos"
    anonymous = Browser(http)
    anonymous.request("DELETE", root)
    kept = anonymous.json("POST", root, {"title": "the anonymous list's", "order": 1})

    email, password = f"{uuid.uuid4().hex[:10]}@example.com", "correct horse battery staple"
    registered = http.post(f"{live_server}/api/auth/register", json={"email": email, "password": password})
    assert registered.status_code == 201, registered.text
    tokens = http.post(f"{live_server}/api/auth/login", json={"email": email, "password": password}).json()
    user = Browser(http, {"Authorization": f"Bearer {tokens['access_token']}"})

    run_the_spec(user, root)  # clears the user's list many times over

    assert anonymous.json("GET", root) == [kept]
    assert http.get(kept["url"], headers=user.headers).status_code == 404
    users = user.json("GET", root)
    assert users
    assert all(http.get(todo["url"]).status_code == 404 for todo in users)
