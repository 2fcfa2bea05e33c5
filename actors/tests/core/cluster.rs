//! Two nodes over one in-memory bus network: presence and thread events cross nodes, and a
//! node that lost the link learns on reconnect what it missed.

use crate::support::*;
use actors::fakes::MemoryNetwork;
use actors::protocol::{ChannelName, PresenceMember};
use actors::rules::Draft;
use std::sync::Arc;
use std::time::Duration;

struct Cluster {
    network: Arc<MemoryNetwork>,
    a: Node,
    b: Node,
    team: Team,
}

async fn two_nodes() -> Cluster {
    let network = MemoryNetwork::new();
    let store = Arc::new(actors::fakes::MemoryStore::new());
    let a = Node::start_on(store.clone(), network.bus(), actors::CoreConfig { node_id: "node-a".into(), ..config() }).await;
    let b = Node::start_on(store.clone(), network.bus(), actors::CoreConfig { node_id: "node-b".into(), ..config() }).await;
    let team = team(&store, "Acme").await;
    Cluster { network, a, b, team }
}

fn member(user: &actors::domain::User) -> Option<PresenceMember> {
    Some(PresenceMember { user_id: user.id.to_string(), user_info: serde_json::json!({ "name": user.name }) })
}

#[tokio::test(start_paused = true)]
async fn a_member_added_on_one_node_is_seen_on_the_other() {
    let c = two_nodes().await;
    // Let the nodes meet first, so what follows crosses as a presence change, not in the
    // snapshot a node sends to one it has just heard of.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let channel = ChannelName::Team(c.team.id).to_string();
    let mut on_b = Socket::new(&c.b.core, "2.1");
    c.b.core.cluster.subscribe(&channel, &on_b.conn, member(&c.team.agent));

    let on_a = Socket::new(&c.a.core, "1.1");
    c.a.core.cluster.subscribe(&channel, &on_a.conn, member(&c.team.admin));

    until("node B hears of the member", || !on_b.events("pusher_internal:member_added").is_empty()).await;
    let added = on_b.events("pusher_internal:member_added");
    assert_eq!(added.len(), 1);
    assert_eq!(added[0]["user_id"], c.team.admin.id.to_string());
    assert!(c.b.core.cluster.online(c.team.id).contains(&c.team.admin.id));

    // And a thread event committed on A reaches a viewer on B.
    let (_, thread) = contact_thread(&c.a.store, c.team.id, "Carol", "+14155550100", actors::domain::ChannelKind::Sms).await;
    let mut viewer_b = Socket::on(&c.b.core, "2.2", &ChannelName::Thread(thread).to_string());
    let draft = Draft { body: "from A".into(), ..Draft::default() };
    c.a.core.threads.send(c.team.id, thread, c.team.admin.clone(), draft).await.expect("send on A");
    until("node B's viewer gets the message", || !viewer_b.events("message.created").is_empty()).await;
    assert_eq!(viewer_b.events("message.created")[0]["data"]["body"], "from A");
}

#[tokio::test(start_paused = true)]
async fn after_the_link_is_restored_a_node_learns_who_joined_meanwhile() {
    let c = two_nodes().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let channel = ChannelName::Team(c.team.id).to_string();
    let mut on_b = Socket::new(&c.b.core, "2.1");
    c.b.core.cluster.subscribe(&channel, &on_b.conn, member(&c.team.agent));
    settle().await;

    c.network.cut();
    let on_a = Socket::new(&c.a.core, "1.1");
    c.a.core.cluster.subscribe(&channel, &on_a.conn, member(&c.team.admin));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(on_b.events("pusher_internal:member_added").is_empty(), "nothing crosses a cut link");

    c.network.restore();
    until("node B learns of the member", || !on_b.events("pusher_internal:member_added").is_empty()).await;
    assert_eq!(on_b.events("pusher_internal:member_added")[0]["user_id"], c.team.admin.id.to_string());
}
