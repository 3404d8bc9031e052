//! A Microsoft Graph emulator (work in progress).
