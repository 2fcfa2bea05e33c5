//! Rules of contact lists and bulk changes: list names, a segment's filter, how many contacts
//! one bulk call may name.

use super::{MAX_CUSTOM_VALUE_CHARS, contact_text, plain_text, tags};
use crate::domain::{ContactField, SegmentFilter};
use crate::error::{DomainError, DomainResult};
use crate::ids::ContactId;

/// A list name: 1 to 100 characters of plain text, trimmed.
pub const MAX_LIST_NAME_CHARS: usize = 100;
/// Contacts one bulk call (or one members call by id) may name.
pub const MAX_BULK_IDS: usize = 1000;
/// A segment's search text.
pub const MAX_SEARCH_CHARS: usize = 200;

/// A list's name, trimmed.
pub fn list_name(name: &str) -> DomainResult<String> {
    plain_text("name", name)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_LIST_NAME_CHARS {
        return Err(DomainError::invalid("name", format!("must be 1 to {MAX_LIST_NAME_CHARS} characters")));
    }
    Ok(name.to_owned())
}

/// A segment's filter, normalized: tags as the contact rules have them, custom field keys of
/// the team's fields with text values, a trimmed search (empty means none).
pub fn segment_filter(filter: SegmentFilter, fields: &[ContactField]) -> DomainResult<SegmentFilter> {
    let named = |field: &'static str| {
        move |e| match e {
            DomainError::Invalid { message, .. } => DomainError::Invalid { field, message },
            other => other,
        }
    };
    let tags_any = tags(filter.tags_any).map_err(named("filter.tags_any"))?;
    let tags_all = tags(filter.tags_all).map_err(named("filter.tags_all"))?;
    let mut values = std::collections::BTreeMap::new();
    for (key, value) in filter.fields {
        if !fields.iter().any(|f| f.key == key) {
            return Err(DomainError::invalid("filter.fields", format!("{key:?} is not one of the team's contact fields")));
        }
        let value = contact_text("filter.fields", Some(&value), MAX_CUSTOM_VALUE_CHARS)?
            .ok_or_else(|| DomainError::invalid("filter.fields", format!("{key:?} needs a value")))?;
        values.insert(key, value);
    }
    let search = contact_text("filter.search", filter.search.as_deref(), MAX_SEARCH_CHARS)?;
    Ok(SegmentFilter { tags_any, tags_all, fields: values, opted_out: filter.opted_out, search })
}

/// The contacts of a bulk call: 1 to 1,000, each once.
pub fn bulk_ids(ids: Vec<ContactId>) -> DomainResult<Vec<ContactId>> {
    let mut ids = ids;
    ids.sort();
    ids.dedup();
    if ids.is_empty() || ids.len() > MAX_BULK_IDS {
        return Err(DomainError::invalid("ids", format!("name 1 to {MAX_BULK_IDS} contacts")));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(list_name("  VIPs ").unwrap(), "VIPs");
        assert!(list_name("   ").is_err());
        assert!(list_name(&"x".repeat(101)).is_err());
    }

    #[test]
    fn segment_filters_name_the_teams_fields() {
        let fields = vec![ContactField { key: "plan".into(), label: "Plan".into() }];
        let mut f = SegmentFilter { tags_any: vec![" vip ".into(), "".into()], ..Default::default() };
        f.fields.insert("plan".into(), " gold ".into());
        let f = segment_filter(f, &fields).unwrap();
        assert_eq!(f.tags_any, ["vip"]);
        assert_eq!(f.fields["plan"], "gold");
        let mut bad = SegmentFilter::default();
        bad.fields.insert("nope".into(), "x".into());
        assert!(segment_filter(bad, &fields).is_err());
    }

    #[test]
    fn bulk_ids_are_bounded() {
        assert!(bulk_ids(vec![]).is_err());
        let id = ContactId::new();
        assert_eq!(bulk_ids(vec![id, id]).unwrap().len(), 1);
        assert!(bulk_ids((0..1001).map(|_| ContactId::new()).collect()).is_err());
    }
}
