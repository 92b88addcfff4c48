//! Display helpers.

/// `2026-11-28T09:15:00.123Z` → `2026-11-28 09:15` (UTC, as the API sends it).
pub fn short_time(rfc3339: &str) -> String {
    rfc3339.get(..16).unwrap_or(rfc3339).replacen('T', " ", 1)
}

/// `2026-11-28T09:15:00Z` → `2026-11-28`.
pub fn short_date(rfc3339: &str) -> String {
    rfc3339.get(..10).unwrap_or(rfc3339).to_owned()
}
