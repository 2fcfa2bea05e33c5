//! `openidconnect`'s HTTP client over the workspace's reqwest: the crate's own `reqwest`
//! feature pins another reqwest major, so this adapter keeps one HTTP stack (rustls, no
//! native-tls or openssl) in the build. Redirects are never followed (a provider endpoint that
//! redirects is refused, as the crate's docs advise against SSRF).

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A failed exchange with the provider (connect, timeout, or a body that could not be read).
#[derive(Debug, thiserror::Error)]
#[error("OIDC provider request failed: {0}")]
pub struct HttpError(String);

/// reqwest, set up for talking to an OIDC provider.
#[derive(Clone)]
pub struct ProviderHttp {
    client: reqwest::Client,
}

impl ProviderHttp {
    /// A client with short timeouts and no redirects.
    pub fn new() -> Result<Self, HttpError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| HttpError(e.to_string()))?;
        Ok(Self { client })
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let request = reqwest::Request::try_from(request).map_err(|e| HttpError(e.to_string()))?;
        let response = self.client.execute(request).await.map_err(|e| HttpError(e.to_string()))?;
        let mut builder = http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let body = response.bytes().await.map_err(|e| HttpError(e.to_string()))?;
        builder.body(body.to_vec()).map_err(|e| HttpError(e.to_string()))
    }
}

impl<'c> AsyncHttpClient<'c> for ProviderHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
