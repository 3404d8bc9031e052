//! Microsoft Graph objects in the shapes Graph returns them (`user`, `group`,
//! `subscribedSku`), with the properties the planner reads typed and every
//! other property kept in `other`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::de::null_as_default;
use super::fields::Fields;
use super::json::Json;
use super::{ObjectId, ServicePlanId, SkuId};

/// A Graph `user`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Directory object id.
    pub id: ObjectId,
    /// Sign-in name.
    pub user_principal_name: String,
    /// Whether sign-in is allowed.
    pub account_enabled: bool,
    /// `Member` or `Guest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// Licences, direct and inherited alike.
    #[serde(default)]
    pub assigned_licenses: Vec<AssignedLicense>,
    /// One entry per licence source (direct, or a group).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub license_assignment_states: Vec<LicenseAssignmentState>,
    /// `extensionAttribute1` … `extensionAttribute15`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_premises_extension_attributes: Option<Fields<Option<String>>>,
    /// Every other property (displayName, mail, usageLocation, directory extensions, …).
    #[serde(flatten)]
    pub other: Fields<Json>,
}

super::de::vendor_object!(User, "a Microsoft Graph user",
    required: { id: "id", user_principal_name: "userPrincipalName" },
    optional: {
        account_enabled: "accountEnabled" => true,
        user_type: "userType" => None,
        assigned_licenses: "assignedLicenses" => Vec::new(),
        license_assignment_states: "licenseAssignmentStates" => Vec::new(),
        on_premises_extension_attributes: "onPremisesExtensionAttributes" => None,
    },
    rest: other,
);

impl User {
    /// A string property by its Graph name, typed or not.
    pub fn property(&self, name: &str) -> Option<String> {
        self.property_text(name).map(Cow::into_owned)
    }

    /// [`property`](Self::property), borrowed when it is a string.
    pub fn property_text(&self, name: &str) -> Option<Cow<'_, str>> {
        match name {
            "userPrincipalName" => Some(Cow::Borrowed(&self.user_principal_name)),
            "accountEnabled" => Some(Cow::Owned(self.account_enabled.to_string())),
            "userType" => self.user_type.as_deref().map(Cow::Borrowed),
            _ => match self.other.get(name)? {
                Json::String(s) => Some(Cow::Borrowed(s)),
                Json::Null => None,
                other => Some(Cow::Owned(other.to_string())),
            },
        }
    }

    /// The manager's object id, when read with `$expand=manager($select=id)`.
    pub fn manager_id(&self) -> Option<&str> {
        self.other.get("manager")?.get("id")?.as_str()
    }

    /// Whether this is a B2B guest.
    pub fn is_guest(&self) -> bool {
        self.user_type.as_deref() == Some("Guest")
    }

    /// SKUs assigned directly (not only through group-based licensing).
    pub fn direct_skus(&self) -> Vec<&SkuId> {
        if self.license_assignment_states.is_empty() {
            return self.assigned_licenses.iter().map(|l| &l.sku_id).collect();
        }
        self.license_assignment_states
            .iter()
            .filter(|s| s.assigned_by_group.is_none())
            .map(|s| &s.sku_id)
            .collect()
    }

    /// Whether `sku` reaches the user through a group (group-based licensing).
    pub fn inherits_sku(&self, sku: &SkuId) -> bool {
        self.license_assignment_states
            .iter()
            .any(|s| &s.sku_id == sku && s.assigned_by_group.is_some())
    }
}

/// An entry of `assignedLicenses`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedLicense {
    /// The SKU.
    pub sku_id: SkuId,
    /// Service plans turned off inside it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub disabled_plans: Vec<ServicePlanId>,
}

/// An entry of `licenseAssignmentStates`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseAssignmentState {
    /// The SKU.
    pub sku_id: SkuId,
    /// The group the licence comes from; `None` when assigned directly.
    #[serde(default)]
    pub assigned_by_group: Option<ObjectId>,
    /// Service plans turned off.
    #[serde(default)]
    pub disabled_plans: Vec<ServicePlanId>,
    /// `Active`, `ActiveWithError`, `Disabled` or `Error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `None`, `CountViolation`, `MutuallyExclusiveViolation`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every other property.
    #[serde(flatten)]
    pub other: Fields<Json>,
}

super::de::vendor_object!(LicenseAssignmentState, "a licence assignment state",
    required: { sku_id: "skuId" },
    optional: {
        assigned_by_group: "assignedByGroup" => None,
        disabled_plans: "disabledPlans" => Vec::new(),
        state: "state" => None,
        error: "error" => None,
    },
    rest: other,
);

/// A Graph `group`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Directory object id (also the Team id when team-enabled).
    pub id: ObjectId,
    /// Display name.
    pub display_name: String,
    /// Mail alias; unique for Microsoft 365 groups. okta365 keys managed groups on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_nickname: Option<String>,
    /// `["Unified"]` for Microsoft 365 groups, `[]` for security groups.
    #[serde(default, deserialize_with = "null_as_default")]
    pub group_types: Vec<String>,
    /// Mail-enabled.
    #[serde(default, deserialize_with = "null_as_default")]
    pub mail_enabled: bool,
    /// Security-enabled.
    #[serde(default, deserialize_with = "null_as_default")]
    pub security_enabled: bool,
    /// Contains `"Team"` when the group has a Team.
    #[serde(default, deserialize_with = "null_as_default")]
    pub resource_provisioning_options: Vec<String>,
    /// Every other property.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl Group {
    /// Whether a Team is provisioned on this group.
    pub fn has_team(&self) -> bool {
        self.resource_provisioning_options
            .iter()
            .any(|o| o == "Team")
    }

    /// Whether this is a Microsoft 365 (`Unified`) group.
    pub fn is_unified(&self) -> bool {
        self.group_types.iter().any(|t| t == "Unified")
    }

    /// Whether membership is rule-driven and cannot be edited.
    pub fn is_dynamic(&self) -> bool {
        self.group_types.iter().any(|t| t == "DynamicMembership")
    }
}

/// A Graph `subscribedSku`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribedSku {
    /// The SKU id.
    pub sku_id: SkuId,
    /// Part number such as `SPE_E3`.
    pub sku_part_number: String,
    /// Seats in use.
    #[serde(default, deserialize_with = "null_as_default")]
    pub consumed_units: i64,
    /// Seats bought.
    #[serde(default, deserialize_with = "null_as_default")]
    pub prepaid_units: PrepaidUnits,
    /// Service plans inside the SKU.
    #[serde(default, deserialize_with = "null_as_default")]
    pub service_plans: Vec<ServicePlan>,
    /// Every other property.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl SubscribedSku {
    /// Seats free now: `prepaidUnits.enabled − consumedUnits`.
    pub fn available(&self) -> i64 {
        self.prepaid_units.enabled - self.consumed_units
    }
}

/// `prepaidUnits` of a subscribed SKU.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepaidUnits {
    /// Seats usable.
    #[serde(default, deserialize_with = "null_as_default")]
    pub enabled: i64,
    /// Every other count (suspended, warning, lockedOut).
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// A service plan inside a SKU.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePlan {
    /// The plan id.
    pub service_plan_id: ServicePlanId,
    /// Its name, such as `EXCHANGE_S_ENTERPRISE`.
    pub service_plan_name: String,
    /// Every other property.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}
