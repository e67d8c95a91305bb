"""Service settings, one pydantic-settings class per concern, read from the environment."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from generation.settings import EnvironmentSettings, field_variables
from service.bounds import BOOST_WEIGHT_MAX, HORIZON_DAYS_MAX, LOOK_BACK_DAYS_MAX, NEW_ARRIVALS_DISCOUNT_MAX
from service.clock import utcnow


def environment_problem(error: ValidationError) -> str | None:
    """What is wrong with the environment when ``error`` comes from reading a settings class (``TAILOR_API_PORT``:
    'abc' is not a whole number), naming each variable; None for any other validation error."""
    classes = {cls.__name__: cls for cls in _subclasses(BaseSettings)}
    settings = classes.get(error.title)
    if settings is None:
        return None
    problems = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        shown = " or ".join(_variables(settings, field))
        said = problem["msg"].removeprefix("Value error, ")  # our validators' own words, without pydantic's lead
        problems.append(f"{shown}={_without_credentials(problem['input'])!r}: {said}")
    return "the environment is not valid: " + "; ".join(problems)


def _variables(settings: type[BaseSettings], field: str) -> list[str]:
    """The environment variables a settings class's field is read from, in capitals (DATABASE_URL or TAILOR_DB_URL)."""
    return [name.upper() for name in field_variables(settings, field)]


def _without_credentials(value: object) -> object:
    """A setting's value as an error may show it: a "user:password@" in it (an address's credentials, whether or not
    a scheme comes before them) shown as "***@", and an address's query, which may carry a token, as "?***"."""
    if not isinstance(value, str):
        return value
    return re.sub(r"\?.*", "?***", re.sub(r"[^/@:\s]+:[^/@\s]*@", "***@", value), flags=re.S)


# TAILOR_* variables read by name, outside the settings classes: the shop's brand kits (generation.brands) and the
# evals' data sets (evals.datasets).
READ_BY_NAME = frozenset({"TAILOR_BRANDS_DIR", "TAILOR_SHARED_DATA"})


def unread_variables(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The TAILOR_* variables in ``environ`` that no setting reads (of the settings classes imported): a misspelt one,
    TAILOR_HISTORY_KEEP_DAY, was ignored in silence, and its setting kept its default (the history kept for ever)."""
    known = _variables_known(tuple(_subclasses(BaseSettings)))
    return sorted(name for name in environ if name.upper().startswith("TAILOR_") and name.upper() not in known)


@lru_cache(maxsize=8)
def _variables_known(classes: tuple[type[BaseSettings], ...]) -> frozenset[str]:
    """The variables the settings ``classes`` read, and those read by name: worked out once for the classes imported
    (a class imported later is another tuple of them)."""
    known = set(READ_BY_NAME)
    for settings in classes:
        for name in settings.model_fields:
            known |= set(_variables(settings, name))
    return frozenset(known)


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


class LogSettings(EnvironmentSettings):
    """`TAILOR_LOG_LEVEL`: the least severe lines written to the log (DEBUG, INFO, WARNING or ERROR);
    `TAILOR_LOG_FORMAT`: JSON lines (`json`), lines for a person (`text`), or `auto`: text for a one-shot command
    whose stderr is a terminal, JSON otherwise (service.logs)."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_LOG_")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "text"] = "auto"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


class HomeSettings(BaseSettings):
    """Where Tailor keeps its state on disk (SQLite file, trained models, uploads waiting for their import job)."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_")

    home: Path = Path("var")

    @field_validator("home")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        """A relative folder (the default ``var``) is taken from where the process starts, once: a command that
        changed folder later, or a server and a command started in different ones, each had a ``var`` of their
        own, and what they printed did not say which. A ``~`` (a systemd unit's TAILOR_HOME=~/tailor, which no shell
        expanded) is the user's home, not a folder named ``~``. One that names a file (or a path under one) is
        refused so: making the folder said only "…: file exists"."""
        home = value.expanduser().absolute()
        existing = next(path for path in (home, *home.parents) if path.exists())
        if not existing.is_dir():
            what = "names a file" if existing == home else f"is under {existing}, a file"
            raise ValueError(f"{home} {what}, not a folder: give the folder Tailor keeps its files in")
        return home

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def staging_dir(self) -> Path:
        return self.home / "staging"


class DbSettings(EnvironmentSettings):
    """The database; `DATABASE_URL` (or `TAILOR_DB_URL`) points at PostgreSQL in real deployments. A variable set
    empty is one unset: a `DATABASE_URL=` left blank in an env file hid TAILOR_DB_URL, and the server ran on a new
    SQLite file in TAILOR_HOME instead of the shop's PostgreSQL database."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_DB_", env_ignore_empty=True)

    url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL", "TAILOR_DB_URL"))
    echo: bool = False
    # How long a connection to PostgreSQL may take before the database counts as unreachable.
    connect_timeout_seconds: int = Field(10, ge=1)
    # How long /health waits for the database's answer before it answers 503 (a server stopped, a lock held).
    health_timeout_seconds: float = Field(5, gt=0)
    # How long, on PostgreSQL, the unsubscribe link and POST /events wait for a lock another session holds.
    recording_wait_seconds: float = Field(60, gt=0)

    def resolved_url(self) -> str:
        """The URL to connect with: a PostgreSQL URL of the form hosts hand out (``postgres://`` or
        ``postgresql://``, without a driver) goes through psycopg, the driver the `postgres` extra installs."""
        if self.url:
            scheme, separator, rest = self.url.partition("://")
            if separator and scheme in ("postgres", "postgresql"):
                return f"postgresql+psycopg://{rest}"
            return self.url
        return f"sqlite:///{home_settings().home / 'tailor.db'}"


ROOT_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)+")


class ApiSettings(EnvironmentSettings):
    """The HTTP server."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_API_")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # The largest file POST /imports takes, in MiB (Online Retail's 1.6M order lines are about 90 MiB as CSV).
    max_upload_mb: int = Field(2048, ge=1)
    # The path prefix a proxy serves Tailor under ("/mail" for https://shop.example/mail/review), whether the proxy
    # strips it or passes it on: the review page's links and redirects and the API's job addresses carry it.
    root_path: str = ""

    @field_validator("root_path")
    @classmethod
    def _a_path(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        segments = value.split("/")[1:]
        if value and (not ROOT_PATH.fullmatch(value) or any(s in (".", "..") for s in segments)):
            raise ValueError(
                "must be a path such as /mail: starting with /, of letters a-z, digits and . _ ~ - between slashes "
                "(a proxy passes other characters on escaped)"
            )
        return value


class SmtpSettings(EnvironmentSettings):
    """The mail server approved drafts are sent through."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_SMTP_")

    host: str = "127.0.0.1"
    port: int = Field(default=1025, ge=1, le=65535)
    starttls: bool = False
    # Implicit TLS (SMTPS, port 465): the connection speaks TLS from its first byte, where STARTTLS upgrades it.
    ssl: bool = False
    username: str | None = None  # after host and TLS, which its check reads
    password: str | None = None
    sender: str = "Tailor <news@shop.example>"  # for brands whose kit names no sender of its own
    # 0 (a non-blocking socket), a negative wait or infinity failed each send in a traceback of the socket library's.
    timeout_seconds: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    # Connections a send keeps open at once, each mailing its share of the drafts: a relay that takes 200 ms an
    # email caps one connection at 5 emails a second.
    connections: int = Field(default=1, ge=1, le=50)

    @field_validator("ssl")
    @classmethod
    def _one_kind_of_tls(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("starttls"):
            raise ValueError(
                "cannot be used with TAILOR_SMTP_STARTTLS: a server speaks TLS from its first byte (SSL, port 465) "
                "or upgrades to it (STARTTLS, port 587), not both; set the one it offers"
            )
        return value

    @field_validator("username")
    @classmethod
    def _no_login_in_clear(cls, value: str | None, info: ValidationInfo) -> str | None:
        if {"host", "starttls", "ssl"} - info.data.keys():  # one of them is wrong, and said so
            return value
        host, tls = info.data["host"], info.data["starttls"] or info.data["ssl"]
        if value and not tls and not on_this_machine(host):
            raise ValueError(
                f"the login to {host} would send TAILOR_SMTP_PASSWORD unencrypted, for anyone on the way to read: "
                "set TAILOR_SMTP_STARTTLS=true (a submission port, 587) or TAILOR_SMTP_SSL=true (port 465); only a "
                "server on this machine (127.0.0.1, ::1, localhost) takes a login without TLS"
            )
        return value


def on_this_machine(host: str) -> bool:
    """Whether ``host`` is reached on this machine alone, with no network on the way: a loopback address (127.0.0.0/8,
    ::1, also in a short or numeric form: 127.1, 2130706433), the unspecified one (0.0.0.0, ::), or localhost."""
    name = host.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(name)
        return address.is_loopback or address.is_unspecified
    except ValueError:  # a name, or an IPv4 address in a short form
        pass
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(socket.inet_aton(name)).is_loopback
    except OSError:
        return False


def is_web_address(url: str) -> bool:
    """Whether ``url`` is a whole http:// or https:// address, with a host (the public address, a webhook's)."""
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


class PublicSettings(EnvironmentSettings):
    """Where the people Tailor mails reach it: the unsubscribe links in the email it sends start with
    `TAILOR_PUBLIC_URL`, the address the API is served at from outside (e.g. https://mail.shop.example). Unset,
    they point at TAILOR_API_HOST:TAILOR_API_PORT, which reaches the server only from its own machine."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_PUBLIC_")

    url: str | None = None

    @field_validator("url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        """An address a recipient's browser opens: "mail.shop.example" without https:// made every email's
        unsubscribe link one that leads nowhere."""
        if not value or not value.strip():
            return None
        if not is_web_address(value.strip()):
            raise ValueError("is not a web address: give it whole, such as https://mail.shop.example")
        parts = urlsplit(value.strip())
        if parts.query or parts.fragment or parts.username is not None:
            raise ValueError("the unsubscribe links are made by adding to it: give no user, query or #fragment")
        return value.strip()

    def base_url(self) -> str:
        if self.url:
            return self.url.rstrip("/")
        api = ApiSettings()
        host = f"[{api.host}]" if ":" in api.host else api.host  # an IPv6 address is bracketed in a URL
        return f"http://{host}:{api.port}"


class UnsubscribeSettings(EnvironmentSettings):
    """`TAILOR_UNSUBSCRIBE_SECRET` signs the unsubscribe links; unset, a random key is made on first use and kept
    in TAILOR_HOME (`unsubscribe.key`). The processes that send and the one that serves the links need the same
    key, and links already sent stop working when it changes."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_UNSUBSCRIBE_")

    secret: SecretStr | None = None

    @field_validator("secret")
    @classmethod
    def _not_empty(cls, value: SecretStr | None) -> SecretStr | None:
        """An empty secret (``TAILOR_UNSUBSCRIBE_SECRET=`` left blank in an env file) signed every link with no key at
        all: anyone could make the link of any send, unsubscribing its recipient and reading their address."""
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("is empty: give a long random secret, or unset it to use TAILOR_HOME/unsubscribe.key")
        return value


class TrackingSettings(EnvironmentSettings):
    """Whether the email Tailor sends itself tells it of opens (`TAILOR_TRACK_OPENS`: an image one pixel large loaded
    from TAILOR_PUBLIC_URL) and of clicks (`TAILOR_TRACK_CLICKS`: the email's links lead through it). Off unless
    set: where the law asks for the recipients' consent to either (the ePrivacy rules in the EU), the shop turns it
    on once it has that consent. Links of email already sent keep working whatever these say. Opens and clicks a
    machine made (`TAILOR_TRACK_MACHINE_SECONDS`: service.machine_opens, service.machine_clicks) are recorded apart."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_TRACK_")

    opens: bool = False
    clicks: bool = False
    # An open or a click this soon after its email was sent, or a click this soon after a click of another of its
    # links, is a machine's (service.machine_opens, service.machine_clicks); 0 tells none apart.
    machine_seconds: float = Field(default=1.0, ge=0, le=3600, allow_inf_nan=False)

    def carried(self) -> str:
        """What an email sent now tells Tailor of, as its send records it: "opens,clicks", "opens", "clicks", ""."""
        return ",".join(kind for kind, on in (("opens", self.opens), ("clicks", self.clicks)) if on)


class CampaignSettings(EnvironmentSettings):
    """Defaults for campaign generation that are business choices, not model hyperparameters."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_CAMPAIGN_")

    products_per_email: int = Field(default=3, ge=1)
    # an e-mail of three products shows at least two categories
    max_products_per_category: int | None = Field(default=2, ge=1)
    # and of one family, told apart by name, unless the catalog's categories tell them all apart (none where it has
    # fewer than two; else the categorised products, not the uncategorised ones among them): an Online Retail
    # e-mail of three jumbo bags. On that shop's last month (python -m evals.recommenders.variety --quick) 2 left no
    # e-mail of one family (12.6 % before) for NDCG@3 0.1592 -> 0.1583; 1 left none with two (49.6 %), but cost
    # NDCG@3 0.1504 and recall@3 0.0414 -> 0.0357 (hit@3 0.340 -> 0.344): a shop's choice, not the default.
    max_products_per_family: int | None = Field(default=2, ge=1)
    # One product in at most this share of a campaign's e-mails (1: no cap), where its customers have other picks.
    # Uncapped, one bicycle repair kit was in 37 % of an Online Retail win-back; on that shop's last month, a cap
    # of 0.2 lost no accuracy (hit@3 0.303 -> 0.317, recall@3 0.0396 -> 0.0397: python -m evals.recommenders.exposure).
    max_product_share: float = Field(default=0.2, gt=0, le=1)
    variants_per_draft: int = Field(default=2, ge=1)
    # A draft whose chosen variant is predicted under either floor goes to a person.
    review_threshold_p_open: float = Field(default=0.12, ge=0, le=1)
    review_threshold_p_click: float = Field(default=0.01, ge=0, le=1)
    # Weights of the serving-time boosts for campaigns (0: off): the product's margin, scaled 0-1 over the
    # catalog, and being a new arrival (arrived_at within the last 30 days); the model's ranking scores 1 to 0.
    boost_margin: float = Field(default=0.0, ge=0, le=BOOST_WEIGHT_MAX)
    boost_new: float = Field(default=0.0, ge=0, le=BOOST_WEIGHT_MAX)
    # Products imported since the training, which the model cannot know, ranked from their text like the known
    # product most like them (recommenders.cold_start), in campaigns and the API's recommendations alike. On Online
    # Retail's last month (python -m evals.recommenders.new_arrivals --quick) they cost the known products NDCG@10
    # 0.1412 -> 0.1392: off, a shop keeps the model's ranking and shows a new product from the training that knows it.
    new_arrivals: bool = True
    # How far a new arrival falls below the known product most like it for being unlike it: this times (1 -
    # similarity) times the spread of the customer's candidate scores. On that month, new-arrival hit@10 / the known
    # products' NDCG@10 / lists holding a new arrival: 0.0395 / 0.1392 / 14 % at 1; 0.0791 / 0.1355 / 28 % at 0.5;
    # 0.0988 / 0.1316 / 35 % at 0; at 2, 0 / 0.1412 / 0.2 % (python -m evals.recommenders.new_arrivals --discount N).
    # The default is recommenders.cold_start.DISCOUNT's, not imported: reading the settings loads no model code.
    new_arrivals_discount: float = Field(default=1.0, ge=0, le=NEW_ARRIVALS_DISCOUNT_MAX, allow_inf_nan=False)
    # A re-order reminder shows only products at least this share of whose buyers bought them again, in a
    # category bought again at least as often as the shop's products (recommenders.reorder): 0 shows whatever
    # the customer bought.
    reorder_min_share: float = Field(default=0.2, ge=0, le=1)
    # The blend: on the demo store Recall@10 0.586 (ALS 0.479), and it meets the speed targets since its
    # signals are no longer densified (python -m evals.recommenders.bench --models blend).
    recommender: str = "blend"
    # Drafts rendered, scored and saved at a time: memory stays bounded (a draft with its variants takes some
    # 70 KB while it is built) and copywriters see the first drafts while the rest are written.
    drafts_per_batch: int = Field(default=2_000, ge=1)

    @field_validator("recommender")
    @classmethod
    def _known_recommender(cls, value: str) -> str:
        """A name no recommender has: the server started, and every training, the scheduled retrain's too, failed
        without naming the variable."""
        from recommenders.registry import names

        if value not in names():
            raise ValueError(f"is no recommender: choose one of {', '.join(names())}")
        return value


class AudienceSettings(EnvironmentSettings):
    """How customer profiles are computed: `TAILOR_AUDIENCE_HORIZON_DAYS` is the churn horizon (churn = no order
    within it; expected purchases, CLV and segment retention cover it), `TAILOR_AUDIENCE_AS_OF` the day the
    profiles describe (unset: the day after the latest order), `TAILOR_AUDIENCE_THREADS` the threads the churn
    model's trees fit and score with (1: the server's other jobs keep the other cores, and threads spinning beside
    them made the fit many times slower; the risks are the same to the bit on any number)."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_AUDIENCE_")

    horizon_days: int = Field(default=90, ge=1, le=HORIZON_DAYS_MAX)
    as_of: date | None = None
    threads: int = Field(default=1, ge=1)


class ImportSettings(EnvironmentSettings):
    """`TAILOR_IMPORT_DEFAULT_LOCALE`: the language of a customer a customers file gives none (no `locale` column, as
    a shop platform's export has none, or an empty cell); a customer already stored keeps theirs.
    `TAILOR_IMPORT_WAIT_SECONDS`: how long a customers import waits for another one to finish (PostgreSQL takes them
    one at a time) before it is refused, nothing written."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_IMPORT_")

    default_locale: str = "en"
    wait_seconds: float = Field(default=60, gt=0)

    @field_validator("default_locale")
    @classmethod
    def _language_code(cls, value: str) -> str:
        from generation.locales import LOCALE_PATTERN, NOT_A_LOCALE, normal_locale

        if not LOCALE_PATTERN.match(value.strip()):
            raise ValueError(NOT_A_LOCALE)
        return normal_locale(value)


class ExperimentSettings(EnvironmentSettings):
    """How campaign experiments count outcomes and allocate the sends still to go."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_EXPERIMENT_")

    conversion_window_days: int = Field(default=14, ge=1, le=LOOK_BACK_DAYS_MAX)
    allocation_outcome: Literal["open", "click", "conversion"] = "click"
    credible_level: float = Field(default=0.95, gt=0, lt=1)


class SendScheduleSettings(EnvironmentSettings):
    """How often the server looks for drafts whose send time (the customer's best hour, or the end of the contact
    policy's wait) has come, `TAILOR_SEND_DUE_CHECK_MINUTES=0` turning the check off, and how late it may still
    mail one, `TAILOR_SEND_LATE_LIMIT_HOURS` (a "Friday 9:00" email is not sent on Monday after an outage); the
    contact policy, `TAILOR_SEND_MIN_DAYS_BETWEEN` days at least between two emails to one customer (0: no limit);
    and `TAILOR_SEND_TIMEZONE`, the shop's clock, on which best send hours are learned and kept."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_SEND_")

    due_check_minutes: float = Field(default=5.0, ge=0, allow_inf_nan=False)
    # How late the due-check may still mail a draft (its send time, or its time to try an address again, that long
    # past: the server was stopped meanwhile); later, the draft goes back to a person. 0: no limit.
    late_limit_hours: float = Field(default=24.0, ge=0, le=LOOK_BACK_DAYS_MAX * 24, allow_inf_nan=False)
    # The contact policy (service.pipeline.contact_policy): days between two marketing emails to one customer.
    min_days_between: float = Field(default=2.0, ge=0, le=LOOK_BACK_DAYS_MAX, allow_inf_nan=False)
    # The clock best send hours are learned and kept on (service.send_times): an IANA name, e.g. Europe/Berlin.
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: give an IANA name, such as Europe/Berlin or America/New_York"
            ) from None
        return value


class ScoringSettings(EnvironmentSettings):
    """`TAILOR_SCORING_COPY_MODEL`: a copy model saved by `tailor scoring fit-copy`. Unset, a shop without send
    history scores all variants of a draft alike (public rates); set, the public prior also moves each
    variant's P(click | open) by its subject's appeal, so the better-worded variant wins from the first send.
    The model learned from news headline tests (Upworthy); it was measured on headlines, not on subjects."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_SCORING_")

    copy_model: Path | None = None
    # `TAILOR_SCORING_OUTCOME_DAYS`: sends younger than this are left out of training, since their opens,
    # clicks and purchases may still come; learned from, they would all count as ignored.
    outcome_days: float = Field(default=7.0, ge=0, le=LOOK_BACK_DAYS_MAX, allow_inf_nan=False)
    # `TAILOR_SCORING_MAX_SENDS`: training learns from this many of the latest sends, so that its time and
    # memory stay bounded however many a shop has made (fitting takes about 5 KB per send at its peak). On the
    # 100,000-customer demo shop (later fifth of its sends held out), open / click / conversion AUC was 0.736 /
    # 0.673 / 0.695 from 100,000 sends, 0.739 / 0.676 / 0.698 from 200,000 and 0.742 / 0.680 / 0.702 from all
    # 422,887 (fit 5.5 s, 10.5 s, 22.3 s); a machine with memory to spare can raise it.
    max_sends: int = Field(default=200_000, ge=1)

    def outcomes_due(self) -> datetime:
        """Sends made after this moment are too young to learn from (training and best send hours alike): their
        opens, clicks and purchases may still come."""
        return utcnow() - timedelta(days=self.outcome_days)


class ModelSettings(EnvironmentSettings):
    """Trained model versions kept on disk per kind (`TAILOR_MODELS_KEPT`); older ones are deleted when a new one
    is published, never the version in use. The kept ones can be made current again (a rollback). Whether the
    recommender learns the products its email's readers clicked as their views of them (`TAILOR_MODELS_LEARN_CLICKS`,
    on: a shop that imports the views of its own site, where each such click also lands, may count them twice)."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_MODELS_")

    kept: int = Field(default=5, ge=1)
    learn_clicks: bool = True


class RetrainSettings(EnvironmentSettings):
    """Scheduled retraining: every `TAILOR_RETRAIN_EVERY_HOURS` the server submits a retrain job, which is
    skipped when no new sends, events or orders arrived, and no send came of age to be learned from, since the last
    training, and trains the recommender in use (else the default); unset means never."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_RETRAIN_")

    every_hours: float | None = Field(default=None, gt=0, allow_inf_nan=False)


class JobSettings(EnvironmentSettings):
    """The server's jobs when it stops (SIGTERM, Ctrl-C): those running are asked to stop at their next progress
    report and waited for `TAILOR_JOBS_SHUTDOWN_GRACE_SECONDS` at most; then the process exits without them. While
    it runs, every `TAILOR_JOBS_SWEEP_SECONDS` it writes the job endings the database could not take when they came
    and fails the jobs no process will finish (service.jobs.runner.sweep_jobs; 0: never). Finished jobs, and audience
    snapshots but the latest, older than `TAILOR_JOBS_KEEP_DAYS` are deleted as new ones are made (0: kept for
    ever): a shop that imports and sends every day made thousands a year, each with its result."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_JOBS_")

    # Not inf: a schedule's thread died of it at start (OverflowError, a traceback), and its work was never done again.
    shutdown_grace_seconds: float = Field(default=20.0, ge=0, allow_inf_nan=False)
    sweep_seconds: float = Field(default=60.0, ge=0, allow_inf_nan=False)
    keep_days: float = Field(default=90.0, ge=0)

    def kept_since(self) -> datetime | None:
        """The moment before which finished jobs and older audience snapshots are deleted; None to keep them all."""
        if not self.keep_days:
            return None
        try:
            return utcnow() - timedelta(days=self.keep_days)
        except OverflowError:  # further back than dates go (1000000, inf): nothing is that old
            return None


# The least TAILOR_HISTORY_KEEP_DAYS: a month, so that scoring and the best send hours, which learn only from sends
# past their outcome window (7 days by default), always have some weeks of them to learn from.
HISTORY_MIN_DAYS = 30


class HistorySettings(EnvironmentSettings):
    """`TAILOR_HISTORY_KEEP_DAYS`: sends older than this, with their events, and campaigns whose every draft and send
    is, are deleted by the server a batch at a time (service.retention); unset, the history is kept for ever. It is
    refused when no longer than what reads the history back: scoring's outcome window, the contact policy's days and
    an experiment's conversion window."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_HISTORY_")
    read_with = (ScoringSettings, SendScheduleSettings, ExperimentSettings)  # by its check of keep_days

    keep_days: int | None = Field(default=None, ge=HISTORY_MIN_DAYS)

    @field_validator("keep_days")
    @classmethod
    def _longer_than_what_reads_it(cls, value: int | None) -> int | None:
        if value is None:
            return value
        read_back = (
            ("TAILOR_SCORING_OUTCOME_DAYS", ScoringSettings().outcome_days, "scoring would have no send to learn from"),
            (
                "TAILOR_SEND_MIN_DAYS_BETWEEN", SendScheduleSettings().min_days_between,
                "the contact policy would not see the email that makes the next one wait",
            ),
            (
                "TAILOR_EXPERIMENT_CONVERSION_WINDOW_DAYS", ExperimentSettings().conversion_window_days,
                "an experiment's sends would go before its conversions are counted",
            ),
        )  # fmt: skip
        for name, days, why in read_back:
            if value <= days:
                raise ValueError(f"must be more days than {name} ({days:g}): {why}")
        return value

    def kept_since(self) -> datetime | None:
        """The moment before which the history is deleted; None to keep it all."""
        if self.keep_days is None:
            return None
        try:
            return utcnow() - timedelta(days=self.keep_days)
        except OverflowError:  # further back than dates go: nothing is that old
            return None


@lru_cache
def home_settings() -> HomeSettings:
    return HomeSettings()
