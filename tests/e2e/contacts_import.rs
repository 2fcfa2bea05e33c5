//! CSV import and export of contacts, lists and segments, bulk changes: a messy file (BOM,
//! quoted commas and newlines, duplicate phones, local numbers, invalid rows, opt-out markers)
//! with exact counts and error rows; re-imports are idempotent; `fill` and `overwrite`; a big
//! file runs as a job with live progress on the importer's private channel and can be
//! canceled; the export re-imports into another team unchanged; another team reaches none of it.

use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

const BOUNDARY: &str = "sb-test-boundary-7MA4YWxkTrZu0gW";

/// A multipart form with `file` (named contacts.csv) and the other fields.
fn form(csv: &str, fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    body.extend(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"contacts.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend(csv.as_bytes());
    body.extend(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

async fn import(agent: &Agent, csv: &str, fields: &[(&str, &str)]) -> (u16, Value) {
    let (ct, body) = form(csv, fields);
    agent.client.post_raw("/api/contacts/import", &ct, body).await
}

fn counts(v: &Value) -> (i64, i64, i64, usize) {
    (v["created"].as_i64().unwrap(), v["updated"].as_i64().unwrap(), v["skipped"].as_i64().unwrap(), v["errors"].as_array().unwrap().len())
}

async fn by_phone(agent: &Agent, phone: &str) -> Value {
    let (_, page) = agent.client.get(&format!("/api/contacts?search={}", phone.replace('+', "%2B"))).await;
    page["items"].as_array().unwrap().iter().find(|c| c["phone"] == phone).cloned().unwrap_or(Value::Null)
}

const MESSY: &str = "\u{feff}First,Surname,Mobile,E-mail,Labels,Notes,Opted out,Plan Tier\r\n\
Ann,Lee,(415) 555-0101,Ann@Example.com,\"vip, lead\",\"Likes \"\"quotes\"\", commas\nand newlines\",,gold\r\n\
Bob,Ray,+1 415 555 0102,bob@example.com,lead,,yes,\r\n\
Cy,,not a phone,cy@example.com,,,,\r\n\
Dee,Dow,415-555-0101,dee@example.com,,,,\r\n\
Eve,,4155550105,not-an-email,,,,\r\n\
Fay,Fox,4155550106,,,,STOP,silver\r\n";

async fn messy_team(server: &TestServer) -> Agent {
    let ana = server.admin("Ana").await;
    assert_eq!(ana.client.put_json("/api/team/default-country", json!({ "default_country": "US" })).await.0, 200);
    let fields = json!({ "fields": [{ "key": "plan", "label": "Plan tier" }] });
    assert_eq!(ana.client.put_json("/api/team/contact-fields", fields).await.0, 200);
    ana
}

#[sqlx::test]
async fn a_messy_file_imports_with_exact_counts_and_error_rows(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = messy_team(&server).await;
    let ben = server.agent(&ana, "Ben").await;

    // The mapping step: headers guessed (BOM dropped), the first rows, every target.
    let (ct, body) = form(MESSY, &[]);
    let (status, preview) = ben.client.post_raw("/api/contacts/import/preview", &ct, body).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["headers"][0], "First");
    assert_eq!(
        preview["mapping"],
        json!({ "First": "first_name", "Surname": "last_name", "Mobile": "phone", "E-mail": "email", "Labels": "tags",
                "Notes": "notes", "Opted out": "opted_out", "Plan Tier": "custom:plan" })
    );
    assert_eq!(preview["rows"].as_array().unwrap().len(), 6);
    assert_eq!(preview["rows"][0][5], "Likes \"quotes\", commas\nand newlines");
    assert!(preview["fields"].as_array().unwrap().contains(&json!("custom:plan")));

    // Six data rows: three stored, three refused (a bad phone, the same phone as row 1, a bad
    // email). The first row with a phone wins.
    let (status, summary) = import(&ben, MESSY, &[]).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(counts(&summary), (3, 0, 0, 3), "{summary}");
    assert_eq!((summary["state"].as_str(), summary["total"].as_i64(), summary["errors_count"].as_i64()), (Some("done"), Some(6), Some(3)));
    let errors: Vec<(i64, &str)> =
        summary["errors"].as_array().unwrap().iter().map(|e| (e["row"].as_i64().unwrap(), e["field"].as_str().unwrap())).collect();
    assert_eq!(errors, [(3, "phone"), (4, "phone"), (5, "email")]);
    assert!(summary["errors"][1]["message"].as_str().unwrap().contains("row 1"), "{summary}");

    let ann = by_phone(&ben, "+14155550101").await;
    assert_eq!(ann["name"], "Ann Lee");
    assert_eq!(ann["email"], "ann@example.com");
    assert_eq!(ann["tags"], json!(["vip", "lead"]));
    assert_eq!(ann["notes"], "Likes \"quotes\", commas\nand newlines");
    assert_eq!(ann["custom_fields"], json!({ "plan": "gold" }));
    assert_eq!(ann["source"], "import");
    assert!(ann["opted_out_at"].is_null());
    assert!(by_phone(&ben, "+14155550102").await["opted_out_at"].is_string(), "yes opts out");
    let fay = by_phone(&ben, "+14155550106").await;
    assert!(fay["opted_out_at"].is_string(), "STOP opts out");
    assert_eq!(fay["custom_fields"], json!({ "plan": "silver" }));

    // The error rows download under the file's own headers.
    let (status, csv) = ben.client.get(summary["errors_csv"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    let csv = csv.as_str().unwrap().to_owned();
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(rdr.headers().unwrap().iter().take(4).collect::<Vec<_>>(), ["row", "field", "error", "First"]);
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!((&rows[0][0], &rows[0][3], &rows[0][5]), ("3", "Cy", "not a phone"));

    // A re-import changes nothing, whatever the rule.
    for rule in ["skip", "fill", "overwrite"] {
        let (status, again) = import(&ben, MESSY, &[("on_conflict", rule)]).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(counts(&again), (0, 0, 3, 3), "{rule}: {again}");
    }
    // Bad requests are 422s, never 500s.
    assert_eq!(import(&ben, MESSY, &[("on_conflict", "merge")]).await.0, 422);
    assert_eq!(import(&ben, MESSY, &[("mapping", "{\"Nope\": \"phone\"}")]).await.0, 422);
    assert_eq!(import(&ben, "Name,Company\r\nA,B\r\n", &[]).await.0, 422, "no phone column");
    assert_eq!(import(&ben, "", &[]).await.0, 422);
    assert_eq!(import(&ben, "Phone\r\n", &[]).await.0, 422, "no data rows");
    server.stop().await;
}

#[sqlx::test]
async fn fill_and_overwrite_never_clear_an_opt_out(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let old =
        json!({ "name": "Old Name", "phone": "+14155550111", "email": "old@example.com", "opted_out": true, "opt_out_reason": "asked" });
    let (status, c) = ana.client.post("/api/contacts", old).await;
    assert_eq!(status, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_owned();
    let file = "name,phone,email,company,opted_out\r\nNew Name,+14155550111,new@example.com,Acme,\r\n";

    // A mapping given for one column; the others guessed.
    let (status, fill) = import(&ana, file, &[("on_conflict", "fill"), ("mapping", "{\"company\": \"company\"}")]).await;
    assert_eq!((status, counts(&fill)), (200, (0, 1, 0, 0)), "{fill}");
    let c = ana.client.get(&format!("/api/contacts/{id}")).await.1;
    assert_eq!((c["name"].as_str(), c["email"].as_str(), c["company"].as_str()), (Some("Old Name"), Some("old@example.com"), Some("Acme")));

    let (status, over) = import(&ana, file, &[("on_conflict", "overwrite")]).await;
    assert_eq!((status, counts(&over)), (200, (0, 1, 0, 0)), "{over}");
    let c = ana.client.get(&format!("/api/contacts/{id}")).await.1;
    assert_eq!((c["name"].as_str(), c["email"].as_str()), (Some("New Name"), Some("new@example.com")));
    assert!(c["opted_out_at"].is_string() && c["opt_out_reason"] == "asked", "the opt-out stays: {c}");

    // A deleted contact matched by phone comes back.
    assert_eq!(ana.client.delete(&format!("/api/contacts/{id}")).await.0, 204);
    let (status, back) = import(&ana, file, &[]).await;
    assert_eq!((status, counts(&back)), (200, (0, 1, 0, 0)), "{back}");
    assert!(ana.client.get(&format!("/api/contacts/{id}")).await.1["deleted_at"].is_null());
    server.stop().await;
}

fn big_file(rows: usize) -> String {
    let mut csv = String::from("name,phone\n");
    for i in 0..rows {
        csv.push_str(&format!("Person {i},+1415{:07}\n", 2_000_000 + i));
    }
    csv
}

#[sqlx::test]
async fn a_big_file_runs_as_a_job_with_live_progress(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    let mut ws = ana.socket(&server).await;
    ws.subscribe(&format!("private-user-{}", ana.id)).await;
    let mut team_ws = ana.socket(&server).await;
    team_ws.subscribe(&format!("presence-team-{}", ana.team_id)).await;

    let (status, job) = import(&ana, &big_file(10_050), &[]).await;
    assert_eq!(status, 202, "{job}");
    assert_eq!((job["state"].as_str(), job["total"].as_i64()), (Some("running"), Some(10_050)));
    let path = format!("/api/contacts/import/{}", job["job_id"].as_str().unwrap());
    let mut seen = 0;
    let last = loop {
        let p = ws.expect_data("import.progress", Duration::from_secs(60)).await;
        assert_eq!(p["job_id"], job["job_id"]);
        seen += 1;
        if p["state"] != "running" {
            break p;
        }
    };
    assert_eq!((last["state"].as_str(), last["created"].as_i64(), last["processed"].as_i64()), (Some("done"), Some(10_050), Some(10_050)));
    assert!(seen >= 1);
    let (status, done) = ana.client.get(&path).await;
    assert_eq!((status, done["state"].as_str(), done["created"].as_i64()), (200, Some("done"), Some(10_050)), "{done}");
    assert_eq!(ana.client.get("/api/contacts?limit=1").await.0, 200, "other requests are served meanwhile");
    let imported = team_ws.expect_data("contacts.imported", Duration::from_secs(5)).await;
    assert_eq!((imported["job_id"].clone(), imported["created"].as_i64()), (job["job_id"].clone(), Some(10_050)));

    // Canceled at once: it stops, what was committed stays, the state says so.
    let (status, job) = import(&ana, &big_file(40_000).replace("+1415", "+1628"), &[]).await;
    assert_eq!(status, 202, "{job}");
    let path = format!("/api/contacts/import/{}", job["job_id"].as_str().unwrap());
    let (status, canceled) = ana.client.delete(&path).await;
    assert_eq!((status, canceled["state"].as_str()), (200, Some("canceled")), "{canceled}");
    let end = loop {
        let p = ws.expect_data("import.progress", Duration::from_secs(60)).await;
        if p["job_id"] == job["job_id"] && p["state"] != "running" {
            break p;
        }
    };
    assert_eq!(end["state"], "canceled");
    let stored = ana.client.get(&path).await.1;
    assert_eq!(stored["state"], "canceled");
    assert!(stored["processed"].as_i64().unwrap() < 40_000, "{stored}");

    // Another team cannot see, cancel or download it.
    let eve = server.admin("Eve").await;
    assert_eq!(eve.client.get(&path).await.0, 404);
    assert_eq!(eve.client.delete(&path).await.0, 404);
    assert_eq!(eve.client.get(&format!("{path}/errors.csv")).await.0, 404);
    server.stop().await;
}

#[sqlx::test]
async fn an_export_imports_into_another_team_unchanged(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let fields = json!({ "fields": [{ "key": "plan", "label": "Plan" }, { "key": "region", "label": "Region" }] });
    let ana = server.admin("Ana").await;
    assert_eq!(ana.client.put_json("/api/team/contact-fields", fields.clone()).await.0, 200);
    let people = [
        json!({ "first_name": "Ann", "last_name": "Lee", "phone": "+14155550121", "email": "ann@example.com", "tags": ["vip", "lead"],
                "company": "Acme, Inc.", "notes": "=HYPERLINK(\"http://x\")\nsecond line", "custom_fields": { "plan": "gold", "region": "west" } }),
        json!({ "name": "-Bob", "phone": "+442071838750", "opted_out": true, "opt_out_reason": "@STOP", "source": "fair" }),
        json!({ "name": "Cy", "phone": "+14155550123", "custom_fields": { "plan": "+1" } }),
    ];
    for p in &people {
        assert_eq!(ana.client.post("/api/contacts", p.clone()).await.0, 201);
    }
    let ben = server.agent(&ana, "Ben").await;
    assert_eq!(ben.client.get("/api/contacts/export.csv").await.0, 403, "admins only");
    let (status, csv) = ana.client.get("/api/contacts/export.csv").await;
    assert_eq!(status, 200);
    let csv = csv.as_str().unwrap().to_owned();
    assert!(csv.starts_with("name,first_name,last_name,phone,"), "{csv}");
    assert!(csv.contains("custom:plan,custom:region"));
    assert!(csv.contains("'+14155550121") && csv.contains("'-Bob"), "formula-safe: {csv}");

    let zed = server.admin("Zed").await;
    assert_eq!(zed.client.put_json("/api/team/contact-fields", fields).await.0, 200);
    let (status, summary) = import(&zed, &csv, &[]).await;
    assert_eq!((status, counts(&summary)), (200, (3, 0, 0, 0)), "{summary}");
    let compared =
        ["name", "first_name", "last_name", "phone", "email", "tags", "company", "notes", "source", "custom_fields", "opt_out_reason"];
    for phone in ["+14155550121", "+442071838750", "+14155550123"] {
        let (a, z) = (by_phone(&ana, phone).await, by_phone(&zed, phone).await);
        for f in compared {
            assert_eq!(a[f], z[f], "{phone} {f}");
        }
        assert_eq!(a["opted_out_at"].is_null(), z["opted_out_at"].is_null(), "{phone} opted out");
    }
    // Filters apply; another team's export has none of Ana's.
    let (_, vip) = ana.client.get("/api/contacts/export.csv?tag=vip").await;
    let records = |csv: &Value| csv::Reader::from_reader(csv.as_str().unwrap().as_bytes()).records().count();
    assert_eq!(records(&vip), 1, "Ann (whose notes span two lines)");
    let eve = server.admin("Eve").await;
    let (_, empty) = eve.client.get("/api/contacts/export.csv").await;
    assert_eq!(records(&empty), 0);
    assert!(empty.as_str().unwrap().starts_with("name,"), "the header row still comes");
    server.stop().await;
}

#[sqlx::test]
async fn lists_segments_and_bulk_changes(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let ana = server.admin("Ana").await;
    assert_eq!(ana.client.put_json("/api/team/contact-fields", json!({ "fields": [{ "key": "plan", "label": "Plan" }] })).await.0, 200);
    let mut ids = Vec::new();
    for (i, (tags, plan, out)) in
        [(vec!["vip"], "gold", false), (vec!["vip", "lead"], "gold", true), (vec!["lead"], "free", false), (vec![], "gold", false)]
            .into_iter()
            .enumerate()
    {
        let body = json!({ "name": format!("P{i}"), "phone": format!("+1415555013{i}"), "tags": tags, "custom_fields": { "plan": plan }, "opted_out": out });
        let (status, c) = ana.client.post("/api/contacts", body).await;
        assert_eq!(status, 201, "{c}");
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    let names =
        |v: &Value| -> Vec<String> { v["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect() };

    // A static list: by id, then by filter (set-based), members counted and listed.
    let (status, list) = ana.client.post("/api/lists", json!({ "name": "Fair 2026", "kind": "static" })).await;
    assert_eq!(status, 201, "{list}");
    let lid = list["id"].as_str().unwrap().to_owned();
    assert_eq!(ana.client.post("/api/lists", json!({ "name": "fair 2026", "kind": "static" })).await.0, 409);
    let (_, added) = ana.client.post(&format!("/api/lists/{lid}/members"), json!({ "contact_ids": [ids[0]] })).await;
    assert_eq!(added["added"], 1);
    let (_, added) = ana.client.post(&format!("/api/lists/{lid}/members"), json!({ "filter": { "tag": "lead" } })).await;
    assert_eq!(added["added"], 2);
    assert_eq!(names(&ana.client.get(&format!("/api/contacts?list_id={lid}&sort=name")).await.1), ["P0", "P1", "P2"]);
    let (_, removed) = ana.client.delete_json(&format!("/api/lists/{lid}/members"), json!({ "contact_ids": [ids[2]] })).await;
    assert_eq!(removed["removed"], 1);

    // A segment: evaluated when read.
    let seg = json!({ "name": "Gold VIPs", "kind": "segment", "filter": { "tags_any": ["vip"], "fields": { "plan": "gold" }, "opted_out": false } });
    let (status, seg) = ana.client.post("/api/lists", seg).await;
    assert_eq!(status, 201, "{seg}");
    let sid = seg["id"].as_str().unwrap().to_owned();
    assert_eq!(names(&ana.client.get(&format!("/api/contacts?list_id={sid}")).await.1), ["P0"]);
    let (status, _) = ana.client.patch(&format!("/api/lists/{sid}"), json!({ "filter": { "fields": { "plan": "gold" } } })).await;
    assert_eq!(status, 200);
    assert_eq!(names(&ana.client.get(&format!("/api/contacts?list_id={sid}&sort=name")).await.1), ["P0", "P1", "P3"]);
    assert_eq!(
        ana.client.post(&format!("/api/lists/{sid}/members"), json!({ "contact_ids": [ids[0]] })).await.0,
        422,
        "a segment has no members to add"
    );
    assert_eq!(
        ana.client.post("/api/lists", json!({ "name": "Bad", "kind": "segment", "filter": { "fields": { "nope": "x" } } })).await.0,
        422
    );
    let (_, lists) = ana.client.get("/api/lists").await;
    let counts: Vec<(String, i64)> = lists["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["name"].as_str().unwrap().to_owned(), l["member_count"].as_i64().unwrap()))
        .collect();
    assert_eq!(counts, [("Fair 2026".to_owned(), 2), ("Gold VIPs".to_owned(), 3)]);
    let (_, of_p1) = ana.client.get(&format!("/api/contacts/{}/lists", ids[1])).await;
    assert_eq!(of_p1["items"].as_array().unwrap().len(), 2, "{of_p1}");

    // Bulk changes: set-based, counted, live on every contacts page.
    let mut ws = ana.socket(&server).await;
    ws.subscribe(&format!("presence-team-{}", ana.team_id)).await;
    let all = json!(ids);
    let (_, r) = ana.client.post("/api/contacts/bulk", json!({ "ids": all, "action": "add_tag", "tag": "fair" })).await;
    assert_eq!(r["affected"], 4);
    let changed = ws.expect_data("contact.changed", Duration::from_secs(5)).await;
    assert_eq!(changed["action"], "updated");
    assert!(changed["contact"]["tags"].as_array().unwrap().contains(&json!("fair")), "{changed}");
    let (_, r) = ana.client.post("/api/contacts/bulk", json!({ "ids": all, "action": "remove_tag", "tag": "vip" })).await;
    assert_eq!(r["affected"], 2);
    let (_, r) = ana.client.post("/api/contacts/bulk", json!({ "ids": all, "action": "add_to_list", "list_id": lid })).await;
    assert_eq!(r["affected"], 2, "two were not members yet");
    let (_, r) = ana.client.post("/api/contacts/bulk", json!({ "ids": [ids[3]], "action": "delete" })).await;
    assert_eq!(r["affected"], 1);
    assert_eq!(ana.client.post("/api/contacts/bulk", json!({ "ids": [], "action": "delete" })).await.0, 422);
    assert_eq!(ana.client.post("/api/contacts/bulk", json!({ "ids": all, "action": "add_tag" })).await.0, 422);
    assert_eq!(ana.client.get(&format!("/api/lists/{lid}")).await.1["member_count"], 3, "the deleted one is not counted");

    // Another team: 404 on the lists, nothing done to the contacts.
    let eve = server.admin("Eve").await;
    assert_eq!(eve.client.get(&format!("/api/lists/{lid}")).await.0, 404);
    assert_eq!(eve.client.patch(&format!("/api/lists/{lid}"), json!({ "name": "x" })).await.0, 404);
    assert_eq!(eve.client.delete(&format!("/api/lists/{lid}")).await.0, 404);
    assert_eq!(eve.client.post(&format!("/api/lists/{lid}/members"), json!({ "contact_ids": [ids[0]] })).await.0, 404);
    assert_eq!(eve.client.get(&format!("/api/contacts?list_id={lid}")).await.0, 404);
    assert_eq!(eve.client.get(&format!("/api/contacts/{}/lists", ids[0])).await.0, 404);
    assert!(eve.client.get("/api/lists").await.1["items"].as_array().unwrap().is_empty());
    let (_, r) = eve.client.post("/api/contacts/bulk", json!({ "ids": all, "action": "delete" })).await;
    assert_eq!(r["affected"], 0);
    let (_, elist) = eve.client.post("/api/lists", json!({ "name": "Mine", "kind": "static" })).await;
    let (_, r) = eve.client.post(&format!("/api/lists/{}/members", elist["id"].as_str().unwrap()), json!({ "contact_ids": all })).await;
    assert_eq!(r["added"], 0);
    assert_eq!(eve.client.post("/api/contacts/bulk", json!({ "ids": all, "action": "add_to_list", "list_id": lid })).await.0, 404);

    // Deleting a list keeps its contacts; audited.
    assert_eq!(ana.client.delete(&format!("/api/lists/{lid}")).await.0, 204);
    assert_eq!(ana.client.get(&format!("/api/contacts/{}", ids[0])).await.0, 200);
    let (_, audit) = ana.client.get("/api/audit").await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"list.deleted") && actions.contains(&"contacts.deleted"), "{actions:?}");
    server.stop().await;
}

/// Sends `head` and then `body` in `pieces` parts `gap` apart over a raw connection; answers
/// the status code and the body of the response.
async fn dribble(server: &TestServer, head: String, body: &[u8], pieces: usize, gap: Duration) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    for part in body.chunks(body.len().div_ceil(pieces)) {
        tokio::time::sleep(gap).await;
        // The server may have answered (408) and closed already: what it said is read below.
        if stream.write_all(part).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

/// A CSV upload on a slow link is not cut off by the request timeout: the upload routes have
/// their own (`UPLOAD_TIMEOUT_SECS`), and any other request that slow still answers 408.
#[sqlx::test]
async fn a_slow_upload_outlives_the_request_timeout(_p: sqlx::postgres::PgPoolOptions, opts: sqlx::postgres::PgConnectOptions) {
    let server = TestServer::start_with(&opts, |c| {
        // Long enough for the setup's own requests on a loaded machine; the dribbles take longer.
        c.request_timeout_secs = 5;
        c.upload_timeout_secs = 60;
    })
    .await;
    let admin = server.admin("Ana").await;
    let (status, token) = admin.client.post("/api/tokens", json!({ "name": "uploader" })).await;
    assert_eq!(status, 201, "{token}");
    let token = token["token"].as_str().unwrap().to_owned();
    let request = |path: &str, content_type: &str, len: usize| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: switchboard\r\nAuthorization: Bearer {token}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {len}\r\nConnection: close\r\n\r\n"
        )
    };

    // About 6.5 s to send a small file: past the 5 s request timeout.
    let b = "sb-boundary-7";
    let form = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\nContent-Type: text/csv\r\n\r\n\
         name,phone\r\nAnn Slow,+14155550181\r\nBo Slow,+14155550182\r\n\r\n--{b}--\r\n"
    );
    let head = request("/api/contacts/import", &format!("multipart/form-data; boundary={b}"), form.len());
    let (status, text) = dribble(&server, head, form.as_bytes(), 5, Duration::from_millis(1300)).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"created\":2"), "{text}");

    // The same pace on another route is cut off with 408, and nothing is stored.
    let contact = json!({ "name": "Cy Slow", "phone": "+14155550183" }).to_string();
    let head = request("/api/contacts", "application/json", contact.len());
    let (status, text) = dribble(&server, head, contact.as_bytes(), 5, Duration::from_millis(1300)).await;
    assert_eq!(status, 408, "{text}");
    assert!(text.contains(r#"{"error":{"code":"request_timeout""#), "a JSON error like every other answer: {text}");
    let (_, found) = admin.client.get("/api/contacts?search=Cy%20Slow").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 0);
    server.stop().await;
}
