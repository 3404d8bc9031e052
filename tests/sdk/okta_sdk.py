"""Okta's Python SDK (`okta`) against the Okta emulator.

What runs for real: the SDK's configuration and its request executor
(authentication headers, `Link` paging through `ApiResponse.next()`,
rate-limit handling), its OAuth flow (a private_key_jwt client assertion it
signs, the token request, DPoP proofs and the nonce retry when DPoP is on),
its models' (de)serialisation and its error objects. The only change from a
real org: the org URL is http on loopback, which the SDK allows once
`testing.testingDisableHttpsCheck` is set
(through the environment, as the SDK reads it)."""

import datetime
import os
import uuid

from okta.client import Client as OktaClient
from okta.models.add_group_request import AddGroupRequest
from okta.models.create_user_request import CreateUserRequest
from okta.models.okta_user_group_profile import OktaUserGroupProfile
from okta.models.password_credential import PasswordCredential
from okta.models.update_user_request import UpdateUserRequest
from okta.models.user_credentials_writable import UserCredentialsWritable
from okta.models.user_profile import UserProfile
from okta.pagination import PaginationHelper


async def every(list_call, **params):
    """Every item of a list: the first page, then the `after` cursor the SDK's
    PaginationHelper reads from the `Link` header, re-sent with the same
    parameters (as the SDK's users do: `since` stays beside `after`)."""
    items, pages, after = [], 0, None
    while True:
        page, resp, err = await list_call(**params, **({"after": after} if after else {}))
        if err:
            raise RuntimeError(f"page {pages + 1}: {err}")
        items.extend(page)
        pages += 1
        after = PaginationHelper.extract_next_cursor(resp.headers)
        if after is None or not page or pages > 200:
            return items, pages


def error_code(err):
    return getattr(err, "error_code", None) or getattr(err, "errorCode", None)


async def run(check, config):
    # The SDK takes `testing.testingDisableHttpsCheck` from its YAML file or
    # the environment only (the constructor's dict is the `client` section).
    os.environ["OKTA_TESTING_TESTINGDISABLEHTTPSCHECK"] = "true"
    config = dict(config, rateLimit={"maxRetries": 2})
    client = OktaClient(config)

    # Few requests: with DPoP the SDK loads its private key again for every
    # proof (about 0.4 s each here).
    users, pages = await every(client.list_users, limit=40)
    ids = [u.id for u in users]
    check("users: read page by page (Link headers)", pages > 1 and len(ids) == len(set(ids)),
          (pages, len(ids)))
    groups, pages = await every(client.list_groups, limit=10, expand="stats")
    check("groups: read page by page", pages > 1 and len(groups) > 10, (pages, len(groups)))
    counts = {g.id: g.embedded.stats.users_count for g in groups if g.embedded and g.embedded.stats}
    biggest = max(counts, key=counts.get)
    members, pages = await every(client.list_group_users, group_id=biggest,
                                 limit=counts[biggest] // 2 + 1)
    check("members: a group's members read page by page",
          pages == 2 and len({m.id for m in members}) == counts[biggest], (pages, len(members)))

    since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)).isoformat()

    user, resp, err = await client.get_user(f"00u{uuid.uuid4().hex[:17]}")
    check("errors: an unknown user is E0000007", err is not None and error_code(err) == "E0000007",
          (err, getattr(resp, "status", None)))

    login = f"sdk.{uuid.uuid4().hex[:8]}@acme.example"
    created, resp, err = await client.create_user(CreateUserRequest(
        profile=UserProfile(first_name="Sdk", last_name="Harness", email=login, login=login),
        credentials=UserCredentialsWritable(password=PasswordCredential(value="tlpWENT2m9q!x")),
    ), activate=True)
    check("writes: create a user (ACTIVE with a password)",
          err is None and created.status.value == "ACTIVE", err or created.status)
    _, _, err = await client.create_user(CreateUserRequest(
        profile=UserProfile(first_name="Sdk", last_name="Harness", email=login, login=login)))
    check("errors: a duplicate login is E0000001", err is not None and error_code(err) == "E0000001", err)
    updated, _, err = await client.update_user(created.id, UpdateUserRequest(
        profile=UserProfile(title="Harness")))
    check("writes: update a user", err is None and updated.profile.title == "Harness"
          and updated.profile.first_name == "Sdk", err or updated.profile.title)

    name = f"sdk-{uuid.uuid4().hex[:8]}"
    group, _, err = await client.add_group(AddGroupRequest(
        profile=OktaUserGroupProfile(name=name, description="harness")))
    check("writes: create a group", err is None and group.id.startswith("00g")
          and group.profile.actual_instance.name == name, err)
    renamed, _, err = await client.replace_group(group.id, AddGroupRequest(
        profile=OktaUserGroupProfile(name=name + "-renamed", description="renamed")))
    check("writes: update a group", err is None
          and renamed.profile.actual_instance.name == name + "-renamed", err)
    *_, err = await client.assign_user_to_group(group.id, created.id)
    members, _ = await every(client.list_group_users, group_id=group.id)
    check("writes: add a member", err is None and [m.id for m in members] == [created.id], err)
    *_, err = await client.unassign_user_from_group(group.id, created.id)
    check("writes: remove a member", err is None, err)
    *_, err = await client.delete_group(group.id)
    _, resp, gone = await client.get_group(group.id)
    check("writes: delete a group", err is None and error_code(gone) == "E0000007", err or gone)

    *_, err = await client.deactivate_user(created.id)
    check("writes: deactivate a user", err is None, err)
    *_, err = await client.delete_user(created.id)
    _, _, gone = await client.get_user(created.id)
    check("writes: delete a user", err is None and error_code(gone) == "E0000007", err or gone)

    events, pages = await every(client.list_log_events, since=since, limit=4)
    types = {e.event_type for e in events}
    check("System Log: polled page by page with `since` beside the cursor",
          pages > 1 and {"user.lifecycle.create", "group.user_membership.add"} <= types,
          (pages, sorted(types)))
