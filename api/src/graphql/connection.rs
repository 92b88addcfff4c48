//! Relay-style connections: `first` / `after` arguments, `edges { cursor node }`, `pageInfo`.
//!
//! A cursor is the opaque base64 form of the keyset (sort key and id) of a row; a malformed
//! one is a VALIDATION error, never a silent first page.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cartouche_schema::db::{Keyset, PageRequest};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

pub const DEFAULT_PAGE: i32 = 50;
pub const MAX_PAGE: i32 = 200;

pub fn encode_cursor(keyset: &Keyset) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}\u{0}{}", keyset.id, keyset.key))
}

pub fn decode_cursor(cursor: &str) -> ApiResult<Keyset> {
    let invalid = || ApiError::validation("after", "this cursor is not one the API gave out");
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (id, key) = text.split_once('\u{0}').ok_or_else(invalid)?;
    let id = Uuid::parse_str(id).map_err(|_| invalid())?;
    Ok(Keyset { key: key.to_owned(), id })
}

/// Validates `first` (1 to 200, default 50) and `after`.
pub fn page_request(first: Option<i32>, after: Option<String>) -> ApiResult<PageRequest> {
    let first = first.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&first) {
        return Err(ApiError::validation("first", format!("first must be between 1 and {MAX_PAGE}, not {first}")));
    }
    let after = after.as_deref().map(decode_cursor).transpose()?;
    Ok(PageRequest { first: i64::from(first), after })
}

/// Builds a connection from one page of rows; `keyset` gives each row's position.
pub fn connection<Row, Node>(
    rows: Vec<Row>,
    has_next_page: bool,
    has_previous_page: bool,
    keyset: impl Fn(&Row) -> Keyset,
    node: impl Fn(Row) -> Node,
) -> Connection<String, Node>
where
    Node: OutputType,
{
    let mut connection = Connection::new(has_previous_page, has_next_page);
    connection.edges.extend(rows.into_iter().map(|row| {
        let cursor = encode_cursor(&keyset(&row));
        Edge::new(cursor, node(row))
    }));
    connection
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_even_with_odd_keys() {
        let keyset = Keyset { key: "siège / \"nord\"".into(), id: Uuid::new_v4() };
        assert_eq!(decode_cursor(&encode_cursor(&keyset)).unwrap(), keyset);
    }

    #[test]
    fn malformed_cursors_and_page_sizes_are_validation_errors() {
        for bad in ["", "!!!", "bm90LWEtY3Vyc29y"] {
            let err = decode_cursor(bad).unwrap_err();
            assert_eq!(err.code(), "VALIDATION", "{bad}");
        }
        assert_eq!(page_request(Some(0), None).unwrap_err().code(), "VALIDATION");
        assert_eq!(page_request(Some(201), None).unwrap_err().code(), "VALIDATION");
        assert_eq!(page_request(None, None).unwrap().first, 50);
    }
}
