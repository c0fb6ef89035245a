"""Just enough HTTP/1.1 on asyncio streams for a Bot API client: keep-alive, Content-Length bodies,
form, multipart and JSON parameters."""

from __future__ import annotations

import json
from asyncio import IncompleteReadError, StreamReader
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

MAX_BODY = 60 * 1024 * 1024


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


async def read_request(reader: StreamReader) -> Request | None:
    """The next request on a connection, or None when the client closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if length > MAX_BODY:
        raise ValueError("request body too large")
    body = await reader.readexactly(length) if length else b""
    return Request(method=method, path=path, headers=headers, body=body)


def response_bytes(status: int, payload: dict[str, object]) -> bytes:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests"}
    head = (
        f"HTTP/1.1 {status} {reason.get(status, 'Error')}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _value(text: str) -> object:
    """Bot API clients JSON-encode everything that is not a plain string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parameters(request: Request) -> dict[str, object]:
    content_type = request.headers.get("content-type", "")
    if not request.body:
        return {}
    if content_type.startswith("application/json"):
        loaded = json.loads(request.body)
        return dict(loaded) if isinstance(loaded, dict) else {}
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {key: _value(value) for key, value in parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)}
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + request.body
        )
        found: dict[str, object] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            decoded = part.get_payload(decode=True)
            payload = decoded if isinstance(decoded, bytes) else b""
            if part.get_filename():
                found[str(name)] = {"filename": part.get_filename(), "size": len(payload), "content": payload}
            else:
                found[str(name)] = _value(payload.decode("utf-8"))
        return found
    return {}
