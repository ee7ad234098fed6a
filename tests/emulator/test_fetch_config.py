"""The node's config fetch exactly as it ships: terraform renders the cloud-init (with
fetch_config.py.tftpl inside) and the node-agent.yaml that terraform stores in Object Storage;
the rendered script then runs against the emulator with the node's instance principal, under
the policies terraform deploys."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import oci
import pytest
import yaml

from ocisim import Emulator
from tests.support.terraform import TERRAFORM, evaluate
from tests.support.tf_nodes import NodeLayout, node_modules
from tests.support.topology import two_node

pytestmark = pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed: nothing to render")

TOPOLOGY = two_node()
NAMESPACE = TOPOLOGY["objectStorage"]["namespace"]
BUCKET = TOPOLOGY["objectStorage"]["buckets"][0]["name"]
OTHER_BUCKET = "not-the-node-config"
INSTANCES = {i["displayName"]: i for i in TOPOLOGY["instances"]}
FETCH_PATH = "/usr/local/sbin/vip-failover-fetch-config"
RUN_TIMEOUT_SECONDS = 60


def object_name(node: str) -> str:
    """What terraform/compute.tf names each node's object (oci_objectstorage_object.node_agent)."""
    return f"node-agent/{node}.yaml"


def shipped_script(cloud_init: str, directory: Path) -> Path:
    """The fetch script as cloud-init's write_files puts it on the node, with its mode."""
    [entry] = [f for f in yaml.safe_load(cloud_init)["write_files"] if f["path"] == FETCH_PATH]
    path = directory / Path(FETCH_PATH).name
    path.write_text(entry["content"])
    path.chmod(int(entry["permissions"], 8))
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """node-a's modules as terraform/compute.tf calls them with the topology's OCIDs, storing its
    configuration in the node-config bucket and, for the refusal test, in another one."""
    agent = {
        "compartment_id": TOPOLOGY["compartments"][0]["id"],
        "region": TOPOLOGY["region"],
        "invoke_endpoint": "https://functions.us-ashburn-1.oci.oraclecloud.com",
        "function_id": TOPOLOGY["functions"][0]["id"],
    }
    ids = {name: instance["id"] for name, instance in INSTANCES.items()}
    main = "".join(
        node_modules(
            NodeLayout(),
            "node-a",
            label=label,
            agent=agent,
            instance_ids=ids,
            config_object={"namespace": NAMESPACE, "bucket": bucket, "name": object_name("node-a")},
        )
        for label, bucket in (("node_a", BUCKET), ("node_a_other_bucket", OTHER_BUCKET))
    )
    outputs = evaluate(tmp_path_factory.mktemp("fetch_config"), main)
    return {label: output["cloud_init"] for label, output in outputs.items()} | {
        "node_agent_yaml": outputs["node_a"]["node_agent_yaml"]
    }


def node_env(emu: Emulator, node: str) -> dict[str, str]:
    """Only what a node's unit environment would hold: the emulator instead of OCI's endpoints."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "OCI_METADATA_BASE_URL": f"{emu.endpoint}/imds/{node}/opc/v2",
        "OCI_FEDERATION_ENDPOINT": f"{emu.endpoint}/v1/x509",
        "OCI_OBJECTSTORAGE_ENDPOINT": emu.endpoint,
    }


def store_as_terraform_does(emu: Emulator, bucket: str, name: str, content: str) -> None:
    """oci_objectstorage_object.node_agent: content and content_type, with the operator's API key."""
    client = oci.object_storage.ObjectStorageClient(emu.oci_config(), service_endpoint=emu.endpoint)
    client.put_object(NAMESPACE, bucket, name, content.encode(), content_type="application/yaml")


def first_line(process: subprocess.Popen[str]) -> str:
    """The script's first report (it then retries for minutes): read it bounded, then stop it."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(RUN_TIMEOUT_SECONDS)
    process.kill()
    process.wait(5)
    return lines[0] if lines else ""


def test_the_node_fetches_exactly_what_terraform_stored(
    rendered: dict[str, Any], emulator: Emulator, tmp_path: Path
) -> None:
    script = shipped_script(rendered["node_a"], tmp_path)
    store_as_terraform_does(emulator, BUCKET, object_name("node-a"), rendered["node_agent_yaml"])
    target = tmp_path / "node-agent.yaml"

    run = subprocess.run(
        [sys.executable, str(script), str(target)],
        env=node_env(emulator, "node-a"),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert target.read_text() == rendered["node_agent_yaml"]
    assert f"wrote {target} from {BUCKET}/{object_name('node-a')}" in run.stdout
    assert [e["operation"] for e in emulator.audit()] == ["PutObject"]  # the fetch changed nothing


def test_another_bucket_is_refused_by_the_deployed_policy(
    rendered: dict[str, Any], emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The object exists (the operator put it there), so the 404 is IAM's, as OCI words it."""
    oci.object_storage.ObjectStorageClient(emulator.oci_config(), service_endpoint=emulator.endpoint).create_bucket(
        NAMESPACE,
        oci.object_storage.models.CreateBucketDetails(name=OTHER_BUCKET, compartment_id=emulator.compartment_id),
    )
    store_as_terraform_does(emulator, OTHER_BUCKET, object_name("node-a"), rendered["node_agent_yaml"])
    script = shipped_script(rendered["node_a_other_bucket"], tmp_path)
    target = tmp_path / "node-agent.yaml"
    caplog.set_level(logging.WARNING)

    process = subprocess.Popen(
        [sys.executable, str(script), str(target)],
        env=node_env(emulator, "node-a"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = first_line(process)

    assert f"{OTHER_BUCKET}/{object_name('node-a')} not readable yet" in line and "BucketNotFound" in line
    assert not target.exists()
    denied = [r.fields for r in caplog.records if r.getMessage() == "authorization denied"]
    assert denied and all(
        d["permission"] == "OBJECT_READ" and d["principal"] == INSTANCES["node-a"]["id"] for d in denied
    )


def node_client(emu: Emulator, node: str, monkeypatch: pytest.MonkeyPatch) -> oci.object_storage.ObjectStorageClient:
    monkeypatch.setenv("OCI_METADATA_BASE_URL", f"{emu.endpoint}/imds/{node}/opc/v2")
    signer = oci.auth.signers.InstancePrincipalsSecurityTokenSigner(federation_endpoint=f"{emu.endpoint}/v1/x509")
    return oci.object_storage.ObjectStorageClient(
        {}, signer=signer, service_endpoint=emu.endpoint, retry_strategy=oci.retry.NoneRetryStrategy()
    )


def test_nodes_read_but_never_write_and_the_function_reads_nothing(
    rendered: dict[str, Any], emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store_as_terraform_does(emulator, BUCKET, object_name("node-a"), rendered["node_agent_yaml"])
    node = node_client(emulator, "node-a", monkeypatch)
    assert [o.name for o in node.list_objects(NAMESPACE, BUCKET).data.objects] == [object_name("node-a")]
    for write in (
        lambda: node.put_object(NAMESPACE, BUCKET, object_name("node-a"), b"node_name: evil\n"),
        lambda: node.delete_object(NAMESPACE, BUCKET, object_name("node-a")),
    ):
        with pytest.raises(oci.exceptions.ServiceError) as caught:
            write()
        assert (caught.value.status, caught.value.code) == (404, "BucketNotFound")

    for name, value in emulator.resource_principal_env(TOPOLOGY["functions"][0]["id"], tmp_path / "rp").items():
        monkeypatch.setenv(name, value)
    function = oci.object_storage.ObjectStorageClient(
        {},
        signer=oci.auth.signers.get_resource_principals_signer(),
        service_endpoint=emulator.endpoint,
        retry_strategy=oci.retry.NoneRetryStrategy(),
    )
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        function.get_object(NAMESPACE, BUCKET, object_name("node-a"))
    assert (caught.value.status, caught.value.code) == (404, "BucketNotFound")
    assert node.get_object(NAMESPACE, BUCKET, object_name("node-a")).data.text == rendered["node_agent_yaml"]
