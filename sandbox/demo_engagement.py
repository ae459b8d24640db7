"""The demo people's engagement in the Dotdigital sandbox, for `make demo`'s campaign, forms,
WebInsight and scoring syncs: the "Demo welcome" campaign sent to the `Demo newsletter` people
two days ago (Ada opens it twice, clicks, browses and orders; Katherine opens it and shares
it; Grace's address bounced), a form Ada answered, her WebInsight page views and everyone's
contact scores; and the "Demo offers" campaign, not sent yet, that the demo sends from Dynamics.

Every date is a whole second before the sandbox's clock at seeding, so each demo shows the
same picture, shifted to its own day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sandbox.demo_people import PEOPLE
from sandbox.dotdigital.campaign_behaviour import (
    HOUR,
    BehaviourSpec,
    add_roi,
    bookmark,
    click,
    open_email,
    send_generated,
    view_page,
)
from sandbox.dotdigital.state import DotdigitalState
from sandbox.dotdigital.surveys import AnswerRecord

CAMPAIGN = "Demo welcome"
OFFERS = "Demo offers"  # not sent yet: the demo sends it from Dynamics (an Email Send row)
FORM = "Demo preferences"
ADA = "ada.lovelace@example.com"
GRACE = "grace.hopper@example.com"
KATHERINE = "katherine.johnson@example.com"
SHOP = "https://shop.example.com"
# The platform's scores: (score, label, engagement, suitability) per email.
SCORES = {
    ADA: (82, "Hot", 90, 70),
    KATHERINE: (46, "Warm", 40, 55),
    GRACE: (8, "Cold", 0, 20),
    "alan.turing@example.com": (15, "Cold", 5, 30),
}

_Ago = Callable[[float], float]  # hours before the seeding -> a timestamp


@dataclass(frozen=True)
class DemoEngagement:
    campaign_id: int  # the platform's
    form_id: int


def seed_demo_engagement(dotdigital: DotdigitalState) -> DemoEngagement:
    """Adds the campaign, the form, the page views and the scores (once per sandbox start)."""
    with dotdigital.lock:
        now = float(int(dotdigital.now()))

        def ago(hours: float) -> float:
            return now - hours * HOUR

        campaign_id = _campaign(dotdigital, ago)
        dotdigital.add_campaign(OFFERS, "This week's offers")
        form_id = _form(dotdigital, ago)
        store = dotdigital.store
        ada = store.by_email(ADA)
        assert ada is not None, "seed_demo_people first"
        for hours, path, seconds in ((20.0, "/new", 95), (19.9, "/new/item/7", 140),
                                     (2.0, "/basket", 40)):  # fmt: skip
            dotdigital.web_insight.view(ada, SHOP + path, when=ago(hours), duration_seconds=seconds)
        for email, (score, label, engagement, suitability) in SCORES.items():
            contact = store.by_email(email)
            assert contact is not None, email
            dotdigital.scoring.set(contact, score, when=ago(1.0), label=label,
                                   engagement=engagement, suitability=suitability)  # fmt: skip
        return DemoEngagement(campaign_id, form_id)


def _campaign(dotdigital: DotdigitalState, ago: _Ago) -> int:
    """Sent to the list's people (its contacts) 48 hours ago, then what each of them did."""
    newsletter = tuple(p.email for p in PEOPLE if p.table == "contact")
    spec = BehaviourSpec(recipients=len(newsletter), emails=newsletter, name=CAMPAIGN,
                         sent_hours_ago=48.0, open_rate=0.0, click_rate=0.0,
                         bounce_rate=0.0, unsubscribe_rate=0.0)  # fmt: skip
    campaign = send_generated(dotdigital, spec)  # the recipients' sends; their behaviour below
    ids = {email: contact.id for email in newsletter
           if (contact := dotdigital.store.by_email(email)) is not None}  # fmt: skip
    open_email(campaign, ids[ADA], ADA, ago(40.0))
    click(campaign, ids[ADA], ADA, f"{SHOP}/new", ago(39.95))
    view_page(campaign, ids[ADA], ADA, f"{SHOP}/new", ago(39.9))
    add_roi(campaign, ids[ADA], ADA, "OrderValue", "Numeric", 49.5, ago(39.8))
    open_email(campaign, ids[ADA], ADA, ago(21.0))
    bookmark(campaign, ids[KATHERINE], KATHERINE, "LinkedIn")
    open_email(campaign, ids[KATHERINE], KATHERINE, ago(30.0))
    campaign.activities[ids[GRACE]].hard_bounced = True  # her address bounced: suppressed
    return campaign.id


def _form(dotdigital: DotdigitalState, ago: _Ago) -> int:
    """A form of four questions, created three days ago; Ada answered it yesterday."""
    surveys = dotdigital.surveys
    form = surveys.add_survey(FORM, ago(72.0))
    email = surveys.add_field(form, "email", "Email address", required=True)
    often = surveys.add_field(form, "radiolist", "How often would you like to hear from us?",
                              choices=("Weekly", "Monthly"))  # fmt: skip
    topics = surveys.add_field(form, "checkboxlist", "Topics you like",
                               choices=("News", "Offers", "Events"))  # fmt: skip
    comment = surveys.add_field(form, "multilinetext", "Anything else?")
    answers = [
        AnswerRecord(email.id, ADA),
        AnswerRecord(often.id, often.choices[1].id),
        AnswerRecord(topics.id, topics.choices[0].id),
        AnswerRecord(topics.id, topics.choices[2].id),
        AnswerRecord(comment.id, "More events in London, please."),
    ]
    started = ago(19.5)
    surveys.add_response(form, ADA, answers, started, started + 120)
    return form.id
