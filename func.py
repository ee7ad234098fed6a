"""fdk entry point: hand the request body, the function's configuration and fdk's deadline to the shell."""

import io
import json

from fdk import response

from failover.shell import invoke


def handler(ctx, data: io.BytesIO = None):
    # fdk passes a BytesIO; fdk.fixtures passes the raw bytes.
    body = data.getvalue() if hasattr(data, "getvalue") else (data or b"")
    answer = invoke(body, ctx.Config(), call_id=ctx.CallID(), deadline=ctx.Deadline())
    return response.Response(ctx, response_data=json.dumps(answer), headers={"Content-Type": "application/json"})
