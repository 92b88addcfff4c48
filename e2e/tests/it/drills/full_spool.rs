//! (drill being written)
