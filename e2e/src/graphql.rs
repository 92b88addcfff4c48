//! A small GraphQL client for tests: runs a document, and reads data or typed errors.

use anyhow::Context as _;
use serde_json::{Value, json};

#[derive(Clone)]
pub struct GraphqlClient {
    http: reqwest::Client,
    endpoint: String,
    bearer: Option<String>,
}

/// A GraphQL response: `data` and `errors` as the server sent them.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Value,
}

impl Response {
    /// `data.<field>` when the operation had no errors.
    pub fn data(&self, field: &str) -> anyhow::Result<Value> {
        if let Some(errors) = self.body.get("errors") {
            anyhow::bail!("GraphQL errors: {errors}");
        }
        self.body
            .pointer(&format!("/data/{field}"))
            .cloned()
            .with_context(|| format!("no data.{field} in {}", self.body))
    }

    /// The `extensions.code` of the first error, if any.
    pub fn error_code(&self) -> Option<&str> {
        self.body.pointer("/errors/0/extensions/code").and_then(Value::as_str)
    }

    pub fn error_message(&self) -> Option<&str> {
        self.body.pointer("/errors/0/message").and_then(Value::as_str)
    }

    pub fn error_field(&self) -> Option<&str> {
        self.body.pointer("/errors/0/extensions/field").and_then(Value::as_str)
    }
}

impl GraphqlClient {
    pub fn new(http: reqwest::Client, endpoint: String, bearer: Option<String>) -> GraphqlClient {
        GraphqlClient { http, endpoint, bearer }
    }

    pub fn bearer(&self) -> Option<&str> {
        self.bearer.as_deref()
    }

    pub async fn run(&self, query: &str, variables: Value) -> anyhow::Result<Response> {
        let mut request = self.http.post(&self.endpoint).json(&json!({ "query": query, "variables": variables }));
        if let Some(bearer) = &self.bearer {
            request = request.bearer_auth(bearer);
        }
        let response = request.send().await.context("sending the GraphQL request")?;
        let status = response.status().as_u16();
        let body = response.json().await.context("reading the GraphQL response")?;
        Ok(Response { status, body })
    }

    /// Runs and returns `data.<field>`, failing on any error.
    pub async fn data(&self, query: &str, variables: Value, field: &str) -> anyhow::Result<Value> {
        self.run(query, variables).await?.data(field)
    }
}
