"""Models, split by aggregate; importing this package registers them all with the metadata."""

from sempelmas.models.accounts import (
    AccountStatus,
    LoginFailure,
    PasswordResetCode,
    Registration,
    Role,
    RoleGrant,
    User,
)
from sempelmas.models.audit import AuditEntry
from sempelmas.models.catalogue import Service, ServiceField, ServiceRequirement, ServiceVersion
from sempelmas.models.jobs import Job, JobStatus
from sempelmas.models.profile import KelurahanProfile, Official
from sempelmas.models.residents import KKHistory, Resident

__all__ = [
    "AccountStatus", "AuditEntry", "Job", "JobStatus", "KKHistory", "KelurahanProfile",
    "LoginFailure", "Official", "PasswordResetCode", "Registration", "Resident", "Role",
    "RoleGrant", "Service", "ServiceField", "ServiceRequirement", "ServiceVersion", "User",
]
