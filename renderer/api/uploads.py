"""Campaign uploads: a multipart body streamed to disk as it arrives, never held in memory.

`receive_upload` parses the body chunk by chunk (python-multipart's push parser); the part named
``file`` is written to a spool file (``spool.py``), the other parts are small form fields. The
file is refused with ``413`` the moment it grows past ``max_upload_bytes``, and deleted; a
declared Content-Length past the limit is refused before a byte is read. Everything else is
capped too, and refused with ``413`` as soon as the cap is passed, without reading further: at
most `MAX_PARTS` parts (the file and its fields), `FIELD_LIMIT` bytes per field, and the whole
body at the file limit plus `MULTIPART_OVERHEAD` (python-multipart caps each part's headers).
"""

from __future__ import annotations

from typing import IO, Any

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from renderer.api.errors import ApiError
from renderer.api.spool import Upload, safe_filename, spool_for
from renderer.storage.base import Storage

FIELD_LIMIT = 64 * 1024
MULTIPART_OVERHEAD = 1 << 20
MAX_PARTS = 32  # the file, template, outputs and a few options, with room to grow


def _too_large(code: str, message: str, field: str | None = None) -> ApiError:
    return ApiError(413, code, message, field=field)


class _Parts:
    """python-multipart callbacks: form fields into memory, the ``file`` part onto disk."""

    def __init__(self, storage: Storage, max_bytes: int) -> None:
        self.storage, self.max_bytes = storage, max_bytes
        self.upload: Upload | None = None
        self.fields: dict[str, list[str]] = {}
        self._header: tuple[bytearray, bytearray] = (bytearray(), bytearray())
        self._disposition = b""
        self._name = ""
        self._buffer = bytearray()
        self._sink: IO[bytes] | None = None
        self._parts = 0

    def callbacks(self) -> Any:
        """The callbacks for `MultipartParser`."""
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda data, start, end: self._header[0].extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header[1].extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            message = f"a campaign upload has at most {MAX_PARTS} parts (the file and its form fields)"
            raise _too_large("too_many_parts", message)
        self._disposition, self._name, self._buffer = b"", "", bytearray()

    def _header_end(self) -> None:
        name, value = self._header
        if bytes(name).strip().lower() == b"content-disposition":
            self._disposition = bytes(value)
        name.clear()
        value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if self._name != "file" or filename is None:
            return
        if self.upload is not None:
            raise ApiError(422, "invalid_request", "send one file only", field="file")
        self.upload = spool_for(self.storage, safe_filename(filename.decode("utf-8", "replace")))
        self._sink = self.upload.spool.open("wb")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._sink is not None and self.upload is not None:
            self.upload.size += end - start
            if self.upload.size > self.max_bytes:
                message = f"the file is larger than {self.max_bytes} bytes"
                raise _too_large("upload_too_large", message, field="file")
            self._sink.write(data[start:end])
            return
        self._buffer.extend(data[start:end])
        if len(self._buffer) > FIELD_LIMIT:
            message = f"form field {self._name!r} is too large"
            raise _too_large("field_too_large", message, field=self._name)

    def _end(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        elif self._name:
            value = self._buffer.decode("utf-8", "replace")
            self.fields.setdefault(self._name, []).append(value)

    def abort(self) -> None:
        """Close and delete a file being received."""
        if self._sink is not None:
            self._sink.close()
        if self.upload is not None:
            self.upload.discard()


async def receive_upload(request: Request, storage: Storage, max_bytes: int) -> Upload:
    """Stream a ``multipart/form-data`` body; the upload (fields attached) or ApiError 4xx."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise ApiError(400, "bad_request", "a multipart body needs a boundary")
    declared, limit = request.headers.get("content-length", ""), max_bytes + MULTIPART_OVERHEAD
    if declared.isdigit() and int(declared) > limit:
        raise _too_large("upload_too_large", f"the file is larger than {max_bytes} bytes", field="file")
    parts = _Parts(storage, max_bytes)
    parser = MultipartParser(boundary, parts.callbacks())
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:  # bytes outside any part (a preamble, an epilogue)
                raise _too_large("upload_too_large", f"the body is larger than {limit} bytes")
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        parts.abort()
        raise ApiError(400, "malformed_multipart", "the multipart body cannot be parsed") from None
    except ClientDisconnect:
        parts.abort()
        raise ApiError(400, "client_disconnected", "the upload was cut off") from None
    except BaseException:
        parts.abort()
        raise
    if parts.upload is None:
        raise ApiError(422, "invalid_request", "a file field named 'file' is required", field="file")
    parts.upload.fields = parts.fields
    return parts.upload
