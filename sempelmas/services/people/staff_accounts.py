"""Accounts an admin makes and manages: staff, officials, RT/RW heads and pendamping, their roles, and
disabling or enabling an account."""

from __future__ import annotations

from sqlalchemy import func, select

from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.phone import PhoneError, normalise
from sempelmas.extensions import db
from sempelmas.models.accounts import Role, RoleGrant, User
from sempelmas.services.accountability import audit
from sempelmas.services.people import accounts, sessions
from sempelmas.services.people.passwords import hash_password, validate_new_password


def create_staff_account(
    username: str, full_name: str, password: str, roles: list[str], *, actor: User | None,
    rt: str | None = None, rw: str | None = None, phone: str | None = None,
) -> User:
    """Create an account for staff, officials, RT/RW heads or pendamping (verified from the start)."""
    username = (username or "").strip().lower()
    plain = username.replace("-", "").replace("_", "").replace(".", "")
    if not username or not plain.isascii() or not plain.isalnum():  # ASCII: no look-alike of another name
        raise accounts.AccountError(_("Nama pengguna hanya boleh huruf, angka, titik, - dan _."), "username")
    if username.isdigit():
        raise accounts.AccountError(_("Nama pengguna tidak boleh hanya angka."), "username")
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username)):
        raise accounts.AccountError(_("Nama pengguna sudah dipakai."), "username")
    if phone:
        try:
            phone = normalise(phone)
        except PhoneError as e:
            raise accounts.AccountError(str(e), "phone") from e
        accounts.check_phone_free(phone)
    validate_new_password(password)
    user = User(username=username, full_name=full_name.strip(), status=accounts.NEW_STAFF,
                phone=phone or None)
    user.password_hash = hash_password(password)
    db.session.add(user)
    for role in roles:
        set_role(user, role, True, actor=actor, rt=rt, rw=rw, audit_it=False)
    db.session.flush()
    audit.record("account.create", user, actor=actor, roles=sorted(roles))
    return user


def set_role(user: User, role: str, on: bool, *, actor: User | None, rt: str | None = None,
             rw: str | None = None, audit_it: bool = True) -> None:
    """Grant or take away a role; RT/RW heads need the RT and RW they lead."""
    if role not in set(Role):
        raise accounts.AccountError(_("Peran tidak dikenal."), "role")
    grant = user.grant(role)
    if on:
        if role == Role.RT_HEAD and not (rt and rw):
            raise accounts.AccountError(_("Ketua RT harus diberi nomor RT dan RW."), "rt")
        if role == Role.RW_HEAD and not rw:
            raise accounts.AccountError(_("Ketua RW harus diberi nomor RW."), "rw")
        scope_rt = accounts.pad_rt(rt) if role == Role.RT_HEAD else None
        scope_rw = accounts.pad_rt(rw) if role in (Role.RT_HEAD, Role.RW_HEAD) else None
        if grant is None:
            user.roles.append(RoleGrant(role=role, rt=scope_rt, rw=scope_rw))
        else:
            grant.rt, grant.rw = scope_rt, scope_rw
    elif grant is not None:
        user.roles.remove(grant)
    if audit_it:
        audit.record("account.role_" + ("grant" if on else "revoke"), user, actor=actor, role=role,
                     rt=rt, rw=rw)


def update_roles(user: User, roles: set[str], *, actor: User, rt: str | None, rw: str | None,
                 active: bool) -> None:
    """Set exactly these roles; an admin cannot take away his own admin role or disable himself.
    Enabling again restores "verified", except for a resident nobody verified yet: back to the queue."""
    if user.id == actor.id and (Role.ADMIN not in roles or not active):
        raise accounts.AccountError(_("Anda tidak dapat mencabut peran admin atau menonaktifkan akun sendiri."))
    if Role.RESIDENT in roles and user.resident_id is None and user.registration is None:
        raise accounts.AccountError(_("Peran warga hanya untuk akun yang terhubung dengan data penduduk."), "roles")
    for role in set(Role):
        currently = user.grant(role)
        wanted = role in roles
        if wanted:
            scope_changed = currently is not None and role in (Role.RT_HEAD, Role.RW_HEAD) and (
                currently.rt != (accounts.pad_rt(rt) if role == Role.RT_HEAD else None)
                or currently.rw != accounts.pad_rt(rw)
            )
            if currently is None or scope_changed:
                set_role(user, role, True, actor=actor, rt=rt, rw=rw)
        elif currently is not None:
            set_role(user, role, False, actor=actor)
    if active and accounts.can_move(user, "enable"):
        if accounts.phone_taken(user.phone, exclude_user_id=user.id):  # a disabled account's phone was free for others
            raise accounts.AccountError(accounts.REACTIVATED_PHONE_TAKEN)
        # a resident disabled before anyone verified them goes back to the queue, not to "verified"
        never_verified = user.registration is not None and user.resident_id is None
        accounts.move_status(user, "requeue" if never_verified else "enable")
        audit.record("account.enable", user, actor=actor)
    elif not active and accounts.can_move(user, "disable"):
        accounts.move_status(user, "disable")
        user.auth_version += 1  # its devices are no longer trusted
        ended = sessions.end_all(user, "nonaktif")  # and every session ends at once
        audit.record("account.disable", user, actor=actor, sessions_ended=ended)
    db.session.flush()


def list_accounts(query: str = "", limit: int = 100) -> list[User]:
    stmt = select(User).where(User.username.is_not(None)).order_by(User.username)
    if query:
        stmt = stmt.where(func.lower(User.full_name).contains(query.lower())
                          | func.lower(User.username).contains(query.lower()))
    return list(db.session.scalars(stmt.limit(limit)))
