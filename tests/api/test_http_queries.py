"""The REST API over real HTTP on both backends: equal results, stable pages, clear errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
HR_ANALYST = f"arn:aws:iam::{ACCOUNT}:user/hr-analyst"
HR_AGENT = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:agent/Q7HRX2KD4N"
HR_BUCKET = "arn:aws:s3:::acme-hr-policies"
CREATE_VPC = f"vpc-api:{ACCOUNT}:us-east-1:ec2:CreateVpc"

# Fields of a path that both backends define without ties: two equally short paths may
# run through different nodes, never with a different length or outcome.
TIE_FREE = (
    "start",
    "target",
    "target_label",
    "access",
    "weak",
    "conditional",
    "through_agent",
    "confused_deputy",
    "hops",
)


def encoded(arn: str) -> str:
    return quote(arn, safe="")


def get_all(client: httpx.Client, url: str, params: dict[str, Any] | None = None, *, limit: int = 1000) -> list[Any]:
    """Every item of a paginated list, following next_offset."""
    items: list[Any] = []
    offset: int | None = 0
    while offset is not None:
        response = client.get(url, params={**(params or {}), "limit": limit, "offset": offset})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["offset"] == offset
        items += body["items"]
        offset = body["next_offset"]
    assert len(items) == body["total"]
    return items


def tie_free(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(item[field] for field in TIE_FREE) for item in items]


def both(request: pytest.FixtureRequest) -> tuple[httpx.Client, httpx.Client]:
    return request.getfixturevalue("embedded_client"), request.getfixturevalue("neo4j_client")


def test_alice_blast_radius_same_on_both_backends(request: pytest.FixtureRequest) -> None:
    embedded, neo4j = both(request)
    url = f"/v1/principals/{encoded(ALICE)}/blast-radius"
    for sensitive_only in ("true", "false"):
        from_embedded = get_all(embedded, url, {"sensitive_only": sensitive_only})
        from_neo4j = get_all(neo4j, url, {"sensitive_only": sensitive_only})
        assert tie_free(from_embedded) == tie_free(from_neo4j)
    assert from_embedded


def test_paths_are_connected_walks(client: httpx.Client) -> None:
    items = get_all(client, f"/v1/principals/{encoded(ALICE)}/blast-radius", {"sensitive_only": "false"})
    for item in items:
        arns = [node["arn"] for node in item["nodes"]]
        assert arns[0] == item["start"]
        assert arns[-1] == item["target"]
        assert len(item["edges"]) == item["hops"]
        assert [edge["source"] for edge in item["edges"]] == arns[:-1]
        assert [edge["target"] for edge in item["edges"]] == arns[1:]
        assert all(edge["reason"] for edge in item["edges"])


def test_alice_reaches_hr_bucket_through_agent(client: httpx.Client) -> None:
    items = get_all(client, f"/v1/principals/{encoded(ALICE)}/blast-radius")
    bucket = [item for item in items if item["target"] == HR_BUCKET]
    assert [item["access"] for item in bucket] == ["read"]
    path = bucket[0]
    assert path["confused_deputy"] is True
    assert path["through_agent"] is True
    assert path["hops"] == 5
    assert path["nodes"][0]["arn"] == ALICE
    assert path["nodes"][-1] == {"arn": HR_BUCKET, "label": "S3Bucket", "name": "acme-hr-policies"}
    first = path["edges"][0]
    assert first["type"] == "CAN_INVOKE_AGENT"
    assert first["statement_refs"] == [f"arn:aws:iam::{ACCOUNT}:policy/developers-bedrock-access#0"]
    assert "bedrock:InvokeAgent" in first["reason"]


def test_confused_deputy_paths_same_on_both_backends(request: pytest.FixtureRequest) -> None:
    embedded, neo4j = both(request)
    from_embedded = get_all(embedded, "/v1/confused-deputy-paths")
    from_neo4j = get_all(neo4j, "/v1/confused-deputy-paths")
    assert tie_free(from_embedded) == tie_free(from_neo4j)
    assert {item["start"] for item in from_embedded} == {ALICE, BOB, HR_ANALYST}
    assert all(item["confused_deputy"] for item in from_embedded)


def test_confused_deputy_paths_filters(client: httpx.Client) -> None:
    params = {"invoker": ALICE, "agent": HR_AGENT, "resource": HR_BUCKET}
    items = get_all(client, "/v1/confused-deputy-paths", params)
    assert [(item["start"], item["target"], item["access"]) for item in items] == [(ALICE, HR_BUCKET, "read")]
    vpc = get_all(client, "/v1/confused-deputy-paths", {"resource": CREATE_VPC})
    assert ALICE in {item["start"] for item in vpc}


def test_paths_to_hr_bucket_same_on_both_backends(request: pytest.FixtureRequest) -> None:
    embedded, neo4j = both(request)
    params = {"from": ALICE, "to": HR_BUCKET}
    from_embedded = get_all(embedded, "/v1/paths", params)
    from_neo4j = get_all(neo4j, "/v1/paths", params)
    assert tie_free(from_embedded) == tie_free(from_neo4j)
    assert [(item["access"], item["confused_deputy"]) for item in from_embedded] == [("read", True)]


def test_paths_to_every_resource_same_on_both_backends(request: pytest.FixtureRequest) -> None:
    embedded, neo4j = both(request)
    from_embedded = get_all(embedded, "/v1/paths", {"from": ALICE})
    assert tie_free(from_embedded) == tie_free(get_all(neo4j, "/v1/paths", {"from": ALICE}))
    assert CREATE_VPC in {item["target"] for item in from_embedded}


def test_paths_to_role_same_on_both_backends(request: pytest.FixtureRequest) -> None:
    embedded, neo4j = both(request)
    role = f"arn:aws:iam::{ACCOUNT}:role/infra-vpc-provisioner-role"
    from_embedded = get_all(embedded, "/v1/paths", {"from": ALICE, "to": role})
    assert tie_free(from_embedded) == tie_free(get_all(neo4j, "/v1/paths", {"from": ALICE, "to": role}))
    assert [(item["access"], item["confused_deputy"]) for item in from_embedded] == [("act-as", True)]


def test_agent_blast_radius_same_on_both_backends(request: pytest.FixtureRequest) -> None:
    embedded, neo4j = both(request)
    url = f"/v1/agents/{encoded(HR_AGENT)}/blast-radius"
    from_embedded = get_all(embedded, url, {"sensitive_only": "false"})
    assert tie_free(from_embedded) == tie_free(get_all(neo4j, url, {"sensitive_only": "false"}))
    assert HR_BUCKET in {item["target"] for item in from_embedded}
    assert all(item["confused_deputy"] is None for item in from_embedded)


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_pages_are_stable_and_complete(client: httpx.Client, limit: int) -> None:
    url = f"/v1/principals/{encoded(ALICE)}/blast-radius"
    params = {"sensitive_only": "false"}
    whole = client.get(url, params={**params, "limit": 1000}).json()
    paged = get_all(client, url, params, limit=limit)
    assert paged == whole["items"]
    assert len(paged) > limit
    assert whole["next_offset"] is None


def test_page_past_the_end_is_empty(client: httpx.Client) -> None:
    body = client.get("/v1/confused-deputy-paths", params={"offset": 10000}).json()
    assert body["items"] == []
    assert body["total"] > 0
    assert body["next_offset"] is None


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "many"}])
def test_invalid_page_parameters_rejected(client: httpx.Client, params: dict[str, Any]) -> None:
    response = client.get("/v1/confused-deputy-paths", params=params)
    assert response.status_code == 422


def test_unknown_principal_is_404(client: httpx.Client) -> None:
    response = client.get(f"/v1/principals/{encoded(f'arn:aws:iam::{ACCOUNT}:user/nobody')}/blast-radius")
    assert response.status_code == 404
    assert "user/nobody" in response.json()["detail"]


def test_principal_of_wrong_label_is_404(client: httpx.Client) -> None:
    response = client.get(f"/v1/principals/{encoded(HR_BUCKET)}/blast-radius")
    assert response.status_code == 404
    assert "S3Bucket" in response.json()["detail"]


def test_unknown_agent_is_404(client: httpx.Client) -> None:
    response = client.get(f"/v1/agents/{encoded(HR_AGENT + 'X')}/blast-radius")
    assert response.status_code == 404


def test_unknown_path_target_is_404(client: httpx.Client) -> None:
    response = client.get("/v1/paths", params={"from": ALICE, "to": "arn:aws:s3:::no-such-bucket"})
    assert response.status_code == 404
    assert response.json()["detail"] == "query parameter to: node arn:aws:s3:::no-such-bucket is not in the graph"


def test_unknown_path_start_names_parameter(client: httpx.Client) -> None:
    nobody = f"arn:aws:iam::{ACCOUNT}:user/nobody"
    response = client.get("/v1/paths", params={"from": nobody})
    assert response.status_code == 404
    assert response.json()["detail"] == f"query parameter from: user or role {nobody} is not in the graph"


def test_path_start_of_wrong_label_names_parameter(client: httpx.Client) -> None:
    response = client.get("/v1/paths", params={"from": HR_BUCKET})
    assert response.status_code == 404
    assert response.json()["detail"] == f"query parameter from: {HR_BUCKET} is a S3Bucket, not a user or role"


IN_PATH_FIX = "put the ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE) in the path URL-encoded"
IN_QUERY_FIX = "give an ARN of the form arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE"
NODE_ID_FIX = f"{IN_QUERY_FIX}, or the id of a VpcApi node, vpc-api:ACCOUNT:REGION:SERVICE:ACTION"


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("/v1/principals/alice/blast-radius", f"the principal ARN in the URL path is not an ARN; {IN_PATH_FIX}"),
        ("/v1/agents/Q7HRX2KD4N/blast-radius", f"the agent ARN in the URL path is not an ARN; {IN_PATH_FIX}"),
    ],
)
def test_malformed_arn_in_path_is_400(client: httpx.Client, url: str, detail: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    assert response.json()["detail"] == detail


@pytest.mark.parametrize(
    ("url", "params", "detail"),
    [
        ("/v1/paths", {"from": "alice"}, f"query parameter from is not an ARN; {IN_QUERY_FIX}"),
        ("/v1/paths", {"from": ALICE, "to": "acme-hr-policies"}, f"query parameter to is not an ARN; {NODE_ID_FIX}"),
        ("/v1/confused-deputy-paths", {"invoker": "alice"}, f"query parameter invoker is not an ARN; {IN_QUERY_FIX}"),
        ("/v1/confused-deputy-paths", {"agent": "Q7HRX2KD4N"}, f"query parameter agent is not an ARN; {IN_QUERY_FIX}"),
        ("/v1/confused-deputy-paths", {"resource": "acme"}, f"query parameter resource is not an ARN; {NODE_ID_FIX}"),
    ],
)
def test_malformed_arn_in_query_is_400(client: httpx.Client, url: str, params: dict[str, str], detail: str) -> None:
    response = client.get(url, params=params)
    assert response.status_code == 400
    assert response.json()["detail"] == detail


def test_missing_from_is_422(client: httpx.Client) -> None:
    assert client.get("/v1/paths").status_code == 422


def test_unencoded_slash_in_arn_still_routes(client: httpx.Client) -> None:
    response = client.get(f"/v1/principals/arn:aws:iam::{ACCOUNT}:user/alice/blast-radius")
    assert response.status_code == 200


def test_builds_lists_current_build(client: httpx.Client) -> None:
    builds = get_all(client, "/v1/builds")
    current = [build for build in builds if build["current"]]
    assert len(current) == 1
    assert current[0]["status"] == "succeeded"
    assert current[0]["snapshot"].endswith("shared-hr-agent")
    assert current[0]["nodes"] > 0


def test_builds_counts_same_on_both_backends(request: pytest.FixtureRequest) -> None:
    embedded, neo4j = both(request)
    [loaded] = get_all(embedded, "/v1/builds")
    current = [build for build in get_all(neo4j, "/v1/builds") if build["current"]]
    assert (loaded["nodes"], loaded["relationships"]) == (current[0]["nodes"], current[0]["relationships"])


DECISION = {
    "principal": f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForKnowledgeBase_hr",
    "action": "s3:GetObject",
    "resource": "arn:aws:s3:::acme-hr-policies/handbook.pdf",
}


def test_decision_same_on_both_backends(request: pytest.FixtureRequest) -> None:
    embedded, neo4j = both(request)
    from_embedded = embedded.post("/v1/decisions", json=DECISION)
    assert from_embedded.status_code == 200, from_embedded.text
    body = from_embedded.json()
    assert body == neo4j.post("/v1/decisions", json=DECISION).json()
    assert body["decision"] == "allow"
    assert body["granting"]


def test_decision_alice_denied_on_hr_bucket(client: httpx.Client) -> None:
    body = client.post("/v1/decisions", json={**DECISION, "principal": ALICE}).json()
    assert body["decision"] == "deny"
    assert body["action"] == "s3:GetObject"
    assert body["access_level"] == "Read"
    assert body["granting"] == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"action": "s3:GetObjekt"}, "body field action is not an action AWS defines"),
        ({"action": "s3:Get*"}, "body field action is invalid; write one SERVICE:Action"),
        ({"resource": "acme-hr-policies"}, "body field resource is not an ARN"),
        ({"principal": "alice"}, "body field principal is not a principal; give a user, role or assumed-role"),
        (
            {"principal": f"arn:aws:iam::{ACCOUNT}:user/nobody"},
            f"body field principal: principal 'arn:aws:iam::{ACCOUNT}:user/nobody' "
            "is not a user or role in the snapshot",
        ),
    ],
)
def test_invalid_decision_request_is_400(client: httpx.Client, change: dict[str, str], message: str) -> None:
    response = client.post("/v1/decisions", json={**DECISION, **change})
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)


def test_invalid_decision_value_not_repeated(client: httpx.Client) -> None:
    secret = "secret-value-0123456789"
    for field in ("principal", "action", "resource"):
        response = client.post("/v1/decisions", json={**DECISION, field: secret})
        assert response.status_code == 400, field
        assert secret not in response.text, field


def test_build_diff_names_parameter(client: httpx.Client) -> None:
    unknown = "20200101T000000Z-0123abcd"
    for parameter in ("from", "to"):
        response = client.get("/v1/builds/diff", params={parameter: unknown})
        assert response.status_code == 404
        assert response.json()["detail"] == (
            f"query parameter {parameter}: no build has the id {unknown!r}; GET /v1/builds lists them"
        )


def test_decision_body_with_unknown_field_is_422(client: httpx.Client) -> None:
    assert client.post("/v1/decisions", json={**DECISION, "extra": 1}).status_code == 422


def test_decision_context_is_bounded(client: httpx.Client) -> None:
    too_many_values = {"aws:SourceIp": ["203.0.113.7"] * 65}
    response = client.post("/v1/decisions", json={**DECISION, "context": too_many_values})
    assert response.status_code == 422


def test_decision_reads_context(client: httpx.Client) -> None:
    context = {"aws:SourceIp": ["203.0.113.7"], "AWS:SOURCEIP": ["198.51.100.1"]}
    response = client.post("/v1/decisions", json={**DECISION, "context": context})
    assert response.status_code == 200
    assert "aws:SecureTransport" in response.json()["missing_context_keys"]


def test_readyz_reports_ready(client: httpx.Client) -> None:
    response = client.get("/readyz", headers={"Authorization": ""})
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


KB_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBedrockExecutionRoleForKnowledgeBase_hr"
KB_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/AmazonBedrockExecutionRoleForKnowledgeBase_hr/sync-42"
KB_SESSION_NOTE = (
    f"{KB_SESSION} is a session of role {KB_ROLE}, so these are the role's paths. "
    "Session policies and session tags are not in the snapshot. Session policies can only "
    "narrow these paths, and session tags can change the result of conditions on aws:PrincipalTag."
)


def test_session_blast_radius_is_role_radius(client: httpx.Client) -> None:
    response = client.get(f"/v1/principals/{encoded(KB_SESSION)}/blast-radius", params={"sensitive_only": False})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["session"] == {"arn": KB_SESSION, "role": KB_ROLE, "note": KB_SESSION_NOTE}
    role = client.get(f"/v1/principals/{encoded(KB_ROLE)}/blast-radius", params={"sensitive_only": False}).json()
    assert role["session"] is None
    assert body["items"] == role["items"]
    assert {item["start"] for item in body["items"]} == {KB_ROLE}
    assert HR_BUCKET in {item["target"] for item in body["items"]}


def test_session_paths_start_at_role(client: httpx.Client) -> None:
    response = client.get("/v1/paths", params={"from": KB_SESSION, "to": HR_BUCKET})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["session"] == {"arn": KB_SESSION, "role": KB_ROLE, "note": KB_SESSION_NOTE}
    assert [(item["start"], item["target"], item["access"]) for item in body["items"]] == [(KB_ROLE, HR_BUCKET, "read")]


def test_session_of_unknown_role_is_404(client: httpx.Client) -> None:
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/ghost/s"
    response = client.get(f"/v1/principals/{encoded(session)}/blast-radius")
    assert response.status_code == 404
    assert response.json()["detail"] == (
        f"the principal ARN in the URL path: {session} is a session of role ghost, "
        f"and no role of that name in account {ACCOUNT} is in the graph"
    )


def test_session_invoker_filter_names_role(client: httpx.Client) -> None:
    response = client.get("/v1/confused-deputy-paths", params={"invoker": KB_SESSION})
    assert response.status_code == 404
    assert response.json()["detail"] == (
        f"query parameter invoker: {KB_SESSION} is an assumed-role session, and paths start at roles; "
        f"give its role's ARN, {KB_ROLE}"
    )
