//! Data the pipeline works on: the vendors' objects as their APIs return them
//! (`okta`, `graph`), and the two state snapshots built from them (`state`).
//!
//! Pure data: nothing here does I/O or reads a clock.

mod de;
pub mod fields;
pub mod graph;
pub mod json;
pub mod okta;
pub mod reason;
pub mod state;

pub use reason::Reason;

/// Declares a string newtype that serialises as a bare string. Ids of up to
/// 24 bytes (Okta's are 20) are stored inline, so copying one allocates nothing.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub compact_str::CompactString);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.into())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s.into())
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// An Okta user id (`00u…`, 20 characters).
    OktaUserId
);
string_id!(
    /// An Okta group id (`00g…`).
    OktaGroupId
);
string_id!(
    /// A Microsoft Entra directory object id (a GUID).
    ObjectId
);
string_id!(
    /// A licence SKU id (a GUID), as `subscribedSkus` and `assignedLicenses` carry it.
    SkuId
);
string_id!(
    /// A service plan id (a GUID) inside a SKU.
    ServicePlanId
);
