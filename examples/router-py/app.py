"""The HTTP router, in Python (componentize-py): the same contract as the
Rust router in router/, built against the same WIT and plugged into the
very same lookup.wasm by `wac plug`.

- a rule matches: the rule's status with `Location` set to its target and
  an empty body;
- no rule matches: 404 with a short text body.

The path passed to the lookup is the request target without its query
(`/a?b=c` looks up `/a`); the query and the host (port removed, ASCII
lowercased) go alongside. Build it with `./x build --router python`.
"""

from componentize_py_types import Ok
from wit_world import exports
from wit_world.imports import lookup
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)

NOT_FOUND = b"no redirect for this path\n"


def host_of(authority: str) -> str:
    """The host without its port: `[::1]:3000` -> `[::1]`, `a.com:80` -> `a.com`."""
    if authority.startswith("["):
        end = authority.find("]")
        return authority if end < 0 else authority[: end + 1]
    return authority.split(":", 1)[0]


class IncomingHandler(exports.IncomingHandler):
    """`wasi:http/incoming-handler`: one call per request."""

    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        target = request.path_with_query() or "/"
        path, sep, query = target.partition("?")
        authority = request.authority()
        # bytes.lower() lowercases ASCII only, like the Rust router.
        host = None if authority is None else host_of(authority).encode().lower().decode()
        found = lookup.lookup(lookup.Request(host, path, query if sep else None))
        if found is None:
            headers = [("content-type", b"text/plain; charset=utf-8")]
            status, body = 404, NOT_FOUND
        else:
            headers = [("location", found.location.encode())]
            status, body = found.status, b""
        response = OutgoingResponse(Fields.from_list(headers))
        response.set_status_code(status)
        out = response.body()
        ResponseOutparam.set(response_out, Ok(response))
        if body:
            with out.write() as stream:
                stream.blocking_write_and_flush(body)
        OutgoingBody.finish(out, None)
