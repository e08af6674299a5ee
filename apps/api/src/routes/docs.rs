//! The API reference: `GET /api/v1/openapi.json` and Swagger UI at `/api/v1/docs/`, whose files are
//! compiled into the binary (utoipa-swagger-ui `vendored`), so nothing is loaded from a CDN.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use utoipa::OpenApi as _;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::openapi::ApiDoc;

/// Where the OpenAPI document is served (absolute: the docs page fetches it from here).
pub const OPENAPI_URL: &str = "/api/v1/openapi.json";
/// Where the docs page is served.
pub const DOCS_URL: &str = "/api/v1/docs/";

/// Registers the docs routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/openapi.json").route(web::get().to(openapi_json)))
        .service(web::resource("/docs").route(web::get().to(docs_redirect)))
        .service(SwaggerUi::new("/docs/{_:.*}").config(Config::new([OPENAPI_URL])));
}

/// The OpenAPI document.
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// `/docs` → `/docs/`: the page loads its assets relative to the trailing slash.
async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, DOCS_URL)).finish()
}
