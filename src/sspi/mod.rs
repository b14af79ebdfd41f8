//! Windows-shaped layer.
