//! The evalbox guest SDK.
