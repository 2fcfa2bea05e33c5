//! Contact lists (static and segments) and contact imports: their kinds, filters, conflict
//! choices, job states and row errors.

use super::*;

/// A contact list's kind: members added by hand (`static`) or a saved filter (`segment`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    Static,
    Segment,
}

impl ListKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Static => "static",
            ListKind::Segment => "segment",
        }
    }
}

impl FromStr for ListKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "static" => Ok(ListKind::Static),
            "segment" => Ok(ListKind::Segment),
            _ => Err(()),
        }
    }
}

/// A segment's saved filter, evaluated whenever the segment is read: every condition given must
/// hold (a contact is in the segment when it carries any of `tags_any`, all of `tags_all`, has
/// each custom field equal to the value in `fields`, the given opt-out state, and matches
/// `search` in its name, phone, email or company). Checked by `rules::lists::segment_filter`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentFilter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_any: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags_all: Vec<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fields: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opted_out: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
}

impl SegmentFilter {
    /// Whether a contact is in the segment (the in-memory twin of the store's SQL).
    pub fn matches(&self, c: &Contact) -> bool {
        let ci = |hay: &str, needle: &str| hay.to_lowercase().contains(&needle.to_lowercase());
        (self.tags_any.is_empty() || self.tags_any.iter().any(|t| c.tags.contains(t)))
            && self.tags_all.iter().all(|t| c.tags.contains(t))
            && self.fields.iter().all(|(k, v)| c.custom_fields.get(k).and_then(|x| x.as_str()) == Some(v.as_str()))
            && self.opted_out.is_none_or(|o| o == c.opted_out_at.is_some())
            && self.search.as_deref().is_none_or(|q| {
                ci(&c.name, q)
                    || c.phone.contains(q)
                    || c.email.as_deref().is_some_and(|e| ci(e, q))
                    || c.company.as_deref().is_some_and(|e| ci(e, q))
            })
    }
}

/// A contact list of a team, with how many live contacts are in it now.
#[derive(Clone, Debug, Serialize)]
pub struct ContactList {
    pub id: ListId,
    pub team_id: TeamId,
    pub name: String,
    pub kind: ListKind,
    /// A segment's filter (`None` for a static list).
    pub filter: Option<SegmentFilter>,
    pub member_count: i64,
    pub created_by: Option<UserId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What an import does with a row whose phone is already a contact of the team.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    /// Leave the contact as it is (an opt-out marker still applies, a deleted contact is
    /// restored).
    #[default]
    Skip,
    /// Fill only the contact's empty fields.
    Fill,
    /// Non-empty cells replace the stored values (empty cells never clear anything).
    Overwrite,
}

impl OnConflict {
    pub fn as_str(self) -> &'static str {
        match self {
            OnConflict::Skip => "skip",
            OnConflict::Fill => "fill",
            OnConflict::Overwrite => "overwrite",
        }
    }
}

impl FromStr for OnConflict {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "skip" => Ok(OnConflict::Skip),
            "fill" => Ok(OnConflict::Fill),
            "overwrite" => Ok(OnConflict::Overwrite),
            _ => Err(()),
        }
    }
}

/// Where an import is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    Running,
    Done,
    Canceled,
    Failed,
}

impl ImportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportState::Running => "running",
            ImportState::Done => "done",
            ImportState::Canceled => "canceled",
            ImportState::Failed => "failed",
        }
    }
}

impl FromStr for ImportState {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "running" => Ok(ImportState::Running),
            "done" => Ok(ImportState::Done),
            "canceled" => Ok(ImportState::Canceled),
            "failed" => Ok(ImportState::Failed),
            _ => Err(()),
        }
    }
}

/// An import's progress and, once it ended, its summary.
#[derive(Clone, Debug, Serialize)]
pub struct ImportJob {
    pub job_id: ImportId,
    #[serde(skip)]
    pub team_id: TeamId,
    pub user_id: Option<UserId>,
    pub state: ImportState,
    pub on_conflict: OnConflict,
    /// Data rows in the file.
    pub total: Option<i64>,
    pub processed: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub errors_count: i64,
    /// The file's header row (the error rows download has the same columns).
    #[serde(skip)]
    pub headers: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

/// A row an import could not store, and why.
#[derive(Clone, Debug, Serialize)]
pub struct ImportRowError {
    /// The data row, 1-based (the header row is row 0).
    pub row: i64,
    pub field: String,
    pub message: String,
    /// The row's cells as read (for the error rows download).
    #[serde(skip)]
    pub cells: Vec<String>,
}
