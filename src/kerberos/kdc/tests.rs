//! Unit tests of the KDC exchanges.
use super::*;
