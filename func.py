"""fdk entry point: hand the request body, the function's configuration and fdk's deadline to the shell."""

import io
import json
from typing import Any

from fdk import response

from failover.shell import invoke


def handler(ctx: Any, data: io.BytesIO | bytes | None = None) -> response.Response:
    # fdk passes a BytesIO; fdk.fixtures passes the raw bytes.
    body = data.getvalue() if isinstance(data, io.BytesIO) else (data or b"")
    answer = invoke(body, ctx.Config(), call_id=ctx.CallID(), deadline=ctx.Deadline())
    return response.Response(ctx, response_data=json.dumps(answer), headers={"Content-Type": "application/json"})
