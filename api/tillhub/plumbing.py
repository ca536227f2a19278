"""The edge of the Tillhub-compatible API (SPEC 8): its envelope, errors, parsers, bearer
authentication, account check, qs-style query strings and self-contained cursors.

Tillhub's JavaScript SDK reads every answer as::

    {"msg": "...", "count": <len(results)>, "results": [...], "cursors": {"after": <URL|null>}}

and throws on any status but 200, so every success here is exactly 200 (create and delete
too). Errors are the usual 4xx with ``{"msg": "...", "errors": [{"field", "message"}]}``.
"""

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, JsonResponse, QueryDict
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.models import Account
from accounts.selectors import account_of_user
from api.plumbing import (
    NON_FIELD_ERRORS,
    BoundedJSONParser,
    as_api_exception,
    flatten_errors,
)

# --- envelope -----------------------------------------------------------------------------------


def envelope(msg: str, results: list[Any], after: str | None = None) -> Response:
    """The SDK's envelope, always 200; `results` is always a list."""
    return Response(
        {"msg": msg, "count": len(results), "results": results, "cursors": {"after": after}}
    )


def deleted(msg: str) -> Response:
    return Response({"msg": msg})


# --- errors ------------------------------------------------------------------------------------

# Service and model field names (snake_case) as the SDK's shapes name them.
_FIELD_NAMES = {
    "events": "eventList",
    "rate_per_second": "ratePerSecond",
    "max_in_flight": "maxInFlight",
    "connect_timeout_ms": "connectTimeoutMs",
    "request_timeout_ms": "requestTimeoutMs",
    "grace_seconds": "graceSeconds",
}


def _camel_field(path: str, names: Mapping[str, str]) -> str:
    head, dot, rest = path.partition(".")
    return names.get(head, head) + dot + rest


def error_list(
    errors: Mapping[str, list[str]], names: Mapping[str, str] = _FIELD_NAMES
) -> list[dict[str, Any]]:
    """Field -> messages as the list `errors` carries: one {"field", "message"} per message,
    fields renamed by `names`; `field` is null for the body as a whole."""
    return [
        {
            "field": None if field == NON_FIELD_ERRORS else _camel_field(field, names),
            "message": message,
        }
        for field, messages in errors.items()
        for message in messages
    ]


def _summary(errors: list[dict[str, Any]]) -> str:
    fields = [item["field"] for item in errors if item["field"]]
    if fields:
        return f"Invalid input: {', '.join(dict.fromkeys(fields))}."
    return errors[0]["message"] if errors else "Invalid input."


def tillhub_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error as `{"msg", "errors": [...]}` with its 4xx status; a bug stays a 500 for
    Django to log."""
    # A lookup's DoesNotExist is a 404 here too (the views look objects up directly).
    exc = exceptions.NotFound() if isinstance(exc, ObjectDoesNotExist) else as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        names = getattr(context.get("view"), "error_field_names", _FIELD_NAMES)
        errors = error_list(flatten_errors(exc.detail), names)
        response.data = {"msg": _summary(errors), "errors": errors}
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail if isinstance(exc.detail, str) else exc.default_detail
        response.data = {"msg": str(detail), "errors": []}
    return response


@csrf_exempt  # a 404 whatever the method; CSRF's 403 would be an HTML page instead
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Paths under /api/v0/ that match no endpoint."""
    return JsonResponse({"msg": f"Not found: {request.path}", "errors": []}, status=404)


# --- parsing ----------------------------------------------------------------------------------


class EmptyFormParser(BaseParser):
    """`application/x-www-form-urlencoded` with an empty body, as axios sends a POST without
    data (regenerate-secret, replay, test); anything in such a body is refused: send JSON."""

    media_type = "application/x-www-form-urlencoded"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        if stream is not None and stream.read(1):
            raise exceptions.UnsupportedMediaType(
                media_type, detail="Send the body as JSON (Content-Type: application/json)."
            )
        return {}


def query_list(params: QueryDict, name: str) -> list[str]:
    """Every value of the array `name` in a query string, in the forms qs writes and reads:
    `name[0]=a&name[1]=b` (in index order), `name[]=a` and repeated `name=a`."""
    values = list(params.getlist(name)) + list(params.getlist(f"{name}[]"))
    indexed = []
    pattern = re.compile(rf"^{re.escape(name)}\[([0-9]{{1,6}})\]$")
    for key in params:
        match = pattern.match(key)
        if match:
            indexed.extend((int(match.group(1)), value) for value in params.getlist(key))
    values.extend(value for _, value in sorted(indexed, key=lambda item: item[0]))
    return [value for value in values if value != ""]


def query_dict(params: QueryDict, *, scalars: tuple[str, ...], lists: tuple[str, ...]) -> dict:
    """The named parameters as a plain dict (arrays as lists); empty values count as absent."""
    data: dict[str, Any] = {}
    for name in scalars:
        value = params.get(name)
        if value not in (None, ""):
            data[name] = value
    for name in lists:
        values = query_list(params, name)
        if values:
            data[name] = values
    return data


# --- authentication -----------------------------------------------------------------------------

# How long a token from /users/login is valid, seconds: a working day, as an interactive
# session. Integrations that run for longer use their Hookline API token as the bearer token.
LOGIN_TOKEN_SECONDS = 24 * 3600
_LOGIN_TOKEN_SALT = "hookline.api.tillhub.login"  # noqa: S105 - a namespace, not a secret


def login_token_issue(user: Any) -> tuple[str, datetime]:
    """A signed bearer token for `user` and when it expires. Stateless: it names the user and
    a hash of their password, so changing the password revokes every token issued before."""
    token = signing.dumps(
        {"user": user.pk, "auth": user.get_session_auth_hash()}, salt=_LOGIN_TOKEN_SALT
    )
    return token, timezone.now() + timedelta(seconds=LOGIN_TOKEN_SECONDS)


def _login_token_user(token: str) -> Any:
    try:
        claims = signing.loads(token, salt=_LOGIN_TOKEN_SALT, max_age=LOGIN_TOKEN_SECONDS)
    except signing.BadSignature as error:  # expired tokens included
        raise exceptions.AuthenticationFailed("Invalid or expired token.") from error
    user = get_user_model().objects.filter(pk=claims.get("user")).first()
    if user is None or not user.is_active or user.get_session_auth_hash() != claims.get("auth"):
        raise exceptions.AuthenticationFailed("Invalid or expired token.")
    return user


class BearerAuthentication(TokenAuthentication):
    """`Authorization: Bearer <token>`: a token from /users/login, or a Hookline API token."""

    keyword = "Bearer"

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        if ":" in key:  # signed login tokens carry colons; API tokens are 40 hex digits
            return (_login_token_user(key), key)
        return super().authenticate_credentials(key)


# --- the account in the path --------------------------------------------------------------------


class NotYourAccount(exceptions.PermissionDenied):
    default_detail = "This account is not yours: use the account id /users/login answered."


def path_account(request: Request, acc: str) -> Account:
    """The caller's account when `acc` names it; 403 for any other (or no) account."""
    account = account_of_user(request.user)
    if account is None or str(account.id).lower() != acc.strip().lower():
        raise NotYourAccount()
    return account


# --- base view and cursors ----------------------------------------------------------------------


class TillhubApiView(APIView):
    """Every /api/v0 endpoint: bearer (or Token) authentication, JSON or an empty urlencoded
    body, JSON out, this module's error shape; left out of the /api/v1 OpenAPI document."""

    authentication_classes = [BearerAuthentication, TokenAuthentication]
    parser_classes = [BoundedJSONParser, EmptyFormParser]
    renderer_classes = [JSONRenderer]
    schema = None

    def get_exception_handler(self) -> Any:
        return tillhub_exception_handler

    def get_authenticate_header(self, request: Request) -> str:
        return "Bearer"


def next_page_url(request: Request, *, limit: int, offset: int) -> str:
    """The absolute URL of the page after `offset`..`offset + limit`: this request's own query
    string (filters as the client wrote them) with `limit` and the next `offset`, so the client
    can request it verbatim."""
    params = request.query_params.copy()
    params["limit"] = str(limit)
    params["offset"] = str(offset + limit)
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
