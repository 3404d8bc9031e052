//! Okta objects in the shapes `GET /api/v1/users` and `GET /api/v1/groups` return.
//!
//! Fields okta365 does not read are kept in `other` so a snapshot written back
//! loses nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::Fields;
use super::json::Json;
use super::{OktaGroupId, OktaUserId};

/// An Okta user (`components/schemas/User`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user's id.
    pub id: OktaUserId,
    /// Lifecycle status.
    pub status: UserStatus,
    /// When the status last changed (RFC 3339), if Okta recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_changed: Option<String>,
    /// When the user was last updated (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    /// Profile attributes, custom ones included, as Okta sends them.
    #[serde(default)]
    pub profile: Fields<Json>,
    /// Every other field, kept untouched.
    #[serde(flatten)]
    pub other: Fields<Json>,
}

super::de::vendor_object!(User, "an Okta user",
    required: { id: "id", status: "status" },
    optional: {
        status_changed: "statusChanged" => None,
        last_updated: "lastUpdated" => None,
        profile: "profile" => Fields::new(),
    },
    rest: other,
);

impl User {
    /// A profile attribute as a string, if it is set to a scalar.
    pub fn profile_str(&self, name: &str) -> Option<String> {
        self.profile.get(name)?.scalar_string()
    }

    /// A profile attribute's value: one string for a scalar, the non-empty
    /// scalar elements for an array (`string[]`, `integer[]`…). `None` when
    /// the attribute is absent, null, empty, or an empty array.
    pub fn profile_value(&self, name: &str) -> Option<ProfileValue> {
        let value = self.profile.get(name)?;
        match value.as_array() {
            Some(items) => {
                let items: Vec<String> = items
                    .iter()
                    .filter_map(Json::scalar_string)
                    .filter(|s| !s.is_empty())
                    .collect();
                (!items.is_empty()).then_some(ProfileValue::Many(items))
            }
            None => value
                .scalar_string()
                .filter(|s| !s.is_empty())
                .map(ProfileValue::One),
        }
    }

    /// The user's login (`profile.login`).
    pub fn login(&self) -> Option<String> {
        self.profile_str("login")
    }
}

/// The attributes of Okta's default user profile (the base schema every org
/// has), custom attributes aside: valid names even when no user has a value.
pub const BASE_PROFILE_ATTRIBUTES: [&str; 31] = [
    "login",
    "email",
    "secondEmail",
    "firstName",
    "lastName",
    "middleName",
    "displayName",
    "nickName",
    "honorificPrefix",
    "honorificSuffix",
    "title",
    "department",
    "division",
    "organization",
    "costCenter",
    "employeeNumber",
    "manager",
    "managerId",
    "mobilePhone",
    "primaryPhone",
    "city",
    "state",
    "streetAddress",
    "zipCode",
    "countryCode",
    "postalAddress",
    "preferredLanguage",
    "locale",
    "timezone",
    "profileUrl",
    "userType",
];

/// A profile attribute's value: Okta profile attributes are scalars or
/// arrays of scalars (custom `string[]`, `number[]`, `integer[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileValue {
    /// A string, number or boolean, as text.
    One(String),
    /// An array's elements, as text (never empty).
    Many(Vec<String>),
}

/// Okta's `UserStatus` enum.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    /// Created, activation not started.
    Staged,
    /// Activated, waiting for the user to finish activation.
    Provisioned,
    /// Can sign in.
    Active,
    /// Password reset in progress.
    Recovery,
    /// Must change password at next sign-in.
    PasswordExpired,
    /// Locked out after failed sign-ins.
    LockedOut,
    /// Suspended by an admin: cannot sign in, assignments kept.
    Suspended,
    /// Deactivated: assignments removed downstream.
    Deprovisioned,
}

impl UserStatus {
    /// The status as Okta spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staged => "STAGED",
            Self::Provisioned => "PROVISIONED",
            Self::Active => "ACTIVE",
            Self::Recovery => "RECOVERY",
            Self::PasswordExpired => "PASSWORD_EXPIRED",
            Self::LockedOut => "LOCKED_OUT",
            Self::Suspended => "SUSPENDED",
            Self::Deprovisioned => "DEPROVISIONED",
        }
    }

    /// Whether Okta considers the person gone or barred (offboarding applies).
    pub fn is_leaver(self) -> bool {
        matches!(self, Self::Suspended | Self::Deprovisioned)
    }
}

/// An Okta group (`components/schemas/Group`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The group's id.
    pub id: OktaGroupId,
    /// `OKTA_GROUP`, `APP_GROUP` or `BUILT_IN`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub group_type: Option<String>,
    /// `name` and `description`.
    pub profile: GroupProfile,
    /// Every other field, kept untouched.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// The profile of an Okta group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupProfile {
    /// The group's name.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Other profile fields (app groups carry many).
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}
