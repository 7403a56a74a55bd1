"""I5 email verification, password reset, and I16 emailed codes and authenticator apps."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth import service
from sixty.auth.models import OneTimeToken, User
from sixty.core.config import Settings
from sixty.core.db import Database
from sixty.main import create_app
from tests.auth.conftest import Mailbox
from tests.factories.auth import PASSWORD, bearer, create_user, sign_in

# --- email verification ---------------------------------------------------------------------


async def _register(client: AsyncClient, email: str = "new@example.com") -> None:
    response = await client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text


async def test_the_mailed_link_verifies_once(client: AsyncClient, mailbox: Mailbox) -> None:
    await _register(client)
    token = await mailbox.token("new@example.com")
    first = await client.get("/api/auth/verify-email", params={"token": token})
    assert first.status_code == 200
    assert first.json()["email_verified"] is True
    again = await client.post("/api/auth/verify-email", json={"token": token})
    assert again.status_code == 410
    assert again.json()["code"] == "link_used"


async def test_unknown_and_expired_links(
    client: AsyncClient, session: AsyncSession, mailbox: Mailbox
) -> None:
    assert (await client.post("/api/auth/verify-email", json={"token": "A" * 43})).status_code == 404
    await _register(client)
    token = await mailbox.token("new@example.com")
    await session.execute(update(OneTimeToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    expired = await client.post("/api/auth/verify-email", json={"token": token})
    assert expired.status_code == 410
    assert expired.json()["code"] == "link_expired"
    user = await session.scalar(select(User).where(User.email == "new@example.com"))
    assert user is not None
    assert user.email_verified_at is None


async def test_a_new_link_retires_the_old_one_and_resend_is_throttled(
    client: AsyncClient, session: AsyncSession, auth: service.AuthContext, mailbox: Mailbox
) -> None:
    await create_user(session, auth, email="new@example.com", verified=False)
    headers = bearer(await sign_in(client, "new@example.com"))
    resent = await client.post("/api/auth/verify-email/resend", headers=headers)
    assert resent.status_code == 202
    first = await mailbox.token("new@example.com")
    await client.post("/api/auth/verify-email/resend", headers=headers)
    second = await mailbox.token("new@example.com")
    assert (await client.post("/api/auth/verify-email", json={"token": first})).status_code == 410
    assert (await client.post("/api/auth/verify-email", json={"token": second})).status_code == 200
    verified = await client.post("/api/auth/verify-email/resend", headers=headers)
    assert verified.status_code == 409


async def test_unverified_accounts_cannot_sign_in_when_required(
    settings: Settings, db: Database, session: AsyncSession, mailbox: Mailbox
) -> None:
    strict = create_app(settings.model_copy(update={"require_verified_email": True}), db=db)
    transport = ASGITransport(app=strict)
    async with (
        strict.router.lifespan_context(strict),
        AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        await _register(client)
        refused = await client.post(
            "/api/auth/login", json={"email": "new@example.com", "password": PASSWORD}
        )
        assert refused.status_code == 403
        assert refused.json()["code"] == "email_not_verified"
        await Mailbox(strict, db, settings).deliver()
        token = await mailbox.token("new@example.com")
        assert (await client.post("/api/auth/verify-email", json={"token": token})).status_code == 200
        assert (await sign_in(client, "new@example.com"))["access_token"]


# --- password reset -------------------------------------------------------------------------


async def test_reset_answers_the_same_for_unknown_emails(
    client: AsyncClient, user: User, mailbox: Mailbox
) -> None:
    known = await client.post("/api/auth/password-reset", json={"email": "ann@example.com"})
    unknown = await client.post("/api/auth/password-reset", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert await mailbox.messages("nobody@example.com") == []
    assert len(await mailbox.messages("ann@example.com")) == 1


async def test_reset_sets_the_password_and_signs_out_everywhere(
    client: AsyncClient, user: User, mailbox: Mailbox
) -> None:
    old = await sign_in(client)
    await client.post("/api/auth/password-reset", json={"email": "ANN@example.com"})
    token = await mailbox.token("ann@example.com")
    done = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": "my fresh passphrase"}
    )
    assert done.status_code == 204
    assert (await client.get("/api/auth/me", headers=bearer(old))).status_code == 401
    assert (await sign_in(client, password="my fresh passphrase"))["access_token"]
    reused = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": "another passphrase"}
    )
    assert reused.status_code == 410


async def test_a_reset_token_dies_when_the_password_changes(
    client: AsyncClient, user: User, mailbox: Mailbox
) -> None:
    await client.post("/api/auth/password-reset", json={"email": "ann@example.com"})
    token = await mailbox.token("ann@example.com")
    headers = bearer(await sign_in(client))
    changed = await client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "changed by hand 1"},
        headers=headers,
    )
    assert changed.status_code == 204
    late = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": "sneaky pass 1"}
    )
    assert late.status_code == 410
    assert (await sign_in(client, password="changed by hand 1"))["access_token"]


async def test_a_reset_refuses_a_common_password_and_keeps_the_token(
    client: AsyncClient, user: User, mailbox: Mailbox
) -> None:
    await client.post("/api/auth/password-reset", json={"email": "ann@example.com"})
    token = await mailbox.token("ann@example.com")
    weak = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": "password123"}
    )
    assert weak.status_code == 422
    good = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": "good new phrase"}
    )
    assert good.status_code == 204


# --- emailed sign-in codes ------------------------------------------------------------------


async def test_sign_in_with_a_mailed_code(client: AsyncClient, user: User, mailbox: Mailbox) -> None:
    requested = await client.post("/api/auth/login/code", json={"email": "ann@example.com"})
    assert requested.status_code == 202
    code = await mailbox.code("ann@example.com")
    signed_in = await client.post(
        "/api/auth/login/code/verify", json={"email": "ann@example.com", "code": code}
    )
    assert signed_in.status_code == 200
    assert (await client.get("/api/auth/sessions", headers=bearer(signed_in.json()))).json()["items"][0][
        "method"
    ] == "email_code"
    reused = await client.post("/api/auth/login/code/verify", json={"email": "ann@example.com", "code": code})
    assert reused.status_code == 401


async def test_codes_are_hashed_at_rest(
    session: AsyncSession, client: AsyncClient, user: User, mailbox: Mailbox
) -> None:
    await client.post("/api/auth/login/code", json={"email": "ann@example.com"})
    code = await mailbox.code("ann@example.com")
    stored = await session.scalar(select(OneTimeToken.token_hash).where(OneTimeToken.purpose == "login_code"))
    assert stored is not None
    assert code not in stored
    assert len(stored) == 64


async def test_five_wrong_codes_kill_the_code(client: AsyncClient, user: User, mailbox: Mailbox) -> None:
    await client.post("/api/auth/login/code", json={"email": "ann@example.com"})
    code = await mailbox.code("ann@example.com")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = await client.post(
            "/api/auth/login/code/verify", json={"email": "ann@example.com", "code": wrong}
        )
        assert response.status_code == 401
    late = await client.post("/api/auth/login/code/verify", json={"email": "ann@example.com", "code": code})
    assert late.status_code == 401
    assert late.json()["code"] == "invalid_code"


async def test_an_expired_code_and_an_unknown_email_are_401(
    client: AsyncClient, session: AsyncSession, user: User, mailbox: Mailbox
) -> None:
    await client.post("/api/auth/login/code", json={"email": "ann@example.com"})
    code = await mailbox.code("ann@example.com")
    await session.execute(update(OneTimeToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    expired = await client.post(
        "/api/auth/login/code/verify", json={"email": "ann@example.com", "code": code}
    )
    assert expired.status_code == 401
    unknown = await client.post(
        "/api/auth/login/code/verify", json={"email": "nobody@example.com", "code": code}
    )
    assert unknown.status_code == 401
    assert (
        await client.post("/api/auth/login/code", json={"email": "nobody@example.com"})
    ).status_code == 202
    malformed = await client.post(
        "/api/auth/login/code/verify", json={"email": "ann@example.com", "code": "12ab56"}
    )
    assert malformed.status_code == 422


# --- authenticator apps (TOTP) --------------------------------------------------------------


async def _enrol(client: AsyncClient, headers: dict[str, str]) -> tuple[pyotp.TOTP, list[str]]:
    started = await client.post("/api/auth/totp", headers=headers)
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/Sixty:ann%40example.com?secret=")
    png = await client.get(body["qr_code_url"], headers=headers)
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png.content[16:24])
    assert width == height > 100
    totp = pyotp.TOTP(body["secret"])
    wrong = await client.post(
        "/api/auth/totp/confirm",
        json={"code": "000000" if totp.now() != "000000" else "111111"},
        headers=headers,
    )
    assert wrong.status_code == 422
    confirmed = await client.post("/api/auth/totp/confirm", json={"code": totp.now()}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["codes"]
    return totp, codes


async def _challenge(client: AsyncClient) -> str:
    response = await client.post("/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"
    token: str = response.json()["mfa_token"]
    return token


async def test_totp_enrolment_then_sign_in_needs_the_code(
    client: AsyncClient, user: User, user_headers: dict[str, str]
) -> None:
    totp, codes = await _enrol(client, user_headers)
    assert len(codes) == 10
    assert (await client.get("/api/auth/me", headers=user_headers)).json()["totp_enabled"] is True
    token = await _challenge(client)
    # The code used to confirm the enrolment cannot be used again within its window.
    replay = await client.post("/api/auth/login/mfa", json={"mfa_token": token, "code": totp.now()})
    assert replay.status_code == 401
    next_step = totp.at(datetime.now(UTC) + timedelta(seconds=30))
    signed_in = await client.post("/api/auth/login/mfa", json={"mfa_token": token, "code": next_step})
    assert signed_in.status_code == 200, signed_in.text
    again = await client.post(
        "/api/auth/login/mfa", json={"mfa_token": await _challenge(client), "code": next_step}
    )
    assert again.status_code == 401


async def test_a_code_two_steps_away_is_refused(
    client: AsyncClient, user: User, user_headers: dict[str, str]
) -> None:
    totp, _ = await _enrol(client, user_headers)
    token = await _challenge(client)
    far = totp.at(datetime.now(UTC) + timedelta(seconds=95))
    assert (
        await client.post("/api/auth/login/mfa", json={"mfa_token": token, "code": far})
    ).status_code == 401


async def test_recovery_codes_work_once(
    client: AsyncClient, user: User, user_headers: dict[str, str]
) -> None:
    _, codes = await _enrol(client, user_headers)
    token = await _challenge(client)
    first = await client.post("/api/auth/login/mfa", json={"mfa_token": token, "code": codes[0].upper()})
    assert first.status_code == 200
    second = await client.post(
        "/api/auth/login/mfa", json={"mfa_token": await _challenge(client), "code": codes[0]}
    )
    assert second.status_code == 401


@pytest.mark.parametrize("token", ["not-a-token-at-all", "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"])
async def test_a_bad_mfa_token_is_401(client: AsyncClient, user: User, token: str) -> None:
    response = await client.post("/api/auth/login/mfa", json={"mfa_token": token, "code": "123456"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_mfa_token"


async def test_an_access_token_is_not_an_mfa_token(client: AsyncClient, user: User) -> None:
    access = (await sign_in(client))["access_token"]
    response = await client.post("/api/auth/login/mfa", json={"mfa_token": access, "code": "123456"})
    assert response.status_code == 401


async def test_totp_can_be_disabled_with_a_code(
    client: AsyncClient, user: User, user_headers: dict[str, str]
) -> None:
    _, codes = await _enrol(client, user_headers)
    assert (await client.post("/api/auth/totp", headers=user_headers)).status_code == 409
    wrong = await client.post("/api/auth/totp/disable", json={"code": "12345678"}, headers=user_headers)
    assert wrong.status_code == 401
    off = await client.post("/api/auth/totp/disable", json={"code": codes[1]}, headers=user_headers)
    assert off.status_code == 204
    assert (await sign_in(client))["access_token"]
    assert (
        await client.post("/api/auth/totp/disable", json={"code": codes[2]}, headers=user_headers)
    ).status_code == 409


async def test_totp_steps_need_a_started_enrolment(client: AsyncClient, user_headers: dict[str, str]) -> None:
    assert (await client.get("/api/auth/totp/qr.png", headers=user_headers)).status_code == 409
    assert (
        await client.post("/api/auth/totp/confirm", json={"code": "123456"}, headers=user_headers)
    ).status_code == 409


async def test_email_codes_lead_to_the_second_factor_too(
    client: AsyncClient, user: User, user_headers: dict[str, str], mailbox: Mailbox, app: FastAPI
) -> None:
    await _enrol(client, user_headers)
    await client.post("/api/auth/login/code", json={"email": "ann@example.com"})
    code = await mailbox.code("ann@example.com")
    response = await client.post(
        "/api/auth/login/code/verify", json={"email": "ann@example.com", "code": code}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"
