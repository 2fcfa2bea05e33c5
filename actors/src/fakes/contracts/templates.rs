//! The contract of approved templates' storage: one template per Content sid in a team (409),
//! listed by name with keyset pages and by kind, a sync that upserts by Content sid and answers
//! only what changed, and a delete recorded in the audit log; another team's are not found.

use crate::audit::Actor;
use crate::domain::ChannelKind;
use crate::error::DomainError;
use crate::ids::{TeamId, TemplateId};
use crate::ports::{AccountReads, TemplateReads, TemplateWrites};
use crate::rules::message_templates::{TemplateFields, TemplateVariable};

fn fields(name: &str, kind: ChannelKind, sid: Option<String>, body: &str) -> TemplateFields {
    let variables = if body.contains("{{1}}") {
        vec![TemplateVariable { key: "1".into(), example: Some("Ana".into()), default: None }]
    } else {
        vec![]
    };
    TemplateFields { name: name.into(), channel_kind: kind, content_sid: sid, body: body.into(), variables }
}

/// `by` is an admin of a fresh team.
pub async fn templates<S: TemplateReads + TemplateWrites + AccountReads>(store: &S, by: &Actor) {
    let (team, user) = (by.team(), by.user.id);
    let sid = |n: u8| Some(format!("HX{}", format!("{n:02x}").repeat(16)));
    let hours = store.create_template(team, user, fields("Hours", ChannelKind::Sms, None, "Open 9 to 5")).await.unwrap();
    let order = store.create_template(team, user, fields("Order ready", ChannelKind::Whatsapp, sid(1), "Hi {{1}}")).await.unwrap();
    assert_eq!(order.variables[0].example.as_deref(), Some("Ana"), "variables read back as stored");
    let dup = store.create_template(team, user, fields("Again", ChannelKind::Whatsapp, sid(1), "Hi")).await;
    assert!(matches!(dup, Err(DomainError::Conflict(_))), "{dup:?}");

    // By name, a page at a time; by kind.
    let first = store.list_templates(team, None, None, 1).await.unwrap();
    assert_eq!(first.items.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["Hours"]);
    let second = store.list_templates(team, None, first.next_cursor.as_deref(), 1).await.unwrap();
    assert_eq!((second.items[0].id, second.next_cursor), (order.id, None));
    let wa = store.list_templates(team, Some(ChannelKind::Whatsapp), None, 10).await.unwrap();
    assert_eq!(wa.items.iter().map(|t| t.id).collect::<Vec<_>>(), [order.id]);
    let elsewhere = TeamId::new();
    assert!(store.list_templates(elsewhere, None, None, 10).await.unwrap().items.is_empty());
    assert!(matches!(store.template(elsewhere, order.id).await, Err(DomainError::NotFound(_))));

    // A sync creates what is new, updates what changed, and leaves the rest alone.
    let synced = vec![
        fields("Order ready", ChannelKind::Whatsapp, sid(1), "Hi {{1}}"),
        fields("Follow up", ChannelKind::Whatsapp, sid(2), "Still there?"),
    ];
    let changed = store.upsert_synced(team, user, synced.clone()).await.unwrap();
    assert_eq!(changed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["Follow up"], "the unchanged one is not answered");
    assert!(store.upsert_synced(team, user, synced).await.unwrap().is_empty(), "a second sync changes nothing");
    let renamed =
        store.upsert_synced(team, user, vec![fields("Order is ready", ChannelKind::Whatsapp, sid(1), "Hi {{1}}!")]).await.unwrap();
    assert_eq!((renamed.len(), renamed[0].id, renamed[0].body.as_str()), (1, order.id, "Hi {{1}}!"), "updated in place by its sid");

    let updated = store.update_template(team, hours.id, fields("Opening hours", ChannelKind::Sms, None, "Open 8 to 4")).await.unwrap();
    assert_eq!((updated.name.as_str(), updated.body.as_str()), ("Opening hours", "Open 8 to 4"));
    assert!(matches!(
        store.update_template(team, TemplateId::new(), fields("x", ChannelKind::Sms, None, "x")).await,
        Err(DomainError::NotFound(_))
    ));

    // A delete is audited, and gone.
    store.delete_template(by, hours.id).await.unwrap();
    assert!(matches!(store.template(team, hours.id).await, Err(DomainError::NotFound(_))));
    assert!(matches!(store.delete_template(by, hours.id).await, Err(DomainError::NotFound(_))));
    let audit = store.audit_log(team, None, 50).await.unwrap();
    let entry = audit.items.iter().find(|e| e.action == "template.deleted").expect("audited");
    assert_eq!(entry.target_id.as_deref(), Some(hours.id.to_string().as_str()));
}
