//! A team to test with, signed up through the store's own ports: an admin with two simulated
//! numbers (SMS and WhatsApp) and an agent who joined by invite.

use super::MemoryStore;
use crate::domain::{ChannelKind, Role, User};
use crate::ids::TeamId;
use crate::ports::{AccountWrites, NewAccount, NewChannel};

/// A team with an admin and an agent.
pub struct SeededTeam {
    pub id: TeamId,
    pub admin: User,
    pub agent: User,
}

/// A simulated number of `kind`, with its own account sid and token.
pub fn simulated(kind: ChannelKind) -> NewChannel {
    let sid = uuid::Uuid::new_v4().simple().to_string();
    NewChannel {
        kind,
        number: "+15005550006".into(),
        account_sid: format!("AC{sid}"),
        auth_token: sid,
        messaging_service_sid: None,
        simulated: true,
    }
}

/// Signs a team named `name` up and invites its agent.
pub async fn team(store: &MemoryStore, name: &str) -> SeededTeam {
    let slug = name.to_lowercase();
    let account = NewAccount {
        team_name: Some(name.into()),
        invite_hash: None,
        email: format!("admin@{slug}.test"),
        name: format!("{name} Admin"),
        password_hash: "not a hash".into(),
        simulated_channels: vec![simulated(ChannelKind::Sms), simulated(ChannelKind::Whatsapp)],
    };
    let client = crate::audit::Client::default();
    let admin = store.create_account(account, &client).await.expect("sign-up").user;
    let invite_hash = format!("invite-{slug}").into_bytes();
    let expires = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let by = crate::audit::Actor::new(admin.clone(), client.clone());
    store.create_invite(&by, None, Role::Agent, &invite_hash, expires).await.expect("invite");
    let agent = NewAccount {
        team_name: None,
        invite_hash: Some(invite_hash),
        email: format!("agent@{slug}.test"),
        name: format!("{name} Agent"),
        password_hash: "not a hash".into(),
        simulated_channels: vec![],
    };
    let agent = store.create_account(agent, &client).await.expect("invited sign-up").user;
    SeededTeam { id: admin.team_id, admin, agent }
}
