//! chaski integration tests, built as one binary.
