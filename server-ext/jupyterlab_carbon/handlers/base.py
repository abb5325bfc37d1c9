"""What every endpoint shares: JSON out (finite numbers only), JSON errors, checked input."""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

import tornado.web
from jupyter_server.base.handlers import APIHandler

from ..config import CarbonConfig
from ..ledger import Ledger
from ..ledger.annotations import CONTROL, lone_surrogate_at
from ..sampler import Sampler

P = ParamSpec("P")
T = TypeVar("T")

# The verbs a resource may implement; tornado answers the others with 405 before any handler code.
VERBS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
INTEGER = re.compile(r"[+-]?[0-9]{1,30}")
# A JSON escape of a surrogate (paired ones are joined into one character by json.loads).
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def finite_json(value: Any) -> Any:
    """``value`` with every infinite or NaN float replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(item) for item in value]
    return value


def json_text(value: Any) -> str:
    """Strict JSON: a stored infinity is sent as null, never as the non-JSON token ``Infinity``."""
    try:
        return json.dumps(value, allow_nan=False)  # the common case, without walking the value first
    except ValueError:  # an infinite or NaN float somewhere
        return json.dumps(finite_json(value), allow_nan=False)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


class JsonErrors(tornado.web.RequestHandler):
    """Errors as JSON ``{code, message}``; a 405 lists the verbs the resource has in ``Allow``."""

    def allowed_methods(self) -> list[str]:
        """The verbs this handler implements (tornado's default for the others answers 405)."""
        return [
            verb
            for verb in VERBS
            if getattr(type(self), verb.lower()) is not getattr(tornado.web.RequestHandler, verb.lower())
        ]

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        message = self._reason
        exc_info = kwargs.get("exc_info")
        if exc_info and isinstance(exc_info[1], tornado.web.HTTPError) and exc_info[1].log_message:
            message = exc_info[1].log_message
        if status_code == 405:
            allowed = self.allowed_methods()
            self.set_header("Allow", ", ".join(allowed))
            message = f"{self.request.method} is not supported here; this resource supports {', '.join(allowed)}"
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"code": status_code, "message": message}))


class CarbonHandler(JsonErrors, APIHandler):
    """Base of the REST handlers: the shared server objects, checked arguments, JSON replies."""

    @property
    def state(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.settings["jupyterlab_carbon"])

    @property
    def sampler(self) -> Sampler:
        return cast(Sampler, self.state["sampler"])

    @property
    def ledger(self) -> Ledger:
        return cast(Ledger, self.state["ledger"])

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        # tornado answers a verb the resource lacks (405) without asking who sent it: refuse an
        # unauthenticated request first, as every implemented verb does.
        if self.request.method not in self.allowed_methods() and self.current_user is None:
            raise tornado.web.HTTPError(403)

    @property
    def carbon_config(self) -> CarbonConfig:
        return cast(CarbonConfig, self.state["config"])

    @property
    def visible_users(self) -> tuple[str, ...] | None:
        """Whose runs this server shows and may change: None for everyone's (the team view).

        Otherwise its user's and those of no known user (recorded before users were); a server
        configured without a user sees only the latter.
        """
        config = self.carbon_config
        if config.team_view:
            return None
        return (config.user,) if config.user else ()

    def write_json(self, value: Any) -> None:
        self.finish(json_text(value))

    def _raw_argument(self, name: str) -> str | None:
        # Not stripped: ' 5' is not a number the API documents, and is refused like any other.
        return self.get_query_argument(name, None, strip=False)

    def integer_argument(self, name: str, default: int, minimum: int, maximum: int) -> int:
        """A whole-number query argument, its default when absent, or a 400 saying what is wrong.

        Present but empty (``?limit=``) is an error, not the default: it is a client's bug.
        """
        raw = self._raw_argument(name)
        if raw is None:
            return default
        if not INTEGER.fullmatch(raw):
            raise tornado.web.HTTPError(
                400, f"'{name}' must be a whole number from {minimum} to {maximum}, got {raw[:40]!r}"
            )
        value = int(raw)
        if not minimum <= value <= maximum:
            raise tornado.web.HTTPError(
                400, f"'{name}' must be a whole number from {minimum} to {maximum}, got {value}"
            )
        return value

    def _texts(self, name: str) -> list[str]:
        """Every value of a query argument as sent: tornado's own accessors turn control
        characters into spaces, which would let a malformed filter through as another one."""
        try:
            return [raw.decode("utf-8") for raw in self.request.query_arguments.get(name, [])]
        except UnicodeDecodeError:
            raise tornado.web.HTTPError(400, f"'{name}' is not valid UTF-8") from None

    def text_argument(self, name: str, max_chars: int) -> str | None:
        """A string query argument (absent or empty: None), at most ``max_chars``, without control characters."""
        values = self._texts(name)
        if not values or not values[-1]:  # the last one given wins, as with tornado's get_argument
            return None
        return checked_text(name, values[-1], max_chars)

    def text_arguments(self, name: str, max_chars: int, max_count: int) -> tuple[str, ...]:
        """A repeatable string query argument (``?tag=a&tag=b``): each checked, at most ``max_count``."""
        values = [value for value in self._texts(name) if value]
        if len(values) > max_count:
            raise tornado.web.HTTPError(400, f"'{name}' may be given at most {max_count} times, got {len(values)}")
        return tuple(checked_text(name, value, max_chars) for value in values)

    def choice_argument(self, name: str, choices: tuple[str, ...], default: str | None) -> str | None:
        """A query argument that must be one of ``choices`` (absent: ``default``)."""
        raw = self._raw_argument(name)
        if raw is None:
            return default
        if raw not in choices:
            raise tornado.web.HTTPError(400, f"'{name}' must be one of {', '.join(choices)}, got {raw[:40]!r}")
        return raw

    def number_argument(self, name: str, default: float | None, minimum: float, maximum: float) -> float | None:
        """A numeric query argument, its default when absent, or a 400 saying what is wrong."""
        raw = self._raw_argument(name)
        if raw is None:
            return default
        if not NUMBER.fullmatch(raw):
            raise tornado.web.HTTPError(
                400, f"'{name}' must be a number from {minimum:g} to {maximum:g}, got {raw[:40]!r}"
            )
        value = float(raw)
        if not minimum <= value <= maximum:  # also refuses 1e999, which float() reads as infinity
            raise tornado.web.HTTPError(
                400, f"'{name}' must be a number from {minimum:g} to {maximum:g}, got {raw[:40]}"
            )
        return value

    def json_body(self, max_bytes: int, empty: Any) -> Any:
        """The request's JSON body (``empty`` when there is none), or a 413 or 400 in JSON saying why not."""
        body = self.request.body
        if len(body) > max_bytes:
            raise tornado.web.HTTPError(413, f"The body is {len(body)} bytes; at most {max_bytes} are accepted here")
        if not body.strip():
            return empty
        try:
            value = json.loads(body, parse_constant=_refuse_constant)
        except RecursionError:
            raise tornado.web.HTTPError(400, "The body's JSON is nested too deeply") from None
        except ValueError as err:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise tornado.web.HTTPError(400, f"The body is not valid JSON: {err}") from None
        where = lone_surrogate_at(value) if SURROGATE_ESCAPE.search(body) else None
        if where is not None:
            raise tornado.web.HTTPError(
                400, f"{where} holds a lone surrogate (an escape such as \\ud800 without its pair), which is not text"
            )
        return value

    async def in_thread(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Ledger and file calls block on I/O: keep them off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(function, *args, **kwargs))


def checked_text(name: str, value: str, max_chars: int) -> str:
    """``value`` if it is at most ``max_chars`` without control characters, else a 400 naming ``name``."""
    if len(value) > max_chars:
        raise tornado.web.HTTPError(400, f"'{name}' must be at most {max_chars} characters, got {len(value)}")
    if CONTROL.search(value):
        raise tornado.web.HTTPError(
            400, f"'{name}' must not contain control characters (such as NUL or a newline) or lone surrogates"
        )
    return value


class NotFoundHandler(CarbonHandler):
    """Any other path below ``carbon/``: a JSON 404 (not Jupyter's HTML page) after authentication."""

    def _not_found(self, *args: str) -> None:
        raise tornado.web.HTTPError(
            404, f"No endpoint at {self.request.path}; the README's REST API section lists them"
        )

    get = head = post = put = patch = delete = tornado.web.authenticated(_not_found)
