"""The JSON document every small artifact type is stored as: one place for writing, reading and checking it."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Sequence


def write_document(materializer: Any, file_name: str, type_name: str, format_version: int,
                   content: Dict[str, Any]) -> None:
    """Write `content` with its type and format version as `file_name` in the artifact's folder."""
    store = materializer.artifact_store
    if not store.exists(materializer.uri):
        store.makedirs(materializer.uri)
    document = {"format_version": format_version, "type": type_name, **content}
    with store.open(os.path.join(materializer.uri, file_name).replace("\\", "/"), "w") as handle:
        handle.write(json.dumps(document, indent=2))


def read_document(materializer: Any, file_name: str, type_name: str, format_version: int,
                  required: Sequence[str]) -> Dict[str, Any]:
    """The document without its type and version; a clear error when it is missing, corrupt or another type."""
    path = os.path.join(materializer.uri, file_name).replace("\\", "/")
    if not materializer.artifact_store.exists(path):
        raise FileNotFoundError(f"{path}: missing; this is not a {type_name} artifact")
    try:
        with materializer.artifact_store.open(path, "r") as handle:
            document = json.loads(handle.read())
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: corrupt {type_name} file ({error})") from error
    if not isinstance(document, dict) or document.get("type") != type_name:
        raise ValueError(f"{path}: not a {type_name} document")
    if document.get("format_version") != format_version:
        raise ValueError(f"{path}: format_version {document.get('format_version')}, this code reads "
                         f"{format_version}")
    missing = [name for name in required if name not in document]
    if missing:
        raise ValueError(f"{path}: missing field(s) {', '.join(missing)}")
    return {k: v for k, v in document.items() if k not in ("format_version", "type")}
