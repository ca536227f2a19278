"""Plumbing shared by every API module: errors, parsing, pagination and account scoping.

Every error the API answers has one shape (``ErrorSerializer``)::

    {"detail": "Invalid input.", "code": "invalid", "errors": {"url": ["..."], "events.1": ["..."]}}

``errors`` maps a field (dotted for nested fields and list items, ``non_field_errors`` for the
body as a whole) to its messages; it is ``{}`` when no field is to blame (404, 401, ...).
"""

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from accounts.models import Account
from accounts.selectors import account_of_user
from deliveries.engine.numbers import NumberRefused, parse_float, parse_int
from webhooks.models import Webhook
from webhooks.selectors import webhook_for_account

NON_FIELD_ERRORS = api_settings.NON_FIELD_ERRORS_KEY
T = TypeVar("T")

# Largest request body, bytes, of endpoints that take no event payload: a subscription's
# configuration is a few KiB at most (URL 2 KiB, a handful of keys), so anything near this is
# not a real request and is refused before it is parsed.
DEFAULT_MAX_REQUEST_BYTES = 64 * 1024


# --- errors -----------------------------------------------------------------------------------


class ApiError(exceptions.APIException):
    """An API error that may name the fields to blame, like a validation error does."""

    def __init__(
        self,
        detail: str | None = None,
        code: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
    ) -> None:
        super().__init__(detail, code)
        self.errors = dict(errors or {})


class PayloadTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class NoAccount(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "This user belongs to no account; ask an administrator to add it to one."
    default_code = "no_account"


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as ``{"field.sub.0": [messages]}``."""
    if isinstance(detail, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = NON_FIELD_ERRORS if key in ("__all__", NON_FIELD_ERRORS) else str(key)
            path = f"{prefix}.{name}" if prefix else name
            if name == NON_FIELD_ERRORS and prefix:
                path = prefix
            for field, messages in flatten_errors(value, path).items():
                flat.setdefault(field, []).extend(messages)
        return flat
    if isinstance(detail, Sequence) and not isinstance(detail, str):
        if all(isinstance(item, str) for item in detail):
            return {prefix or NON_FIELD_ERRORS: [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            if not item:
                continue  # DRF lists an empty entry for each valid item of a list
            nested = flatten_errors(item, f"{prefix}.{index}" if prefix else str(index))
            for field, messages in nested.items():
                flat.setdefault(field, []).extend(messages)
        return flat
    return {prefix or NON_FIELD_ERRORS: [str(detail)]}


def django_error_detail(error: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ValidationError (as the services raise) as field -> messages."""
    if hasattr(error, "error_dict"):
        return flatten_errors(error.message_dict)
    return {NON_FIELD_ERRORS: list(error.messages)}


def error_body(detail: str, code: str, errors: Mapping[str, list[str]] | None = None) -> dict:
    return {"detail": detail, "code": code, "errors": dict(errors or {})}


def _validation_summary(errors: Mapping[str, list[str]]) -> str:
    fields = [field for field in errors if field != NON_FIELD_ERRORS]
    if not fields:
        messages = errors.get(NON_FIELD_ERRORS) or ["Invalid input."]
        return messages[0]
    return f"Invalid input: {', '.join(fields)}."


def as_api_exception(exc: Exception) -> Exception:
    """Django's exceptions that services and lookups raise, as DRF's (400, 404, 403), so both
    APIs' handlers render them in their own shapes; anything else unchanged."""
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(django_error_detail(exc))
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus Django ValidationError as 400, with every body in one shape.

    Anything else (a bug) is left to Django: logged and answered 500.
    """
    # Imported here: rest_framework.views reads the parser setting, which names this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    exc = as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        response.data = error_body(_validation_summary(errors), "invalid", errors)
        return response
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = exc.get_codes() if isinstance(detail, str) else exc.default_code
        errors = getattr(exc, "errors", None)
        message = str(detail) if isinstance(detail, str) else str(exc.default_detail)
        response.data = error_body(message, str(code), errors)
    return response


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for a person.")
    code = serializers.CharField(
        help_text="Machine-readable: invalid, parse_error, not_found, not_authenticated, "
        "no_account, payload_too_large, unsupported_media_type, method_not_allowed, ..."
    )
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field (dotted path for nested fields and list items; "
        "`non_field_errors` for the body as a whole); empty when no field is to blame.",
    )


_ERROR_DESCRIPTIONS = {
    400: "Invalid input: malformed JSON, wrong types or values; `errors` names the fields.",
    401: "No or invalid credentials (`Authorization: Token <key>` or a session).",
    403: "The user belongs to no account.",
    404: "No such object in the caller's account.",
    413: "The request body or the event payload is larger than allowed.",
    415: "The request body is not JSON (`Content-Type: application/json`).",
    422: "The Idempotency-Key was used before with a different body.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses for @extend_schema: 401 always, plus the given codes."""
    return {
        code: OpenApiResponse(ErrorSerializer, description=_ERROR_DESCRIPTIONS[code])
        for code in sorted({401, *codes})
    }


@csrf_exempt  # a 404 whatever the method; CSRF's 403 would be an HTML page instead
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """JSON 404 for paths under the API that match no endpoint (or a malformed id)."""
    detail = "Not found."
    if not request.path.endswith("/"):
        detail = f"Not found. API paths end with a slash: {request.path}/"
    return JsonResponse(error_body(detail, "not_found"), status=404)


# --- parsing ----------------------------------------------------------------------------------


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        # 1e400 parses as infinity, which no JSON encoder can write back out to a receiver.
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


class BoundedJSONParser(BaseParser):
    """JSON bodies only, bounded in size before parsing; every malformed input is a 400.

    A view sets `max_request_bytes` to change the bound (default DEFAULT_MAX_REQUEST_BYTES);
    a larger body is a 413. Besides malformed JSON, refused as 400: invalid UTF-8, numbers too
    large for a float, NaN/Infinity, lone surrogates (PostgreSQL cannot store them) and nesting
    too deep for the parser.
    """

    media_type = "application/json"

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        view = (parser_context or {}).get("view")
        limit = getattr(view, "max_request_bytes", DEFAULT_MAX_REQUEST_BYTES)
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        try:
            text = raw.decode("utf-8")
            data = json.loads(text, parse_float=_finite_float, parse_constant=_reject_constant)
            # Re-encoding finds lone surrogates (`"\ud800"`), which are valid JSON escapes
            # but cannot be stored or sent.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except RecursionError as error:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from error
        except (UnicodeError, ValueError) as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from error
        return data


class AsciiIntegerField(serializers.IntegerField):
    """An integer; a JSON number, or a string of ASCII digits (DRF's own field would read
    `"٣"` as 3 and fail on `"²"`)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str):
            low = self.min_value if self.min_value is not None else -(2**63)
            high = self.max_value if self.max_value is not None else 2**63 - 1
            try:
                data = parse_int(data, low=int(low), high=int(high))
            except NumberRefused as refused:
                raise serializers.ValidationError(str(refused)) from None
        return super().to_internal_value(data)


class AsciiFloatField(serializers.FloatField):
    """A number; a JSON number, or a string in ASCII decimal notation."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, str):
            low = self.min_value if self.min_value is not None else -math.inf
            high = self.max_value if self.max_value is not None else math.inf
            try:
                data = parse_float(data, low=float(low), high=float(high))
            except NumberRefused as refused:
                raise serializers.ValidationError(str(refused)) from None
        return super().to_internal_value(data)


# --- pagination -------------------------------------------------------------------------------


class ApiPagination(LimitOffsetPagination):
    """`?limit=&offset=`; a limit above `max_limit` is lowered to it, bad values are a 400."""

    default_limit = 50
    max_limit = 500
    # Far beyond any real table, and within every database's 64-bit OFFSET.
    max_offset = 10**12

    def _query_int(self, request: Request, name: str, low: int, high: int) -> int | None:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return None
        try:
            return parse_int(raw, low=low, high=high)
        except NumberRefused as refused:
            raise exceptions.ValidationError({name: [str(refused)]}) from None

    def get_limit(self, request: Request) -> int:
        # Anything up to max_offset is read as a number, then capped at max_limit.
        limit = self._query_int(request, self.limit_query_param, 1, self.max_offset)
        return self.default_limit if limit is None else min(limit, self.max_limit)

    def get_offset(self, request: Request) -> int:
        offset = self._query_int(request, self.offset_query_param, 0, self.max_offset)
        return offset or 0

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_offset},
            self.offset_query_param: {"minimum": 0, "maximum": self.max_offset},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        limit = next(p for p in parameters if p["name"] == self.limit_query_param)
        limit["description"] = (
            f"Number of results to return per page (default {self.default_limit}, "
            f"at most {self.max_limit})."
        )
        return parameters


def paginated_response(
    *,
    queryset: QuerySet[Any],
    serializer_class: type[serializers.BaseSerializer],
    request: Request,
    view: Any,
    context: dict[str, Any] | None = None,
) -> Response:
    """One page of `queryset` in the paginator's envelope (count, next, previous, results)."""
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    serializer = serializer_class(page, many=True, context=context or {})
    return paginator.get_paginated_response(serializer.data)


# --- account scoping --------------------------------------------------------------------------


def request_account_id(request: Request) -> Any:
    """The caller's account id, or None for a user without an account (who then sees nothing)."""
    account = account_of_user(request.user)
    return account.id if account is not None else None


def require_account(request: Request) -> Account:
    """The caller's account, for endpoints that create something; NoAccount (403) if none."""
    account = account_of_user(request.user)
    if account is None:
        raise NoAccount()
    return account


def found_or_404(lookup: Callable[..., T], **arguments: Any) -> T:
    """`lookup(**arguments)` (an account-scoped selector); its DoesNotExist becomes a 404."""
    try:
        return lookup(**arguments)
    except ObjectDoesNotExist as error:
        raise Http404 from error


def account_webhook(request: Request, webhook_id: Any) -> Webhook:
    """The caller's subscription `webhook_id`; 404 for another account's or a missing one."""
    return found_or_404(
        webhook_for_account, account_id=request_account_id(request), webhook_id=webhook_id
    )


def max_payload_request_bytes() -> int:
    """Bound on the raw body of a request carrying an event payload.

    Twice the payload limit leaves room for pretty-printed JSON and the other fields; the
    payload itself is then held to WEBHOOK_MAX_PAYLOAD_BYTES as compact JSON by the service.
    """
    return 2 * settings.WEBHOOK_MAX_PAYLOAD_BYTES
