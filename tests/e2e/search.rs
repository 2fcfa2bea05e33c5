//! Full-text search through the API: a word of a message body and of a public note is found,
//! another agent's private note and another team's messages are not, a phone fragment is found
//! by its digits (trigrams), and the inbox's own search covers message text.

use crate::support::*;
use serde_json::{Value, json};

fn kinds(page: &Value) -> Vec<(String, String)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["kind"].as_str().unwrap().to_owned(), h["thread_id"].as_str().unwrap().to_owned()))
        .collect()
}

#[sqlx::test]
async fn search_finds_bodies_and_notes_the_reader_may_see_in_their_team_only(
    _p: sqlx::postgres::PgPoolOptions,
    opts: sqlx::postgres::PgConnectOptions,
) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let bob = server.agent(&ana, "Bob").await;
    let zed = server.admin("Zed").await;
    let thread = ana.thread_with("Carol Jones", "+14155550123").await;
    let inbound = |from: &'static str, body: &'static str| json!({ "from": from, "channel": "sms", "body": body });
    assert_eq!(ana.client.post("/api/simulator/inbound", inbound("+14155550123", "My <b>parcel</b> arrived broken")).await.0, 202);
    let note = |body: &str, visibility: &str| json!({ "body": body, "visibility": visibility });
    assert_eq!(ana.client.post(&format!("/api/threads/{thread}/notes"), note("Refund approved by finance", "public")).await.0, 201);
    assert_eq!(bob.client.post(&format!("/api/threads/{thread}/notes"), note("pineapple plan", "private")).await.0, 201);
    // Another team talks about the same things.
    let theirs = zed.thread_with("Carol Other", "+14155550999").await;
    assert_eq!(zed.client.post("/api/simulator/inbound", inbound("+14155550999", "parcel pineapple finance")).await.0, 202);

    // A word of a message body (a prefix, any case), with its snippet marked and escaped.
    let (code, page) = wait_for(&ana, "/api/search?q=PARC", 1).await;
    assert_eq!(code, 200, "{page}");
    assert_eq!(kinds(&page), [("message".to_owned(), thread.clone())]);
    let hit = &page["items"][0];
    assert!(hit["message_id"].is_string() && hit["note_id"].is_null(), "{hit}");
    assert!(hit["snippet"].as_str().unwrap().contains("<mark>parcel</mark>"), "{hit}");
    assert_eq!(hit["contact"]["name"], "Carol Jones");
    assert!(hit["at"].is_string());

    // A public note, for everyone in the team.
    let (_, page) = bob.client.get("/api/search?q=finance").await;
    assert_eq!(kinds(&page), [("note".to_owned(), thread.clone())]);
    assert!(page["items"][0]["note_id"].is_string());
    // A private note: its author only.
    let (_, page) = ana.client.get("/api/search?q=pineapple").await;
    assert_eq!(kinds(&page), [], "{page}");
    let (_, page) = bob.client.get("/api/search?q=pineapple").await;
    assert_eq!(kinds(&page), [("note".to_owned(), thread.clone())]);

    // The other team finds its own message only.
    let (_, page) = zed.client.get("/api/search?q=parcel").await;
    assert_eq!(kinds(&page), [("message".to_owned(), theirs.clone())]);
    let (_, page) = zed.client.get("/api/search?q=finance").await;
    assert_eq!(kinds(&page), [("message".to_owned(), theirs.clone())], "not Ana's team's note");

    // A phone fragment, typed as people type it: the contact by trigrams on its digits.
    let (_, page) = ana.client.get("/api/search?q=555-01").await;
    assert_eq!(kinds(&page), [("contact".to_owned(), thread.clone())]);
    assert_eq!(page["items"][0]["snippet"], "+1415<mark>55501</mark>23");

    // The inbox's search box covers message text and phone fragments too.
    let (_, rows) = ana.client.get("/api/threads?search=broken").await;
    let ids: Vec<&str> = rows["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [thread.as_str()]);
    let (_, rows) = ana.client.get("/api/threads?search=555%200123").await;
    assert_eq!(rows["items"].as_array().unwrap().len(), 1, "{rows}");
    let (_, rows) = ana.client.get("/api/threads?search=Jones").await;
    assert_eq!(rows["items"].as_array().unwrap().len(), 1, "the name still matches");
}

#[sqlx::test]
async fn search_pages_by_cursor_and_refuses_bad_queries(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    ana.thread_with("Dave", "+14155550124").await;
    for body in ["invoice one", "invoice two", "invoice three"] {
        ana.client.post("/api/simulator/inbound", json!({ "from": "+14155550124", "channel": "sms", "body": body })).await;
    }
    let (_, first) = wait_for(&ana, "/api/search?q=invoice&limit=2", 2).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (_, rest) = ana.client.get(&format!("/api/search?q=invoice&limit=2&cursor={cursor}")).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    assert!(rest["items"][0]["snippet"].as_str().unwrap().contains("one"), "oldest last: {rest}");

    for (q, field) in [("", "q"), ("%20%20", "q"), ("a%00b", "q")] {
        let (code, body) = ana.client.get(&format!("/api/search?q={q}")).await;
        assert_eq!((code, body["error"]["field"].as_str()), (422, Some(field)), "{q}: {body}");
    }
    let (code, _) = ana.client.get("/api/search?q=x&cursor=nonsense").await;
    assert_eq!(code, 422);
    // Operators and quotes are text, never a query error.
    for q in ["%26%26%26", "'", "a%3A*%20%7C%20b", "(", "%5C"] {
        let (code, body) = ana.client.get(&format!("/api/search?q={q}")).await;
        assert_eq!(code, 200, "{q}: {body}");
    }
}

/// Polls a search until it has `n` hits (inbound messages are stored by the webhook's task).
async fn wait_for(who: &Agent, path: &str, n: usize) -> (u16, Value) {
    for _ in 0..50 {
        let (code, page) = who.client.get(path).await;
        if code != 200 || page["items"].as_array().is_some_and(|a| a.len() >= n) {
            return (code, page);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    who.client.get(path).await
}
