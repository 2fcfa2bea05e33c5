//! The agents' API requests are timed for the core's `AgentLoad` (campaigns yield to them);
//! a webhook, a probe or a page is not an agent waiting on a click.

use crate::support::*;
use axum::http::Method;

#[tokio::test]
async fn agent_api_requests_are_timed_and_webhooks_and_probes_are_not() {
    let app = App::start(|_| {}).await;
    app.core.agent_load.take();
    app.get("/api/me", &app.acme.agent.session).await;
    app.get("/api/threads", &app.acme.agent.token).await;
    app.get("/api/no-such-route", &app.acme.agent.token).await;
    app.raw(Method::POST, "/webhooks/twilio/status", &Auth::None, Some("application/x-www-form-urlencoded"), "MessageSid=SM1").await;
    app.get("/readyz", &Auth::None).await;
    assert_eq!(app.core.agent_load.take().requests, 2, "the two agent requests on API routes");
}
