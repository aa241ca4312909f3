//! Commands: being written.
