//! End-to-end tests of the realtime core: presence, typing, fan-out, private notes and mentions,
//! channel auth across teams, rate limits, slow consumers and gapless catch-up by seq.

use crate::support::*;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

#[sqlx::test]
async fn presence_counts_users_not_tabs(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let b = server.agent(&a, "Bob").await;
    let thread = a.thread_with("Carol", "+14155550111").await;
    let channel = format!("presence-thread-{thread}");

    // B watches the thread first.
    let mut b_ws = b.socket(&server).await;
    let joined = b_ws.subscribe(&channel).await;
    assert_eq!(joined["presence"]["count"], 1);

    // A opens the thread in two tabs: B hears one member_added.
    let mut tab1 = a.socket(&server).await;
    let members = tab1.subscribe(&channel).await;
    assert_eq!(members["presence"]["count"], 2);
    assert!(members["presence"]["hash"][&a.id]["name"] == "Alice");
    let added = b_ws.expect_data("pusher_internal:member_added", WAIT).await;
    assert_eq!(added["user_id"], a.id);
    let mut tab2 = a.socket(&server).await;
    tab2.subscribe(&channel).await;
    b_ws.expect_none("pusher_internal:member_added", Duration::from_millis(300)).await;

    // Closing one tab is not leaving; closing the second is.
    tab1.close().await;
    b_ws.expect_none("pusher_internal:member_removed", Duration::from_millis(400)).await;
    tab2.close().await;
    let removed = b_ws.expect_data("pusher_internal:member_removed", WAIT).await;
    assert_eq!(removed["user_id"], a.id);
    server.stop().await;
}

#[sqlx::test]
async fn typing_is_relayed_not_echoed_and_expires(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start_with(&opts, |c| c.typing_ttl_ms = 600).await;
    let a = server.admin("Alice").await;
    let b = server.agent(&a, "Bob").await;
    let thread = a.thread_with("Carol", "+14155550112").await;
    let channel = format!("presence-thread-{thread}");
    let mut a_ws = a.socket(&server).await;
    a_ws.subscribe(&channel).await;
    let mut b_ws = b.socket(&server).await;
    b_ws.subscribe(&channel).await;

    // A types: B hears it with A's user id; A does not hear its own event.
    a_ws.send(json!({ "event": "client-typing", "channel": channel, "data": { "typing": true } })).await;
    let typing = b_ws.expect("client-typing", WAIT).await;
    assert_eq!(typing["user_id"], a.id);
    assert_eq!(typing["data"]["typing"], true);
    a_ws.expect_none("client-typing", Duration::from_millis(200)).await;

    // A claims to be B in the data: the server says who really typed.
    a_ws.send(json!({ "event": "client-typing", "channel": channel, "data": { "typing": true, "user_id": b.id } })).await;
    let spoofed = b_ws.expect("client-typing", WAIT).await;
    assert_eq!(spoofed["user_id"], a.id);
    assert_eq!(spoofed["data"]["user_id"], a.id, "the claimed identity is overwritten");

    // A latecomer sees who is typing right away.
    let mut late = b.socket(&server).await;
    late.subscribe(&channel).await;
    let seen = late.expect("client-typing", WAIT).await;
    assert_eq!(seen["data"]["typing"], true);

    // A client event near the 10 KB limit passes whole: a socket's read buffer starts small
    // (`WS_READ_BUFFER`, 512 bytes) and grows for it.
    let draft = "d".repeat(9_000);
    a_ws.send(json!({ "event": "client-draft", "channel": channel, "data": { "text": draft } })).await;
    let relayed = b_ws.expect("client-draft", WAIT).await;
    assert_eq!(relayed["data"]["text"].as_str().map(str::len), Some(9_000));

    // Without a refresh, the server announces the stop after the TTL.
    let stop = b_ws.expect("client-typing", Duration::from_secs(3)).await;
    assert_eq!(stop["data"]["typing"], false);
    assert_eq!(stop["user_id"], a.id);
    server.stop().await;
}

#[sqlx::test]
async fn a_message_reaches_the_thread_and_the_team_with_increasing_seq(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let b = server.agent(&a, "Bob").await;
    let thread = a.thread_with("Carol", "+14155550113").await;
    let mut b_ws = b.socket(&server).await;
    b_ws.subscribe(&format!("presence-thread-{thread}")).await;
    b_ws.subscribe(&format!("presence-team-{}", a.team_id)).await;

    let (status, msg) = a.client.post("/api/messages", json!({ "thread_id": thread, "body": "hello Carol" })).await;
    assert_eq!(status, 201, "{msg}");
    let created = b_ws.expect_data("message.created", WAIT).await;
    assert_eq!(created["data"]["body"], "hello Carol");
    assert_eq!(created["thread_id"], thread);
    assert_eq!(created["team_id"], a.team_id);
    assert_eq!(created["actor_id"], a.id);
    let first_seq = created["seq"].as_i64().unwrap();

    // Then, in any order: the inbox row on the team channel (coalesced per thread), and the
    // simulator's sent and delivered on the thread channel, with later seqs in order.
    let mut team_rows = vec![];
    let mut updates = vec![];
    let deadline = tokio::time::Instant::now() + WAIT;
    while updates.len() < 2 || team_rows.is_empty() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = b_ws.next(left).await.expect("team row and two updates in time");
        match frame["event"].as_str() {
            Some("thread.updated") => team_rows.push(event_data(&frame)),
            Some("message.updated") => updates.push(event_data(&frame)),
            _ => {}
        }
    }
    assert_eq!(team_rows[0]["id"], thread);
    assert_eq!(team_rows[0]["last_preview"], "hello Carol");
    assert_eq!(updates[0]["data"]["status"], "sent");
    assert_eq!(updates[1]["data"]["status"], "delivered");
    assert!(updates[0]["seq"].as_i64().unwrap() > first_seq);
    assert!(updates[1]["seq"].as_i64().unwrap() > updates[0]["seq"].as_i64().unwrap());
    server.stop().await;
}

#[sqlx::test]
async fn private_notes_stay_with_their_author_and_mentions_notify(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let b = server.agent(&a, "Bob Stone").await;
    let thread = a.thread_with("Carol", "+14155550114").await;
    let mut a1 = a.socket(&server).await;
    a1.subscribe(&format!("private-user-{}", a.id)).await;
    let mut a2 = a.socket(&server).await;
    a2.subscribe(&format!("private-user-{}", a.id)).await;
    let mut b_ws = b.socket(&server).await;
    b_ws.subscribe(&format!("private-user-{}", b.id)).await;
    b_ws.subscribe(&format!("presence-thread-{thread}")).await;

    // A private note reaches both of A's tabs and nobody else.
    let (status, note) =
        a.client.post(&format!("/api/threads/{thread}/notes"), json!({ "body": "they sound upset", "visibility": "private" })).await;
    assert_eq!(status, 201, "{note}");
    for tab in [&mut a1, &mut a2] {
        let got = tab.expect_data("note.created", WAIT).await;
        assert_eq!(got["data"]["body"], "they sound upset");
    }
    b_ws.expect_none("note.created", Duration::from_millis(400)).await;
    let (_, b_notes) = b.client.get(&format!("/api/threads/{thread}/notes")).await;
    assert_eq!(b_notes["notes"].as_array().unwrap().len(), 0);

    // A public note mentioning Bob reaches the thread and Bob's own channel.
    let (status, note) = a
        .client
        .post(&format!("/api/threads/{thread}/notes"), json!({ "body": "@Bob Stone can you call her?", "visibility": "public" }))
        .await;
    assert_eq!(status, 201);
    assert_eq!(note["mentions"], json!([b.id]));
    let mention = b_ws.expect_data("mention", WAIT).await;
    assert_eq!(mention["thread_id"], thread);
    assert_eq!(mention["by"], "Alice");
    server.stop().await;
}

#[sqlx::test]
async fn another_team_is_refused_every_channel(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let other = server.admin("Mallory").await;
    let thread = a.thread_with("Carol", "+14155550115").await;
    let ws = other.socket(&server).await;
    for channel in [format!("presence-team-{}", a.team_id), format!("presence-thread-{thread}"), format!("private-user-{}", a.id)] {
        let (status, body) = other.client.pusher_auth(&ws.socket_id, &channel).await;
        assert_eq!(status, 403, "{channel}: {body}");
    }
    // Nor can a forged or replayed signature subscribe.
    let mut ws = ws;
    ws.send(json!({ "event": "pusher:subscribe", "data": { "channel": format!("private-user-{}", a.id), "auth": "test-key:00" } })).await;
    let err = ws.expect("pusher:subscription_error", WAIT).await;
    assert_eq!(err["data"]["status"], 403);
    // Without a session, auth is 401.
    let anon = server.client();
    let (status, _) = anon.pusher_auth(&ws.socket_id, &format!("private-user-{}", a.id)).await;
    assert_eq!(status, 401);
    server.stop().await;
}

#[sqlx::test]
async fn client_event_floods_get_4301(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let thread = a.thread_with("Carol", "+14155550116").await;
    let channel = format!("presence-thread-{thread}");
    let mut ws = a.socket(&server).await;
    ws.subscribe(&channel).await;
    for _ in 0..30 {
        ws.send(json!({ "event": "client-typing", "channel": channel, "data": { "typing": true } })).await;
    }
    let err = ws.expect("pusher:error", WAIT).await;
    assert_eq!(err["data"]["code"], 4301);
    server.stop().await;
}

#[sqlx::test]
async fn a_slow_reader_is_cut_off_while_others_keep_receiving(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start_with(&opts, |c| c.ws_queue = 8).await;
    let a = server.admin("Alice").await;
    let b = server.agent(&a, "Bob").await;
    let c = server.agent(&a, "Cem").await;
    let thread = a.thread_with("Carol", "+14155550117").await;
    let channel = format!("presence-thread-{thread}");
    let mut fast = b.socket(&server).await;
    fast.subscribe(&channel).await;
    // The slow reader has a tiny receive buffer, subscribes, and then never reads again.
    let mut slow = Ws::connect_small_buffer(&server, c.client.clone()).await;
    slow.subscribe(&channel).await;
    fast.expect("pusher_internal:member_added", WAIT).await;

    // Big public notes until the server gives up on the slow reader (its member leaves).
    let big = "x".repeat(9000);
    let mut received = 0;
    let mut cut_off = false;
    for i in 0..3000 {
        let (status, _) =
            a.client.post(&format!("/api/threads/{thread}/notes"), json!({ "body": format!("{i} {big}"), "visibility": "public" })).await;
        assert_eq!(status, 201);
        while let Some(f) = fast.next(Duration::from_millis(1)).await {
            match f["event"].as_str() {
                Some("note.created") => received += 1,
                Some("pusher_internal:member_removed") => cut_off = true,
                _ => {}
            }
        }
        if cut_off {
            break;
        }
    }
    assert!(cut_off, "the slow reader was never disconnected");
    assert!(received > 8, "the fast reader kept receiving ({received})");
    // The fast reader still hears what comes next.
    a.client.post(&format!("/api/threads/{thread}/notes"), json!({ "body": "after", "visibility": "public" })).await;
    loop {
        let note = fast.expect_data("note.created", WAIT).await;
        if note["data"]["body"] == "after" {
            break;
        }
    }
    drop(slow);
    // The close is counted (operators watch this to size WS_QUEUE).
    let mut counted = 0.0;
    for _ in 0..40 {
        let metrics = reqwest::get(format!("{}/metrics", server.base)).await.unwrap().text().await.unwrap();
        counted = metrics
            .lines()
            .find(|l| l.starts_with("switchboard_slow_consumer_closes_total"))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        if counted >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(counted >= 1.0, "slow-consumer closes are counted in /metrics");
    server.stop().await;
}

#[sqlx::test]
async fn a_reconnecting_client_catches_up_exactly_the_gap(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let b = server.agent(&a, "Bob").await;
    let thread = a.thread_with("Carol", "+14155550118").await;
    let channel = format!("presence-thread-{thread}");
    let mut b_ws = b.socket(&server).await;
    b_ws.subscribe(&channel).await;
    a.client.post(&format!("/api/threads/{thread}/notes"), json!({ "body": "before", "visibility": "public" })).await;
    let seen = b_ws.expect_data("note.created", WAIT).await;
    let last_seen = seen["seq"].as_i64().unwrap();
    b_ws.close().await;

    // While B is away: two notes, a private note of A's (not B's to see), a status change.
    for body in ["gap one", "gap two"] {
        a.client.post(&format!("/api/threads/{thread}/notes"), json!({ "body": body, "visibility": "public" })).await;
    }
    a.client.post(&format!("/api/threads/{thread}/notes"), json!({ "body": "secret", "visibility": "private" })).await;
    a.client.patch(&format!("/api/threads/{thread}"), json!({ "status": "pending" })).await;

    let (status, gap) = b.client.get(&format!("/api/threads/{thread}/events?after={last_seen}")).await;
    assert_eq!(status, 200);
    let events = gap["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["note.created", "note.created", "thread.updated"], "{gap}");
    assert_eq!(events[0]["data"]["body"], "gap one");
    assert_eq!(events[1]["data"]["body"], "gap two");
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]) && seqs[0] > last_seen);
    // A sees its private note in the gap too.
    let (_, a_gap) = a.client.get(&format!("/api/threads/{thread}/events?after={last_seen}")).await;
    assert_eq!(a_gap["events"].as_array().unwrap().len(), 4);
    // Nothing after the last one.
    let (_, none) = b.client.get(&format!("/api/threads/{thread}/events?after={}", gap["last_seq"])).await;
    assert_eq!(none["events"].as_array().unwrap().len(), 0);
    server.stop().await;
}

#[sqlx::test]
async fn unknown_app_key_gets_4001_and_shutdown_sends_4200(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let url = format!("ws://{}/app/not-the-key", server.addr);
    let (mut stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    use futures_util::StreamExt;
    let mut code = None;
    while let Some(Ok(m)) = stream.next().await {
        if let tokio_tungstenite::tungstenite::Message::Close(Some(f)) = m {
            code = Some(u16::from(f.code));
            break;
        }
    }
    assert_eq!(code, Some(4001));

    let a = server.admin("Alice").await;
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("private-user-{}", a.id)).await;
    let stopping = tokio::spawn(server.stop());
    assert_eq!(ws.closed(WAIT).await, Some(4200));
    stopping.await.unwrap();
}

#[sqlx::test]
async fn a_browser_origin_we_do_not_serve_is_refused(_p: PgPoolOptions, opts: PgConnectOptions) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = TestServer::start(&opts).await;
    let mut req = format!("ws://{}/app/{}", server.addr, server.key()).into_client_request().unwrap();
    req.headers_mut().insert("origin", "https://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(req).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    let mut ok = format!("ws://{}/app/{}", server.addr, server.key()).into_client_request().unwrap();
    ok.headers_mut().insert("origin", server.base.parse().unwrap());
    assert!(tokio_tungstenite::connect_async(ok).await.is_ok());
    server.stop().await;
}

#[sqlx::test]
async fn two_nodes_share_events_over_redis(_p: PgPoolOptions, opts: PgConnectOptions) {
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    // Two servers on one database and one Redis: an agent on node 2 hears what node 1 commits.
    let node1 = TestServer::start_with(&opts, |c| c.redis_url = redis.clone()).await;
    let node2 = TestServer::start_with(&opts, |c| {
        c.redis_url = redis.clone();
        c.run_scheduler = false;
    })
    .await;
    let a = node1.admin("Alice").await;
    let thread = a.thread_with("Carol", "+14155550119").await;
    // Alice's session works on node 2 too: sessions live in Postgres.
    let on_node2 = Agent { client: Client { http: a.client.http.clone(), base: node2.base.clone() }, ..a.clone() };
    let mut ws = Ws::connect(&node2, on_node2.client.clone()).await;
    ws.subscribe(&format!("presence-thread-{thread}")).await;
    let (status, _) = a.client.post("/api/messages", json!({ "thread_id": thread, "body": "across nodes" })).await;
    assert_eq!(status, 201);
    let got = ws.expect_data("message.created", WAIT).await;
    assert_eq!(got["data"]["body"], "across nodes");
    let (_, ready) = node2.client().get("/readyz").await;
    assert_eq!(ready["checks"]["redis"], "ok");

    // Presence spans the nodes: Bob joins the thread on node 1 and Alice (node 2) sees him;
    // his snapshot lists Alice; when he leaves, Alice hears it once.
    let b = node1.agent(&a, "Bob").await;
    let mut bob = b.socket(&node1).await;
    let members = bob.subscribe(&format!("presence-thread-{thread}")).await;
    assert_eq!(members["presence"]["count"], 2, "{members}");
    assert!(members["presence"]["hash"][&a.id].is_object());
    let added = ws.expect_data("pusher_internal:member_added", WAIT).await;
    assert_eq!(added["user_id"], b.id);
    bob.close().await;
    let removed = ws.expect_data("pusher_internal:member_removed", WAIT).await;
    assert_eq!(removed["user_id"], b.id);

    // When node 2 shuts down, Alice's presence there ends for node 1's sockets too.
    let mut watcher = b.socket(&node1).await;
    let members = watcher.subscribe(&format!("presence-thread-{thread}")).await;
    assert_eq!(members["presence"]["count"], 2);
    node2.stop().await;
    let gone = watcher.expect_data("pusher_internal:member_removed", WAIT).await;
    assert_eq!(gone["user_id"], a.id);
    node1.stop().await;
}

#[sqlx::test]
async fn a_crashed_thread_actor_restarts_and_the_server_carries_on(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let thread = a.thread_with("Carol", "+14155550120").await;
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-thread-{thread}")).await;
    let note = |body: &str| json!({ "body": body, "visibility": "public" });
    let path = format!("/api/threads/{thread}/notes");
    assert_eq!(a.client.post(&path, note("one")).await.0, 201);
    let first = ws.expect_data("note.created", WAIT).await["seq"].as_i64().unwrap();

    // Pull the notes table out from under the actor: its commit fails, it answers 500 and
    // crashes; the supervisor forgets it.
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    sqlx::query("ALTER TABLE notes RENAME TO notes_away").execute(&db).await.unwrap();
    let (status, body) = a.client.post(&path, note("two")).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["code"], "internal");
    sqlx::query("ALTER TABLE notes_away RENAME TO notes").execute(&db).await.unwrap();

    // The next command spawns a fresh actor: it works, and the failed one used no seq.
    assert_eq!(a.client.post(&path, note("three")).await.0, 201);
    let third = ws.expect_data("note.created", WAIT).await;
    assert_eq!(third["data"]["body"], "three");
    assert_eq!(third["seq"].as_i64().unwrap(), first + 1);
    let metrics = server.client().http.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("switchboard_actor_failures_total"), "{metrics}");
    server.stop().await;
}

#[sqlx::test]
async fn a_silent_client_is_pinged_then_closed_with_4201(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start_with(&opts, |c| c.activity_timeout = 1).await;
    let a = server.admin("Alice").await;
    let mut ws = a.socket(&server).await;
    // After a second of silence the server pings; an answer keeps the connection.
    let ping = ws.expect("pusher:ping", Duration::from_secs(3)).await;
    assert_eq!(ping["event"], "pusher:ping");
    ws.send(json!({ "event": "pusher:pong", "data": {} })).await;
    // A client ping is answered with a pong.
    ws.send(json!({ "event": "pusher:ping", "data": {} })).await;
    ws.expect("pusher:pong", WAIT).await;
    // Then silence: pinged again, no answer, closed with 4201.
    ws.expect("pusher:ping", Duration::from_secs(3)).await;
    assert_eq!(ws.closed(Duration::from_secs(5)).await, Some(4201));
    server.stop().await;
}

#[sqlx::test]
async fn a_burst_on_one_thread_reaches_the_inbox_coalesced(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let thread = a.thread_with("Carol", "+14155550121").await;
    let mut ws = a.socket(&server).await;
    ws.subscribe(&format!("presence-team-{}", a.team_id)).await;

    // Thirty notes at once: thirty commits on one thread.
    let posts = (0..30).map(|i| {
        let client = a.client.clone();
        let path = format!("/api/threads/{thread}/notes");
        async move { client.post(&path, json!({ "body": format!("note {i}") })).await.0 }
    });
    let statuses = futures_util::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");

    // The team channel gets far fewer inbox rows than commits, and the last one is current.
    let mut rows = vec![];
    while let Some(frame) = ws.next(Duration::from_millis(500)).await {
        if frame["event"] == "thread.updated" {
            rows.push(event_data(&frame));
        }
    }
    assert!(!rows.is_empty() && rows.len() < 30, "{} inbox rows for 30 commits", rows.len());
    assert_eq!(rows.last().unwrap()["last_seq"], 30);
    server.stop().await;
}

#[sqlx::test]
async fn one_connection_holds_at_most_200_channels(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    // 201 threads of Alice's team, made in SQL for speed.
    let db = sqlx::PgPool::connect_with(opts.clone()).await.unwrap();
    let team: uuid::Uuid = a.team_id.parse().unwrap();
    let threads: Vec<uuid::Uuid> = sqlx::query_scalar(
        "WITH c AS (
            INSERT INTO contacts (id, team_id, phone, name)
            SELECT gen_random_uuid(), $1, '+1415556' || lpad(i::text, 4, '0'), 'Bulk ' || i FROM generate_series(1, 201) i
            RETURNING id)
         INSERT INTO threads (id, team_id, contact_id, channel_id)
         SELECT gen_random_uuid(), $1, c.id, (SELECT id FROM channels WHERE team_id = $1 AND kind = 'sms' LIMIT 1) FROM c
         RETURNING id",
    )
    .bind(team)
    .fetch_all(&db)
    .await
    .unwrap();
    let mut ws = a.socket(&server).await;
    for t in &threads[..200] {
        ws.subscribe(&format!("presence-thread-{t}")).await;
    }
    // The 201st is refused; the connection and its 200 channels stay.
    let channel = format!("presence-thread-{}", threads[200]);
    let (_, auth) = a.client.pusher_auth(&ws.socket_id, &channel).await;
    ws.send(
        json!({ "event": "pusher:subscribe", "data": { "channel": channel, "auth": auth["auth"], "channel_data": auth["channel_data"] } }),
    )
    .await;
    let err = ws.expect("pusher:subscription_error", WAIT).await;
    assert!(err["data"]["error"].as_str().unwrap().contains("too many channels"), "{err}");
    ws.send(json!({ "event": "pusher:ping", "data": {} })).await;
    ws.expect("pusher:pong", WAIT).await;
    server.stop().await;
}

#[sqlx::test]
async fn signing_out_closes_the_sessions_sockets_on_every_node(_p: PgPoolOptions, opts: PgConnectOptions) {
    // Alice's socket lives on node B, its channels authorized on node A; she signs out on node A:
    // the socket is closed with 4009 (pusher-js does not reconnect on it) within a second. Bob's
    // socket on the same node stays.
    let redis = |c: &mut switchboard::Config| c.redis_url = "redis://127.0.0.1:6379/".into();
    let node_a = TestServer::start_with(&opts, redis).await;
    let node_b = TestServer::start_with(&opts, redis).await;
    let a = node_a.admin("Alice").await;
    let b = node_a.agent(&a, "Bob").await;
    let mut alice_ws = Ws::connect(&node_b, a.client.clone()).await;
    alice_ws.subscribe(&format!("private-user-{}", a.id)).await;
    let mut bob_ws = Ws::connect(&node_b, b.client.clone()).await;
    bob_ws.subscribe(&format!("private-user-{}", b.id)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (status, _) = a.client.post("/api/auth/sign-out", json!({})).await;
    assert_eq!(status, 204);
    assert_eq!(alice_ws.closed(Duration::from_secs(1)).await, Some(4009), "the signed-out session's socket is closed");
    // Bob is not affected: his socket still answers.
    bob_ws.send(json!({ "event": "pusher:ping", "data": {} })).await;
    bob_ws.expect("pusher:pong", WAIT).await;
    node_a.stop().await;
    node_b.stop().await;
}

#[sqlx::test]
async fn revoking_a_token_closes_the_sockets_it_authorized(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let a = server.admin("Alice").await;
    let (status, token) = a.client.post("/api/tokens", json!({ "name": "bot" })).await;
    assert_eq!(status, 201, "{token}");
    // A program signs its channels with the token.
    let mut auth = reqwest::header::HeaderMap::new();
    auth.insert("authorization", format!("Bearer {}", token["token"].as_str().unwrap()).parse().unwrap());
    let bot = Client { http: reqwest::Client::builder().default_headers(auth).build().unwrap(), base: server.base.clone() };
    let mut ws = Ws::connect(&server, bot).await;
    ws.subscribe(&format!("private-user-{}", a.id)).await;

    let (status, _) = a.client.delete(&format!("/api/tokens/{}", token["id"].as_str().unwrap())).await;
    assert_eq!(status, 204);
    assert_eq!(ws.closed(Duration::from_secs(1)).await, Some(4009), "the revoked token's socket is closed");
    server.stop().await;
}
