//! Loopback emulators of Okta and Microsoft Graph.
