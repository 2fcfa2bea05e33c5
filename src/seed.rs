//! The demo team a fresh database gets, so a newcomer can sign in at once and see the whole loop
//! in simulator mode.

use crate::store::PgStore;
use actors::DomainResult;
use actors::domain::{ChannelKind, MessageStatus, Visibility};
use actors::ports::*;
use argon2::{Argon2, PasswordHasher};
use serde_json::json;

/// The demo sign-ins (printed at start and listed in the README).
pub const DEMO_ADMIN: (&str, &str) = ("admin@demo.switchboard.dev", "switchboard-demo");
pub const DEMO_AGENT: (&str, &str) = ("agent@demo.switchboard.dev", "switchboard-demo");

fn hash(password: &str) -> String {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).unwrap_or_default()
}

/// Seeds the demo team: an admin, an agent, a few contacts with threads, messages and notes,
/// and a few canned replies.
pub async fn demo(store: &PgStore) -> DomainResult<()> {
    let admin = store
        .create_account(
            NewAccount {
                team_name: Some("Demo Team".into()),
                invite_hash: None,
                email: DEMO_ADMIN.0.into(),
                name: "Ada Admin".into(),
                password_hash: hash(DEMO_ADMIN.1),
                simulated_channels: web::api::simulated_channels(),
            },
            &Default::default(),
        )
        .await?;
    let invite_token = hex::encode(rand::random::<[u8; 16]>());
    let invite_hash = web::extract::hash_secret(&invite_token);
    let expires = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    store
        .create_invite(
            &actors::audit::Actor::new(admin.user.clone(), Default::default()),
            None,
            actors::domain::Role::Agent,
            &invite_hash,
            expires,
        )
        .await?;
    let agent = store
        .create_account(
            NewAccount {
                team_name: None,
                invite_hash: Some(invite_hash),
                email: DEMO_AGENT.0.into(),
                name: "Sam Agent".into(),
                password_hash: hash(DEMO_AGENT.1),
                simulated_channels: vec![],
            },
            &Default::default(),
        )
        .await?;
    let team = admin.team.id;
    let channels = store.channels(team).await?;
    let people = [
        ("Maria Garcia", "+14155550101", ChannelKind::Sms, vec!["Hi! Is my order #1042 shipped yet?", "Thanks, that was quick 🙏"]),
        ("Kenji Tanaka", "+447700900123", ChannelKind::Whatsapp, vec!["Hello, can I change my delivery address?"]),
        ("Priya Patel", "+14155550199", ChannelKind::Sms, vec!["Do you open on Sundays?"]),
    ];
    for (i, (name, phone, kind, lines)) in people.into_iter().enumerate() {
        let channel = channels.iter().find(|c| c.kind == kind).expect("demo team has both simulated channels");
        let contact = store
            .create_contact(
                team,
                &actors::ports::NewContact {
                    tags: vec!["demo".to_owned()],
                    source: Some("demo".into()),
                    ..actors::ports::NewContact::basic(name, phone)
                },
            )
            .await?;
        let (thread, _) = store.thread_for_inbound(team, channel.id, &contact.phone, None).await?;
        for (j, line) in lines.iter().enumerate() {
            store
                .record_inbound(NewInbound {
                    team,
                    thread,
                    kind,
                    message_sid: format!("SMdemo{i}{j}{}", hex::encode(rand::random::<[u8; 8]>())),
                    body: (*line).into(),
                    media: vec![],
                    raw: json!({ "seeded": true }),
                    opt_out: None,
                })
                .await?;
            if j == 0 && i == 0 {
                let reply = store
                    .create_outbound(NewOutbound {
                        team,
                        thread,
                        author: Some(agent.user.id),
                        body: "Hi Maria, it shipped this morning. Tracking: 1Z999AA10123456784".into(),
                        media_urls: vec![],
                        send_at: None,
                        cancel_on_reply: false,
                        content: None,
                    })
                    .await?;
                let sid = format!("SMdemo{}", hex::encode(rand::random::<[u8; 12]>()));
                store.record_send(reply.value.id, SendOutcome::Sent { sid: sid.clone() }).await?;
                store.apply_status(&sid, MessageStatus::Delivered, None, None, json!({ "seeded": true }), None).await?;
            }
        }
        if i == 0 {
            store
                .add_note(
                    team,
                    thread,
                    admin.user.id,
                    "@Sam Agent VIP customer, keep an eye on this one.",
                    Visibility::Public,
                    &[agent.user.id],
                )
                .await?;
        }
    }
    // Calls: the SMS number takes voicemails and texts back after a missed call; Priya called
    // and left a voicemail (played from the simulator's recording), and got the text back.
    let sms = channels.iter().find(|c| c.kind == ChannelKind::Sms).expect("demo team has a simulated SMS number");
    let reply_text = "Sorry we missed your call, {{contact.first_name}}! How can we help?";
    let voice = actors::domain::ChannelSettings {
        voicemail: true,
        greeting: Some("Thanks for calling Demo Team.".into()),
        missed_call_reply: Some(reply_text.into()),
        ..Default::default()
    };
    store.set_channel_settings(team, sms.id, &voice).await?;
    let (thread, _) = store.thread_for_inbound(team, sms.id, "+14155550199", None).await?;
    store
        .record_call(NewCall {
            team,
            thread,
            call_sid: format!("CA{}", hex::encode(rand::random::<[u8; 16]>())),
            direction: actors::domain::Direction::Inbound,
            outcome: actors::domain::CallOutcome::Voicemail,
            duration: 2,
            recording_url: Some("/static/sim/voicemail.wav".into()),
            raw: json!({ "seeded": true }),
            reply: None,
        })
        .await?;
    let auto_reply = store
        .create_outbound(NewOutbound {
            team,
            thread,
            author: None,
            body: "Sorry we missed your call, Priya! How can we help?".into(),
            media_urls: vec![],
            send_at: None,
            cancel_on_reply: false,
            content: None,
        })
        .await?;
    let sid = format!("SMdemo{}", hex::encode(rand::random::<[u8; 12]>()));
    store.record_send(auto_reply.value.id, SendOutcome::Sent { sid }).await?;
    // Canned replies to try with "/" in the reply box: two of the team's, one of the agent's own.
    let replies = [
        (None, "thanks", "Thank you", "Thanks, {{contact.first_name}}! Anything else? — {{agent.first_name}}, {{team.name}}"),
        (None, "hours", "Opening hours", "Hi {{contact.first_name}}, we are open Monday to Saturday, 9:00 to 18:00."),
        (Some(agent.user.id), "followup", "Follow up by email", "I'll send the details to {{contact.email}} today."),
    ];
    for (owner, shortcut, title, body) in replies {
        let by = owner.unwrap_or(admin.user.id);
        let reply = NewReply { team, owner, shortcut: shortcut.into(), title: title.into(), body: body.into(), created_by: by };
        store.create_reply(reply).await?;
    }
    Ok(())
}
