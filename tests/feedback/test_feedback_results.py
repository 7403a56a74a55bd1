"""B15: what staff get out: responses with their answers, moderation, the summary computed by the
database (hidden responses left out), and the streamed CSV export, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sixty.auth.models import User
from sixty.feedback import service
from sixty.feedback.models import FeedbackForm
from tests.factories.feedback import create_form, question_ids, respond

FORMS = "/api/feedback/forms"


async def answered_form(
    session: AsyncSession, answers: list[dict[int, Any]]
) -> tuple[FeedbackForm, list[str], list[uuid.UUID]]:
    """A form of the five kinds with `answers` (by question index), a second apart, oldest first."""
    form = await create_form(session)
    ids = await question_ids(session, form)
    start = service.now() - timedelta(hours=1)
    made = []
    for offset, by_index in enumerate(answers):
        response = await respond(
            session,
            form,
            {ids[index]: value for index, value in by_index.items()},
            moment=start + timedelta(seconds=offset),
        )
        made.append(response.id)
    return form, ids, made


async def test_the_summary_counts_averages_distributes_and_scores_nps(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    nps_scores = [10, 9, 9, 8, 7, 6, 3]  # 3 promoters, 2 detractors of 7: NPS = 100 * 1/7 = 14.3
    answers: list[dict[int, Any]] = [
        {0: rating, 1: score, 3: day, 4: picks}
        for rating, score, day, picks in zip(
            [5, 5, 4, 4, 4, 2, 1],
            nps_scores,
            ["Friday", "Friday", "Saturday", "Friday", "Friday", "Friday", "Saturday"],
            [
                ["Keynote"],
                ["Keynote", "Panel"],
                ["Panel"],
                ["Keynote"],
                ["Workshop", "Panel"],
                ["Keynote"],
                ["Panel"],
            ],
            strict=True,
        )
    ]
    answers.append({0: 3, 2: "Great venue"})  # skips the NPS question
    form, ids, _ = await answered_form(session, answers)
    response = await client.get(f"{FORMS}/{form.id}/summary", headers=staff_headers)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["form_id"], summary["responses"], summary["hidden_responses"]) == (str(form.id), 8, 0)
    rating, nps, text, day, sessions = summary["questions"]
    assert [q["question_id"] for q in summary["questions"]] == ids

    assert (rating["kind"], rating["count"], rating["average"], rating["nps"]) == ("rating", 8, 3.5, None)
    assert rating["distribution"] == [
        {"value": 1, "count": 1},
        {"value": 2, "count": 1},
        {"value": 3, "count": 1},
        {"value": 4, "count": 3},
        {"value": 5, "count": 2},
    ]
    assert (nps["count"], nps["average"], nps["nps"]) == (7, 7.43, 14.3)
    assert [bucket["value"] for bucket in nps["distribution"]] == list(range(11))
    assert {bucket["value"]: bucket["count"] for bucket in nps["distribution"] if bucket["count"]} == {
        3: 1,
        6: 1,
        7: 1,
        8: 1,
        9: 2,
        10: 1,
    }
    assert (text["count"], text["average"], text["nps"], text["distribution"]) == (1, None, None, [])
    assert day["distribution"] == [{"value": "Friday", "count": 5}, {"value": "Saturday", "count": 2}]
    assert sessions["distribution"] == [
        {"value": "Keynote", "count": 4},
        {"value": "Workshop", "count": 1},
        {"value": "Panel", "count": 4},
    ]
    assert sessions["count"] == 7


async def test_nps_ranges_from_minus_100_to_100_and_is_null_without_scores(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    empty, _, _ = await answered_form(session, [])
    summary = (await client.get(f"{FORMS}/{empty.id}/summary", headers=staff_headers)).json()
    nps = summary["questions"][1]
    assert (summary["responses"], nps["count"], nps["average"], nps["nps"]) == (0, 0, None, None)
    assert all(bucket["count"] == 0 for bucket in nps["distribution"])

    detractors, _, _ = await answered_form(session, [{0: 1, 1: 0}, {0: 1, 1: 6}])
    promoters, _, _ = await answered_form(session, [{0: 1, 1: 9}, {0: 1, 1: 10}])
    passives, _, _ = await answered_form(session, [{0: 1, 1: 7}, {0: 1, 1: 8}])
    for form, expected in ((detractors, -100.0), (promoters, 100.0), (passives, 0.0)):
        summary = (await client.get(f"{FORMS}/{form.id}/summary", headers=staff_headers)).json()
        assert summary["questions"][1]["nps"] == expected


async def test_hidden_responses_leave_the_summary_and_the_export_and_come_back(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str], staff: User
) -> None:
    form, ids, made = await answered_form(session, [{0: 5, 1: 10}, {0: 1, 1: 0, 2: "spam spam"}])
    url = f"{FORMS}/{form.id}/responses/{made[1]}"
    hidden = await client.patch(url, json={"hidden": True}, headers=staff_headers)
    assert hidden.status_code == 200, hidden.text
    body = hidden.json()
    assert (body["id"], body["hidden"]) == (str(made[1]), True)
    assert body["hidden_at"] is not None
    assert body["answers"] == {ids[0]: 1, ids[1]: 0, ids[2]: "spam spam"}

    summary = (await client.get(f"{FORMS}/{form.id}/summary", headers=staff_headers)).json()
    assert (summary["responses"], summary["hidden_responses"]) == (1, 1)
    rating, nps, text, *_ = summary["questions"]
    assert (rating["count"], rating["average"], nps["nps"], text["count"]) == (1, 5.0, 100.0, 0)

    export = await client.get(f"{FORMS}/{form.id}/responses.csv", headers=staff_headers)
    rows = list(csv.reader(io.StringIO(export.text)))
    assert [row[0] for row in rows[1:]] == [str(made[0])]
    everything = await client.get(
        f"{FORMS}/{form.id}/responses.csv", params={"include_hidden": "true"}, headers=staff_headers
    )
    rows = list(csv.reader(io.StringIO(everything.text)))
    assert [(row[0], row[3]) for row in rows[1:]] == [(str(made[0]), "false"), (str(made[1]), "true")]

    listed = await client.get(
        f"{FORMS}/{form.id}/responses", params={"hidden": "true"}, headers=staff_headers
    )
    assert [item["id"] for item in listed.json()["items"]] == [str(made[1])]
    visible = await client.get(
        f"{FORMS}/{form.id}/responses", params={"hidden": "false"}, headers=staff_headers
    )
    assert [item["id"] for item in visible.json()["items"]] == [str(made[0])]

    shown = (await client.patch(url, json={"hidden": False}, headers=staff_headers)).json()
    assert (shown["hidden"], shown["hidden_at"]) == (False, None)
    assert (await client.get(f"{FORMS}/{form.id}/summary", headers=staff_headers)).json()["responses"] == 2


async def test_moderation_of_a_response_of_another_form_or_none_is_404(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    form, _, made = await answered_form(session, [{0: 5}])
    other, _, _ = await answered_form(session, [{0: 4}])
    for url in (f"{FORMS}/{other.id}/responses/{made[0]}", f"{FORMS}/{form.id}/responses/{uuid.uuid4()}"):
        response = await client.patch(url, json={"hidden": True}, headers=staff_headers)
        assert response.status_code == 404
    for body in ({}, {"hidden": None}, {"hidden": "maybe"}, {"hidden": True, "reason": "x"}):
        response = await client.patch(
            f"{FORMS}/{form.id}/responses/{made[0]}", json=body, headers=staff_headers
        )
        assert response.status_code == 422, body
    listed = (await client.get(f"{FORMS}/{form.id}/responses", headers=staff_headers)).json()
    assert listed["items"][0]["hidden"] is False


async def test_responses_page_newest_first_with_cursors(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    form, ids, made = await answered_form(session, [{0: 1}, {0: 2, 4: ["Panel"]}, {0: 3, 3: "Friday"}])
    url = f"{FORMS}/{form.id}/responses"
    first = (await client.get(url, params={"limit": 2}, headers=staff_headers)).json()
    assert [item["id"] for item in first["items"]] == [str(made[2]), str(made[1])]
    assert [item["answers"] for item in first["items"]] == [
        {ids[0]: 3, ids[3]: "Friday"},
        {ids[0]: 2, ids[4]: ["Panel"]},
    ]
    rest = (
        await client.get(url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=staff_headers)
    ).json()
    assert [(item["id"], item["answers"]) for item in rest["items"]] == [(str(made[0]), {ids[0]: 1})]
    assert rest["next_cursor"] is None
    oldest = (await client.get(url, params={"sort": "created_at", "limit": 1}, headers=staff_headers)).json()
    assert [item["id"] for item in oldest["items"]] == [str(made[0])]
    for params in ({"hidden": "maybe"}, {"sort": "score"}, {"cursor": "bad"}):
        assert (await client.get(url, params=params, headers=staff_headers)).status_code == 422


async def test_the_export_has_a_column_per_question_and_a_row_per_response(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str], staff: User
) -> None:
    form, _ids, made = await answered_form(
        session,
        [
            {0: 5, 1: 9, 2: 'Loved it, "truly"\nsee you', 3: "Friday", 4: ["Keynote", "Panel"]},
            {0: 2},
        ],
    )
    response = await client.get(f"{FORMS}/{form.id}/responses.csv", headers=staff_headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="feedback-{form.public_id}.csv"'
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "response_id",
        "submitted_at",
        "user_id",
        "hidden",
        "How was the talk?",
        "How likely are you to recommend us?",
        "Anything else?",
        "Which day?",
        "Which sessions?",
    ]
    assert rows[1][0] == str(made[0])
    assert rows[1][2:] == ["", "false", "5", "9", 'Loved it, "truly"\nsee you', "Friday", "Keynote; Panel"]
    assert rows[2][2:] == ["", "false", "2", "", "", "", ""]
    assert len(rows) == 3


async def test_the_export_neutralises_formulas(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    form = await create_form(
        session,
        questions=[
            {"kind": "text", "prompt": '=HYPERLINK("http://evil.example")'},
            {"kind": "single_choice", "prompt": "Pick", "choices": ["-1+1", "@SUM(A1)"]},
        ],
    )
    text, pick = await question_ids(session, form)
    hostile = ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1", "plain = fine"]
    for value in hostile:
        await respond(session, form, {text: value, pick: "@SUM(A1)"})
    response = await client.get(f"{FORMS}/{form.id}/responses.csv", headers=staff_headers)
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][4:] == ['\'=HYPERLINK("http://evil.example")', "Pick"]
    # Text answers are stored without surrounding blanks: "\t=1" arrives as "=1".
    assert [row[4] for row in rows[1:]] == [
        "'=1+2",
        "'+cmd|' /C calc'!A0",
        "'-2+3",
        "'@SUM(A1:A9)",
        "'=1",
        "plain = fine",
    ]
    assert {row[5] for row in rows[1:]} == {"'@SUM(A1)"}
    assert service.neutralize("\rx") == "'\rx"
    assert service.neutralize("safe") == "safe"


async def test_the_export_streams_in_batches(
    client: AsyncClient, session: AsyncSession, staff_headers: dict[str, str]
) -> None:
    """More responses than one batch: every one exported once, in order."""
    form = await create_form(session, questions=[{"kind": "nps", "prompt": "Score"}])
    [score] = await question_ids(session, form)
    start = service.now() - timedelta(days=1)
    count = service.EXPORT_BATCH + 7
    for index in range(count):
        await respond(session, form, {score: index % 11}, moment=start + timedelta(seconds=index // 2))
    response = await client.get(f"{FORMS}/{form.id}/responses.csv", headers=staff_headers)
    rows = list(csv.reader(io.StringIO(response.text)))[1:]
    assert len(rows) == count
    assert len({row[0] for row in rows}) == count
    assert [row[1] for row in rows] == sorted(row[1] for row in rows)
    assert sorted(int(row[4]) for row in rows) == sorted(index % 11 for index in range(count))
