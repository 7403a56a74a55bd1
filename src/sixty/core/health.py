"""Liveness, readiness and metrics: served whatever SIXTY_MODULES says."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.responses import Response

logger = logging.getLogger("sixty.health")

router = APIRouter(tags=["health"])

READY_TIMEOUT_SECONDS = 2.0


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get(
    "/healthz",
    summary="Liveness",
    description="Answers 200 while the process is up; checks nothing else.",
    response_model=Health,
    responses={200: {"content": {"application/json": {"example": {"status": "ok", "checks": {}}}}}},
)
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness",
    description="200 when the database (and Redis, when configured) answer; 503 otherwise, "
    "so a load balancer stops sending traffic here.",
    response_model=Health,
    responses={
        200: {"content": {"application/json": {"example": {"status": "ok", "checks": {"database": "ok"}}}}},
        503: {
            "model": Health,
            "description": "A dependency is down.",
            "content": {
                "application/json": {
                    "example": {"status": "unavailable", "checks": {"database": "error: OperationalError"}}
                }
            },
        },
    },
)
async def readyz(request: Request) -> Response:
    checks: dict[str, str] = {}
    probes = {"database": request.app.state.db.ping(), "cache": request.app.state.cache.ping()}
    for name, probe in probes.items():
        try:
            await asyncio.wait_for(probe, READY_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except Exception as exc:  # any failure means "not ready", and is logged
            logger.warning("readiness check failed", extra={"check": name, "error": repr(exc)})
            checks[name] = f"error: {type(exc).__name__}"
    ok = all(value == "ok" for value in checks.values())
    body = Health(status="ok" if ok else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Request counts and latency histograms by route template, in the Prometheus text format.",
    response_class=Response,
    responses={
        200: {
            "content": {
                CONTENT_TYPE_LATEST: {
                    "schema": {"type": "string"},
                    "example": 'http_requests_total{method="GET",route="/api/hello",status="200"} 42.0\n',
                }
            }
        }
    },
)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
