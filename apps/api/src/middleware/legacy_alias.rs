//! The unversioned `/api/...` paths of the old system: `/api/X` (X not starting with `v1/`) is served as
//! `/api/v1/X`, and the answer carries `Deprecation: true`, `Sunset` and a `Link` to the successor. Done as
//! a rewrite before routing, so every route added under `/api/v1` gets its alias for free.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::uri::PathAndQuery;
use actix_web::middleware::Next;

/// `Deprecation` (RFC 9745).
const DEPRECATION: HeaderName = HeaderName::from_static("deprecation");
/// `Sunset` (RFC 8594).
const SUNSET: HeaderName = HeaderName::from_static("sunset");

/// `/api/v1/X` for a legacy `/api/X`; `None` for every other path.
pub fn successor_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/api/")?;
    if rest.is_empty() || rest == "v1" || rest.starts_with("v1/") {
        return None;
    }
    Some(format!("/api/v1/{rest}"))
}

/// Points `req` at `path`, keeping the query string. `None` only for a path that is not a valid URI path.
fn rewrite(req: &mut ServiceRequest, path: &str) -> Option<()> {
    let path_and_query = match req.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    let uri = Uri::from_parts(parts).ok()?;
    req.match_info_mut().get_mut().update(&uri);
    req.head_mut().uri = uri;
    Some(())
}

/// Middleware: see the module documentation. `sunset` is `http.legacy_sunset`.
pub async fn legacy_alias(
    sunset: HeaderValue,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let Some(successor) = successor_path(req.path()) else {
        return next.call(req).await;
    };
    if rewrite(&mut req, &successor).is_none() {
        // the path came from a valid URI, so this is not expected; serve it unaliased (404)
        tracing::debug!("legacy path could not be rewritten");
        return next.call(req).await;
    }
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(DEPRECATION, HeaderValue::from_static("true"));
    headers.insert(SUNSET, sunset);
    if let Ok(link) = HeaderValue::from_str(&format!("<{successor}>; rel=\"successor-version\"")) {
        headers.append(header::LINK, link);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_only_unversioned_api_paths() {
        assert_eq!(successor_path("/api/health/live").as_deref(), Some("/api/v1/health/live"));
        assert_eq!(successor_path("/api/conversations/1").as_deref(), Some("/api/v1/conversations/1"));
        assert_eq!(successor_path("/api/v1/health"), None);
        assert_eq!(successor_path("/api/v1"), None);
        assert_eq!(successor_path("/api/"), None);
        assert_eq!(successor_path("/api"), None);
        assert_eq!(successor_path("/health"), None);
        assert_eq!(successor_path("/apix/health"), None);
    }
}
