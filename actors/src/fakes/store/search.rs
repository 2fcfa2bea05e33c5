//! `SearchReads` in memory: the Postgres store's search as plain filters (every query word the
//! start of a word of the text, any case; names and emails by substring; phones by digits),
//! newest first with the same keyset cursor. Snippets are the escaped text, unmarked.

use super::{MemoryStore, contains_ci, decode_cursor, encode_cursor, page};
use crate::domain::*;
use crate::error::DomainResult;
use crate::ids::*;
use crate::ports::{Page, SearchHit, SearchHitKind, SearchReads};
use crate::rules::search::{SearchTerms, contact_snippet, matches_words, snippet_html};
use async_trait::async_trait;

impl super::State {
    /// The inbox search's twin of the Postgres store's: a phone fragment's digits, or a message
    /// of the thread matching every word.
    pub(super) fn text_matches(&self, thread: ThreadId, q: &str) -> bool {
        let Ok(terms) = crate::rules::search::terms(q) else { return false };
        let phone = self.summary(thread).map(|t| t.contact.phone).unwrap_or_default();
        terms.digits.as_deref().is_some_and(|d| phone.contains(d))
            || self.messages.values().any(|m| m.msg.thread_id == thread && matches_words(&terms, &m.msg.body))
    }
}

#[async_trait]
impl SearchReads for MemoryStore {
    async fn search(
        &self,
        team: TeamId,
        viewer: UserId,
        terms: &SearchTerms,
        cursor: Option<&str>,
        limit: i64,
    ) -> DomainResult<Page<SearchHit>> {
        self.enter("search").await?;
        let after = cursor.map(decode_cursor).transpose()?;
        let s = self.state();
        let brief = |thread: ThreadId| s.summary(thread).map(|t| t.contact);
        let mut hits: Vec<(uuid::Uuid, SearchHit)> = Vec::new();
        for m in s.messages.values().map(|m| &m.msg).filter(|m| m.team_id == team && matches_words(terms, &m.body)) {
            if let Some(contact) = brief(m.thread_id) {
                let hit = SearchHit {
                    kind: SearchHitKind::Message,
                    thread_id: m.thread_id,
                    message_id: Some(m.id),
                    note_id: None,
                    contact,
                    snippet: snippet_html(&m.body),
                    at: m.created_at,
                };
                hits.push((m.id.0, hit));
            }
        }
        let visible = |n: &&Note| n.team_id == team && (n.visibility == Visibility::Public || n.author_id == viewer);
        for n in s.notes.iter().filter(visible).filter(|n| matches_words(terms, &n.body)) {
            if let Some(contact) = brief(n.thread_id) {
                let hit = SearchHit {
                    kind: SearchHitKind::Note,
                    thread_id: n.thread_id,
                    message_id: None,
                    note_id: Some(n.id),
                    contact,
                    snippet: snippet_html(&n.body),
                    at: n.created_at,
                };
                hits.push((n.id.0, hit));
            }
        }
        for c in s.contacts.values().filter(|c| c.team_id == team && c.deleted_at.is_none()) {
            let email = c.email.as_deref().unwrap_or_default();
            let by_digits = terms.digits.as_deref().is_some_and(|d| c.phone.contains(d));
            if !(contains_ci(&c.name, &terms.text) || contains_ci(email, &terms.text) || by_digits) {
                continue;
            }
            for t in s.threads.values().filter(|t| t.contact == c.id) {
                if let Some(contact) = brief(t.id) {
                    let snippet = contact_snippet(terms, &[&c.name, &c.phone, email]);
                    let hit = SearchHit {
                        kind: SearchHitKind::Contact,
                        thread_id: t.id,
                        message_id: None,
                        note_id: None,
                        contact,
                        snippet,
                        at: t.activity(),
                    };
                    hits.push((t.id.0, hit));
                }
            }
        }
        hits.retain(|(id, h)| after.is_none_or(|(a, aid)| (h.at, *id) < (a, aid)));
        hits.sort_by_key(|(id, h)| std::cmp::Reverse((h.at, *id)));
        let page = page(hits, limit, |(id, h)| encode_cursor(h.at, *id));
        Ok(Page { items: page.items.into_iter().map(|(_, h)| h).collect(), next_cursor: page.next_cursor })
    }
}
