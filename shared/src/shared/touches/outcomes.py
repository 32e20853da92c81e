"""One vocabulary for what happened at a touch, and what counts as a successful one.

Every touch (a row of `touches`) carries exactly one of OUTCOMES. They fall in four classes:

| class | outcomes | a contact? |
| --- | --- | --- |
| pending / undelivered | queued, sending, failed, cancelled | no: nothing reached the customer |
| delivered | sent, delivered | yes: an online message reached the customer, no answer (yet) |
| answered | reached, interested, no_answer, wrong_number, complaint, refused, dismissed, unsubscribed, handed_to_manager | yes |
| success | accepted_offer, ordered | yes: the customer took the offer |

Channels are offline (a person serves the customer: hall, outbound_call, manager_call,
manager_visit) or online (sms, app_push, app, hotline, partner_app); seed 002 reports touch
success for the two classes apart. The success definition is the same sentence for every channel:
**a touch succeeds when the customer took what it offered** — its outcome is a success outcome
(staff record `accepted_offer` with the order they placed; an SMS reply "1" or an accepted in-app
offer that placed the order is `ordered`), or an order of the offered product was attributed to
it (shared.reports.attribution: last touch within the attribution window). Offline touches are
usually judged by their recorded outcome, online ones by attribution, because nobody records what
a customer does after reading an SMS.

`no_answer` replaces the manager app's older `not_reached` (accepted as input, stored as
`no_answer`); the recommendation answer `accepted` became `accepted_offer` / `ordered`.
"""

from __future__ import annotations

PENDING = ("queued", "sending")
UNDELIVERED = ("failed", "cancelled")
NOT_CONTACT = PENDING + UNDELIVERED
"""Outcomes of a touch that never reached the customer: not counted as contacts, cost or reach."""
DELIVERED = ("sent", "delivered")
SUCCESS_OUTCOMES = ("accepted_offer", "ordered")
ANSWERED = (
    "reached",
    "interested",
    "no_answer",
    "wrong_number",
    "complaint",
    "refused",
    "dismissed",
    "unsubscribed",
    "handed_to_manager",
)
OUTCOMES = NOT_CONTACT + DELIVERED + ANSWERED + SUCCESS_OUTCOMES

REACHED_OUTCOMES = (
    "reached",
    "interested",
    "complaint",
    "refused",
    "dismissed",
    "unsubscribed",
    "handed_to_manager",
) + SUCCESS_OUTCOMES
"""The customer was actually spoken to or answered (not merely sent to, nor no answer)."""
RESPONSE_OUTCOMES = ("reached", "interested", "handed_to_manager") + SUCCESS_OUTCOMES
"""A positive answer: what the engine's channel preference ("which channel this customer answers") counts."""

ALIASES = {"not_reached": "no_answer"}

OFFLINE_CHANNELS = ("hall", "outbound_call", "manager_call", "manager_visit")
ONLINE_CHANNELS = ("sms", "app_push", "app", "hotline", "partner_app")
CHANNELS = OFFLINE_CHANNELS + ONLINE_CHANNELS


def normalise(outcome: str) -> str:
    """The stored form of an outcome (older synonyms map onto the vocabulary)."""
    return ALIASES.get(outcome, outcome)


def channel_class(channel: str) -> str:
    return "offline" if channel in OFFLINE_CHANNELS else "online"
