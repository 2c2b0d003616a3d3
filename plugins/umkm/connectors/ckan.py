"""ckan (kemenkopukm): the CKAN Action API (`package_show`, `datastore_search`).

The snapshot's resource is the one named `<resource_prefix><YYYYMMDD>` in the package; none
means no data for the snapshot. Records are paged by offset (`limit` at most 32000) until
the offset reaches `total`; the offset advances by the records received, since a page may be
short. CKAN errors come as `{"success": false, "error": {"__type", "message"}}`: with a 5xx
status they are retried, with a 4xx (or a 200) they fail fast naming the CKAN error type.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from umkm.connectors.base import Connector, JsonRecords, Page, page_of
from umkm.connectors.errors import NoData, ProtocolViolation, SourceRequestError
from umkm.connectors.http import Answer, Request

SHOW_PATH = "/api/3/action/package_show"
SEARCH_PATH = "/api/3/action/datastore_search"


class _Resource(msgspec.Struct):
    id: str
    name: str | None = None


class _Package(msgspec.Struct):
    resources: list[_Resource] = []


class _Show(msgspec.Struct):
    success: bool
    result: _Package | None = None


class _Search(msgspec.Struct):
    records: list[msgspec.Raw]
    total: int | None = None
    total_was_estimated: bool = False


class _SearchAnswer(msgspec.Struct):
    success: bool
    result: _Search | None = None


class _Err(msgspec.Struct):
    type_: str = msgspec.field(name="__type", default="")
    message: Any = ""


class _ErrAnswer(msgspec.Struct):
    success: bool = False
    error: _Err | None = None


def _ckan_error(body: bytes) -> str:
    try:
        err = msgspec.json.decode(body, type=_ErrAnswer).error
    except (msgspec.DecodeError, ValueError):
        return body[:200].decode("utf-8", "replace")
    if err is None:
        return "success: false"
    return f"{err.type_}: {err.message}"


#: 4xx answers read as CKAN errors; 429 is transient like everywhere (retried by the client)
_CKAN_ERRORS = frozenset(range(400, 500)) - {429}


class CkanConnector(Connector):
    max_page_size = 32000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.package_id = str(self.source.options.get("package_id", "umkm-go-online"))
        self.prefix = str(self.source.options.get("resource_prefix", "umkm_go_online_"))
        self.headers = {"Authorization": self.conn.password} if self.conn.password else {}
        self._records = JsonRecords(self.source.id_field)

    def _call(self, path: str, params: dict[str, Any], answer_type: type) -> Any:
        answer = self.client.fetch(
            Request("GET", path, params=params, headers=self.headers, accept=_CKAN_ERRORS),
            parse=msgspec.json.Decoder(answer_type).decode,
        )
        if answer.status >= 400 or answer.parsed is None or not answer.parsed.success:
            raise self._error(path, answer)
        return answer.parsed.result

    def _error(self, path: str, answer: Answer) -> Exception:
        hint = {
            403: "the API token was refused: check the connection's password",
            404: "check options.package_id in the registry and the connection's base URL",
            409: "the request does not follow the CKAN contract (check page_size)",
        }.get(answer.status, "check the portal's status and the connection")
        return self.fail(
            SourceRequestError,
            path,
            f"CKAN error (HTTP {answer.status}) {_ckan_error(answer.body)}",
            hint,
        )

    def pages(self, state: dict[str, Any]) -> Iterator[Page]:
        resource_id = state.get("resource_id")
        if resource_id is None:
            package: _Package | None = self._call(SHOW_PATH, {"id": self.package_id}, _Show)
            wanted = self.prefix + self.snapshot.strftime("%Y%m%d")
            found = [r for r in (package.resources if package else []) if r.name == wanted]
            if not found:
                raise NoData(SHOW_PATH, f"no resource named {wanted}")
            resource_id = found[0].id
        offset = int(state.get("offset", 0))
        while True:
            params = {"resource_id": resource_id, "limit": self.page_size, "offset": offset}
            result: _Search = self._call(SEARCH_PATH, params, _SearchAnswer)
            if result is None:
                raise self.fail(
                    ProtocolViolation,
                    SEARCH_PATH,
                    "success without a result",
                    "report it to the portal",
                )
            exact_total = result.total is not None and not result.total_was_estimated
            if not result.records and exact_total and offset < (result.total or 0):
                raise self.fail(
                    ProtocolViolation,
                    SEARCH_PATH,
                    f"empty page at offset {offset} although total is {result.total}",
                    "the datastore is inconsistent; retry the load later",
                )
            rows, rejects = self._records.split(result.records)
            offset += len(result.records)
            done = offset >= result.total if exact_total else not result.records
            state = {"resource_id": resource_id, "offset": offset}
            yield page_of(rows, rejects, state, done=done)
            if done:
                return
