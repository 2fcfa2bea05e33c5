//! The inbox tabs' counts, served from a short per-team cache. Every open inbox reads the counts
//! again after each burst of thread events, and on a team of 100,000 threads one read is an
//! index-only scan of all of them (tens of ms: docs/benchmarks.md §9). The rows behind the
//! counts (threads by status and assignee) are the same for every member, so this node reads
//! them at most once per `TTL` per team and makes each reader's counts ("mine") of them with
//! `rules::views::counts`. A count may be up to `TTL` old; the next read after it is fresh.

use crate::domain::ThreadCounts;
use crate::error::DomainResult;
use crate::ids::{TeamId, UserId};
use crate::ports::{StatusCount, ThreadReads};
use crate::rules::views;
use crate::ttl_cache::TtlCache;
use std::sync::Arc;
use std::time::Duration;

/// How long one team's rows serve every reader of this node (the inbox reads again after it when
/// an event came within it: `web/static/app/triage.js`).
pub const TTL: Duration = Duration::from_secs(1);

/// The tabs' counts, per team, cached for `TTL`.
pub struct TabCounts {
    store: Arc<dyn ThreadReads>,
    cache: TtlCache<TeamId, Arc<Vec<StatusCount>>>,
}

impl TabCounts {
    pub fn new(store: Arc<dyn ThreadReads>) -> Self {
        TabCounts { store, cache: TtlCache::new(TTL) }
    }

    /// The tabs' counts for `viewer` of `team`.
    pub async fn get(&self, team: TeamId, viewer: UserId) -> DomainResult<ThreadCounts> {
        let rows = self.cache.get_or_load(team, || async { Ok(Arc::new(self.store.status_counts(team).await?)) }).await?;
        Ok(views::counts(&rows, viewer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ThreadStatus;
    use crate::fakes::MemoryStore;
    use crate::ports::ThreadWrites;

    #[tokio::test(start_paused = true)]
    async fn one_read_per_team_per_second_serves_every_reader() {
        let store = Arc::new(MemoryStore::new());
        let team = crate::fakes::seed::team(&store, "Acme").await;
        let counts = TabCounts::new(store.clone());
        let admin = counts.get(team.id, team.admin.id).await.unwrap();
        let agent = counts.get(team.id, team.agent.id).await.unwrap();
        assert_eq!((admin.all, agent.all), (0, 0));
        assert_eq!(store.calls("status_counts"), 1, "the second reader used the first one's rows");

        let contact = crate::ports::ContactWrites::create_contact(&*store, team.id, &crate::ports::NewContact::basic("C", "+14155550100"))
            .await
            .unwrap();
        let (thread, _) = store.thread_for_contact(team.id, contact.id, crate::domain::ChannelKind::Sms, None).await.unwrap();
        let mine =
            crate::ports::ThreadChange { assignee: Some(Some(team.agent.id)), status: Some(ThreadStatus::Pending), ..Default::default() };
        store.update_thread(team.id, thread, None, mine).await.unwrap();
        assert_eq!(counts.get(team.id, team.agent.id).await.unwrap().all, 0, "up to a second old");
        tokio::time::advance(TTL).await;
        let agent = counts.get(team.id, team.agent.id).await.unwrap();
        assert_eq!((agent.all, agent.open, agent.mine, agent.unassigned), (1, 1, 1, 0));
        assert_eq!(counts.get(team.id, team.admin.id).await.unwrap().mine, 0, "mine is each reader's own");
        assert_eq!(store.calls("status_counts"), 2);
    }
}
