"""A contact's or lead's engagement timeline drawn as a chart: one lane per kind of interaction
(sends, opens, clicks, page views, forms) along time, with the first and last interaction, and
the same events as a table (what a screen reader and a keyboard read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from shared.console.auth import Viewer
from shared.console.pages import Pages
from shared.console.views import parse_time

LANES: Final = (
    ("sent", "Sends"),
    ("opened", "Opens"),
    ("clicked", "Clicks"),
    ("page_view", "Page views"),
    ("form_response", "Forms"),
)
PEOPLE: Final = {"contact": "contacts", "lead": "leads"}
# The chart's geometry (SVG user units; it scales to the page's width).
WIDTH: Final = 1000
LEFT: Final = 110
RIGHT: Final = 20
LANE: Final = 36
TOP: Final = 10
TICKS: Final = 5


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    kind: str
    label: str


@dataclass(frozen=True)
class Chart:
    height: int
    lanes: list[tuple[float, str]]  # (y, name)
    ticks: list[tuple[float, str]]  # (x, date)
    dots: list[Dot]
    axis_y: float


def chart(events: list[dict[str, Any]]) -> Chart | None:
    """Each event a dot in its kind's lane, placed by time between the first and last shown."""
    moments = [(event, parse_time(event["when"])) for event in events]
    dated = [(event, moment) for event, moment in moments if moment is not None]
    if not dated:
        return None
    start = min(moment for _, moment in dated)
    end = max(moment for _, moment in dated)
    if end - start < timedelta(hours=1):  # one moment: a day either side
        start, end = start - timedelta(days=1), end + timedelta(days=1)
    span = (end - start).total_seconds()
    inner = WIDTH - LEFT - RIGHT
    lanes = {kind: TOP + LANE * n + LANE / 2 for n, (kind, _) in enumerate(LANES)}

    def x_of(moment: datetime) -> float:
        return round(LEFT + inner * (moment - start).total_seconds() / span, 1)

    dots = [
        Dot(x_of(moment), lanes.get(event["kind"], lanes["sent"]), event["kind"], _label(event))
        for event, moment in dated
    ]
    marks = [start + (end - start) * n / (TICKS - 1) for n in range(TICKS)]
    ticks = [(x_of(mark), mark.strftime("%d %b %Y")) for mark in marks]
    axis_y = TOP + LANE * len(LANES)
    return Chart(
        height=int(axis_y + 30),
        lanes=[(lanes[kind], name) for kind, name in LANES],
        ticks=ticks,
        dots=dots,
        axis_y=axis_y,
    )


def _label(event: dict[str, Any]) -> str:
    moment = parse_time(event["when"])
    when = moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""
    return " · ".join(part for part in (when, event["title"], event.get("detail") or "") if part)


class TimelineScreen(Pages):
    async def timeline(self, request: Request, viewer: Viewer) -> Response:
        path, account = await self.account_of(request)
        query = request.query_params
        # A Dynamics form's IFRAME passes the record as `typename` and `id` ({GUID}, braced):
        # the contact or lead form shows that person's timeline with no script of its own.
        person = query.get("person") or query.get("typename") or "contact"
        person_id = query.get("id", "").strip().strip("{}")
        found, status = None, 200
        if person_id:
            table = PEOPLE.get(person, "contacts")
            found = await self.api.get(
                f"{path}/{table}/{quote(person_id, safe='')}/timeline",
                **{"from": query.get("from"), "to": query.get("to")},
            )
        title = "Engagement Timeline"
        if found:
            title = f"Engagement Timeline · {found['person']['name'] or found['person']['email']}"
        return self.render(
            "timeline.html",
            status,
            title=title,
            viewer=viewer,
            account=account,
            tab="timeline",
            query={
                "person": person,
                "id": person_id,
                "from": query.get("from", ""),
                "to": query.get("to", ""),
            },
            timeline=found,
            chart=chart(found["events"]) if found else None,
            lanes=dict(LANES),
            width=WIDTH,
            left=LEFT,
            right=RIGHT,
        )
