//! A tiny HTTP proxy in front of the SCIM server that answers the first requests with faults
//! (503, 429 with `Retry-After`, 500 forever) and forwards the rest.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    Unavailable,
    TooManyRequests {
        retry_after_secs: u64,
    },
    /// Answer 500 to every request from now on.
    AlwaysFailing,
}

struct Proxy {
    upstream: String,
    faults: Mutex<VecDeque<Fault>>,
    seen: Mutex<Vec<(String, u16)>>,
    http: reqwest::Client,
}

pub struct FaultProxy {
    pub url: String,
    proxy: Arc<Proxy>,
}

impl FaultProxy {
    pub async fn start(upstream: &str, faults: Vec<Fault>) -> FaultProxy {
        let proxy = Arc::new(Proxy {
            upstream: upstream.to_owned(),
            faults: Mutex::new(faults.into()),
            seen: Mutex::new(Vec::new()),
            http: reqwest::Client::new(),
        });
        let router = axum::Router::new()
            .fallback(forward)
            .with_state(proxy.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FaultProxy { url, proxy }
    }

    /// Every request seen: method and path, and the status answered.
    pub fn seen(&self) -> Vec<(String, u16)> {
        self.proxy.seen.lock().clone()
    }
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let what = format!("{} {}", request.method(), request.uri().path());
    let fault = {
        let mut faults = proxy.faults.lock();
        match faults.front().copied() {
            Some(Fault::AlwaysFailing) => Some(Fault::AlwaysFailing),
            _ => faults.pop_front(),
        }
    };
    let response = match fault {
        Some(Fault::Unavailable) => status(StatusCode::SERVICE_UNAVAILABLE),
        Some(Fault::AlwaysFailing) => status(StatusCode::INTERNAL_SERVER_ERROR),
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            let mut r = status(StatusCode::TOO_MANY_REQUESTS);
            r.headers_mut().insert(
                "retry-after",
                HeaderValue::from_str(&retry_after_secs.to_string()).expect("header"),
            );
            r
        }
        None => relay(&proxy, request).await,
    };
    proxy.seen.lock().push((what, response.status().as_u16()));
    response
}

fn status(code: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = code;
    r
}

async fn relay(proxy: &Proxy, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("request body");
    let mut upstream = proxy
        .http
        .request(parts.method, format!("{}{path}", proxy.upstream))
        .body(body);
    for name in ["authorization", "content-type", "accept"] {
        if let Some(v) = parts.headers.get(name) {
            upstream = upstream.header(name, v.clone());
        }
    }
    let answer = upstream.send().await.expect("upstream answers");
    let code = answer.status();
    let content_type = answer.headers().get("content-type").cloned();
    let bytes = answer.bytes().await.expect("upstream body");
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = code;
    if let Some(ct) = content_type {
        r.headers_mut().insert("content-type", ct);
    }
    r
}
