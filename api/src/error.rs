//! One error type for the whole api. Each variant becomes a GraphQL error whose
//! `extensions.code` a client can switch on; internal errors are logged with their cause
//! chain and shown to the client without details.

use async_graphql::ErrorExtensions;

// Deliberately not `Display`: async-graphql converts any `Display` type into an error without
// a code, and `?` would pick that conversion. Without it, `?` uses ours.
#[derive(Debug)]
pub enum ApiError {
    /// No valid credentials (missing, expired, tampered, revoked), or a failed sign-in.
    Unauthenticated(String),
    /// Signed in, but the role does not allow this.
    Forbidden(String),
    /// No such object, or not visible to the caller (the two are indistinguishable).
    NotFound(&'static str),
    /// The input is wrong; `field` names the input field at fault.
    Validation { field: String, message: String },
    /// The change collides with existing data (a duplicate name or e-mail).
    Conflict(String),
    /// Too many failed attempts; retry after the given number of seconds.
    RateLimited(i64),
    /// A fault on our side; details go to the log, never to the client.
    Internal(anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl ToString) -> ApiError {
        ApiError::Validation { field: field.into(), message: message.to_string() }
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> ApiError {
        ApiError::Internal(err.into())
    }

    /// The message the client sees.
    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated(m) | ApiError::Forbidden(m) | ApiError::Conflict(m) => m.clone(),
            ApiError::NotFound(what) => format!("{what} not found"),
            ApiError::Validation { message, .. } => message.clone(),
            ApiError::RateLimited(seconds) => format!("too many failed attempts; try again in {seconds} seconds"),
            ApiError::Internal(_) => "internal error".into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::Validation { .. } => "VALIDATION",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::RateLimited(_) => "RATE_LIMITED",
            ApiError::Internal(_) => "INTERNAL",
        }
    }

    /// Maps a database error for an operation on `what`: missing rows become NOT_FOUND,
    /// duplicates CONFLICT, broken references VALIDATION, anything else INTERNAL.
    pub fn from_db(what: &'static str, err: diesel::result::Error) -> ApiError {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => ApiError::NotFound(what),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                ApiError::Conflict(format!("{what} already exists ({})", info.constraint_name().unwrap_or("unique")))
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => ApiError::Validation {
                field: info.column_name().unwrap_or("id").to_owned(),
                message: format!("{what} refers to something that does not exist or is still in use"),
            },
            Error::DatabaseError(DatabaseErrorKind::CheckViolation, info) => ApiError::Validation {
                field: info.column_name().unwrap_or("input").to_owned(),
                message: format!("{what} is not valid: {}", info.message()),
            },
            other => ApiError::Internal(anyhow::Error::new(other).context(format!("database error on {what}"))),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(err: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        ApiError::Internal(anyhow::Error::new(err).context("no database connection"))
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        if let ApiError::Internal(cause) = &err {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let code = err.code();
        async_graphql::Error::new(err.message()).extend_with(|_, ext| {
            ext.set("code", code);
            match &err {
                ApiError::Validation { field, .. } => ext.set("field", field.as_str()),
                ApiError::RateLimited(seconds) => ext.set("retryAfterSeconds", *seconds),
                _ => {}
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let err: async_graphql::Error = ApiError::internal(anyhow::anyhow!("password=hunter2 leaked")).into();
        assert_eq!(err.message, "internal error");
    }

    #[test]
    fn missing_rows_are_not_found() {
        let err = ApiError::from_db("site", diesel::result::Error::NotFound);
        assert_eq!(err.code(), "NOT_FOUND");
        assert_eq!(err.message(), "site not found");
    }
}
