//! An Okta Management API emulator (work in progress).
