//! Newtype ids, so a `ThreadId` can never be passed where a `TeamId` is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (v7) id: rows inserted together stay close in the index.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    )*};
}

id_type!(
    /// A team: the tenant every other row belongs to.
    TeamId,
    /// A person who signs in (admin or agent).
    UserId,
    /// Someone the team talks to over SMS or WhatsApp.
    ContactId,
    /// One conversation: one contact on one channel.
    ThreadId,
    /// An inbound or outbound message.
    MessageId,
    /// An internal note on a thread.
    NoteId,
    /// One of a team's Twilio numbers.
    ChannelId,
    /// An invitation to join a team.
    InviteId,
    /// An API token for programs.
    TokenId,
    /// A sign-in provider's identity (issuer and subject) linked to a user.
    IdentityId,
    /// A notification stored for one user.
    NotificationId,
    /// A canned reply (a saved answer with variables).
    ReplyId,
    /// An approved message template (WhatsApp or SMS, with its Twilio Content sid).
    TemplateId,
    /// A contact list: a static list or a saved segment.
    ListId,
    /// A CSV import of contacts.
    ImportId,
    /// A team's label for conversations (a name and a colour).
    LabelId,
    /// A follow-up task on a thread.
    FollowUpId,
    /// A campaign: one message to an audience.
    CampaignId,
    /// A team's automation rule (when an inbound message …, do …).
    RuleId,
);
