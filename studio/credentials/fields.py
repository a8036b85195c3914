"""A saved connection as the fields its catalog connection type declares: the values a form or
the command line shows and edits, and the record (plus the one secret) they save as. Secret
fields never become part of a record; everything else maps onto the record's own attributes."""

from __future__ import annotations

from typing import Any

from studio.catalog.models import ConnectionField, ConnectionType

from .store import ConnectionRecord, CredentialError

RECORD_FIELDS = set(ConnectionRecord.model_fields) - {"name", "type"}


def secret_field(ctype: ConnectionType) -> ConnectionField | None:
    """The type's secret (the store keeps one secret per connection)."""
    secrets = [f for f in ctype.fields if f.secret]
    if len(secrets) > 1:
        raise CredentialError(f"connection type {ctype.id!r} declares {len(secrets)} secrets; one is supported")
    return secrets[0] if secrets else None


def plain_fields(ctype: ConnectionType) -> list[ConnectionField]:
    return [f for f in ctype.fields if not f.secret]


def field_values(record: ConnectionRecord, ctype: ConnectionType) -> dict[str, str]:
    """The record's non-secret field values as text ("" for unset)."""
    out = {}
    for spec in plain_fields(ctype):
        value = getattr(record, spec.key, None) if spec.key in RECORD_FIELDS else None
        out[spec.key] = "" if value is None else str(value)
    return out


def record_from_fields(ctype: ConnectionType, name: str, values: dict[str, Any]) -> ConnectionRecord:
    """The record for `name` from typed values: empty ones take the field's default; a value
    outside the field's options, a required field left empty, or a field this type does not
    declare is refused naming the field. Secret fields must not be among `values`."""
    name = name.strip()
    if not name:
        raise CredentialError("the connection needs a name")
    specs = {f.key: f for f in ctype.fields}
    unknown = [k for k in values if k not in specs]
    if unknown:
        known = ", ".join(f.key for f in plain_fields(ctype))
        raise CredentialError(f"{ctype.title} has no field {unknown[0]!r} (its fields: {known})")
    attributes: dict[str, Any] = {}
    for spec in ctype.fields:
        raw = values.get(spec.key)
        text = "" if raw is None else str(raw).strip()
        if spec.secret:
            if text:
                raise CredentialError(f"'{spec.label}' is a secret: it goes to the credential store, not the record")
            continue
        if spec.key not in RECORD_FIELDS:
            raise CredentialError(f"connection type {ctype.id!r} declares field {spec.key!r}, which a saved "
                                  "connection cannot hold")
        if not text:
            if spec.default not in (None, ""):
                attributes[spec.key] = spec.default
            elif spec.required:
                raise CredentialError(f"'{spec.label}' is required for {ctype.title}")
            continue
        if spec.options and text not in spec.options:
            raise CredentialError(f"'{spec.label}' must be one of: {', '.join(spec.options)} (got {text!r})")
        attributes[spec.key] = text
    try:
        return ConnectionRecord(name=name, type=ctype.id, **attributes)
    except ValueError as exc:
        raise CredentialError(f"connection {name!r}: {exc}") from None
