//! OData query options on collections and entities: `$select` (with each
//! type's default property set), `$top` (default 100, max 999), `$filter`,
//! `$count`, and `@odata.nextLink` paging with opaque `$skiptoken`s.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::filter::{self, Expr};
use super::wire::{ApiRequest, ApiResponse};

/// The properties `GET /users` returns without `$select`.
pub(crate) const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

/// User properties Graph v1.0 knows (selectable; unset ones come back null).
const USER_PROPERTIES: &[&str] = &[
    "aboutMe",
    "accountEnabled",
    "ageGroup",
    "assignedLicenses",
    "assignedPlans",
    "birthday",
    "businessPhones",
    "city",
    "companyName",
    "consentProvidedForMinor",
    "country",
    "createdDateTime",
    "creationType",
    "deletedDateTime",
    "department",
    "displayName",
    "employeeHireDate",
    "employeeLeaveDateTime",
    "employeeId",
    "employeeOrgData",
    "employeeType",
    "externalUserState",
    "externalUserStateChangeDateTime",
    "faxNumber",
    "givenName",
    "hireDate",
    "id",
    "identities",
    "imAddresses",
    "interests",
    "isResourceAccount",
    "jobTitle",
    "lastPasswordChangeDateTime",
    "legalAgeGroupClassification",
    "licenseAssignmentStates",
    "mail",
    "mailboxSettings",
    "mailNickname",
    "mobilePhone",
    "mySite",
    "officeLocation",
    "onPremisesDistinguishedName",
    "onPremisesDomainName",
    "onPremisesExtensionAttributes",
    "onPremisesImmutableId",
    "onPremisesLastSyncDateTime",
    "onPremisesProvisioningErrors",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "onPremisesUserPrincipalName",
    "otherMails",
    "passwordPolicies",
    "pastProjects",
    "postalCode",
    "preferredDataLocation",
    "preferredLanguage",
    "preferredName",
    "provisionedPlans",
    "proxyAddresses",
    "responsibilities",
    "schools",
    "securityIdentifier",
    "showInAddressList",
    "signInActivity",
    "signInSessionsValidFromDateTime",
    "skills",
    "state",
    "streetAddress",
    "surname",
    "usageLocation",
    "userPrincipalName",
    "userType",
];

/// User properties Graph only returns on a single user (501 on a list).
const USER_SINGLE_ONLY: &[&str] = &[
    "aboutMe",
    "birthday",
    "hireDate",
    "interests",
    "mySite",
    "pastProjects",
    "preferredName",
    "responsibilities",
    "schools",
    "skills",
    "mailboxSettings",
];

/// Group properties Graph v1.0 knows.
const GROUP_PROPERTIES: &[&str] = &[
    "allowExternalSenders",
    "assignedLabels",
    "assignedLicenses",
    "autoSubscribeNewMembers",
    "classification",
    "createdDateTime",
    "creationOptions",
    "deletedDateTime",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "hasMembersWithLicenseErrors",
    "hideFromAddressLists",
    "hideFromOutlookClients",
    "id",
    "isArchived",
    "isAssignableToRole",
    "isSubscribedByMail",
    "licenseProcessingState",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesProvisioningErrors",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "serviceProvisioningErrors",
    "theme",
    "uniqueName",
    "unseenCount",
    "visibility",
    "members",
    "owners",
];

/// Group properties only returned on `$select`.
const GROUP_SELECT_ONLY: &[&str] = &[
    "allowExternalSenders",
    "assignedLicenses",
    "autoSubscribeNewMembers",
    "hasMembersWithLicenseErrors",
    "hideFromAddressLists",
    "hideFromOutlookClients",
    "isSubscribedByMail",
    "licenseProcessingState",
    "unseenCount",
    "members",
    "owners",
];

/// The properties `GET /groups` returns without `$select`, in the order of
/// Graph's documented example (group-list.md), with the rest of the default
/// set (resource/group.md) after them.
const GROUP_DEFAULT: &[&str] = &[
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "creationOptions",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "visibility",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
];

/// Collection-valued properties: Graph sends `[]` when there are none, never `null`.
const COLLECTIONS: &[&str] = &[
    "assignedLabels",
    "assignedLicenses",
    "assignedPlans",
    "businessPhones",
    "creationOptions",
    "groupTypes",
    "identities",
    "imAddresses",
    "interests",
    "licenseAssignmentStates",
    "onPremisesProvisioningErrors",
    "otherMails",
    "pastProjects",
    "provisionedPlans",
    "proxyAddresses",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "responsibilities",
    "schools",
    "serviceProvisioningErrors",
    "skills",
];

/// Exchange-backed group settings, returned on `$select` for Microsoft 365
/// groups (`false` until set) and `null` for other groups.
const EXCHANGE_GROUP_SETTINGS: &[&str] = &[
    "allowExternalSenders",
    "autoSubscribeNewMembers",
    "hideFromAddressLists",
    "hideFromOutlookClients",
];

/// What Graph returns for `property` of `object` when the object holds no
/// value for it (or a `null` where Graph never sends one).
fn default_of(ty: EntityType, object: &Value, property: &str) -> Value {
    if COLLECTIONS.contains(&property) {
        return json!([]);
    }
    let is_user = match ty {
        EntityType::User => true,
        EntityType::Group => false,
        EntityType::DirectoryObject => object.get("userPrincipalName").is_some(),
    };
    match property {
        "accountEnabled" if is_user => json!(true),
        "onPremisesExtensionAttributes" if is_user => {
            let mut attrs = Map::new();
            for n in 1..=15 {
                attrs.insert(format!("extensionAttribute{n}"), Value::Null);
            }
            Value::Object(attrs)
        }
        "hasMembersWithLicenseErrors" if !is_user => json!(false),
        p if !is_user && EXCHANGE_GROUP_SETTINGS.contains(&p) => {
            let unified = object["groupTypes"]
                .as_array()
                .is_some_and(|t| t.iter().any(|v| v == "Unified"));
            if unified { json!(false) } else { Value::Null }
        }
        _ => Value::Null,
    }
}

/// `object[property]` as Graph would send it: the stored value, or the
/// default when it is absent (or a `null` collection).
fn value_of(ty: EntityType, object: &Value, property: &str) -> Value {
    match object.get(property) {
        Some(Value::Null) | None => default_of(ty, object, property),
        Some(v) => v.clone(),
    }
}

/// Whether `name` is a property (or navigation property) of `ty`.
pub(crate) fn is_property(ty: EntityType, name: &str) -> bool {
    ty.knows(name)
}

/// Takes a write body's top-level `@odata.type`, which Graph's SDKs send on
/// every create and update: it must name `expected` (`microsoft.graph.user`).
/// Other instance annotations (`@odata.*` without a property name) are
/// dropped the same way; `property@odata.bind` stays.
pub(crate) fn without_type_annotation(
    body: &Map<String, Value>,
    expected: &str,
) -> Result<Map<String, Value>, ApiResponse> {
    let mut out = body.clone();
    if let Some(t) = out.remove("@odata.type") {
        let named = t.as_str().unwrap_or_default().trim_start_matches('#');
        if !named.eq_ignore_ascii_case(expected) {
            return Err(ApiResponse::error(
                400,
                "BadRequest",
                format!(
                    "A type named '{named}' could not be resolved by the model. When a model is available, each type name must resolve to a valid type."
                ),
            ));
        }
    }
    out.retain(|k, _| !k.starts_with("@odata."));
    Ok(out)
}

/// The entity type a query runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntityType {
    User,
    Group,
    /// A directory object of either type (members, owners).
    DirectoryObject,
}

impl EntityType {
    fn name(self) -> &'static str {
        match self {
            EntityType::User => "microsoft.graph.user",
            EntityType::Group => "microsoft.graph.group",
            EntityType::DirectoryObject => "microsoft.graph.directoryObject",
        }
    }

    fn knows(self, property: &str) -> bool {
        if property.starts_with("extension_") {
            return true;
        }
        match self {
            EntityType::User => USER_PROPERTIES.contains(&property),
            EntityType::Group => GROUP_PROPERTIES.contains(&property),
            EntityType::DirectoryObject => {
                USER_PROPERTIES.contains(&property) || GROUP_PROPERTIES.contains(&property)
            }
        }
    }
}

/// A parsed `$select` list; `None` means the type's defaults.
pub(crate) type Selection = Option<Vec<String>>;

/// Parses and checks `$select`.
pub(crate) fn selection(
    req: &ApiRequest,
    ty: EntityType,
    on_collection: bool,
) -> Result<Selection, ApiResponse> {
    let Some(raw) = req.query("$select") else {
        return Ok(None);
    };
    let props: Vec<String> = raw
        .split(',')
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    for p in &props {
        if !ty.knows(p) {
            return Err(ApiResponse::error(
                400,
                "Request_BadRequest",
                format!(
                    "Could not find a property named '{p}' on type '{}'.",
                    ty.name()
                ),
            ));
        }
        if on_collection && ty == EntityType::User && USER_SINGLE_ONLY.contains(&p.as_str()) {
            return Err(ApiResponse::error(
                501,
                "NotImplemented",
                format!(
                    "This operation target is not yet supported. Property '{p}' can only be selected on a single user."
                ),
            ));
        }
    }
    Ok(Some(props))
}

/// The selected view of `object`: the selection plus `id`, or the type's defaults.
pub(crate) fn project(object: &Value, ty: EntityType, selection: &Selection) -> Value {
    let mut out = Map::new();
    let odata_type = object.get("@odata.type").cloned();
    match selection {
        Some(props) => {
            if let Some(id) = object.get("id") {
                out.insert("id".into(), id.clone());
            }
            for p in props {
                if p == "members" || p == "owners" {
                    continue;
                }
                match object.get(p.as_str()) {
                    Some(_) => {
                        out.insert(p.clone(), value_of(ty, object, p));
                    }
                    None if !p.starts_with("extension_") => {
                        out.insert(p.clone(), value_of(ty, object, p));
                    }
                    None => {}
                }
            }
        }
        None => {
            let is_user = match ty {
                EntityType::User => true,
                EntityType::Group => false,
                EntityType::DirectoryObject => object.get("userPrincipalName").is_some(),
            };
            if is_user {
                for p in USER_DEFAULT {
                    out.insert((*p).into(), value_of(ty, object, p));
                }
            } else {
                for p in GROUP_DEFAULT {
                    out.insert((*p).into(), value_of(ty, object, p));
                }
                for (k, v) in object.as_object().into_iter().flatten() {
                    if !out.contains_key(k)
                        && !GROUP_SELECT_ONLY.contains(&k.as_str())
                        && !k.starts_with('@')
                    {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }
    if let Some(t) = odata_type {
        let mut with_type = Map::new();
        with_type.insert("@odata.type".into(), t);
        with_type.extend(out);
        return Value::Object(with_type);
    }
    Value::Object(out)
}

/// Largest page of a directory collection with `$expand` (Graph's known
/// issue: `$expand` on directory objects returns at most 100 objects a page,
/// whatever `$top` asks).
const MAX_EXPANDED_PAGE: usize = 100;

/// `$top`: default 100, 1..=999; at most 100 with `$expand`.
pub(crate) fn page_size(req: &ApiRequest) -> Result<usize, ApiResponse> {
    let cap = if req.query("$expand").is_some() {
        MAX_EXPANDED_PAGE
    } else {
        999
    };
    match req.query("$top") {
        None => Ok(100),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n @ 1..=999) => Ok(n.min(cap)),
            _ => Err(ApiResponse::error(
                400,
                "Request_UnsupportedQuery",
                format!(
                    "Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive."
                ),
            )),
        },
    }
}

/// Parses `$filter`, refusing advanced-only clauses without the opt-in.
pub(crate) fn parse_filter(req: &ApiRequest) -> Result<Option<Expr>, ApiResponse> {
    let Some(raw) = req.query("$filter") else {
        return Ok(None);
    };
    let expr = filter::parse(raw).map_err(|m| ApiResponse::error(400, "BadRequest", m))?;
    if expr.needs_advanced_query() && !(req.is_advanced_query() && wants_count(req)) {
        return Err(ApiResponse::error(
            400,
            "Request_UnsupportedQuery",
            "Unsupported Query.",
        ));
    }
    Ok(Some(expr))
}

/// `$count=true`.
pub(crate) fn wants_count(req: &ApiRequest) -> bool {
    req.query("$count")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Opaque `$skiptoken`s → the id a page continues after.
#[derive(Debug, Default)]
pub(crate) struct PageTokens {
    tokens: HashMap<String, String>,
}

const MAX_PAGE_TOKENS: usize = 200_000;

impl PageTokens {
    /// Registers `token` as continuing after `last_id`.
    pub fn insert(&mut self, token: String, last_id: String) {
        if self.tokens.len() >= MAX_PAGE_TOKENS {
            self.tokens.clear();
        }
        self.tokens.insert(token, last_id);
    }

    /// The id a token continues after, or Graph's error for an unknown token.
    pub fn resolve(&self, token: &str) -> Result<String, ApiResponse> {
        self.tokens
            .get(token)
            .cloned()
            .ok_or_else(page_token_not_found)
    }
}

/// Graph's 400 for a `$skiptoken` it doesn't know (or that has expired).
pub(crate) fn page_token_not_found() -> ApiResponse {
    ApiResponse::error(
        400,
        "Directory_PageTokenNotFound",
        "The specified page token value has expired and can no longer be included in your request.",
    )
}

/// One page of a collection, ready to send.
pub(crate) struct Page {
    pub items: Vec<Value>,
    pub count: Option<usize>,
}

/// Builds a collection response: `@odata.context`, `@odata.count` (first
/// page only), `value`, and an absolute `@odata.nextLink` carrying the
/// original options plus `$skiptoken`.
pub(crate) fn collection_response(
    base: &str,
    req: &ApiRequest,
    context: &str,
    page: Page,
    next_token: Option<String>,
) -> ApiResponse {
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!("{base}/v1.0/$metadata#{context}")),
    );
    if let Some(count) = page.count {
        body.insert("@odata.count".into(), json!(count));
    }
    if let Some(token) = next_token {
        body.insert(
            "@odata.nextLink".into(),
            json!(next_link(base, req, "$skiptoken", &token)),
        );
    }
    body.insert("value".into(), Value::Array(page.items));
    ApiResponse::json(200, Value::Object(body))
}

/// The request's URL with `name=value` replacing any paging token.
pub(crate) fn next_link(base: &str, req: &ApiRequest, name: &str, value: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &req.query {
        if !k.eq_ignore_ascii_case("$skiptoken") && !k.eq_ignore_ascii_case("$deltatoken") {
            query.append_pair(k, v);
        }
    }
    query.append_pair(name, value);
    format!("{base}/v1.0{}?{}", encode_path(&req.path), query.finish())
}

/// Percent-encodes what a path segment can't hold raw.
pub(crate) fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '#' => out.push_str("%23"),
            ' ' => out.push_str("%20"),
            '?' => out.push_str("%3F"),
            '%' => out.push_str("%25"),
            _ => out.push(c),
        }
    }
    out
}

/// `@odata.context` for a collection, e.g. `users` or `users(id,displayName)`.
pub(crate) fn context_of(set: &str, selection: &Selection) -> String {
    match selection {
        Some(props) => format!("{set}({})", props.join(",")),
        None => set.to_owned(),
    }
}

/// A page of `keys → objects` starting after the skiptoken's key: at most
/// `top` matching items, and whether more match after them.
pub(crate) fn paginate<'a, I>(items: I, top: usize) -> (Vec<(String, Value)>, bool)
where
    I: Iterator<Item = (String, &'a Value)>,
{
    let mut out = Vec::new();
    let mut more = false;
    for (key, value) in items {
        if out.len() == top {
            more = true;
            break;
        }
        out.push((key, value.clone()));
    }
    (out, more)
}

/// Whether `name` is a user property Graph accepts in a write.
pub(crate) fn is_user_property(name: &str) -> bool {
    name.starts_with("extension_") || USER_PROPERTIES.contains(&name)
}

/// Whether `name` is a group property Graph accepts in a write.
pub(crate) fn is_group_property(name: &str) -> bool {
    name.starts_with("extension_") || GROUP_PROPERTIES.contains(&name)
}

/// Properties Graph computes and no write may set.
const READ_ONLY: &[&str] = &[
    "id",
    "createdDateTime",
    "deletedDateTime",
    "assignedLicenses",
    "licenseAssignmentStates",
    "assignedPlans",
    "provisionedPlans",
    "securityIdentifier",
    "signInSessionsValidFromDateTime",
    "externalUserStateChangeDateTime",
    "onPremisesSyncEnabled",
    "onPremisesLastSyncDateTime",
    "onPremisesSecurityIdentifier",
    "renewedDateTime",
    "expirationDateTime",
    "resourceProvisioningOptions",
    "members",
    "owners",
];

/// Graph's 400 for a write naming `name`, if `name` is read-only.
pub(crate) fn read_only_error(name: &str) -> Option<ApiResponse> {
    READ_ONLY.contains(&name).then(|| {
        ApiResponse::error(
            400,
            "Request_BadRequest",
            format!("Property '{name}' is read-only and cannot be set."),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(query: &[(&str, &str)]) -> ApiRequest {
        ApiRequest {
            method: "GET".into(),
            path: "/users".into(),
            query: query
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            headers: Default::default(),
            body: None,
        }
    }

    #[test]
    fn expand_caps_the_page_at_one_hundred() {
        assert_eq!(page_size(&get(&[("$top", "999")])).unwrap(), 999);
        let expanded = get(&[("$top", "999"), ("$expand", "manager($select=id)")]);
        assert_eq!(page_size(&expanded).unwrap(), 100);
        let small = get(&[("$top", "50"), ("$expand", "manager")]);
        assert_eq!(page_size(&small).unwrap(), 50);
        assert!(page_size(&get(&[("$top", "1000"), ("$expand", "manager")])).is_err());
    }
}
