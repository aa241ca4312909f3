//! Output: being written.
