"""Hello world on functions-framework's aio server (Starlette on gunicorn + uvicorn), as main.py.

`functions-framework --source=bench/hello/aio_main.py --target=hello`
"""

from __future__ import annotations

import functions_framework.aio
from starlette.requests import Request
from starlette.responses import Response


@functions_framework.aio.http
async def hello(request: Request) -> Response:
    """Read the body and answer a small JSON object, as the function's handler shape does."""
    await request.body()
    return Response(b'{"ok":true,"output_text":"hello"}', media_type="application/json")
