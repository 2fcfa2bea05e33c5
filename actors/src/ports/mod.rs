//! The traits the core needs from outside: the store (Postgres), the bus (Redis or in-process)
//! and the carrier (Twilio or the simulator). `src/` implements them; tests may too.
//!
//! The store is split by aggregate so each implementation file stays small. Every method is one
//! transaction, and every method that changes a thread returns the events it appended, so the
//! caller can fan out exactly what was committed.
//!
//! One file per concern: `accounts`, `assignment`, `contacts` (with lists and imports), `labels`, `replies`, `templates`, `threads`
//! (with the scheduler's claims), `search`, `notifications`, `channels` (with analytics), `bus`, `carrier`; here, the page
//! type and the store's composite traits each service is given.

pub use crate::audit::{Actor, Client, NewAuditEntry};

mod accounts;
mod assignment;
mod automation;
mod bus;
mod calls;
mod campaigns;
mod carrier;
mod channels;
mod contacts;
mod follow_ups;
mod labels;
mod notifications;
mod replies;
mod search;
mod templates;
mod threads;

pub use accounts::*;
pub use assignment::*;
pub use automation::*;
pub use bus::*;
pub use calls::*;
pub use campaigns::*;
pub use carrier::*;
pub use channels::*;
pub use contacts::*;
pub use follow_ups::*;
pub use labels::*;
pub use notifications::*;
pub use replies::*;
pub use search::*;
pub use templates::*;
pub use threads::*;

/// A page of a listing; `next_cursor` is opaque to clients.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// What the thread actors and the threads service use of the store.
pub trait ThreadStore:
    ThreadReads
    + ThreadWrites
    + ScheduleStore
    + AccountReads
    + ChannelReads
    + ChannelWrites
    + CallReads
    + CallWrites
    + ContactReads
    + FollowUpReads
    + FollowUpWrites
{
}
impl<
    T: ThreadReads
        + ThreadWrites
        + ScheduleStore
        + AccountReads
        + ChannelReads
        + ChannelWrites
        + CallReads
        + CallWrites
        + ContactReads
        + FollowUpReads
        + FollowUpWrites,
> ThreadStore for T
{
}

/// Every read the edge may make: the web crate holds only this, so it cannot write.
pub trait Reads:
    ThreadReads
    + ContactReads
    + ListReads
    + ImportReads
    + AccountReads
    + ChannelReads
    + AnalyticsStore
    + LabelReads
    + CallReads
    + FollowUpReads
    + SearchReads
    + AutomationReads
{
}
impl<
    T: ThreadReads
        + ContactReads
        + ListReads
        + ImportReads
        + AccountReads
        + ChannelReads
        + AnalyticsStore
        + LabelReads
        + CallReads
        + FollowUpReads
        + SearchReads
        + AutomationReads,
> Reads for T
{
}

/// What the labels service uses.
pub trait LabelStore: LabelReads + LabelWrites {}
impl<T: LabelReads + LabelWrites> LabelStore for T {}

/// What the channels service uses: the channels and their voice settings.
pub trait ChannelStore: ChannelWrites + CallReads + CallWrites {}
impl<T: ChannelWrites + CallReads + CallWrites> ChannelStore for T {}

/// What the contacts service uses.
pub trait ContactStore: ContactReads + ContactWrites {}
impl<T: ContactReads + ContactWrites> ContactStore for T {}

/// What the lists service uses.
pub trait ListStore: ContactReads + ListReads + ListWrites {}
impl<T: ContactReads + ListReads + ListWrites> ListStore for T {}

/// What the imports service uses.
pub trait ImportsStore: ContactReads + ImportReads + ImportStore {}
impl<T: ContactReads + ImportReads + ImportStore> ImportsStore for T {}

/// What the accounts service uses.
pub trait AccountStore: AccountReads + AccountWrites + AuditWrites + TwoFactorStore + PasswordStore + IdentityStore {}
impl<T: AccountReads + AccountWrites + AuditWrites + TwoFactorStore + PasswordStore + IdentityStore> AccountStore for T {}

/// What the replies service uses: the replies, and the thread and contact a template is
/// rendered for.
pub trait ReplyStore: ReplyReads + ReplyWrites + ThreadReads + ContactReads {}
impl<T: ReplyReads + ReplyWrites + ThreadReads + ContactReads> ReplyStore for T {}

/// The whole store.
pub trait Store:
    ThreadStore
    + Reads
    + ContactStore
    + ListStore
    + ImportsStore
    + AccountStore
    + ReplyStore
    + TemplateStore
    + AssignmentStore
    + AutomationStore
    + LabelStore
    + ChannelStore
    + NotificationStore
    + FollowUpReminders
{
}
impl<
    T: ThreadStore
        + Reads
        + ContactStore
        + ListStore
        + ImportsStore
        + AccountStore
        + ReplyStore
        + TemplateStore
        + AssignmentStore
        + AutomationStore
        + LabelStore
        + ChannelStore
        + NotificationStore
        + FollowUpReminders,
> Store for T
{
}
