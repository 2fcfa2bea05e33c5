//! Rules of CSV imports: which contact field each column goes to (given, or guessed from the
//! header), how a row's cells become a contact as entered, and the import's limits.

use crate::contacts::ContactInput;
use crate::domain::ContactField;
use crate::error::{DomainError, DomainResult};
use std::collections::HashMap;

/// Files up to this many data rows are imported inside the request (200 with the summary);
/// larger ones run as a background job (202).
pub const SYNC_IMPORT_ROWS: u64 = 10_000;
/// Rows per upsert statement.
pub const IMPORT_BATCH_ROWS: usize = 500;
/// Error rows kept per import for the download (all are counted).
pub const MAX_KEPT_ERRORS: usize = 10_000;
/// The largest file an import takes.
pub const MAX_IMPORT_BYTES: usize = 50 * 1024 * 1024;
/// Rows the mapping step's preview shows.
pub const PREVIEW_ROWS: usize = 10;

/// Where a column's cells go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Name,
    FirstName,
    LastName,
    Phone,
    Email,
    /// Split on `,` `;` `|`; several columns may be tags.
    Tags,
    Company,
    Notes,
    Source,
    /// A truthy marker (yes, true, 1, x, opted out, stop, …) opts the contact out.
    OptedOut,
    OptOutReason,
    /// One of the team's custom fields, by key.
    Custom(String),
    Ignore,
}

const BUILT_IN: &[(&str, Target)] = &[
    ("name", Target::Name),
    ("first_name", Target::FirstName),
    ("last_name", Target::LastName),
    ("phone", Target::Phone),
    ("email", Target::Email),
    ("tags", Target::Tags),
    ("company", Target::Company),
    ("notes", Target::Notes),
    ("source", Target::Source),
    ("opted_out", Target::OptedOut),
    ("opt_out_reason", Target::OptOutReason),
    ("ignore", Target::Ignore),
];

/// Header spellings (lower case, without spaces, `_`, `-` or `.`) read as each built-in field.
const SYNONYMS: &[(&str, &[&str])] = &[
    ("name", &["name", "fullname", "contact", "contactname", "displayname"]),
    ("first_name", &["firstname", "first", "givenname", "forename"]),
    ("last_name", &["lastname", "last", "surname", "familyname"]),
    (
        "phone",
        &[
            "phone",
            "phonenumber",
            "mobile",
            "mobilenumber",
            "mobilephone",
            "cell",
            "cellphone",
            "cellnumber",
            "tel",
            "telephone",
            "number",
            "msisdn",
            "whatsapp",
        ],
    ),
    ("email", &["email", "emailaddress", "mail"]),
    ("tags", &["tags", "tag", "labels", "label", "groups"]),
    ("company", &["company", "organisation", "organization", "org", "business", "companyname"]),
    ("notes", &["notes", "note", "comments", "comment", "description"]),
    ("source", &["source", "leadsource"]),
    ("opted_out", &["optedout", "optout", "unsubscribed", "donotcontact", "dnc", "stop"]),
    ("opt_out_reason", &["optoutreason", "reason", "unsubscribereason"]),
];

impl Target {
    /// How the API spells it (`custom:KEY` for a custom field).
    pub fn spelled(&self) -> String {
        match self {
            Target::Custom(key) => format!("custom:{key}"),
            t => BUILT_IN.iter().find(|(_, b)| b == t).map(|(s, _)| (*s).to_owned()).unwrap_or_default(),
        }
    }

    /// A target as a client names it: a built-in field, `custom:KEY`, or a custom key.
    pub fn parse(name: &str, fields: &[ContactField]) -> Option<Target> {
        let name = name.trim();
        if let Some((_, t)) = BUILT_IN.iter().find(|(s, _)| *s == name) {
            return Some(t.clone());
        }
        let key = name.strip_prefix("custom:").unwrap_or(name);
        fields.iter().any(|f| f.key == key).then(|| Target::Custom(key.to_owned()))
    }

    /// Every target a column may have, for the mapping step.
    pub fn all(fields: &[ContactField]) -> Vec<String> {
        let mut all: Vec<String> = BUILT_IN.iter().map(|(s, _)| (*s).to_owned()).collect();
        all.extend(fields.iter().map(|f| format!("custom:{}", f.key)));
        all
    }
}

fn squashed(s: &str) -> String {
    s.trim().trim_start_matches('\u{feff}').chars().filter(|c| !matches!(c, ' ' | '_' | '-' | '.')).flat_map(char::to_lowercase).collect()
}

/// The target a header suggests: a built-in field's synonym, else a custom field whose key or
/// label it is (case, space and underscore aside), else nothing (`ignore`).
pub fn guess(header: &str, fields: &[ContactField]) -> Target {
    // A header spelled as a target (`first_name`, `custom:plan`: our own export's) is that target.
    if let Some(t) = Target::parse(header.trim_start_matches('\u{feff}'), fields).filter(|t| *t != Target::Ignore) {
        return t;
    }
    let h = squashed(header);
    if let Some((name, _)) = SYNONYMS.iter().find(|(_, words)| words.contains(&h.as_str())) {
        return Target::parse(name, fields).unwrap_or(Target::Ignore);
    }
    fields
        .iter()
        .find(|f| squashed(&f.key) == h || squashed(&f.label) == h)
        .map(|f| Target::Custom(f.key.clone()))
        .unwrap_or(Target::Ignore)
}

/// Each column's target: as `given` says (header → target), the others guessed. Refused: a
/// given header the file does not have, an unknown target, two columns for one field (tags
/// aside), no phone column.
pub fn mapping(headers: &[String], given: Option<&HashMap<String, String>>, fields: &[ContactField]) -> DomainResult<Vec<Target>> {
    if let Some(missing) = given.and_then(|g| g.keys().find(|k| !headers.contains(k))) {
        return Err(DomainError::invalid("mapping", format!("the file has no column {missing:?}")));
    }
    let mut targets = Vec::with_capacity(headers.len());
    for h in headers {
        let t = match given.and_then(|g| g.get(h)) {
            Some(name) => Target::parse(name, fields)
                .ok_or_else(|| DomainError::invalid("mapping", format!("{name:?} (for {h:?}) is not a contact field")))?,
            None => guess(h, fields),
        };
        if !matches!(t, Target::Ignore | Target::Tags) && targets.contains(&t) {
            // A guess never takes a field twice; a given mapping may not.
            if given.is_some_and(|g| g.contains_key(h)) {
                return Err(DomainError::invalid("mapping", format!("two columns go to {}", t.spelled())));
            }
            targets.push(Target::Ignore);
            continue;
        }
        targets.push(t);
    }
    if !targets.contains(&Target::Phone) {
        return Err(DomainError::invalid("mapping", "no column is mapped to phone"));
    }
    Ok(targets)
}

/// Whether an opt-out cell says "opted out".
pub fn truthy(cell: &str) -> bool {
    let c = cell.trim().to_lowercase();
    matches!(c.as_str(), "yes" | "y" | "true" | "t" | "1" | "x" | "opted out" | "opted-out" | "optedout" | "stop" | "unsubscribed")
}

/// A tags cell: split on `,` `;` `|`.
pub fn split_tags(cell: &str) -> impl Iterator<Item = String> + '_ {
    cell.split([',', ';', '|']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

/// A cell as written before a spreadsheet-safe export put an apostrophe in front of it (the
/// export's formula guard: a leading `=`, `+`, `-`, `@`, their full-width twins, or a control
/// character, after any whitespace); other cells as they are.
pub fn undefused(cell: &str) -> &str {
    let Some(rest) = cell.strip_prefix('\'') else { return cell };
    let first = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}').chars().next();
    let guarded = matches!(first, Some('=' | '+' | '-' | '@' | '\u{ff1d}' | '\u{ff0b}' | '\u{ff0d}' | '\u{ff20}'))
        || rest.starts_with(['\t', '\r', '\n']);
    if guarded { rest } else { cell }
}

/// A row's cells as a contact as entered (the contacts rules check it next). Missing cells of a
/// short row are empty; `source` is "import" unless a column says otherwise.
pub fn row_input(targets: &[Target], cells: &[String]) -> ContactInput {
    let mut input = ContactInput::default();
    let text = |v: &str| Some(v.to_owned()).filter(|v| !v.trim().is_empty());
    for (t, cell) in targets.iter().zip(cells) {
        let cell = &undefused(cell).to_owned();
        match t {
            Target::Name => input.name = cell.clone(),
            Target::FirstName => input.first_name = text(cell),
            Target::LastName => input.last_name = text(cell),
            Target::Phone => input.phone = cell.clone(),
            Target::Email => input.email = text(cell),
            Target::Tags => input.tags.extend(split_tags(cell)),
            Target::Company => input.company = text(cell),
            Target::Notes => input.notes = text(cell),
            Target::Source => input.source = text(cell),
            Target::OptedOut => input.opted_out = truthy(cell),
            Target::OptOutReason => input.opt_out_reason = text(cell),
            Target::Custom(key) => {
                if !cell.trim().is_empty() {
                    input.custom_fields.insert(key.clone(), serde_json::Value::String(cell.clone()));
                }
            }
            Target::Ignore => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    input.tags.retain(|t| seen.insert(t.clone()));
    if input.source.is_none() {
        input.source = Some("import".into());
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<ContactField> {
        vec![ContactField { key: "plan".into(), label: "Plan tier".into() }]
    }

    #[test]
    fn headers_are_guessed_case_and_space_aside() {
        let f = fields();
        for (h, t) in [
            ("Mobile", Target::Phone),
            ("Phone number", Target::Phone),
            ("CELL", Target::Phone),
            ("First", Target::FirstName),
            ("Given name", Target::FirstName),
            ("Surname", Target::LastName),
            ("E-mail", Target::Email),
            ("Labels", Target::Tags),
            ("Organisation", Target::Company),
            ("plan", Target::Custom("plan".into())),
            ("Plan_Tier", Target::Custom("plan".into())),
            ("\u{feff}Name", Target::Name),
            ("Favourite colour", Target::Ignore),
        ] {
            assert_eq!(guess(h, &f), t, "{h}");
        }
    }

    #[test]
    fn mapping_checks_what_it_is_given() {
        let f = fields();
        let headers: Vec<String> = ["Mobile", "Who", "Cell"].map(String::from).to_vec();
        // Guessed: the second phone column is ignored.
        assert_eq!(mapping(&headers, None, &f).unwrap(), [Target::Phone, Target::Ignore, Target::Ignore]);
        let given: HashMap<String, String> = [("Who".to_owned(), "name".to_owned())].into();
        assert_eq!(mapping(&headers, Some(&given), &f).unwrap()[1], Target::Name);
        let bad: HashMap<String, String> = [("Nope".to_owned(), "name".to_owned())].into();
        assert!(mapping(&headers, Some(&bad), &f).is_err());
        let twice: HashMap<String, String> = [("Mobile".to_owned(), "phone".to_owned()), ("Cell".to_owned(), "phone".to_owned())].into();
        assert!(mapping(&headers, Some(&twice), &f).is_err());
        assert!(mapping(&["Who".to_owned()], None, &f).is_err(), "no phone");
    }

    #[test]
    fn rows_become_inputs() {
        let t = [Target::Phone, Target::Tags, Target::OptedOut, Target::Custom("plan".into())];
        let cells = ["+14155550100", "a, b;c|a", "Opted Out", "gold"].map(String::from);
        let input = row_input(&t, &cells);
        assert_eq!(input.tags, ["a", "b", "c"]);
        assert!(input.opted_out);
        assert_eq!(input.custom_fields["plan"], "gold");
        assert_eq!(input.source.as_deref(), Some("import"));
        assert!(!truthy("no"));
        assert!(truthy(" X "));
        assert_eq!(undefused("'+14155550100"), "+14155550100");
        assert_eq!(undefused("'=1+1"), "=1+1");
        assert_eq!(undefused("'tis"), "'tis");
        assert_eq!(guess("custom:plan", &fields()), Target::Custom("plan".into()));
        assert_eq!(guess("opted_out", &fields()), Target::OptedOut);
    }
}
