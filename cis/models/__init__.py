"""The CIS tables as SQLAlchemy 2.0 typed models, split by subject; import them all from here."""

from cis.models.accounts import Account, AccountMobile, Consumer
from cis.models.audit import AuditLog
from cis.models.base import Base
from cis.models.billing import Bill, Payment, TariffSchedule
from cis.models.calls import IvrCall
from cis.models.compensation import Compensation
from cis.models.complaints import Complaint, ComplaintEvent
from cis.models.console import AccountNote, ScreenPop
from cis.models.documents import Document
from cis.models.interruptions import FeederInterruption
from cis.models.messaging import ConsoleSms, OtpChallenge, SmsOptOut
from cis.models.metering import Meter, Reading
from cis.models.network import (
    Circle,
    DistributionTransformer,
    Division,
    Feeder,
    SubDivision,
    Substation,
    Zone,
)
from cis.models.notify import Outbox
from cis.models.outages import (
    OutageCheck,
    OutageEvent,
    OutageEventFeeder,
    OutageFanout,
    OutageRevision,
    RosterFeeder,
    RosterSchedule,
    RosterSubscription,
)
from cis.models.payments import GatewayEvent, PaymentIntent, PaymentReconIssue
from cis.models.portal import ConsumerLogin, ConsumerSession
from cis.models.requests import ServiceRequest, ServiceRequestEvent
from cis.models.staff import LoginAttempt, LoginThrottle, Staff, StaffSession
from cis.models.vigilance import Feedback, TheftReport

__all__ = [
    "Account",
    "AccountMobile",
    "AccountNote",
    "AuditLog",
    "Base",
    "Bill",
    "Circle",
    "Compensation",
    "Complaint",
    "ComplaintEvent",
    "ConsoleSms",
    "Consumer",
    "ConsumerLogin",
    "ConsumerSession",
    "DistributionTransformer",
    "Division",
    "Document",
    "Feedback",
    "Feeder",
    "FeederInterruption",
    "GatewayEvent",
    "IvrCall",
    "LoginAttempt",
    "LoginThrottle",
    "Meter",
    "OtpChallenge",
    "OutageCheck",
    "OutageEvent",
    "OutageEventFeeder",
    "OutageFanout",
    "OutageRevision",
    "Outbox",
    "Payment",
    "PaymentIntent",
    "PaymentReconIssue",
    "Reading",
    "RosterFeeder",
    "RosterSchedule",
    "RosterSubscription",
    "ScreenPop",
    "ServiceRequest",
    "ServiceRequestEvent",
    "SmsOptOut",
    "Staff",
    "StaffSession",
    "SubDivision",
    "Substation",
    "TariffSchedule",
    "TheftReport",
    "Zone",
]
