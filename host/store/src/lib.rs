//! The store trait and its backends.
