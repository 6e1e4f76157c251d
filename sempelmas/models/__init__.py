"""Models, split by aggregate; importing this package registers them all with the metadata."""

from sempelmas.models.accounts import (
    AccountStatus,
    LoginThrottle,
    PasswordResetCode,
    Registration,
    Role,
    RoleGrant,
    User,
    UserSession,
)
from sempelmas.models.audit import AuditEntry
from sempelmas.models.catalogue import Service, ServiceField, ServiceRequirement, ServiceVersion
from sempelmas.models.complaints import Complaint, ComplaintEvent, ComplaintStatus
from sempelmas.models.data_rights import DataRequestKind, DataRequestStatus, DataRightsRequest
from sempelmas.models.declared import DeclaredStatus, DeclaredValue
from sempelmas.models.integration import ApiClient
from sempelmas.models.jobs import Job, JobStatus
from sempelmas.models.letters import (
    Letter,
    LetterCounter,
    LetterStatus,
    LetterTemplate,
    SigningCertificate,
    SigningFailure,
)
from sempelmas.models.notifications import Notification, OutboxMessage, OutboxStatus
from sempelmas.models.opendk import OpenDkLetter, OpenDkSettings
from sempelmas.models.profile import Holiday, KelurahanProfile, Official
from sempelmas.models.push import PushSubscription
from sempelmas.models.questions import MessageSide, RequestMessage
from sempelmas.models.registration_uploads import RegistrationUpload
from sempelmas.models.requests import (
    REQUEST_STATUS_LABELS,
    Endorsement,
    InternalNote,
    LetterRequest,
    RequestAttachment,
    RequestEvent,
    RequestStatus,
    TrackingCounter,
)
from sempelmas.models.residents import KKHistory, Resident
from sempelmas.models.survey import SurveyResponse
from sempelmas.models.test_letters import TestLetter
from sempelmas.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "AccountStatus", "AuditEntry", "Endorsement", "Holiday", "InternalNote", "Job", "JobStatus", "KKHistory",
    "KelurahanProfile", "Letter", "LetterCounter", "LetterRequest", "LetterStatus", "LetterTemplate", "LoginThrottle",
    "Notification", "Official", "OutboxMessage", "OutboxStatus", "PasswordResetCode", "REQUEST_STATUS_LABELS",
    "Registration", "RequestAttachment", "RequestEvent", "RequestStatus", "Resident", "Role", "RoleGrant", "Service",
    "ServiceField", "ServiceRequirement", "ServiceVersion", "SigningCertificate", "SigningFailure", "TrackingCounter",
    "User", "UserSession",
    "SurveyResponse",
    "Complaint", "ComplaintEvent", "ComplaintStatus",
]
__all__ += ["DataRequestKind", "DataRequestStatus", "DataRightsRequest"]
__all__ += ["RegistrationUpload"]
__all__ += ["DeclaredStatus", "DeclaredValue"]
__all__ += ["MessageSide", "RequestMessage"]
__all__ += ["PushSubscription"]
__all__ += ["WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "WebhookEvent"]
__all__ += ["OpenDkLetter", "OpenDkSettings"]
__all__ += ["ApiClient"]
__all__ += ["TestLetter"]
