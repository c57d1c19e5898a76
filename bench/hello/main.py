"""Hello world on functions-framework's default (Flask, gunicorn threads) server.

`functions-framework --source=bench/hello/main.py --target=hello`
"""

from __future__ import annotations

import functions_framework
from flask import Request


@functions_framework.http
def hello(request: Request) -> tuple[dict[str, object], int]:
    """Answer a small JSON object, whatever the request."""
    return {"ok": True, "output_text": "hello"}, 200
