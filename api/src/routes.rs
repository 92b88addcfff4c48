//! HTTP routes: GraphQL over POST and websocket, health, and the console's static files.

use std::path::Path;

use async_graphql::Data;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::body::Bytes;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::auth::{self, Authentication};
use crate::graphql::{self, AppSchema, UserAgent};

#[derive(Clone)]
struct Ctx {
    state: AppState,
    schema: AppSchema,
}

pub fn router(state: AppState) -> Router {
    let schema = graphql::build(state.clone());
    let web_dir = state.config.web_dir.clone();
    let ctx = Ctx { state, schema };
    let router = Router::new()
        .route("/graphql", get(graphiql).post(graphql_http))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(ctx.clone());
    let agents = Router::new()
        .route("/agent/enroll", axum::routing::post(crate::gateway::enroll))
        .route("/agent/ws", get(crate::gateway::link))
        .route("/export/meter-reads.csv", get(crate::export::meter_reads))
        .route("/reports/{id}/file", get(crate::export::report_file))
        .with_state(ctx.state.clone());
    let router = router.merge(agents);
    let router = match web_dir {
        Some(dir) => router.fallback_service(spa(&dir)),
        None => router.fallback(|| async {
            (StatusCode::NOT_FOUND, "The console is not served by this api (CARTOUCHE_WEB_DIR is not set).")
        }),
    };
    router.layer(TraceLayer::new_for_http())
}

/// The SPA: real files as they are, any other path gets index.html so that the console's
/// own routes (`/sites/…`) survive a reload.
fn spa(dir: &Path) -> ServeDir<tower_http::set_status::SetStatus<ServeFile>> {
    if !dir.join("index.html").is_file() {
        tracing::warn!(dir = %dir.display(), "CARTOUCHE_WEB_DIR has no index.html; build the console with ./dev web");
    }
    ServeDir::new(dir).append_index_html_on_directories(true).not_found_service(ServeFile::new(dir.join("index.html")))
}

async fn graphiql() -> impl IntoResponse {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("Cartouche GraphQL")
            .finish(),
    )
}

/// The token of an `Authorization: Bearer …` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

async fn graphql_http(State(ctx): State<Ctx>, headers: HeaderMap, request: GraphQLRequest) -> Response {
    let authentication = auth::authenticate(&ctx.state, bearer(&headers)).await;
    let mut request = request.into_inner();
    // A fleet read asked again before anything changed gets the answer kept.
    let mut keep = None;
    let mut mutation_by = None;
    if let Authentication::Authenticated(actor) = &authentication {
        let cache = &ctx.state.responses;
        if let Some(key) = cache.key(actor, &request) {
            // `Cache-Control: no-cache` asks for an answer computed now.
            let fresh = headers
                .get(header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().contains("no-cache"));
            if !fresh && let Some(body) = cache.get(&key, actor) {
                return graphql_json(body);
            }
            keep = Some((key, cache.snapshot(actor)));
        } else if crate::response_cache::is_mutation(&request.query, request.operation_name.as_deref()) {
            mutation_by = Some(actor.scope.tenant_ids().to_vec());
        }
        request = request.data(crate::graphql::fleet_loader(&ctx.state, actor));
    }
    let mut request = request.data(authentication);
    if let Some(agent) = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()) {
        request = request.data(UserAgent(agent.chars().take(300).collect()));
    }
    let response = ctx.schema.execute(request).await;
    // What a mutation changed is stale here at once (its event reaches other replicas).
    if let Some(tenants) = mutation_by {
        ctx.state.responses.changed(&tenants);
    }
    match keep {
        Some((key, snapshot)) if response.is_ok() && response.http_headers.is_empty() => {
            let body = Bytes::from(serde_json::to_vec(&response).expect("invariant: responses serialise"));
            ctx.state.responses.put(key, snapshot, body.clone());
            graphql_json(body)
        }
        _ => GraphQLResponse::from(response).into_response(),
    }
}

/// A GraphQL answer already serialised.
fn graphql_json(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/graphql-response+json")], body).into_response()
}

/// Subscriptions over graphql-transport-ws. The client authenticates in `connection_init`
/// with `{"authorization": "Bearer <token>"}` (or `{"token": "<token>"}`); a refused
/// credential closes the connection with the reason.
async fn graphql_ws(State(ctx): State<Ctx>, protocol: GraphQLProtocol, upgrade: WebSocketUpgrade) -> Response {
    let state = ctx.state.clone();
    let schema = ctx.schema.clone();
    upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |stream| {
        GraphQLWebSocket::new(stream, schema, protocol)
            .on_connection_init(move |payload| connection_init(state, payload))
            .serve()
    })
}

async fn connection_init(state: AppState, payload: serde_json::Value) -> async_graphql::Result<Data> {
    let token = payload
        .get("authorization")
        .or_else(|| payload.get("Authorization"))
        .and_then(|v| v.as_str())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).to_owned())
        .or_else(|| payload.get("token").and_then(|v| v.as_str()).map(str::to_owned));
    let authentication = auth::authenticate(&state, token.as_deref()).await;
    match &authentication {
        Authentication::Authenticated(actor) => {
            let mut data = Data::default();
            data.insert(crate::graphql::fleet_loader(&state, actor));
            data.insert(authentication);
            Ok(data)
        }
        Authentication::Anonymous => Err(async_graphql::Error::new("UNAUTHENTICATED: sign in first")),
        Authentication::Refused(why) => Err(async_graphql::Error::new(format!("UNAUTHENTICATED: {why}"))),
    }
}

async fn readyz(State(ctx): State<Ctx>) -> Response {
    let database = match ctx.state.pool.get().await {
        Ok(mut conn) => diesel_async::RunQueryDsl::execute(diesel::sql_query("SELECT 1"), &mut conn)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        Err(err) => Err(err.to_string()),
    };
    let events = ctx.state.events.is_listening();
    let ready = database.is_ok() && events;
    let body = json!({
        "ready": ready,
        "database": database.err().unwrap_or_else(|| "ok".into()),
        "events": if events { "listening" } else { "not listening" },
    });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}
