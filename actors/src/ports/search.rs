//! The port of full-text search: messages, notes and contacts of one team that one reader may
//! see, newest first. The query is read by `rules::search::terms` before it gets here.

use super::Page;
use crate::domain::ContactBrief;
use crate::error::DomainResult;
use crate::ids::*;
use crate::rules::search::SearchTerms;
use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;

/// What a search result points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchHitKind {
    Message,
    Note,
    /// The contact's name, phone or email matched: the hit is one of its threads.
    Contact,
}

/// One search result: where it is, and the matching text with its matches in `<mark>`.
#[derive(Clone, Debug, Serialize)]
pub struct SearchHit {
    pub kind: SearchHitKind,
    pub thread_id: ThreadId,
    pub message_id: Option<MessageId>,
    pub note_id: Option<NoteId>,
    pub contact: ContactBrief,
    /// HTML: the text escaped, each match in `<mark>…</mark>` (`rules::search::snippet_html`).
    pub snippet: String,
    /// When the message or note was written (a contact hit: the thread's last activity).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Search reads.
#[async_trait]
pub trait SearchReads: Send + Sync {
    /// Messages, public notes and `viewer`'s own private notes of `team`, and its contacts'
    /// threads by name, phone fragment or email, newest first, keyset-paged.
    async fn search(
        &self,
        team: TeamId,
        viewer: UserId,
        terms: &SearchTerms,
        cursor: Option<&str>,
        limit: i64,
    ) -> DomainResult<Page<SearchHit>>;
}
