"""The emulator's Functions service on its own: a throwaway function directory under fdk,
both API paths, errors as OCI reports them."""

import json

import oci.config
import oci.exceptions
import oci.signer
import pytest
import requests
from oci.functions import FunctionsInvokeClient

from ocisim import Emulator
from ocisim.emulator import DEFAULT_TOPOLOGY

FUNC = """
import json
from fdk import response


def handler(ctx, data=None):
    body = data.getvalue()
    if body == b"boom":
        raise RuntimeError("boom")
    cfg = ctx.Config()
    return response.Response(ctx, response_data=json.dumps({
        "body": body.decode(), "fn_id": cfg.get("FN_FN_ID"), "rp": cfg.get("OCI_RESOURCE_PRINCIPAL_VERSION"),
        "endpoint": cfg.get("OCI_SERVICE_ENDPOINT"), "extra": cfg.get("EXTRA"), "cooldown": cfg.get("COOLDOWN_SECONDS"),
    }), headers={"Content-Type": "application/json"})
"""


@pytest.fixture
def echo(tmp_path):
    (tmp_path / "func.py").write_text(FUNC)
    (tmp_path / "func.yaml").write_text("schema_version: 20180708\nname: vip-failover\nruntime: python\n")
    with Emulator.start(topology=DEFAULT_TOPOLOGY, function_dir=tmp_path, function_config={"EXTRA": "x"}) as emu:
        yield emu


def client(emu):
    return FunctionsInvokeClient(oci.config.from_file(emu.oci_config_file), service_endpoint=emu.endpoint)


def test_invoke_runs_the_function_with_config_and_resource_principal(echo):
    function_id = echo.functions["vip-failover"]
    answer = json.loads(client(echo).invoke_function(function_id, invoke_function_body="hi").data.text)
    assert answer == {
        "body": "hi",
        "fn_id": function_id,
        "rp": "2.2",
        "endpoint": echo.endpoint,
        "extra": "x",
        "cooldown": "60",
    }


def test_older_api_path(echo):
    config = oci.config.from_file(echo.oci_config_file)
    signer = oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"])
    url = f"{echo.endpoint}/20181201/functions/{echo.functions['vip-failover']}/actions/invoke"
    response = requests.post(url, data=b"old", auth=signer, timeout=30)
    assert response.status_code == 200 and response.json()["body"] == "old"


def test_function_crash_is_a_502_and_unknown_function_a_404(echo):
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client(echo).invoke_function(echo.functions["vip-failover"], invoke_function_body="boom")
    assert (err.value.status, err.value.code) == (502, "FunctionInvokeExecutionFailed")
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client(echo).invoke_function("ocid1.fnfunc.oc1.iad.aaaaaaaanope", invoke_function_body="x")
    assert err.value.status == 404


def test_no_function_directory_means_nothing_to_invoke(emulator):
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client(emulator).invoke_function(emulator.functions["vip-failover"], invoke_function_body="x")
    assert err.value.status == 404 and "--function-dir" in err.value.message
