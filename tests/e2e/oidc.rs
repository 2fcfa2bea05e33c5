//! Sign-in with OIDC, end to end, against the tests' own provider (`support::oidc_provider`).
//! A browser is a reqwest client with a cookie jar that does not follow redirects: each test
//! follows the Location headers by hand (start → the provider's `/authorize` → the callback), so
//! it can look at, tamper with or replay each hop.

use crate::support::oidc_provider::{CLIENT_ID, CLIENT_SECRET, OidcProvider, ProviderUser};
use crate::support::*;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";

async fn server_with(opts: &PgConnectOptions, issuer: &str) -> TestServer {
    let issuer = issuer.to_owned();
    TestServer::start_with(opts, move |c| {
        c.oidc_issuer_url = Some(issuer);
        c.oidc_client_id = Some(CLIENT_ID.to_owned());
        c.oidc_client_secret = Some(CLIENT_SECRET.to_owned().into());
        c.oidc_display_name = "Test IdP".to_owned();
    })
    .await
}

/// A browser: cookies kept, redirects not followed.
fn browser(server: &TestServer) -> Client {
    let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Client { http, base: server.base.clone() }
}

/// GETs an absolute URL; answers the status and the Location header.
async fn hop(browser: &Client, url: &str) -> (u16, String) {
    let res = browser.http.get(url).send().await.unwrap();
    let location = res.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (res.status().as_u16(), location)
}

/// Start, then the provider: answers the callback URL the provider sends the browser to.
async fn to_callback(browser: &Client, provider: &OidcProvider, invite: Option<&str>) -> String {
    let start = match invite {
        Some(token) => format!("{}/auth/oidc/start?invite={token}", browser.base),
        None => format!("{}/auth/oidc/start", browser.base),
    };
    let (status, authorize) = hop(browser, &start).await;
    assert!(status == 302 || status == 303, "start: {status}");
    assert!(authorize.starts_with(&format!("{}/authorize?", provider.issuer)), "{authorize}");
    let (status, callback) = hop(browser, &authorize).await;
    assert_eq!(status, 303, "the provider approves");
    assert!(callback.starts_with(&format!("{}/auth/oidc/callback?", browser.base)), "{callback}");
    callback
}

/// The whole round trip; answers where the callback sends the browser.
async fn sign_in(browser: &Client, provider: &OidcProvider, invite: Option<&str>) -> String {
    let callback = to_callback(browser, provider, invite).await;
    let (status, to) = hop(browser, &callback).await;
    assert_eq!(status, 303, "callback");
    to
}

async fn email_of(agent: &Agent) -> String {
    let (_, me) = agent.client.get("/api/me").await;
    me["user"]["email"].as_str().unwrap().to_owned()
}

fn entries<'a>(audit: &'a Value, action: &str) -> Vec<&'a Value> {
    audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == action).collect()
}

#[sqlx::test]
async fn an_existing_user_links_by_email_then_signs_in_by_subject(_p: PgPoolOptions, opts: PgConnectOptions) {
    let provider = OidcProvider::start().await;
    let server = server_with(&opts, &provider.issuer).await;
    let ana = server.admin("Ana").await;
    let email = email_of(&ana).await;
    let (_, providers) = server.client().get("/api/auth/providers").await;
    assert_eq!(providers, json!({ "oidc": { "name": "Test IdP" } }));

    // Ana signs in with the provider: matched by her verified email, and linked.
    let mut user = ProviderUser::verified(&email.to_uppercase());
    user.name = Some("Ana at the IdP".into());
    provider.set_user(user.clone());
    let one = browser(&server);
    assert_eq!(sign_in(&one, &provider, None).await, "/");
    let (status, me) = one.get("/api/me").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["id"], ana.id);
    assert_eq!(me["user"]["name"], "Ana", "her account as it was");
    // The request to the provider: code flow, PKCE S256, a nonce, the scopes.
    let asked = provider.last_authorize();
    assert_eq!(asked["response_type"], "code");
    assert_eq!(asked["code_challenge_method"], "S256");
    assert!(asked["code_challenge"].len() >= 43 && !asked["nonce"].is_empty() && asked["state"].len() >= 16, "{asked:?}");
    assert!(asked["scope"].split(' ').any(|s| s == "openid") && asked["scope"].contains("email"), "{asked:?}");
    assert_eq!(asked["redirect_uri"], format!("{}/auth/oidc/callback", server.base));

    let (status, identities) = one.get("/api/auth/identities").await;
    assert_eq!(status, 200, "{identities}");
    let items = identities["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{identities}");
    assert_eq!(items[0]["issuer"], provider.issuer);
    assert_eq!(items[0]["subject"], user.subject.as_str());
    assert_eq!(items[0]["email"], email.as_str());
    assert!(identities["next_cursor"].is_null());

    // The state is used once: the same callback again is refused.
    let (status, to) = hop(&one, &format!("{}/auth/oidc/callback?code=x&state={}", server.base, asked["state"])).await;
    assert_eq!((status, to.as_str()), (303, "/sign-in?error=oidc_state"));

    // Her email changes at the provider: the subject still finds her.
    user.email = format!("ana.new@{}.test", uuid_short());
    provider.set_user(user.clone());
    let two = browser(&server);
    assert_eq!(sign_in(&two, &provider, None).await, "/");
    assert_eq!(two.get("/api/me").await.1["user"]["id"], ana.id);
    let (_, identities) = two.get("/api/auth/identities").await;
    assert_eq!(identities["items"][0]["email"], user.email.as_str(), "the provider's latest email");

    // Audited: the link, and each sign-in with its method and issuer.
    let (_, audit) = ana.client.get("/api/audit").await;
    assert_eq!(entries(&audit, "identity.linked").len(), 1, "{audit}");
    let signed: Vec<_> = entries(&audit, "sign_in.succeeded").into_iter().filter(|e| e["details"]["method"] == "oidc").collect();
    assert_eq!(signed.len(), 2, "{audit}");
    assert_eq!(signed[0]["details"]["issuer"], provider.issuer);

    // She has a password, so she may unlink it; then it is gone, and another user's id is 404.
    let id = identities["items"][0]["id"].as_str().unwrap().to_owned();
    let bob = server.admin("Bob").await;
    assert_eq!(bob.client.delete(&format!("/api/auth/identities/{id}")).await.0, 404);
    assert_eq!(two.delete("/api/auth/identities/not-an-id").await.0, 404);
    assert_eq!(two.delete(&format!("/api/auth/identities/{id}")).await.0, 204);
    assert_eq!(two.get("/api/auth/identities").await.1["items"], json!([]));
    let (_, audit) = ana.client.get("/api/audit").await;
    assert_eq!(entries(&audit, "identity.unlinked").len(), 1, "{audit}");
    server.stop().await;
}

#[sqlx::test]
async fn invites_create_accounts_without_a_password(_p: PgPoolOptions, opts: PgConnectOptions) {
    let provider = OidcProvider::start().await;
    let server = server_with(&opts, &provider.issuer).await;
    let ana = server.admin("Ana").await;

    // An invite bound to Zoe's email: signing in with the provider finds it without its token.
    let zoe_email = format!("zoe@{}.test", uuid_short());
    let (status, invite) = ana.client.post("/api/invites", json!({ "email": zoe_email, "role": "agent" })).await;
    assert_eq!(status, 201, "{invite}");
    let mut zoe = ProviderUser::verified(&zoe_email);
    zoe.name = Some("Zoe Lima".into());
    provider.set_user(zoe);
    let b = browser(&server);
    assert_eq!(sign_in(&b, &provider, None).await, "/");
    let (_, me) = b.get("/api/me").await;
    assert_eq!(me["team"]["id"], ana.team_id, "{me}");
    assert_eq!(me["user"]["role"], "agent");
    assert_eq!(me["user"]["name"], "Zoe Lima");
    let (_, open) = ana.client.get("/api/invites").await;
    assert_eq!(open["items"], json!([]), "the invite is used");
    let (_, audit) = ana.client.get("/api/audit").await;
    for action in ["user.created", "invite.accepted", "identity.linked"] {
        let by_zoe: Vec<_> = entries(&audit, action).into_iter().filter(|e| e["actor_name"] == "Zoe Lima").collect();
        assert_eq!(by_zoe.len(), 1, "{action}: {audit}");
    }

    // She has no password: password sign-in fails like a wrong one.
    let (status, body) = server.client().post("/api/auth/sign-in", json!({ "email": zoe_email, "password": PASSWORD })).await;
    let (_, wrong) = server.client().post("/api/auth/sign-in", json!({ "email": email_of(&ana).await, "password": "not it at all" })).await;
    assert_eq!((status, &body), (401, &wrong), "{body}");
    // And her only identity cannot be unlinked.
    let (_, identities) = b.get("/api/auth/identities").await;
    let (status, body) = b.delete(&format!("/api/auth/identities/{}", identities["items"][0]["id"].as_str().unwrap())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")), "{body}");

    // An open invite by its token (the link's `?invite=`), for anyone's email.
    let (_, invite) = ana.client.post("/api/invites", json!({ "role": "admin" })).await;
    let token = invite["token"].as_str().unwrap().to_owned();
    provider.set_user(ProviderUser::verified(&format!("yan@{}.test", uuid_short())));
    let b = browser(&server);
    assert_eq!(sign_in(&b, &provider, Some(&token)).await, "/");
    let (_, me) = b.get("/api/me").await;
    assert_eq!((me["team"]["id"].as_str(), me["user"]["role"].as_str()), (Some(ana.team_id.as_str()), Some("admin")));
    assert_eq!(me["user"]["name"].as_str().unwrap().len(), 3, "the email's local part: {me}");
    // The token is used now: someone else with it is refused, and gets no account.
    provider.set_user(ProviderUser::verified(&format!("xia@{}.test", uuid_short())));
    let b = browser(&server);
    assert_eq!(sign_in(&b, &provider, Some(&token)).await, "/sign-in?error=oidc_invite");
    assert_eq!(b.get("/api/me").await.0, 401);

    // An invite bound to another email is not Xia's, even with its token.
    let (_, invite) = ana.client.post("/api/invites", json!({ "email": format!("other@{}.test", uuid_short()), "role": "agent" })).await;
    let b = browser(&server);
    assert_eq!(sign_in(&b, &provider, invite["token"].as_str()).await, "/sign-in?error=oidc_invite");
    server.stop().await;
}

#[sqlx::test]
async fn who_is_refused(_p: PgPoolOptions, opts: PgConnectOptions) {
    let provider = OidcProvider::start().await;
    let server = server_with(&opts, &provider.issuer).await;
    let pool = PgPoolOptions::new().connect_with(opts.clone()).await.unwrap();
    let ana = server.admin("Ana").await;
    let ana_email = email_of(&ana).await;

    // An unverified email identifies nobody, even an existing user's.
    provider.set_user(ProviderUser { email_verified: false, ..ProviderUser::verified(&ana_email) });
    let b = browser(&server);
    assert_eq!(sign_in(&b, &provider, None).await, "/sign-in?error=oidc_email_unverified");
    assert_eq!(b.get("/api/me").await.0, 401);

    // An unknown email: refused, and no account (nor team) is created.
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&pool).await.unwrap();
    let teams: i64 = sqlx::query_scalar("SELECT count(*) FROM teams").fetch_one(&pool).await.unwrap();
    provider.set_user(ProviderUser::verified(&format!("nobody@{}.test", uuid_short())));
    let b = browser(&server);
    assert_eq!(sign_in(&b, &provider, None).await, "/sign-in?error=oidc_no_account");
    assert_eq!(b.get("/api/me").await.0, 401);
    assert_eq!(sqlx::query_scalar::<_, i64>("SELECT count(*) FROM users").fetch_one(&pool).await.unwrap(), users);
    assert_eq!(sqlx::query_scalar::<_, i64>("SELECT count(*) FROM teams").fetch_one(&pool).await.unwrap(), teams);

    // The provider rotates its signing key: the server fetches the new keys once and goes on.
    provider.set_user(ProviderUser::verified(&ana_email));
    provider.rotate_key("e2e-key-2");
    let b = browser(&server);
    assert_eq!(sign_in(&b, &provider, None).await, "/", "new keys fetched");
    // A second unknown key within the minute is refused (keys are not fetched for every token).
    provider.rotate_key("e2e-key-3");
    let b = browser(&server);
    assert_eq!(sign_in(&b, &provider, None).await, "/sign-in?error=oidc_token");
    provider.rotate_key("e2e-key-2");

    // An ID token whose nonce is not the one asked for.
    provider.set_user(ProviderUser::verified(&ana_email));
    provider.set_wrong_nonce(true);
    let b = browser(&server);
    assert_eq!(sign_in(&b, &provider, None).await, "/sign-in?error=oidc_token");
    assert_eq!(b.get("/api/me").await.0, 401);
    provider.set_wrong_nonce(false);

    // A deactivated user: refused by email and by a linked identity, and audited.
    let (ben, ben_email) = {
        let (_, invite) = ana.client.post("/api/invites", json!({ "role": "agent" })).await;
        let email = format!("ben@{}.test", uuid_short());
        let c = server.client();
        let (status, body) =
            c.post("/api/auth/sign-up", json!({ "email": email, "password": PASSWORD, "name": "Ben", "invite": invite["token"] })).await;
        assert_eq!(status, 201, "{body}");
        (body["user"]["id"].as_str().unwrap().to_owned(), email)
    };
    let ben_at_idp = ProviderUser::verified(&ben_email);
    provider.set_user(ben_at_idp.clone());
    assert_eq!(sign_in(&browser(&server), &provider, None).await, "/", "linked while active");
    let (status, body) = ana.client.patch(&format!("/api/team/members/{ben}"), json!({ "active": false })).await;
    assert_eq!(status, 200, "{body}");
    let b = browser(&server);
    assert_eq!(sign_in(&b, &provider, None).await, "/sign-in?error=oidc_deactivated");
    assert_eq!(b.get("/api/me").await.0, 401);
    let (_, audit) = ana.client.get("/api/audit").await;
    let failed = entries(&audit, "sign_in.failed");
    assert!(
        failed
            .iter()
            .any(|e| e["target_id"] == ben.as_str() && e["details"]["reason"] == "oidc_deactivated" && e["details"]["method"] == "oidc"),
        "{audit}"
    );
    server.stop().await;
}

#[sqlx::test]
async fn the_state_is_bound_to_its_browser_and_used_once(_p: PgPoolOptions, opts: PgConnectOptions) {
    let provider = OidcProvider::start().await;
    let server = server_with(&opts, &provider.issuer).await;
    let ana = server.admin("Ana").await;
    provider.set_user(ProviderUser::verified(&email_of(&ana).await));
    let refused = (303, "/sign-in?error=oidc_state".to_owned());

    // A tampered state finds nothing.
    let b = browser(&server);
    let callback = to_callback(&b, &provider, None).await;
    let state = url::Url::parse(&callback).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let tampered = callback.replace(&state, &format!("{state}x"));
    assert_eq!(hop(&b, &tampered).await, refused);
    let no_state = callback.replace(&format!("state={state}"), "");
    assert_eq!(hop(&b, &no_state).await, refused);

    // The callback opened in another browser (no binding cookie, or its own) fails, and uses the
    // state up: the first browser cannot finish with it either.
    let cookieless =
        Client { http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(), base: server.base.clone() };
    assert_eq!(hop(&cookieless, &callback).await, refused);
    assert_eq!(hop(&b, &callback).await, refused);
    let other = browser(&server);
    let _ = to_callback(&other, &provider, None).await;
    let callback = to_callback(&b, &provider, None).await;
    assert_eq!(hop(&other, &callback).await, refused, "another browser's binding");
    assert_eq!(b.get("/api/me").await.0, 401);

    // Replayed after success: refused.
    let callback = to_callback(&b, &provider, None).await;
    assert_eq!(hop(&b, &callback).await, (303, "/".to_owned()));
    assert_eq!(hop(&b, &callback).await, refused);

    // The provider says no.
    let callback = to_callback(&b, &provider, None).await;
    let state = url::Url::parse(&callback).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let denied = format!("{}/auth/oidc/callback?error=access_denied&state={state}", server.base);
    assert_eq!(hop(&b, &denied).await, (303, "/sign-in?error=oidc_denied".to_owned()));
    // Two tabs of one browser, started before either came back: both finish.
    let first = to_callback(&b, &provider, None).await;
    let second = to_callback(&b, &provider, None).await;
    assert_eq!(hop(&b, &second).await.1, "/");
    assert_eq!(hop(&b, &first).await.1, "/");

    // Without OIDC configured, the routes do not exist.
    let plain = TestServer::start(&opts).await;
    assert_eq!(hop(&browser(&plain), &format!("{}/auth/oidc/start", plain.base)).await.0, 404);
    assert_eq!(plain.client().get("/api/auth/providers").await.1, json!({ "oidc": null }));
    plain.stop().await;
    server.stop().await;
}

#[sqlx::test]
async fn two_factor_users_get_the_challenge(_p: PgPoolOptions, opts: PgConnectOptions) {
    let provider = OidcProvider::start().await;
    let server = server_with(&opts, &provider.issuer).await;
    let ana = server.admin("Ana").await;
    let (_, setup) = ana.client.post("/api/auth/two-factor/setup", json!({})).await;
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let (status, body) = ana.client.post("/api/auth/two-factor/confirm", json!({ "code": code(&secret, -1) })).await;
    assert_eq!(status, 200, "{body}");

    provider.set_user(ProviderUser::verified(&email_of(&ana).await));
    let b = browser(&server);
    let to = sign_in(&b, &provider, None).await;
    let challenge = to.strip_prefix("/sign-in#challenge=").unwrap_or_else(|| panic!("{to}")).to_owned();
    assert_eq!(b.get("/api/me").await.0, 401, "no session before the code");
    let (status, body) = b.post("/api/auth/sign-in/two-factor", json!({ "challenge": challenge, "code": code(&secret, 0) })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(b.get("/api/me").await.1["user"]["id"], ana.id);
    // The audit says both factors.
    let (_, audit) = ana.client.get("/api/audit").await;
    let signed = entries(&audit, "sign_in.succeeded");
    assert_eq!(signed[0]["details"], json!({ "method": "oidc", "issuer": provider.issuer, "two_factor": "totp" }), "{audit}");
    server.stop().await;
}

#[sqlx::test]
async fn an_unreachable_provider_is_a_503_until_it_answers(_p: PgPoolOptions, opts: PgConnectOptions) {
    // The provider's address is known before it runs.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let server = server_with(&opts, &issuer).await;
    let b = browser(&server);
    let res = b.http.get(format!("{}/auth/oidc/start", server.base)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 503);
    assert!(res.headers().get("retry-after").is_some());
    assert!(res.text().await.unwrap().contains("Test IdP is unavailable"));

    let provider = OidcProvider::start_on(tokio::net::TcpListener::bind(issuer.trim_start_matches("http://")).await.unwrap());
    let ana = server.admin("Ana").await;
    provider.set_user(ProviderUser::verified(&email_of(&ana).await));
    // Discovery is tried again at most every 2 s.
    let mut status = 0;
    for _ in 0..40 {
        status = hop(&b, &format!("{}/auth/oidc/start", server.base)).await.0;
        if status != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 303);
    assert_eq!(sign_in(&b, &provider, None).await, "/");
    server.stop().await;
}

/// A TOTP code `steps` time steps from now.
fn code(secret: &str, steps: i64) -> String {
    let totp = totp_rs::Builder::new().with_secret(totp_rs::Secret::try_from_base32(secret).unwrap()).build_noncompliant();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    totp.generate((now + steps * 30) as u64).to_string()
}
