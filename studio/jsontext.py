"""JSON text by the C encoder, made once for one set of settings. `json.dumps` and
`JSONEncoder.encode` build an encoder object for every value: a third of the time of encoding a
small one (a history column, a chat request's body). Non-ASCII text is kept as it is."""

from __future__ import annotations

import json
from typing import Any, Callable


def json_encoder(*, default: Callable[[Any], Any], item_separator: str, key_separator: str,
                 allow_nan: bool = True, check_circular: bool = True) -> Callable[[Any], str]:
    """A function writing a value as `json.dumps(value, ensure_ascii=False, default=default,
    separators=(item_separator, key_separator), allow_nan=allow_nan,
    check_circular=check_circular)` would. With `check_circular` the marks of what is being
    written are fresh for every value (a value containing itself is refused with ValueError)."""
    make = json.encoder.c_make_encoder
    if make is None:  # a Python without the C accelerator
        return json.JSONEncoder(ensure_ascii=False, default=default, separators=(item_separator, key_separator),
                                allow_nan=allow_nan, check_circular=check_circular).encode
    string = json.encoder.encode_basestring
    if not check_circular:
        chunks = make(None, default, string, None, key_separator, item_separator, False, False, allow_nan)
        return lambda value: "".join(chunks(value, 0))
    return lambda value: "".join(
        make({}, default, string, None, key_separator, item_separator, False, False, allow_nan)(value, 0))
