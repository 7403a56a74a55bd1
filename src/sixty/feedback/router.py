"""B15 Feedback collector: `/api/feedback`. HTTP only: parse, call the service, shape the response.

Staff (permission `feedback:manage`) build forms under `/forms`; anyone with a form's link
(`/f/{public_id}`) reads it and responds, signed in or not. An anonymous respondent's device
is told again by a cookie this router issues with the first response.
"""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic.config import JsonDict

from sixty.core.config import Settings
from sixty.core.deps import ReaderDep, SessionDep, SettingsDep
from sixty.core.errors import problem_responses
from sixty.core.pagination import CursorCodec, PageParamsDep, cursor_codec
from sixty.core.ratelimit import check_rate_limit, client_ip, rate_limit_responses, rate_policy
from sixty.core.reader import Row
from sixty.core.routing import module_router
from sixty.core.security import OptionalPrincipal, Principal, require
from sixty.feedback import service
from sixty.feedback.schemas import (
    FORM_EXAMPLE,
    PUBLIC_FORM_EXAMPLE,
    PUBLIC_ID_PATTERN,
    QUESTION_READ_EXAMPLES,
    RESPONSE_CREATED_EXAMPLE,
    RESPONSE_EXAMPLE,
    SUMMARY_EXAMPLE,
    FormCreate,
    FormPage,
    FormRead,
    FormSort,
    FormStatus,
    FormSummary,
    FormUpdate,
    PublicFormRead,
    QuestionRead,
    QuestionSpec,
    QuestionsReplace,
    ResponseCreate,
    ResponseCreated,
    ResponseModeration,
    ResponsePage,
    ResponseRead,
    ResponseSort,
)

router = module_router("/api/feedback", "feedback")

RESPOND_PER_IP = rate_policy("feedback.respond.ip", "30/hour")
DEVICE_COOKIE = "sixty_feedback_device"
# What `secrets.token_urlsafe(32)` makes; any other value is ignored and replaced.
DEVICE_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")

CodecDep = Annotated[CursorCodec, Depends(cursor_codec)]
StaffDep = Annotated[Principal, Depends(require(service.MANAGE))]
PublicId = Annotated[str, Path(min_length=1, max_length=64, pattern=PUBLIC_ID_PATTERN)]


def _ok(example: Any, *statuses: int, code: int = 200) -> dict[int | str, Any]:
    return {code: {"content": {"application/json": {"example": example}}}, **problem_responses(*statuses)}


def _created(example: JsonDict, *statuses: int) -> dict[int | str, Any]:
    responses = _ok(example, *statuses, code=201)
    responses[201]["headers"] = {
        "Location": {"description": "The new form's URL.", "schema": {"type": "string"}}
    }
    return responses


def _page(example: JsonDict) -> JsonDict:
    return {"items": [example], "next_cursor": None}


def _form_read(form: Row, request: Request, settings: Settings) -> FormRead:
    base = settings.public_base_url or str(request.base_url)
    url = f"{base.rstrip('/')}/api/feedback/f/{form['public_id']}"
    return FormRead.model_validate({**form, "url": url})


# --- staff: forms -----------------------------------------------------------------------------


@router.post(
    "/forms",
    status_code=status.HTTP_201_CREATED,
    summary="Create a feedback form",
    description="A draft form with its questions, in order (staff: `feedback:manage`). Question kinds: "
    "`rating` (1..5), `nps` (0..10), `text` (`max_length`, default 2000), `single_choice` and "
    "`multiple_choice` (`choices`, and `min_selections`/`max_selections`); each `required` or not. "
    "`one_response_per_respondent` takes one response per account, or per device for anonymous "
    "respondents. The form is public (at `url`) once published.",
    response_model=FormRead,
    responses=_created(FORM_EXAMPLE, 401, 403, 413, 415, 422),
)
async def create_form(
    data: FormCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    staff: StaffDep,
) -> FormRead:
    form = await service.create_form(session, data, by=staff.user_id, moment=service.now())
    response.headers["Location"] = request.url_for("get_form", form_id=str(form.id)).path
    return _form_read(await service.form_view(session, form.id), request, settings)


@router.get(
    "/forms",
    summary="List feedback forms",
    description="Forms, newest first (staff), with their response counts; `status` keeps `draft`, "
    "`open` or `closed` ones. Cursor-paginated.",
    response_model=FormPage,
    responses=_ok(
        _page({k: v for k, v in FORM_EXAMPLE.items() if k not in ("questions", "url")}), 401, 403, 422
    ),
)
async def list_forms(
    reader: ReaderDep,
    page: PageParamsDep,
    codec: CodecDep,
    _: StaffDep,
    status_filter: Annotated[
        FormStatus | None, Query(alias="status", description="draft, open or closed.")
    ] = None,
    sort: Annotated[FormSort, Query(description="Sort key; `-` prefix for descending.")] = "-created_at",
) -> FormPage:
    rows, next_cursor = await service.list_forms(
        reader, params=page, codec=codec, status=status_filter, sort=sort
    )
    return FormPage.model_validate({"items": rows, "next_cursor": next_cursor})


@router.get(
    "/forms/{form_id}",
    name="get_form",
    summary="Read a feedback form",
    description="The form with its questions, its public link and how many responses it has (staff).",
    response_model=FormRead,
    responses=_ok(FORM_EXAMPLE, 401, 403, 404, 422),
)
async def get_form(
    form_id: uuid.UUID, request: Request, reader: ReaderDep, settings: SettingsDep, _: StaffDep
) -> FormRead:
    return _form_read(await service.read_form(reader, form_id), request, settings)


@router.patch(
    "/forms/{form_id}",
    summary="Edit a feedback form",
    description="Changes the fields sent (staff); `description: null` clears it. Once the form has "
    "responses, only the title and description change: other settings are 409 (`form_has_responses`).",
    response_model=FormRead,
    responses=_ok(FORM_EXAMPLE, 401, 403, 404, 409, 413, 415, 422),
)
async def update_form(
    form_id: uuid.UUID,
    data: FormUpdate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _: StaffDep,
) -> FormRead:
    await service.update_form(session, form_id, data)
    return _form_read(await service.form_view(session, form_id), request, settings)


@router.delete(
    "/forms/{form_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a feedback form",
    description="The form, its questions and every response to it (staff).",
    response_class=Response,
    responses={204: {"description": "Deleted."}, **problem_responses(401, 403, 404, 422)},
)
async def delete_form(form_id: uuid.UUID, session: SessionDep, _: StaffDep) -> None:
    await service.delete_form(session, form_id)


@router.put(
    "/forms/{form_id}/questions",
    summary="Replace a form's questions",
    description="The whole list, in order, with new ids (staff). Only while the form has no responses: "
    "afterwards 409 (`form_has_responses`), and only appending optional questions is allowed.",
    response_model=FormRead,
    responses=_ok(FORM_EXAMPLE, 401, 403, 404, 409, 413, 415, 422),
)
async def replace_questions(
    form_id: uuid.UUID,
    data: QuestionsReplace,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _: StaffDep,
) -> FormRead:
    await service.replace_questions(session, form_id, data.questions)
    return _form_read(await service.form_view(session, form_id), request, settings)


@router.post(
    "/forms/{form_id}/questions",
    status_code=status.HTTP_201_CREATED,
    summary="Append a question",
    description="Adds a question at the end (staff). Once the form has responses it must be optional "
    "(409 `form_has_responses` otherwise): earlier responses could not answer it. At most 100 "
    "questions (409 `too_many_questions`).",
    response_model=QuestionRead,
    responses=_ok(QUESTION_READ_EXAMPLES[0], 401, 403, 404, 409, 413, 415, 422, code=201),
)
async def add_question(
    form_id: uuid.UUID, data: QuestionSpec, session: SessionDep, _: StaffDep
) -> QuestionRead:
    return QuestionRead.model_validate(await service.add_question(session, form_id, data))


@router.post(
    "/forms/{form_id}/publish",
    summary="Publish (or reopen) a form",
    description="Opens a draft to responses (it needs a question: 409 `form_has_no_questions`), or "
    "reopens a closed form. Publishing an open form changes nothing (staff).",
    response_model=FormRead,
    responses=_ok(FORM_EXAMPLE, 401, 403, 404, 409, 422),
)
async def publish_form(
    form_id: uuid.UUID, request: Request, session: SessionDep, settings: SettingsDep, _: StaffDep
) -> FormRead:
    await service.publish_form(session, form_id, moment=service.now())
    return _form_read(await service.form_view(session, form_id), request, settings)


@router.post(
    "/forms/{form_id}/close",
    summary="Close a form",
    description="Stops taking responses: respondents then get 410 (`form_closed`); the form, its "
    "responses and its summary stay readable. 409 (`form_is_draft`) for a draft (staff).",
    response_model=FormRead,
    responses=_ok({**FORM_EXAMPLE, "status": "closed"}, 401, 403, 404, 409, 422),
)
async def close_form(
    form_id: uuid.UUID, request: Request, session: SessionDep, settings: SettingsDep, _: StaffDep
) -> FormRead:
    await service.close_form(session, form_id, moment=service.now())
    return _form_read(await service.form_view(session, form_id), request, settings)


# --- staff: responses -------------------------------------------------------------------------


@router.get(
    "/forms/{form_id}/responses",
    summary="List a form's responses",
    description="Responses with their answers (question id -> answer), newest first (staff). "
    "`hidden=true|false` keeps hidden or visible ones only. Cursor-paginated.",
    response_model=ResponsePage,
    responses=_ok(_page(RESPONSE_EXAMPLE), 401, 403, 404, 422),
)
async def list_responses(
    form_id: uuid.UUID,
    reader: ReaderDep,
    page: PageParamsDep,
    codec: CodecDep,
    _: StaffDep,
    hidden: Annotated[bool | None, Query(description="Only hidden (true) or visible (false) ones.")] = None,
    sort: Annotated[ResponseSort, Query(description="Sort key; `-` prefix for descending.")] = "-created_at",
) -> ResponsePage:
    rows, next_cursor = await service.list_responses(
        reader, form_id, params=page, codec=codec, hidden=hidden, sort=sort
    )
    return ResponsePage.model_validate({"items": rows, "next_cursor": next_cursor})


@router.patch(
    "/forms/{form_id}/responses/{response_id}",
    summary="Hide or show a response",
    description="Moderation (staff): a hidden response is left out of the summary and the export, and "
    "still counts as its respondent's one response.",
    response_model=ResponseRead,
    responses=_ok(
        {**RESPONSE_EXAMPLE, "hidden": True, "hidden_at": RESPONSE_EXAMPLE["created_at"]},
        401,
        403,
        404,
        413,
        415,
        422,
    ),
)
async def moderate_response(
    form_id: uuid.UUID, response_id: uuid.UUID, data: ResponseModeration, session: SessionDep, staff: StaffDep
) -> ResponseRead:
    row = await service.set_hidden(
        session, form_id, response_id, hidden=data.hidden, by=staff.user_id, moment=service.now()
    )
    return ResponseRead.model_validate(row)


@router.get(
    "/forms/{form_id}/summary",
    summary="Summarize a form's responses",
    description="Per question (staff): how many visible responses answered it; for ratings and NPS the "
    "average and every score's count, and for NPS questions the score: % promoters (9-10) minus % "
    "detractors (0-6); for choice questions how often each choice was picked. Hidden responses are "
    "left out. Computed by the database.",
    response_model=FormSummary,
    responses=_ok(SUMMARY_EXAMPLE, 401, 403, 404, 422),
)
async def summarize(form_id: uuid.UUID, reader: ReaderDep, _: StaffDep) -> FormSummary:
    return FormSummary.model_validate(await service.summarize(reader, form_id))


CSV_EXAMPLE = (
    "response_id,submitted_at,user_id,hidden,How was the talk?,Which sessions did you attend?\r\n"
    "6e5d4c3b-2a19-4876-9f5e-4d3c2b1a0f9e,2026-11-26T09:30:00.123456+00:00,,false,5,Keynote; Panel\r\n"
)


@router.get(
    "/forms/{form_id}/responses.csv",
    summary="Export a form's responses as CSV",
    description="Streamed (staff): a header row (`response_id`, `submitted_at`, `user_id`, `hidden`, then "
    "one column per question, named by its prompt), then one row per response, oldest first; multiple "
    "choices are joined with `; `. Hidden responses are left out unless `include_hidden=true`. Cells "
    "that start with `=`, `+`, `-`, `@`, tab or CR are prefixed with `'`, so a spreadsheet shows them "
    "and never runs them as formulas.",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE}}},
        **problem_responses(401, 403, 404, 422),
    },
)
async def export_responses(
    form_id: uuid.UUID,
    reader: ReaderDep,
    _: StaffDep,
    include_hidden: Annotated[bool, Query(description="Export hidden responses too.")] = False,
) -> StreamingResponse:
    form = await service.form_for_export(reader, form_id)  # a 404 before the stream starts
    return StreamingResponse(
        service.export_rows(reader, form_id, include_hidden=include_hidden),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="feedback-{form["public_id"]}.csv"'},
    )


# --- respondents ------------------------------------------------------------------------------


def _device(request: Request) -> str | None:
    value = request.cookies.get(DEVICE_COOKIE)
    return value if value is not None and DEVICE_TOKEN.fullmatch(value) else None


def _respondent(request: Request, principal: Principal | None) -> service.Respondent:
    return service.Respondent(user_id=principal.user_id if principal else None, device=_device(request))


@router.get(
    "/f/{public_id}",
    name="get_public_form",
    summary="Read a form to answer it",
    description="The form behind a link, anonymous or signed in: its questions, whether it is `open` "
    "or `closed`, and whether the caller (account, or this device's cookie) has responded already. "
    "A draft is not public (404).",
    response_model=PublicFormRead,
    responses=_ok(PUBLIC_FORM_EXAMPLE, 401, 404, 422),
)
async def get_public_form(
    public_id: PublicId, request: Request, reader: ReaderDep, principal: OptionalPrincipal
) -> PublicFormRead:
    form = await service.read_public_form(reader, public_id, respondent=_respondent(request, principal))
    return PublicFormRead.model_validate(form)


@router.post(
    "/f/{public_id}/responses",
    status_code=status.HTTP_201_CREATED,
    summary="Respond to a form",
    description="Answers, by question id, checked against the form: unknown questions, answers of the "
    "wrong type, scores out of range, choices not offered, a wrong number of picks, text too long and "
    "missing required answers are each listed in one 422, and nothing is stored. 410 (`form_closed`) "
    "when the form is closed, 401 when it takes signed-in accounts only. When the form takes one "
    "response per respondent, a second one is 409 (`already_responded`), however many are sent at "
    "once: per account when signed in, else per device, told by the `sixty_feedback_device` cookie "
    "that the first anonymous response sets. Anonymous responses are limited per client address "
    "(`feedback.respond.ip`).",
    response_model=ResponseCreated,
    responses={
        **_ok(RESPONSE_CREATED_EXAMPLE, 401, 404, 409, 410, 413, 415, 422, code=201),
        **rate_limit_responses(),
    },
)
async def respond(
    public_id: PublicId,
    data: ResponseCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: OptionalPrincipal,
) -> ResponseCreated:
    respondent = _respondent(request, principal)
    if principal is None:
        await check_rate_limit(request, RESPOND_PER_IP, client_ip(request))
        if respondent.device is None:
            respondent = service.Respondent(device=secrets.token_urlsafe(32))
            response.set_cookie(
                DEVICE_COOKIE,
                respondent.device or "",
                max_age=int(settings.feedback_device_ttl.total_seconds()),
                path="/api/feedback",
                secure=request.url.scheme == "https",
                httponly=True,
                samesite="lax",
            )
    created = await service.submit_response(
        session, public_id, data, respondent=respondent, moment=service.now()
    )
    return ResponseCreated(id=created.id, submitted_at=created.created_at)
