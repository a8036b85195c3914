"""The fake OpenAI server's /embeddings answers: deterministic vectors where each word of a text
adds its own fixed random direction, so texts sharing words have a high cosine similarity (enough
for search and clustering flows to behave offline like with the real API)."""

from __future__ import annotations

import base64
import hashlib
import math
import random
import re
import struct
from typing import Any

DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
FIXED_SIZE_MODELS = ("text-embedding-ada-002",)
MAX_INPUTS = 2048


class EmbeddingRequestError(ValueError):
    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def _texts(raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw or len(raw) > MAX_INPUTS:
        raise EmbeddingRequestError("'input' must be a non-empty string or an array of 1 to 2048 items.", "input")
    texts = []
    for item in raw:
        if isinstance(item, str):
            if not item:
                raise EmbeddingRequestError("'input' cannot contain an empty string.", "input")
            texts.append(item)
        elif isinstance(item, int) or (isinstance(item, list) and item and all(isinstance(t, int) for t in item)):
            texts.append(" ".join(f"t{t}" for t in (item if isinstance(item, list) else [item])))
        else:
            raise EmbeddingRequestError("'input' items must be strings or token arrays.", "input")
    return texts


def vector(text: str, size: int) -> list[float]:
    total = [0.0] * size
    for word in re.findall(r"\w+", text.lower()) or [text]:
        rng = random.Random(hashlib.sha256(word.encode()).digest())
        for i in range(size):
            total[i] += rng.gauss(0.0, 1.0)
    norm = math.sqrt(sum(v * v for v in total)) or 1.0
    return [round(v / norm, 6) for v in total]


def embeddings_response(body: dict[str, Any]) -> dict[str, Any]:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise EmbeddingRequestError("Missing required parameter: 'model'.", "model")
    texts = _texts(body.get("input"))
    size = DIMENSIONS.get(model, 1536)
    if body.get("dimensions") is not None:
        if model in FIXED_SIZE_MODELS:
            raise EmbeddingRequestError("This model does not support specifying dimensions.", "dimensions")
        if not isinstance(body["dimensions"], int) or not 1 <= body["dimensions"] <= size:
            raise EmbeddingRequestError(f"'dimensions' must be between 1 and {size} for {model}.", "dimensions")
        size = body["dimensions"]
    fmt = body.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise EmbeddingRequestError(f"Invalid value: '{fmt}'. Supported values are: 'float' and 'base64'.",
                                    "encoding_format")
    data = []
    for index, text in enumerate(texts):
        values = vector(text, size)
        encoded: Any = values if fmt == "float" else base64.b64encode(struct.pack(f"<{size}f", *values)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(max(1, len(re.findall(r"\w+|[^\w\s]", t))) for t in texts)
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
