"""HTTP with timeouts and retries, shared by every connector.

`HttpClient.fetch` sends one logical request and retries it on the contract's transient
failures: `429` (waiting `Retry-After`), `500`/`502`/`503`/`504`, a connection reset or
refused, a timeout, and a body cut short (a short read, or a body that does not parse).
Waits grow exponentially with full jitter and are capped. Connector-specific repairs (a new
OAuth token on `401`, a new signature on `invalid_sign`) plug in through `on_error`.

Messages and logs carry the URL path only: query strings may hold keys or signatures.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import requests

from umkm.connectors.errors import (
    LimitExceeded,
    ProtocolViolation,
    RetriesExhausted,
    SourceRequestError,
)

log = logging.getLogger("umkm.connectors.http")

TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
_TRANSIENT_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait for a source and how often to retry it.

    Defaults suit the partners' feeds; a registry entry may override any of them under
    `options.http` (e.g. `{read_timeout_s: 120, max_attempts: 10}`).
    """

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    max_attempts: int = 8
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    max_retry_after_s: float = 300.0
    file_fetches: int = 3  # a corrupt file-drop file is fetched at most this many times

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> RetryPolicy:
        """The defaults, overridden by a registry entry's `options.http`."""
        overrides = dict((options or {}).get("http") or {})
        known = set(cls.__dataclass_fields__)
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown options.http keys: {sorted(unknown)}")
        return cls(**overrides)

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout_s, self.read_timeout_s)

    def backoff(self, retry: int) -> float:
        """Full-jitter exponential backoff for the `retry`-th retry (0-based), capped."""
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * (2**retry))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto

    def retry_after(self, header: str | None, retry: int) -> float:
        """Seconds to wait for a `429`: its `Retry-After` (seconds or HTTP date), capped."""
        if header:
            header = header.strip()
            try:
                wait = float(header)
            except ValueError:
                parsed = email.utils.parsedate_to_datetime(header) if header else None
                wait = parsed.timestamp() - time.time() if parsed else self.backoff(retry)
            # a little jitter so parallel workers do not return in lockstep
            return min(self.max_retry_after_s, max(0.0, wait)) + random.uniform(0, 0.05)  # noqa: S311
        return self.backoff(retry)


@dataclass
class HttpStats:
    """Counters shown in progress displays and returned in `LoadResult`."""

    requests: int = 0
    retries: int = 0
    bytes: int = 0
    waits_s: float = 0.0
    last_retry_reason: str = ""


@dataclass
class Answer:
    """A finished response: status, headers and either the body or the file it was saved to."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    parsed: Any = None
    sha256: str | None = None
    size: int = 0


@dataclass
class Request:
    """One logical request; `params`/`headers` may be callables, re-evaluated per attempt."""

    method: str
    path: str
    params: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None
    headers: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None
    data: Mapping[str, Any] | None = None
    auth: tuple[str, str] | None = None
    accept: frozenset[int] = field(default_factory=frozenset)  # non-2xx handed back as-is


# on_error(answer) -> True when the connector repaired the cause (new token, new signature)
ErrorHook = Callable[[Answer], bool]


#: Request headers that carry credentials besides `Authorization` (which requests drops on
#: a redirect to another host by itself).
CREDENTIAL_HEADERS = ("X-Api-Key",)


class _Session(requests.Session):
    """A session that drops every credential header, not only `Authorization`, when a
    redirect leads to another host, port or scheme: an API key never follows the partner's
    answer elsewhere."""

    def rebuild_auth(self, prepared_request, response):
        if self.should_strip_auth(response.request.url, prepared_request.url):
            for name in CREDENTIAL_HEADERS:
                prepared_request.headers.pop(name, None)
        super().rebuild_auth(prepared_request, response)


class HttpClient:
    """A `requests.Session` for one source and one snapshot, with retries and stats."""

    def __init__(
        self,
        base_url: str,
        source_id: str,
        snapshot: str,
        policy: RetryPolicy | None = None,
        stats: HttpStats | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_body_bytes: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        #: the source's limits.max_response_bytes: a longer body is refused as it streams
        self.max_body_bytes = max_body_bytes
        self.source_id = source_id
        self.snapshot = snapshot
        self.policy = policy or RetryPolicy()
        self.stats = stats or HttpStats()
        self._sleep = sleep
        self.session = _Session()
        self.session.headers["User-Agent"] = "umkm-ingest/0.1"
        self.session.headers["Accept-Encoding"] = "identity"  # stream sizes stay honest

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- errors -------------------------------------------------------------------------
    def fail(self, cls: type, path: str, problem: str, hint: str) -> Exception:
        """An `IngestError` subclass naming this source and snapshot."""
        return cls(self.source_id, self.snapshot, path, problem, hint)

    def _status_error(self, req: Request, answer: Answer) -> Exception:
        excerpt = answer.body[:300].decode("utf-8", "replace").strip() if answer.body else ""
        hints = {
            400: "the request does not follow the contract for this source (check page_size "
            "and options in plugins/umkm/sources/registry.yaml)",
            401: "the credentials were refused: check the connection's login/password",
            403: "access was refused: check the connection's keys (extra) and permissions",
            404: "the path does not exist: check the connection's base URL",
        }
        hint = hints.get(answer.status, "check the source's status and the connection")
        return self.fail(
            SourceRequestError,
            req.path,
            f"HTTP {answer.status} {excerpt!r}",
            hint + f" (connection from AIRFLOW_CONN_UMKM_{self.source_id.upper()})",
        )

    # -- the retry loop -----------------------------------------------------------------
    def fetch(
        self,
        req: Request,
        *,
        parse: Callable[[bytes], Any] | None = None,
        on_error: ErrorHook | None = None,
        to_file: IO[bytes] | None = None,
    ) -> Answer:
        """Send `req` until it succeeds, retrying transient failures.

        `parse` turns the body into an object inside the retry loop, so a body cut short
        (unparseable) is fetched again. `to_file` streams the body into a file instead of
        memory (its sha256 and size are returned). Statuses in `req.accept` come back as
        answers; other non-2xx statuses raise `SourceRequestError` unless `on_error`
        repairs them.
        """
        policy = self.policy
        url = self.base_url + req.path
        retry = 0
        while True:
            reason = ""
            wait: float | None = None
            params = req.params() if callable(req.params) else req.params
            headers = req.headers() if callable(req.headers) else req.headers
            self.stats.requests += 1
            try:
                answer = self._send(req, url, params, headers, to_file)
            except _TRANSIENT_EXCEPTIONS as exc:
                reason = f"{type(exc).__name__}"
                answer = None
            if answer is not None:
                if 200 <= answer.status < 300:
                    if parse is None:
                        return answer
                    try:
                        answer.parsed = parse(answer.body)
                        return answer
                    except (ValueError, TypeError) as exc:  # msgspec errors are ValueErrors
                        reason = f"unparseable body ({type(exc).__name__})"
                        if retry + 1 >= policy.max_attempts:
                            raise self.fail(
                                ProtocolViolation,
                                req.path,
                                f"the answer is not valid for the contract: {exc}",
                                "the source sends malformed data; report it to the partner",
                            ) from exc
                elif answer.status in req.accept:
                    return answer
                elif on_error is not None and on_error(answer):
                    reason = f"HTTP {answer.status} repaired"
                    wait = 0.0
                elif answer.status in TRANSIENT_STATUSES:
                    reason = f"HTTP {answer.status}"
                    if answer.status == 429:
                        wait = policy.retry_after(answer.headers.get("Retry-After"), retry)
                else:
                    raise self._status_error(req, answer)
            if retry + 1 >= policy.max_attempts:
                raise self.fail(
                    RetriesExhausted,
                    req.path,
                    f"gave up after {policy.max_attempts} attempts (last: {reason})",
                    "the source is down or overloaded: retry the load later (it resumes from "
                    "the last committed page)",
                )
            if wait is None:
                wait = policy.backoff(retry)
            retry += 1
            self.stats.retries += 1
            self.stats.waits_s += wait
            self.stats.last_retry_reason = reason
            log.info(
                "event=retry source=%s snapshot=%s path=%s reason=%r attempt=%d wait_s=%.2f",
                self.source_id,
                self.snapshot,
                req.path,
                reason,
                retry + 1,
                wait,
            )
            if wait > 0:
                self._sleep(wait)

    def _send(
        self,
        req: Request,
        url: str,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        to_file: IO[bytes] | None,
    ) -> Answer:
        with self.session.request(
            req.method,
            url,
            params=params,
            headers=headers,
            data=req.data,
            auth=req.auth,
            timeout=self.policy.timeout,
            stream=True,
        ) as resp:
            headers_out = resp.headers
            declared = headers_out.get("Content-Length", "")
            if declared.isdigit():
                self._bounded(req.path, int(declared))
            if to_file is not None and 200 <= resp.status_code < 300:
                to_file.seek(0)
                to_file.truncate()
                digest = hashlib.sha256()
                size = 0
                for chunk in resp.iter_content(1 << 20):
                    size += len(chunk)
                    self._bounded(req.path, size)
                    digest.update(chunk)
                    to_file.write(chunk)
                to_file.flush()
                self.stats.bytes += size
                return Answer(resp.status_code, headers_out, sha256=digest.hexdigest(), size=size)
            buffer = bytearray()
            for chunk in resp.iter_content(1 << 20):
                buffer += chunk
                self._bounded(req.path, len(buffer))
            body = bytes(buffer)
            del buffer
            self.stats.bytes += len(body)
            return Answer(resp.status_code, headers_out, body=body, size=len(body))

    def _bounded(self, path: str, size: int) -> None:
        """Refuse a body past max_body_bytes (declared or read so far): not retried."""
        limit = self.max_body_bytes
        if limit is not None and size > limit:
            raise self.fail(
                LimitExceeded,
                path,
                f"the answer passes limits.max_response_bytes ({size} bytes or more; the limit "
                f"is {limit})",
                "If the source really sends answers this large, raise it in the source's "
                "registry entry (or ask for smaller pages); else report the feed to its owner",
            )
