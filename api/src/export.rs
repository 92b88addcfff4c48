//! Downloads: the meter reads of a billing period as CSV, for ERPs
//! (`GET /export/meter-reads.csv?from=2026-11-01&to=2026-12-01[&siteId=…]`, with the same
//! bearer token as GraphQL). Bad parameters get 400 with the parameter named.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cartouche_schema::db::accounting;
use cartouche_schema::db::sites::Site;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{self, Authentication};
use crate::error::ApiError;

/// Rows read per query while the file is built.
const CHUNK: i64 = 5_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterReadsParams {
    from: Option<String>,
    to: Option<String>,
    site_id: Option<String>,
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message.into()).into_response()
}

/// The caller of a download (the same bearer token as GraphQL), or the 401 to answer.
async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<crate::auth::Actor, Response> {
    match auth::authenticate(state, crate::routes::bearer(headers)).await {
        Authentication::Authenticated(actor) => Ok(actor),
        Authentication::Anonymous => Err(refuse(StatusCode::UNAUTHORIZED, "sign in first (Authorization: Bearer …)")),
        Authentication::Refused(why) => Err(refuse(StatusCode::UNAUTHORIZED, why)),
    }
}

/// A date parameter, or what is wrong with it.
fn date(name: &str, value: Option<&str>) -> Result<NaiveDate, String> {
    let value = value.ok_or_else(|| format!("{name}: missing (YYYY-MM-DD)"))?;
    value.parse().map_err(|_| format!("{name}: {value:?} is not a date (YYYY-MM-DD)"))
}

pub async fn meter_reads(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<MeterReadsParams>,
) -> Response {
    let actor = match signed_in(&state, &headers).await {
        Ok(actor) => actor,
        Err(refused) => return refused,
    };
    let (from, to) = match (date("from", params.from.as_deref()), date("to", params.to.as_deref())) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(why), _) | (_, Err(why)) => return refuse(StatusCode::BAD_REQUEST, why),
    };
    if let Err(ApiError::Validation { field, message }) = crate::graphql::accounting::check_period(from, to, 3660) {
        return refuse(StatusCode::BAD_REQUEST, format!("{field}: {message}"));
    }
    let Ok(site) = params.site_id.as_deref().map(str::parse::<uuid::Uuid>).transpose() else {
        return refuse(StatusCode::BAD_REQUEST, "siteId: not an id");
    };
    let mut conn = match state.pool.get().await {
        Ok(conn) => conn,
        Err(err) => {
            tracing::error!(error = %err, "no database connection for an export");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "the database is unavailable; try again");
        }
    };
    if let Some(site) = site
        && Site::find(&mut conn, &actor.scope, site).await.is_err()
    {
        return refuse(StatusCode::NOT_FOUND, "site not found");
    }
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        match accounting::meter_reads(&mut conn, &actor.scope, site, from, to, after.clone(), CHUNK).await {
            Ok(chunk) => {
                let full = i64::try_from(chunk.len()).unwrap_or(0) == CHUNK;
                after = chunk.last().map(|r| (r.device_id, r.kind.clone()));
                rows.extend(chunk);
                if !full {
                    break;
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "meter reads export failed");
                return refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
            }
        }
    }
    let body = accounting::meter_reads_csv(&rows, from, to);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"meter-reads-{from}-{to}.csv\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// A finished report's file (`GET /reports/{id}/file`, the same bearer token as GraphQL): 404
/// for a report that is not yours or not made yet.
pub async fn report_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let actor = match signed_in(&state, &headers).await {
        Ok(actor) => actor,
        Err(refused) => return refused,
    };
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return refuse(StatusCode::BAD_REQUEST, "id: not a report id");
    };
    let mut conn = match state.pool.get().await {
        Ok(conn) => conn,
        Err(err) => {
            tracing::error!(error = %err, "report download: no database connection");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "the database is not reachable; try again");
        }
    };
    match cartouche_schema::db::reports::Report::file(&mut conn, &actor.scope, id).await {
        Ok((name, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            ],
            bytes,
        )
            .into_response(),
        Err(diesel::result::Error::NotFound) => refuse(StatusCode::NOT_FOUND, "no such report, or not made yet"),
        Err(err) => {
            tracing::error!(error = %err, "report download failed");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "the report could not be read")
        }
    }
}
