"""Extensions, created once and bound to the app in ``create_app``."""

from flask import current_app, has_app_context
from flask_babel import Babel, gettext, ngettext
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
compress = Compress()


def login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def register_limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]


def register_check_limit() -> str:
    return current_app.config["REGISTER_CHECK_RATE_LIMIT"]


def reset_limit() -> str:
    return current_app.config["RESET_RATE_LIMIT"]


def verify_limit() -> str:
    return current_app.config["VERIFY_RATE_LIMIT"]


def babel_gettext(message: str, **params) -> str | None:
    """The domain's translator (``sempelmas.domain.i18n.install``): Flask-Babel inside an app context; None
    outside one, where the domain keeps its Indonesian source."""
    if not has_app_context():
        return None
    return gettext(message, **params)


def babel_ngettext(singular: str, plural: str, num: int, **params) -> str | None:
    """The domain's plural translator, as ``babel_gettext``."""
    if not has_app_context():
        return None
    return ngettext(singular, plural, num, **params)
