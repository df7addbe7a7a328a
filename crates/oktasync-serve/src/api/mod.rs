//! The HTTP API: one module per resource; the routes and the OpenAPI document are built
//! together from the handlers (`routes!`), so a route cannot be missing from the document.

pub mod admins;
pub mod apps;
pub mod changes;
pub mod grants;
pub mod groups;
pub mod logs;
pub mod ops;
pub mod orgs;
pub mod posture;
pub mod roles;
pub mod runs;
pub mod users;
pub mod webhooks;

use crate::state::AppState;
use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "oktasync",
        description = "A mirror of Okta orgs: users of every status, groups, memberships, apps and \
            assignments, admin roles, and the change log. Reads never call Okta. Every `/v1` \
            route needs `Authorization: Bearer <token>` (`oktasync token create`). Lists page \
            with `page_size` and `page_token`; errors are `application/problem+json`."
    ),
    modifiers(&BearerAuth),
    // The grant actions share one route (`{id}:action` is one path segment); each is listed.
    paths(
        grants::actions::revoke,
        grants::actions::extend,
        grants::actions::approve,
        grants::actions::deny
    ),
    tags(
        (name = "orgs"), (name = "users"), (name = "groups"), (name = "apps"),
        (name = "admins"), (name = "roles"), (name = "changes"), (name = "logs"), (name = "alerts"), (name = "posture"), (name = "runs"), (name = "syncs"), (name = "webhooks"),
        (name = "grants", description = "Time-bound group grants written to Okta; changing them needs a `grant` token"),
        (name = "operations", description = "Health and metrics; no token needed")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes needing a token, and their part of the document.
fn v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(orgs::list))
        .routes(routes!(orgs::get))
        .routes(routes!(users::list))
        .routes(routes!(users::get))
        .routes(routes!(groups::list))
        .routes(routes!(groups::get))
        .routes(routes!(groups::members))
        .routes(routes!(apps::list))
        .routes(routes!(apps::access))
        .routes(routes!(admins::list))
        .routes(routes!(roles::of_user))
        .routes(routes!(roles::users))
        .routes(routes!(changes::list))
        .routes(routes!(logs::list))
        .routes(routes!(logs::alerts))
        .routes(routes!(posture::findings))
        .routes(routes!(runs::list))
        .routes(routes!(runs::start))
        .routes(routes!(runs::get))
        .routes(routes!(webhooks::list))
        .routes(routes!(grants::list, grants::create))
        .routes(routes!(grants::get))
}

fn operations() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ops::livez))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}

/// The OpenAPI document of every route.
pub fn openapi() -> serde_json::Value {
    let (_, mut doc) = v1().split_for_parts();
    let (_, ops) = operations().split_for_parts();
    doc.merge(ops);
    with_problems(&doc)
}

/// The errors every token-guarded operation may answer, besides those it documents.
const GUARDED_PROBLEMS: [(&str, &str); 5] = [
    ("400", "A parameter or body that cannot be used"),
    ("401", "No token, or not a valid one"),
    ("403", "The token's scope or org does not allow this"),
    ("404", "No such org or object"),
    ("503", "The mirror's database cannot be read"),
];

/// The document as served: every problem response typed `application/problem+json` (as the
/// server sends it), and the errors any `/v1` operation can answer listed on each.
fn with_problems(doc: &utoipa::openapi::OpenApi) -> serde_json::Value {
    use serde_json::{Value, json};
    let mut value = serde_json::to_value(doc).unwrap_or_default();
    let problem = json!({"$ref": "#/components/schemas/Problem"});
    let Some(paths) = value.get_mut("paths").and_then(Value::as_object_mut) else {
        return value;
    };
    for (path, item) in paths.iter_mut() {
        let Some(operations) = item.as_object_mut() else {
            continue;
        };
        for operation in operations.values_mut() {
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for response in responses.values_mut() {
                let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
                else {
                    continue;
                };
                if content
                    .get("application/json")
                    .is_some_and(|c| c["schema"] == problem)
                    && let Some(body) = content.remove("application/json")
                {
                    content.insert("application/problem+json".into(), body);
                }
            }
            if path.starts_with("/v1/") || path == "/v1" {
                for (status, description) in GUARDED_PROBLEMS {
                    responses.entry(status).or_insert_with(|| {
                        json!({
                            "description": description,
                            "content": {"application/problem+json": {"schema": problem}}
                        })
                    });
                }
            }
        }
    }
    value
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let (v1, mut doc) = v1().split_for_parts();
    let v1 = v1
        .route(
            "/v1/orgs/{org}/grants/{grant}",
            axum::routing::post(grants::act),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::require_token,
        ));
    let (ops, ops_doc) = operations().split_for_parts();
    doc.merge(ops_doc);
    let doc = with_problems(&doc);
    let json = Arc::new(serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned()));
    let page = Arc::new(crate::docs::render(&doc));
    // The document and its page need a token unless `docs_public`: nothing but health and
    // (configurably) metrics is served to anyone.
    let documents = Router::new()
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let json = json.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        (*json).clone(),
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/docs",
            axum::routing::get(move || {
                let page = page.clone();
                async move { Html((*page).clone()) }
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::require_token_unless_docs_public,
        ));
    Router::new()
        .merge(v1)
        .merge(ops)
        .merge(documents)
        .fallback(|| async {
            crate::problem::ApiError::not_found(
                "no such route; GET /docs lists them, GET /openapi.json describes them",
            )
        })
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .with_state(state)
}
