//! A contact change reaches every open view of the contact's threads: each thread's actor
//! records `contact.updated` in its log and publishes it on the thread channel.

use crate::support::*;
use actors::contacts::ContactChange;
use actors::domain::{ChannelKind, event};
use actors::ports::{AccountReads, ThreadReads, ThreadWrites};
use actors::protocol::ChannelName;

#[tokio::test(start_paused = true)]
async fn a_contact_change_is_recorded_and_published_on_each_of_its_threads() {
    let w = world(|_| {}).await;
    let (whatsapp, _) = w.store.thread_for_contact(w.team.id, w.contact.id, ChannelKind::Whatsapp, None).await.expect("second thread");
    let mut sms_view = Socket::on(&w.core, "1.1", &ChannelName::Thread(w.thread).to_string());
    let mut wa_view = Socket::on(&w.core, "1.2", &ChannelName::Thread(whatsapp).to_string());

    let change = ContactChange { name: Some("Caroline".into()), ..ContactChange::default() };
    let contact = w.core.contacts.update(&w.store.team(w.team.id).await.expect("team"), w.contact.id, change).await.expect("update");
    assert_eq!(contact.name, "Caroline");

    for (thread, view) in [(w.thread, &mut sms_view), (whatsapp, &mut wa_view)] {
        until("the view hears of the change", || !view.events(event::CONTACT_UPDATED).is_empty()).await;
        let frames = view.events(event::CONTACT_UPDATED);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0]["data"]["name"], "Caroline");
        assert_eq!(frames[0]["thread_id"], thread.to_string());
        let log = w.store.events(thread);
        assert_eq!(log.len(), 1, "one event in the thread's log");
        assert_eq!(log[0].kind, event::CONTACT_UPDATED);
        assert_eq!(log[0].seq, frames[0]["seq"].as_i64().unwrap());
        let summary = w.store.thread(w.team.id, thread).await.unwrap();
        assert_eq!(summary.contact.name, "Caroline");
    }
}
