"""Writes tests/conformance/okta/*.json: Okta's documented request and
response examples for every endpoint the Okta emulator serves, taken from
Okta's published OpenAPI specification (okta/okta-management-openapi-spec,
dist/current/management-oneOfInheritance.yaml and oauth-oneOfInheritance.yaml).

    python3 tests/conformance/tools/okta_cases.py SPEC_DIR COMMIT

SPEC_DIR holds the two YAML files of that commit. Nothing is fetched here.
Each case names the operation, the example and their public URLs; paths
use placeholders ({active-user}, …) that the test resolves against the
seeded emulator, so the example's sample ids never matter."""

import json
import sys
from pathlib import Path

import yaml

SPEC_REPO = "https://github.com/okta/okta-management-openapi-spec/blob"
DOCS = "https://developer.okta.com/docs/api/openapi/okta-management/management/tag"
OAUTH_DOCS = "https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag"

# name, method, path with placeholders, spec path, request example (name or
# inline body), response status, response example (component name), notes.
CASES = [
    ("list-users", "GET", "/api/v1/users?limit=3", "/api/v1/users", None, 200, "ListUsersResponse", {}),
    ("list-users-search", "GET", '/api/v1/users?search=status eq "ACTIVE"&limit=3', "/api/v1/users", None, 200, "ListUsersSearchResponse", {}),
    ("get-user", "GET", "/api/v1/users/{active-user}", "/api/v1/users/{id}", None, 200, "user-example", {}),
    ("get-user-unknown", "GET", "/api/v1/users/00uNoSuchUser0000000", "/api/v1/users/{id}/groups", None, 404, "ErrorResourceNotFound", {}),
    ("create-user-with-password", "POST", "/api/v1/users?activate=true", "/api/v1/users", "Create user with password", 200, "create-user-with-password-response", {}),
    ("create-user-without-credentials", "POST", "/api/v1/users?activate=false", "/api/v1/users", "Create user without credentials", 200, "create-user-without-credentials-response", {}),
    ("update-user-profile", "POST", "/api/v1/users/{active-user}", "/api/v1/users/{id}", "Update user Profile", 200, "user-example", {}),
    ("replace-user", "PUT", "/api/v1/users/{active-user}", "/api/v1/users/{id}", "Replace user Request", 200, "user-example", {}),
    ("delete-deactivated-user", "DELETE", "/api/v1/users/{deprovisioned-user}", "/api/v1/users/{id}", None, 204, None, {}),
    ("list-user-groups", "GET", "/api/v1/users/{member}/groups", "/api/v1/users/{id}/groups", None, 200, "ListUserGroups", {}),
    ("deactivate-user", "POST", "/api/v1/users/{active-user}/lifecycle/deactivate", "/api/v1/users/{id}/lifecycle/deactivate", None, 200, None, {}),
    ("activate-user-unknown", "POST", "/api/v1/users/00uNoSuchUser0000000/lifecycle/activate", "/api/v1/users/{id}/lifecycle/activate", None, 404, "ErrorResourceNotFound", {}),
    ("reactivate-user", "POST", "/api/v1/users/{provisioned-user}/lifecycle/reactivate?sendEmail=false", "/api/v1/users/{id}/lifecycle/reactivate", None, 200, "schema:UserActivationToken", {}),
    ("unlock-user", "POST", "/api/v1/users/{active-user}/lifecycle/unlock", "/api/v1/users/{id}/lifecycle/unlock", None, 200, None, {}),
    ("suspend-user", "POST", "/api/v1/users/{active-user}/lifecycle/suspend", "/api/v1/users/{id}/lifecycle/suspend", None, 200, None, {}),
    ("unsuspend-user", "POST", "/api/v1/users/{suspended-user}/lifecycle/unsuspend", "/api/v1/users/{id}/lifecycle/unsuspend", None, 200, None, {}),
    ("list-groups", "GET", "/api/v1/groups?limit=3", "/api/v1/groups", None, 200, "list-groups-examples", {}),
    ("add-group", "POST", "/api/v1/groups", "/api/v1/groups", {"profile": {"name": "West Coast users", "description": "All Users West of The Rockies"}}, 200, "group-example", {}),
    ("add-group-invalid", "POST", "/api/v1/groups", "/api/v1/groups", {"profile": {"description": "no name"}}, 400, "ErrorApiValidationFailed", {}),
    ("get-group", "GET", "/api/v1/groups/{group}", "/api/v1/groups/{groupId}", None, 200, "group-example", {}),
    ("get-group-unknown", "GET", "/api/v1/groups/00gNoSuchGroup000000", "/api/v1/groups/{groupId}", None, 404, "ErrorResourceNotFound", {}),
    ("replace-group", "PUT", "/api/v1/groups/{group}", "/api/v1/groups/{groupId}", {"profile": {"name": "Renamed by a test", "description": "Replaced profile"}}, 200, "group-example", {}),
    ("delete-group", "DELETE", "/api/v1/groups/{group}", "/api/v1/groups/{groupId}", None, 204, None, {}),
    ("list-group-users", "GET", "/api/v1/groups/{group}/users?limit=3", "/api/v1/groups/{groupId}/users", None, 200, "ListUsersResponse", {}),
    ("assign-user-to-group", "PUT", "/api/v1/groups/{group}/users/{non-member}", "/api/v1/groups/{groupId}/users/{userId}", None, 204, None, {}),
    ("assign-user-to-unknown-group", "PUT", "/api/v1/groups/00gNoSuchGroup000000/users/{active-user}", "/api/v1/groups/{groupId}/users/{userId}", None, 404, "ErrorResourceNotFound", {}),
    ("unassign-user-from-group", "DELETE", "/api/v1/groups/{group}/users/{member}", "/api/v1/groups/{groupId}/users/{userId}", None, 204, None, {}),
    ("list-logs", "GET", "/api/v1/logs?since={since}&limit=2", "/api/v1/logs", None, 200, "ListLogs", {
        "not_applicable": {"device": "the device context of an Okta Verify sign-in in this example; admin API changes have none, and the LogEvent schema has no `device`"},
        "schema_types": {"version": "string: LogEvent.version is a string in the schema; the example writes 0"}}),
    ("list-logs-invalid", "GET", "/api/v1/logs?until=yesterday", "/api/v1/logs", None, 400, "ErrorApiValidationFailed", {
        "not_applicable": {"errorLink": "System Log errors carry no errorLink (shared/reference/okta-api.md, Okta's System Log guide); this example is the spec's shared error component"}}),
    ("users-rate-limited", "GET", "/api/v1/users?limit=1", "/api/v1/users", None, 429, "ErrorTooManyRequests", {"rate_limited": True}),
    ("invalid-token", "GET", "/api/v1/users?limit=1", "/api/v1/users", None, 401, "ErrorInvalidTokenProvided", {"auth": "SSWS not-a-token"}),
    ("missing-scope", "GET", "/api/v1/logs?limit=1", "/api/v1/logs", None, 403, "ErrorAccessDenied", {"auth": "bearer:okta.users.read"}),
]
TOKEN_CASES = [
    ("token-client-credentials", "TokenResponseExample", 200, {"form": "client-credentials", "not_applicable": {
        "refresh_token": "issued to flows with offline_access, never to client_credentials",
        "id_token": "issued with the openid scope, which a service app's client_credentials token cannot have"}}),
    ("token-no-client-credentials", "OAuthError401InvalidClient_NoCreds", 401, {"form": "no-credentials"}),
    ("token-unsupported-grant", "OAuthError400UnsupportedGrantType", 400, {"form": "unsupported-grant"}),
]


def main(spec_dir, commit):
    spec_dir = Path(spec_dir)
    mgmt = yaml.load(open(spec_dir / "management-oneOfInheritance.yaml"), Loader=yaml.CSafeLoader)
    oauth = yaml.load(open(spec_dir / "oauth-oneOfInheritance.yaml"), Loader=yaml.CSafeLoader)
    out = Path(__file__).resolve().parents[1] / "okta"
    mgmt_url = f"{SPEC_REPO}/{commit}/dist/current/management-oneOfInheritance.yaml"
    oauth_url = f"{SPEC_REPO}/{commit}/dist/current/oauth-oneOfInheritance.yaml"
    for name, method, path, spec_path, request, status, example, notes in CASES:
        op = mgmt["paths"][spec_path][method.lower()]
        tag = op["tags"][0]
        body = request
        if isinstance(request, str):
            ref = op["requestBody"]["content"]["application/json"]["examples"][request]
            body = resolve(mgmt, ref)["value"]
        case = {
            "source": {
                "url": f"{DOCS}/{tag}/#tag/{tag}/operation/{op['operationId']}",
                "spec": mgmt_url,
                "operation": f"{method} {spec_path} ({op['operationId']})",
                "example": example,
            },
            "request": {"method": method, "path": path, "body": body},
            "response": {
                "status": status,
                "headers": {"Content-Type": "application/json"} if example else {},
                "body": response_example(mgmt, example),
            },
            # Profiles hold whatever attributes a user or group has: compared by
            # type where both have a key, not by which keys the sample has.
            "data_dependent": ["profile", "_links", "credentials", "_embedded"],
        }
        case.update({k: v for k, v in notes.items()})
        write(out / f"{name}.json", case)
    op = oauth["paths"]["/oauth2/v1/token"]["post"]
    for name, example, status, notes in TOKEN_CASES:
        case = {
            "source": {
                "url": f"{OAUTH_DOCS}/OrgAS/#tag/OrgAS/operation/token",
                "spec": oauth_url,
                "operation": "POST /oauth2/v1/token (token)",
                "example": example,
            },
            "request": {"method": "POST", "path": "/oauth2/v1/token", "body": None},
            "response": {
                "status": status,
                "headers": {"Content-Type": "application/json"},
                "body": oauth["components"]["examples"][example]["value"],
            },
            "data_dependent": ["scope"],
        }
        case.update(notes)
        write(out / f"{name}.json", case)


def response_example(spec, example):
    """The named example's value; for `schema:NAME` (an operation whose answer
    has no example), the schema's own per-property examples."""
    if not example:
        return None
    if example.startswith("schema:"):
        schema = spec["components"]["schemas"][example.removeprefix("schema:")]
        return {k: v["example"] for k, v in schema["properties"].items() if "example" in v}
    return spec["components"]["examples"][example]["value"]


def resolve(spec, ref):
    node = spec
    for part in ref["$ref"].lstrip("#/").split("/"):
        node = node[part]
    return node


def write(path, case):
    path.write_text(json.dumps(case, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
