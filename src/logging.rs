//! Logging: being written.
