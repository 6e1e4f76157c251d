"""Accounts, roles and the registration a resident submitted."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class Role(enum.StrEnum):
    RESIDENT = "warga"
    RT_HEAD = "rt"
    RW_HEAD = "rw"
    ASSISTANT = "pendamping"
    STAFF = "petugas"
    SIGNER = "penandatangan"
    ADMIN = "admin"


ROLE_LABELS = {
    Role.RESIDENT: _l("Warga"),
    Role.RT_HEAD: _l("Ketua RT"),
    Role.RW_HEAD: _l("Ketua RW"),
    Role.ASSISTANT: _l("Pendamping"),
    Role.STAFF: _l("Petugas pelayanan"),
    Role.SIGNER: _l("Penandatangan"),
    Role.ADMIN: _l("Admin"),
}


class AccountStatus(enum.StrEnum):
    PENDING = "menunggu_verifikasi"
    VERIFIED = "terverifikasi"
    REJECTED = "ditolak"
    DISABLED = "nonaktif"


ACCOUNT_STATUS_LABELS = {
    AccountStatus.PENDING: _l("Menunggu verifikasi"),
    AccountStatus.VERIFIED: _l("Terverifikasi"),
    AccountStatus.REJECTED: _l("Ditolak"),
    AccountStatus.DISABLED: _l("Nonaktif"),
}


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: login name for staff accounts; residents log in by NIK or phone instead
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    #: normalised +62… ; several accounts may share one (a family phone)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(24), default=AccountStatus.VERIFIED)
    #: the register entry of a resident account
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), unique=True)
    #: the pendamping who created this account for a resident without a phone
    assisted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None]
    verification_note: Mapped[str | None] = mapped_column(String(500))
    consent_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(String(20))
    #: bumped on password change so other sessions of this account end
    auth_version: Mapped[int] = mapped_column(default=1)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    resident: Mapped[Resident | None] = relationship(foreign_keys=[resident_id])  # noqa: F821
    roles: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    registration: Mapped[Registration | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", uselist=False
    )

    def get_id(self) -> str:
        return f"{self.id}.{self.auth_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.status != AccountStatus.DISABLED

    @property
    def role_codes(self) -> set[str]:
        return {g.role for g in self.roles}

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_codes.intersection(roles))

    def grant(self, role: str) -> RoleGrant | None:
        return next((g for g in self.roles if g.role == role), None)

    @property
    def is_verified(self) -> bool:
        return self.status == AccountStatus.VERIFIED

    @property
    def is_resident(self) -> bool:
        return Role.RESIDENT in self.role_codes

    @property
    def nik(self) -> str | None:
        """The NIK of the register entry, or until verification the one typed at registration."""
        if self.resident is not None:
            return self.resident.nik
        return self.registration.nik if self.registration is not None else None

    @property
    def display_login(self) -> str:
        return self.username or self.nik or ""


class RoleGrant(db.Model):
    """One role held by a user; RT/RW heads carry the RT and RW they lead."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role", name="uq_role_grants_user_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    rt: Mapped[str | None] = mapped_column(String(3))  # "001"
    rw: Mapped[str | None] = mapped_column(String(3))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")

    @property
    def scope_label(self) -> str:
        if self.role == Role.RT_HEAD:
            return f"RT {self.rt} / RW {self.rw}"
        if self.role == Role.RW_HEAD:
            return f"RW {self.rw}"
        return ""


class Registration(db.Model):
    """What a resident declared when registering, kept apart from the register for comparison."""

    __tablename__ = "registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    nik: Mapped[str] = mapped_column(String(16), index=True)
    kk_number: Mapped[str] = mapped_column(String(16))
    full_name: Mapped[str] = mapped_column(String(120))
    birth_place: Mapped[str] = mapped_column(String(80))
    birth_date: Mapped[date]
    gender: Mapped[str] = mapped_column(String(1))
    address: Mapped[str] = mapped_column(String(255))
    rt: Mapped[str] = mapped_column(String(3))
    rw: Mapped[str] = mapped_column(String(3))
    #: NIK findings for staff (date or gender disagreeing with what was typed)
    nik_warnings: Mapped[list] = mapped_column(JSON, default=list)
    #: stored file name of the KTP photo under uploads/ktp/
    ktp_photo: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="registration")


class PasswordResetCode(db.Model):
    """A one-time code staff hand a resident at the office; only its hash is stored."""

    __tablename__ = "password_reset_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginFailure(db.Model):
    """Failed logins for identifiers with no account, so lockout cannot reveal which exist."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True)
    count: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
