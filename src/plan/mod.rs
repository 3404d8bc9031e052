//! Plan: diff the desired state against live Office 365 into typed actions,
//! order them by dependency, and check safety before anything runs.

pub mod action;
