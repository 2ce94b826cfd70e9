"""Receivers in the catalog, and their credentials kept out of it.

Every field that can hold a secret (the URL, header values, the signing secret, PagerDuty's
routing key, the SMTP password) takes `${NAME}` references to environment variables,
resolved each time a request is sent, or a `*_file` twin (`url_file`, `secret_file`,
`routing_key_file`, `password_file`) read when the catalog is loaded, and again on SIGHUP,
as Alertmanager's `url_file` and `credentials_file` are. A signing secret, routing key or
password written in clear in the catalog is refused. `Ref` holds either kind and never shows
its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from tracker.core.errors import ConfigError
from tracker.core.goals import Strict

Format = Literal["native", "alertmanager", "slack", "alertmanager_api", "pagerduty", "msteams", "discord", "email",
                 "template"]
HTTP_FORMATS = frozenset(Format.__args__) - {"email"}  # type: ignore[attr-defined]
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DEFAULT_RECEIVER, LOG_RECEIVER = "default", "log"
_SECRET_FIELDS = ("secret", "routing_key", "password")


class Unresolved(Exception):
    """A `${NAME}` whose variable is not set (the message names it, never a value)."""


@dataclass(frozen=True)
class Ref:
    """A credential: catalog text with `${NAME}` references, or a literal read from a file
    or a setting. `value()` resolves it; repr and str never show it."""

    text: str
    literal: bool = False

    def value(self, environ: Mapping[str, str]) -> str:
        if self.literal:
            return self.text

        def one(match: re.Match[str]) -> str:
            found = environ.get(match.group(1))
            if found is None:
                raise Unresolved(f"environment variable {match.group(1)} is not set")
            return found

        return ENV_REFERENCE.sub(one, self.text)

    def names(self) -> list[str]:
        return [] if self.literal else ENV_REFERENCE.findall(self.text)

    def __repr__(self) -> str:
        return "Ref(***)"

    __str__ = __repr__


def _refs_only(name: str, text: str) -> str:
    """A secret field of the catalog holds references only: `${NAME}`, nothing in clear."""
    if not ENV_REFERENCE.fullmatch(text.strip()):
        raise ValueError(f"write the {name} as ${{NAME}} (an environment variable) or use {name}_file, "
                         "never in clear in the catalog")
    return text.strip()


def _read(path: Path, what: str) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ValueError(f"{what} {path}: cannot be read ({error.strerror or type(error).__name__})") from None
    if not text:
        raise ValueError(f"{what} {path}: is empty")
    return text


class Receiver(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    format: Format = "native"
    url: str | None = Field(None, pattern=r"^(https?://|\$\{)", description="may hold ${NAME} references")
    url_file: Path | None = None
    secret: str | None = Field(None, description="${NAME} of the whsec_ secret(s), space-separated while rotating")
    secret_env: str | None = Field(None, description="environment variable holding the whsec_ secret(s)")
    secret_file: Path | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float | None = Field(None, gt=0, le=300, description="deadline per attempt (else the setting)")
    concurrency: int | None = Field(None, ge=1, le=64, description="requests in flight at once (else the setting)")
    routing_key: str | None = None  # pagerduty
    routing_key_file: Path | None = None
    to: tuple[str, ...] = ()  # email
    from_: str | None = Field(None, alias="from")
    smarthost: str | None = Field(None, pattern=r"^[^\s:]+:[0-9]{1,5}$", description="host:port of the SMTP server")
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = Field(None, description="CA bundle that signs the SMTP server's certificate")
    body: str | None = Field(None, description="template: the Jinja2 body")
    _files: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in (DEFAULT_RECEIVER, LOG_RECEIVER):
            raise ValueError(f"{value!r} is reserved (TRACKER_WEBHOOK_URL is 'default', the log is 'log')")
        return value

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("secret", "routing_key", "password")
    @classmethod
    def _no_clear_text(cls, value: str | None, info) -> str | None:  # type: ignore[no-untyped-def]
        return None if value is None else _refs_only(info.field_name, value)

    @field_validator("headers")
    @classmethod
    def _references_well_written(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if "$" in ENV_REFERENCE.sub("", text):
                raise ValueError(f"header {name}: write environment references as ${{NAME}}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Receiver:
        self._either("url", "url_file")
        self._either("secret", "secret_file", "secret_env")
        self._either("routing_key", "routing_key_file")
        self._either("password", "password_file")
        if self.format in HTTP_FORMATS and self.format != "pagerduty" and not (self.url or self.url_file):
            raise ValueError(f"format {self.format} needs url or url_file")
        if self.format == "pagerduty" and not (self.routing_key or self.routing_key_file):
            raise ValueError("format pagerduty needs routing_key or routing_key_file")
        if self.format == "email":
            missing = [n for n, v in (("to", self.to), ("from", self.from_), ("smarthost", self.smarthost)) if not v]
            if missing:
                raise ValueError(f"format email needs {', '.join(missing)}")
        if self.format == "template":
            self._check_templates()
        for name in ("url_file", "secret_file", "routing_key_file", "password_file"):
            path = getattr(self, name)
            if path is not None:
                self._files[name] = _read(path, name)
        return self

    def _either(self, *names: str) -> None:
        given = [name for name in names if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of {' or '.join(given)}, not both")

    def _check_templates(self) -> None:
        from jinja2 import TemplateSyntaxError  # only for templates
        from jinja2.sandbox import SandboxedEnvironment  # only for templates

        if not self.body:
            raise ValueError("format template needs body (a Jinja2 template)")
        env = SandboxedEnvironment()
        for where, text in (("body", self.body), *((f"header {k}", v) for k, v in self.headers.items())):
            try:
                env.parse(text)
            except TemplateSyntaxError as error:
                raise ValueError(f"{where}: template line {error.lineno}: {error.message}") from None

    # -- what delivery sees --------------------------------------------------------------
    def ref(self, name: str) -> Ref | None:
        """The credential `name` (url, secret, routing_key, password) from its field or file."""
        if f"{name}_file" in self._files:
            return Ref(self._files[f"{name}_file"], literal=True)
        if name == "secret" and self.secret_env:
            return Ref(f"${{{self.secret_env}}}")
        text = getattr(self, name)
        if text is None and name == "url" and self.format == "pagerduty":
            return Ref(PAGERDUTY_URL, literal=True)
        return None if text is None else Ref(text)

    def secret_values(self, environ: Mapping[str, str]) -> list[str]:
        """Every credential value this receiver holds now, for the log scrubber."""
        refs = [self.ref(name) for name in ("url", *_SECRET_FIELDS)]
        refs += [Ref(text) for text in self.headers.values()]
        found = []
        for ref in refs:
            if ref is None:
                continue
            try:
                value = ref.value(environ)
            except Unresolved:
                continue
            found.append(value)
            if value.startswith("whsec_"):
                found += [part.removeprefix("whsec_") for part in value.split()] + value.split()
        return [value for value in found if value]


@dataclass(frozen=True)
class Target:
    """A receiver as delivery sees it: where to send, in which format, signed with what.
    `url` None (and not email) means the log. Credentials are Refs, resolved per request."""

    name: str
    url: Ref | str | None
    format: str = "native"
    headers: tuple[tuple[str, str], ...] = ()  # values may hold ${NAME} references
    secret: Ref | None = None
    timeout_seconds: float | None = None  # None: TRACKER_DELIVER__TIMEOUT_SECONDS
    concurrency: int | None = None  # None: TRACKER_DELIVER__CONCURRENCY
    routing_key: Ref | None = None
    password: Ref | None = None
    email: Mapping[str, object] = field(default_factory=dict)  # to, from, smarthost, security, username, ca_file
    body_template: str | None = None

    def __post_init__(self) -> None:
        for name in ("url", "secret", "routing_key", "password"):  # plain text given: a literal value
            if isinstance(getattr(self, name), str):
                object.__setattr__(self, name, Ref(getattr(self, name), literal=True))

    def __repr__(self) -> str:
        return f"Target(name={self.name!r}, format={self.format!r}, signed={self.secret is not None})"

    @property
    def is_log(self) -> bool:
        return self.url is None and self.format != "email"

    def header_values(self, environ: Mapping[str, str]) -> dict[str, str]:
        return {name: Ref(text).value(environ) for name, text in self.headers}

    def refs(self) -> dict[str, Ref]:
        named = {"url": self.url, "secret": self.secret, "routing_key": self.routing_key, "password": self.password}
        return {name: ref for name, ref in named.items() if ref is not None}


def target(receiver: Receiver) -> Target:
    email = {}
    if receiver.format == "email":
        email = {"to": receiver.to, "from": receiver.from_, "smarthost": receiver.smarthost,
                 "security": receiver.smtp_security, "username": receiver.username,
                 "ca_file": str(receiver.ca_file) if receiver.ca_file else None}
    return Target(
        receiver.name, receiver.ref("url"), receiver.format, tuple(receiver.headers.items()), receiver.ref("secret"),
        receiver.timeout_seconds, receiver.concurrency, receiver.ref("routing_key"), receiver.ref("password"),
        email, receiver.body,
    )


def check_target(found: Target, environ: Mapping[str, str], check_secret) -> None:  # type: ignore[no-untyped-def]
    """Every reference resolves now and the secret is well formed; else a ConfigError naming
    the receiver, field and variable (never a value)."""
    for name, ref in found.refs().items():
        try:
            value = ref.value(environ)
        except Unresolved as problem:
            raise ConfigError(f"receiver {found.name}: {name}: {problem}") from None
        if name == "url" and found.format != "email" and not value.startswith(("http://", "https://")):
            raise ConfigError(f"receiver {found.name}: url: must be an http:// or https:// URL once resolved")
        if name == "secret":
            try:
                check_secret(value)
            except ValueError as problem:
                names = ", ".join(ref.names())
                raise ConfigError(f"receiver {found.name}: secret{f' ({names})' if names else ''}: {problem}") from None
    for header, text in found.headers:
        try:
            Ref(text).value(environ)
        except Unresolved as problem:
            raise ConfigError(f"receiver {found.name}: header {header}: {problem}") from None
