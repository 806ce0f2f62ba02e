//! Health and readiness, the OpenAPI document built from the route table, and the API reference page.

use std::time::Duration;

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::metrics::Ops;

/// How long the database has to answer a readiness check: a load balancer asks often, and a
/// database that takes longer is as good as gone for the requests it would send.
const READY_WITHIN: Duration = Duration::from_secs(2);

pub(crate) fn healthz<S: Clone + Send + Sync + 'static>() -> MethodRouter<S> {
    get(|| async { axum::Json(json!({"status": "ok"})) })
}

/// Ready while the database answers: 503, in the API's error shape, while it does not.
pub(crate) fn readyz<S>() -> MethodRouter<S>
where
    Ops: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    get(|State(ops): State<Ops>| async move {
        if ops.store.ping(READY_WITHIN).await {
            axum::Json(json!({"status": "ready"})).into_response()
        } else {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                format!(
                    "the database did not answer within {} seconds",
                    READY_WITHIN.as_secs()
                ),
            )
            .into_response()
        }
    })
}

/// The OpenAPI 3.1 document for every route in the table.
pub(crate) fn document() -> Value {
    let mut paths = Map::new();
    for (path, _, ops) in crate::routes() {
        let mut item = Map::new();
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        for op in ops {
            let mut operation = json!({
                "summary": op.summary,
                "x-herald-needs": op.need.as_str(),
                "parameters": params,
                "responses": {
                    "default": {"description": "JSON; errors are {\"error\":{\"code\",\"message\"}}"}
                }
            });
            if let Some(scope) = crate::scopes::token_use(path, op.method, op.need).scope() {
                operation["x-herald-scope"] = scope.as_str().into();
            }
            if let Some(example) = op.example {
                let example: Value = serde_json::from_str(example).expect("examples are JSON");
                operation["requestBody"] =
                    json!({"required": true, "content": {"application/json": {"example": example}}});
            }
            item.insert(op.method.to_owned(), operation);
        }
        paths.insert(path.to_owned(), Value::Object(item));
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Herald API", "version": env!("CARGO_PKG_VERSION")},
        "components": {"securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE},
            "token": {"type": "http", "scheme": "bearer"}
        }},
        "security": [{"session": []}, {"token": []}],
        "paths": paths,
    })
}

pub(crate) fn openapi() -> MethodRouter<AppState> {
    get(|| async { axum::Json(document()) })
}

/// A page that lists the API from the OpenAPI document, with Herald's own script and stylesheet
/// (nothing from elsewhere, nothing inline).
pub(crate) fn page() -> MethodRouter<AppState> {
    get(|| async { crate::assets::page(include_str!("../assets/api.html")) })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_builds_and_every_example_body_is_json() {
        let doc = super::document();
        let signup = &doc["paths"]["/api/v1/auth/signup"]["post"];
        assert_eq!(
            signup["requestBody"]["content"]["application/json"]["example"]["email"],
            "you@example.com"
        );
        assert!(doc["paths"]["/api/v1/workspaces/{ws}/posts"]["post"]["requestBody"].is_object());
    }
}
