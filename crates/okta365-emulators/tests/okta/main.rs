//! The Okta emulator over real HTTP (reqwest on loopback): authentication,
//! paging, the System Log, rate limits, faults, event hooks and the control
//! endpoints.

mod common;

// SSWS, private_key_jwt, scopes, DPoP.
mod auth;
// In-process and HTTP mutations, request counts.
mod control;
// Users, groups and members.
mod directory;
// Seeded, scripted and page faults.
mod faults;
// Event hooks.
mod hooks;
// Rate limits and concurrency.
mod limits;
// The System Log.
mod logs;
// Users, groups and members written as the SDKs write them.
mod writes;
