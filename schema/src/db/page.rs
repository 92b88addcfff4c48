//! Keyset pagination: lists are ordered by a text key (a name or an e-mail folded to lower
//! case) and the row id, and a page starts strictly after the last row of the previous one.
//! No OFFSET: a page costs the same at row 10 and at row 100,000.

use uuid::Uuid;

/// The position after which a page starts: the sort key and id of the last row seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keyset {
    pub key: String,
    pub id: Uuid,
}

/// What a caller asks for: at most `first` rows after `after`.
#[derive(Clone, Debug)]
pub struct PageRequest {
    pub first: i64,
    pub after: Option<Keyset>,
}

impl PageRequest {
    /// Rows to fetch: one more than asked, to know whether another page follows.
    pub fn limit(&self) -> i64 {
        self.first + 1
    }
}

/// Splits the `limit()` rows a query returned into the page and whether more follow.
pub fn finish<T>(mut rows: Vec<T>, request: &PageRequest) -> (Vec<T>, bool) {
    let wanted = usize::try_from(request.first).unwrap_or(0);
    let has_more = rows.len() > wanted;
    rows.truncate(wanted);
    (rows, has_more)
}

diesel::define_sql_function! {
    /// PostgreSQL's lower(text).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Narrows a boxed query ordered by `(lower(key), id)` to the rows after `keyset`:
/// `lower(key) > k OR (lower(key) = k AND id > i)`.
macro_rules! after_keyset {
    ($query:expr, $key:expr, $id:expr, $after:expr) => {
        match $after {
            Some(after) => $query.filter(
                $crate::db::page::lower($key)
                    .gt(after.key.clone())
                    .or($crate::db::page::lower($key).eq(after.key.clone()).and($id.gt(after.id))),
            ),
            None => $query,
        }
    };
}
pub(crate) use after_keyset;
