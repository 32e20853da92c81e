"""Request and response bodies of the manager app (inputs forbid unknown fields)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.web.params import BigRefId, Count, Id, IntId, RefId

# the staff's part of shared.touches.outcomes; `not_reached` is the older word for `no_answer` (stored as that)
Outcome = Literal["reached", "no_answer", "not_reached", "accepted_offer", "refused", "complaint", "wrong_number"]
StaffChannel = Literal["manager_call", "manager_visit", "outbound_call", "sms"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _OutcomeIn(Strict):
    """What a contact achieved; an accepted offer needs the product and the customer's consent."""

    outcome: Outcome
    notes: str | None = Field(default=None, max_length=2000)
    product_id: RefId | None = None
    consent_ref: str | None = Field(default=None, min_length=4, max_length=80, pattern=r"^[A-Za-z0-9_.:/\-]+$")
    benefits_explained: bool = False
    satisfaction: Annotated[Count, Field(ge=1, le=5)] | None = None

    @model_validator(mode="after")
    def _offer_needs_product_and_consent(self) -> _OutcomeIn:
        if self.outcome == "accepted_offer" and (self.product_id is None or not self.consent_ref):
            raise ValueError("accepted_offer needs product_id and the customer's consent_ref")
        if self.outcome != "accepted_offer" and self.product_id is not None:
            raise ValueError("product_id is only allowed with outcome accepted_offer")
        return self


class ContactIn(_OutcomeIn):
    channel: StaffChannel = "manager_call"


class FollowUpIn(Strict):
    due_on: date
    reason: str = Field(min_length=1, max_length=300)


class CompleteIn(ContactIn):
    follow_up: FollowUpIn | None = None
    reassignment_reason: str | None = Field(
        default=None,
        min_length=2,
        max_length=500,
        description="also ask the branch head to hand this customer to another manager",
    )


class CompleteOut(BaseModel):
    task: dict[str, Any]
    contact_id: int
    touch_id: int | None
    subscription_id: int | None
    follow_up_task_id: int | None
    four_high_marked_cared: bool
    reassignment_request_id: int | None


class ContactOut(BaseModel):
    contact_id: int
    touch_id: int | None
    subscription_id: int | None
    customer_id: int
    outcome: str


class OrderIn(Strict):
    product_id: RefId
    consent_ref: str = Field(min_length=4, max_length=80, pattern=r"^[A-Za-z0-9_.:/\-]+$")
    channel: StaffChannel = "manager_call"
    notes: str | None = Field(default=None, max_length=2000)


class OrderOut(BaseModel):
    customer_id: int
    product_id: int
    subscription_id: int | None
    touch_id: int | None
    contact_id: int
    consent_ref: str


class CustomerItem(BaseModel):
    id: int
    name: str | None
    phone: str | None
    tier: str
    lifecycle_stage: str | None
    segment: str | None
    risk_level: str | None
    churn_score: float | None
    arpu_fen: int | None
    four_high: list[str]
    do_not_disturb: bool
    birthday_this_month: bool
    last_contact_at: datetime | None
    days_since_contact: int | None
    overdue_tasks: int
    priority: int


class CustomerPage(BaseModel):
    items: list[CustomerItem]
    next_cursor: str | None


class TaskCustomer(BaseModel):
    name: str | None
    phone: str | None
    tier: str
    do_not_disturb: bool


class TaskOut(BaseModel):
    id: int
    customer_id: int
    manager_id: int | None
    kind: str
    due_on: date
    reason: str
    product_id: int | None
    script: str | None
    campaign_id: int | None
    status: str
    outcome: str | None
    notes: str | None
    completed_at: datetime | None
    updated_at: datetime | None
    customer: TaskCustomer | None = None


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class ReassignmentIn(Strict):
    reason: str = Field(min_length=2, max_length=500)
    task_id: BigRefId | None = None


class DecisionIn(Strict):
    approve: bool
    to_manager_id: RefId | None = None


class ReassignmentOut(BaseModel):
    id: int
    customer_id: int
    task_id: int | None
    branch_id: int | None
    requested_by: int
    reason: str
    status: str
    to_manager_id: int | None
    decided_by: int | None
    decided_at: datetime | None
    created_at: datetime | None


class GreetingDoneIn(Strict):
    channel: StaffChannel = "sms"
    notes: str | None = Field(default=None, max_length=1000)


class GreetingDoneOut(BaseModel):
    customer_id: int
    occasion: str
    occasion_date: date
    channel: str
    touch_id: int | None


class PhoneIn(Strict):
    phone: str = Field(pattern=r"^1[3-9]\d{9}$", description="the walk-in's full mobile number")


class VisitIn(_OutcomeIn):
    phone: str = Field(pattern=r"^1[3-9]\d{9}$")


CustomerId = Annotated[Id, Path(description="customer id")]
TaskId = Annotated[Id, Path(description="care task id")]
StaffId = Annotated[IntId, Path(description="staff id")]
RequestId = Annotated[Id, Path(description="reassignment request id")]
