//! Manual (written below).
