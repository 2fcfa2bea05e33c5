//! Sign-in with one generic OpenID Connect provider (Google, Microsoft, Okta, Keycloak), set per
//! deployment. Discovery runs at start-up; when the provider cannot be reached the server still
//! starts, and every OIDC route answers 503 until a later request's discovery succeeds (tried
//! again lazily, at most every few seconds).

pub mod flow;
pub mod http;

use self::http::ProviderHttp;
use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, RedirectUrl};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// What a deployment configures.
#[derive(Clone, Debug)]
pub struct OidcSettings {
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// The button's label ("Google").
    pub display_name: String,
    /// Scopes asked for besides `openid` (default `email profile`).
    pub scopes: Vec<String>,
    /// `PUBLIC_BASE_URL` + `/auth/oidc/callback`.
    pub redirect_url: String,
}

/// A client ready to use: discovered, with its endpoints.
pub type DiscoveredClient = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// The provider could not be reached or answered nonsense: OIDC routes answer 503.
#[derive(Debug, thiserror::Error)]
#[error("the sign-in provider is unavailable")]
pub struct Unavailable;

/// How long after a failed discovery the next request may try again.
const RETRY_AFTER: Duration = Duration::from_secs(2);
/// How often an ID token signed by a key we do not know may make us fetch the keys again (the
/// provider rotated them).
const REFRESH_AFTER: Duration = Duration::from_secs(60);

/// The configured provider, discovered once (lazily retried).
pub struct OidcProvider {
    pub settings: OidcSettings,
    pub http: ProviderHttp,
    state: Mutex<Discovery>,
}

enum Discovery {
    /// Discovered; and when it was last discovered again for an unknown signing key, if ever.
    Ready(Box<DiscoveredClient>, Option<Instant>),
    Failed(Option<Instant>),
}

impl OidcProvider {
    /// A provider not yet discovered (call [`OidcProvider::client`] to discover).
    pub fn new(settings: OidcSettings) -> Result<Self, String> {
        IssuerUrl::new(settings.issuer_url.clone()).map_err(|e| format!("OIDC_ISSUER_URL: {e}"))?;
        RedirectUrl::new(settings.redirect_url.clone()).map_err(|e| format!("redirect URL: {e}"))?;
        let http = ProviderHttp::new().map_err(|e| e.to_string())?;
        Ok(Self { settings, http, state: Mutex::new(Discovery::Failed(None)) })
    }

    /// The button's label.
    pub fn display_name(&self) -> &str {
        &self.settings.display_name
    }

    /// The discovered client; discovers now when it has not succeeded yet (not more often than
    /// every [`RETRY_AFTER`]).
    pub async fn client(&self) -> Result<DiscoveredClient, Unavailable> {
        let mut state = self.state.lock().await;
        match &*state {
            Discovery::Ready(client, _) => return Ok((**client).clone()),
            Discovery::Failed(Some(at)) if at.elapsed() < RETRY_AFTER => return Err(Unavailable),
            Discovery::Failed(_) => {}
        }
        match self.discover().await {
            Ok(client) => {
                *state = Discovery::Ready(Box::new(client.clone()), None);
                Ok(client)
            }
            Err(e) => {
                tracing::warn!(error = %e, "OIDC discovery failed; OIDC sign-in answers 503 until it succeeds");
                *state = Discovery::Failed(Some(Instant::now()));
                Err(Unavailable)
            }
        }
    }

    /// Discovers again, for new signing keys: an ID token was signed by a key the client does
    /// not know (the provider rotated its keys). At most once every [`REFRESH_AFTER`]; `None`
    /// when it is too soon or the provider cannot be reached (the client in hand stays).
    pub async fn refresh(&self) -> Option<DiscoveredClient> {
        let mut state = self.state.lock().await;
        if let Discovery::Ready(_, Some(at)) = &*state
            && at.elapsed() < REFRESH_AFTER
        {
            return None;
        }
        match self.discover().await {
            Ok(client) => {
                *state = Discovery::Ready(Box::new(client.clone()), Some(Instant::now()));
                Some(client)
            }
            Err(e) => {
                tracing::warn!(error = %e, "OIDC rediscovery failed");
                None
            }
        }
    }

    async fn discover(&self) -> Result<DiscoveredClient, String> {
        let issuer = IssuerUrl::new(self.settings.issuer_url.clone()).map_err(|e| e.to_string())?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http).await.map_err(|e| e.to_string())?;
        let redirect = RedirectUrl::new(self.settings.redirect_url.clone()).map_err(|e| e.to_string())?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }
}
