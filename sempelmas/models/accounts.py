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
    #: normalised +62…; unique among active accounts (services.people.accounts.check_phone_free): it signs one
    #: account in. Older data may hold duplicates: login by such a phone says to use the NIK or username.
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    #: the language the user chose with the switch while signed in: their notices and messages use it
    lang: Mapped[str] = mapped_column(String(5), default="id", server_default="id")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: indexed: the accounts waiting for verification are a few among thousands
    #: (services.people.account_verification.pending_accounts)
    status: Mapped[str] = mapped_column(String(24), default=AccountStatus.VERIFIED, index=True)
    #: the register entry of a resident account
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), unique=True)
    #: the pendamping who created this account for a resident without a phone
    assisted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None]
    verification_note: Mapped[str | None] = mapped_column(String(500))
    consent_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(String(20))
    #: bumped when the account's credentials may have been exposed (password change or reset, "log out
    #: everywhere", disabling): the devices trusted for this account (services/people/login_guard.py) stop being trusted
    auth_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    resident: Mapped[Resident | None] = relationship(foreign_keys=[resident_id])  # noqa: F821
    roles: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    registration: Mapped[Registration | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", uselist=False
    )

    #: the UserSession this request runs in (set by services.people.sessions, not stored on the row)
    session_id = None

    def get_id(self) -> str:
        """Flask-Login's id, copied into the session and remember-me cookies: "<user id>.<session id>", so
        ending the UserSession row ends both cookies wherever they were copied to."""
        if not self.session_id:
            raise RuntimeError("start a UserSession (services.people.sessions.start) before login_user")
        return f"{self.id}.{self.session_id}"

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


class UserSession(db.Model):
    """One signed-in browser or phone. Its id travels inside Flask-Login's user id (``User.get_id``), so a
    session cookie or remember-me cookie works only while this row is open: logout ends it server-side."""

    __tablename__ = "user_sessions"

    #: random, 192 bits (secrets.token_urlsafe)
    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: refreshed at most every SESSION_TOUCH_SECONDS, never on every request
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: "ingat saya": lives as long as the remember-me cookie; otherwise it ends after a day's idleness
    remember: Mapped[bool] = mapped_column(default=False)
    user_agent: Mapped[str | None] = mapped_column(String(200))
    #: the address it signed in from
    ip: Mapped[str | None] = mapped_column(String(45))
    ended_at: Mapped[datetime | None]
    #: "keluar", "keluar_semua", "diakhiri", "sandi", "nonaktif", "hapus"
    end_reason: Mapped[str | None] = mapped_column(String(20))


class LoginThrottle(db.Model):
    """Failed logins (and reset codes) counted per key, in the database so every worker sees them.

    A key is one account (or an identifier with no account: throttled the same way, so lockout reveals
    nothing) together with one client: a source address, a trusted device, or "every untrusted client"
    (services/people/login_guard.py). Only a hash of the key is stored: no NIK typed by a stranger is kept here.
    """

    __tablename__ = "login_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha256 of kind | account | client
    key: Mapped[str] = mapped_column(String(64), unique=True)
    #: "sumber" (account + address), "perangkat" (account + trusted device), "akun" (account, untrusted clients)
    kind: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: failures since the last lockout of this key
    failures: Mapped[int] = mapped_column(default=0)
    #: lockouts in the current window: each doubles the next one
    lockouts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: when the owner was last told their account is being attacked
    notified_at: Mapped[datetime | None]
