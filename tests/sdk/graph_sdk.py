"""Microsoft's Graph SDK for Python (msgraph-sdk, on kiota and httpx) with
azure-identity's credentials, against the Graph emulator.

What runs for real: azure-identity's ClientSecretCredential and
CertificateCredential, through MSAL (OpenID discovery, the client-credentials
grant, the signed client assertion for a certificate), over https to a
loopback TLS proxy in front of the emulator's token endpoint; then
msgraph-sdk's request builders, kiota's authentication provider, middleware,
JSON serialisation (with the `@odata.type` it writes on every create and
update) and parsing, msgraph-core's page iterator and error mapping (ODataError).
The only changes from a tenant: the authority and the Graph base URL point
at loopback, `127.0.0.1` is an allowed host for the token, and instance
discovery (a call to login.microsoftonline.com) is off."""

import uuid

from azure.identity import CertificateCredential, ClientSecretCredential
from kiota_abstractions.api_error import APIError
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.assigned_license import AssignedLicense
from msgraph.generated.models.group import Group
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.user import User
from msgraph.generated.users.item.assign_license.assign_license_post_request_body import (
    AssignLicensePostRequestBody,
)
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core.authentication import AzureIdentityAuthenticationProvider
from msgraph_core.tasks.page_iterator import PageIterator

SCOPES = ["https://graph.microsoft.com/.default"]


def credential(mode, proxy, tenant, client_id, secret=None, certificate_file=None):
    common = dict(
        authority=proxy.url,
        disable_instance_discovery=True,
        connection_verify=str(proxy.ca_file),
    )
    if mode == "client secret":
        return ClientSecretCredential(tenant, client_id, secret, **common)
    return CertificateCredential(tenant, client_id, certificate_path=str(certificate_file), **common)


def client_for(credential, graph_url):
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=SCOPES, allowed_hosts=["127.0.0.1"]
    )
    adapter = GraphRequestAdapter(auth)
    adapter.base_url = f"{graph_url}/v1.0"
    return GraphServiceClient(request_adapter=adapter), adapter


async def every(adapter, first_page):
    """All items of a collection, following `@odata.nextLink` with msgraph-core's PageIterator."""
    items = []

    def keep(item):
        items.append(item)
        return True

    iterator = PageIterator(first_page, adapter)  # the page's own type parses the next ones
    await iterator.iterate(keep)
    return items


async def run(check, client, adapter):
    """Pages, errors and writes; `check(name, condition, detail)` records each."""
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        select=["id", "userPrincipalName", "accountEnabled", "assignedLicenses", "usageLocation"],
        top=25,
    )
    config = UsersRequestBuilder.UsersRequestBuilderGetRequestConfiguration(query_parameters=query)
    first = await client.users.get(request_configuration=config)
    check("users: first page has a nextLink", first.odata_next_link is not None, first.odata_next_link)
    users = await every(adapter, first)
    ids = [u.id for u in users]
    check("users: every page read, no repeats", len(ids) > 25 and len(ids) == len(set(ids)), len(ids))
    check("users: accountEnabled is a boolean on every user",
          all(isinstance(u.account_enabled, bool) for u in users), None)
    check("users: assignedLicenses is a list on every user",
          all(isinstance(u.assigned_licenses, list) for u in users), None)

    groups = await every(adapter, await client.groups.get())
    check("groups: read", len(groups) > 0, len(groups))
    with_members = None
    for g in groups:
        members_page = await client.groups.by_group_id(g.id).members.get()
        members = await every(adapter, members_page)
        if members:
            with_members = (g, members)
            break
    check("members: a group's members read, typed by @odata.type",
          with_members is not None and all(type(m).__name__ in ("User", "Group") for m in with_members[1]),
          with_members and [type(m).__name__ for m in with_members[1][:3]])

    try:
        await client.users.by_user_id(str(uuid.uuid4())).get()
        check("errors: an unknown user is a 404 ODataError", False, "no error")
    except ODataError as e:
        check("errors: an unknown user is a 404 ODataError",
              e.response_status_code == 404 and e.error.code == "Request_ResourceNotFound",
              (e.response_status_code, e.error and e.error.code))
    except APIError as e:
        check("errors: an unknown user is a 404 ODataError", False, repr(e))

    domain = users[0].user_principal_name.split("@")[1]
    nickname = f"sdk-{uuid.uuid4().hex[:8]}"
    created = await client.users.post(User(
        account_enabled=True,
        display_name="SDK Harness",
        mail_nickname=nickname,
        user_principal_name=f"{nickname}@{domain}",
        password_profile=PasswordProfile(force_change_password_next_sign_in=True, password="xWwvJ]6NMw+bWH-d"),
    ))
    check("writes: create a user (201, typed)", created is not None and created.id, created and created.id)
    await client.users.by_user_id(created.id).patch(User(job_title="Harness", usage_location="US"))
    fetched = await client.users.by_user_id(created.id).get()
    check("writes: update a user", fetched.job_title == "Harness", fetched.job_title)
    skus = (await client.subscribed_skus.get()).value
    free = [s for s in skus if s.prepaid_units.enabled > s.consumed_units]
    licensed = await client.users.by_user_id(created.id).assign_license.post(AssignLicensePostRequestBody(
        add_licenses=[AssignedLicense(sku_id=free[0].sku_id, disabled_plans=[])], remove_licenses=[],
    ))
    check("writes: license a user (assignedLicenses in the answer)",
          licensed is not None and any(l.sku_id == free[0].sku_id for l in licensed.assigned_licenses or []),
          licensed and licensed.assigned_licenses)

    group = await client.groups.post(Group(
        display_name="SDK Harness Group", mail_enabled=False, mail_nickname=f"{nickname}-g",
        security_enabled=True, group_types=[],
    ))
    check("writes: create a group", group is not None and group.id, group and group.id)
    await client.groups.by_group_id(group.id).patch(Group(description="made by the SDK harness"))
    await client.groups.by_group_id(group.id).members.ref.post(
        ReferenceCreate(odata_id=f"{adapter.base_url}/directoryObjects/{created.id}")
    )
    members = (await client.groups.by_group_id(group.id).members.get()).value
    check("writes: update a group and add a member",
          [m.id for m in members] == [created.id], [m.id for m in members])
    try:
        await client.groups.by_group_id(group.id).members.ref.post(
            ReferenceCreate(odata_id=f"{adapter.base_url}/directoryObjects/{created.id}")
        )
        check("errors: adding a member twice is a 400", False, "no error")
    except ODataError as e:
        check("errors: adding a member twice is a 400", e.response_status_code == 400, e.error.message)
    await client.groups.by_group_id(group.id).delete()
    await client.users.by_user_id(created.id).delete()
    try:
        await client.users.by_user_id(created.id).get()
        check("writes: delete a user and a group", False, "the user is still there")
    except ODataError as e:
        check("writes: delete a user and a group", e.response_status_code == 404, e.response_status_code)
