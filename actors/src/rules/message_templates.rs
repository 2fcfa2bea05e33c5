//! Approved message templates (issue 14 part 5): their types and rules, written once. A template
//! is a team's text registered with Twilio's Content API (a `ContentSid`, `HX` + 32 hex digits)
//! or entered by hand; its body is Twilio's text with Twilio's placeholders (`{{1}}`,
//! `{{order_id}}`), rendered for the thread by the one engine (`templates::ContentBody`). Each
//! variable may carry an example (Twilio's sample) and a default: a template of the engine
//! (`{{contact.first_name}}`) filled in for the conversation when the sender gives no value.
//! Admins manage templates (they are the team's voice, approved by WhatsApp); everyone uses them.

use crate::domain::{ChannelKind, Role, User};
use crate::error::{DomainError, DomainResult};
use crate::ids::*;
use crate::templates::{ContentBody, Rendered, Template, TemplateContext};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The longest name.
pub const MAX_NAME_CHARS: usize = 100;
/// Twilio's limits: at most 100 variables, keys of at most 16 characters.
pub const MAX_VARIABLES: usize = 100;
pub const MAX_KEY_CHARS: usize = 16;
/// A variable's value: at most one message.
pub const MAX_VALUE_CHARS: usize = super::MAX_BODY_CHARS;

/// One variable of a template.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TemplateVariable {
    /// Twilio's key: `1`, `2`, … or a name (`order_id`).
    pub key: String,
    /// A sample value (Twilio's, when synced), shown in the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// A template of the engine (`{{contact.first_name}}`) filled in for the conversation when
    /// the sender gives no value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// A team's approved template.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MessageTemplate {
    pub id: TemplateId,
    pub team_id: TeamId,
    pub name: String,
    pub channel_kind: ChannelKind,
    /// The Content API's sid; `None` for a template entered by hand without one (then it is
    /// sent as its rendered text, which WhatsApp accepts only inside the window).
    pub content_sid: Option<String>,
    pub body: String,
    pub variables: Vec<TemplateVariable>,
    pub created_by: Option<UserId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A template as the rules checked it, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateFields {
    pub name: String,
    pub channel_kind: ChannelKind,
    pub content_sid: Option<String>,
    pub body: String,
    pub variables: Vec<TemplateVariable>,
}

pub use crate::domain::ContentRef;

/// A name: 1 to 100 characters, trimmed.
pub fn name(text: &str) -> DomainResult<String> {
    super::label("name", text, MAX_NAME_CHARS)
}

/// A Content sid: `HX` and 32 hex digits (blank: none).
pub fn content_sid(text: Option<&str>) -> DomainResult<Option<String>> {
    let Some(sid) = text.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    let ok = sid.len() == 34 && sid.starts_with("HX") && sid[2..].chars().all(|c| c.is_ascii_hexdigit());
    if !ok {
        return Err(DomainError::invalid("content_sid", "must be a Twilio Content sid: HX and 32 hex digits"));
    }
    Ok(Some(sid.to_owned()))
}

/// A variable key as Twilio allows it: 1 to 16 letters, digits or `_`.
pub fn key(text: &str) -> DomainResult<String> {
    let k = text.trim();
    let ok = (1..=MAX_KEY_CHARS).contains(&k.chars().count()) && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(DomainError::invalid(
            "variables",
            format!("a key is 1 to {MAX_KEY_CHARS} letters, digits or _ (such as 1 or order_id), not “{k}”"),
        ));
    }
    Ok(k.to_owned())
}

/// Checks a whole template: name, kind, sid, a body that parses, and its variables (unique
/// keys, defaults that are templates of the engine). Every placeholder of the body gets a
/// variable (added in order when the list left it out); a variable the body does not show is
/// kept (a Content template may use it in a button or a title, and Twilio still wants it).
pub fn fields(
    name_text: &str,
    channel_kind: ChannelKind,
    sid: Option<&str>,
    body_text: &str,
    variables: Vec<TemplateVariable>,
) -> DomainResult<TemplateFields> {
    let name = name(name_text)?;
    let content_sid = content_sid(sid)?;
    super::plain_text("body", body_text)?;
    if body_text.trim().is_empty() {
        return Err(DomainError::invalid("body", "a template needs a body"));
    }
    if body_text.chars().count() > super::MAX_BODY_CHARS {
        return Err(DomainError::invalid("body", format!("must be at most {} characters (one message)", super::MAX_BODY_CHARS)));
    }
    let body = ContentBody::parse(body_text).map_err(|e| e.invalid("body"))?;
    if variables.len() > MAX_VARIABLES {
        return Err(DomainError::invalid("variables", format!("at most {MAX_VARIABLES} variables")));
    }
    let mut checked: Vec<TemplateVariable> = Vec::with_capacity(variables.len());
    for v in variables {
        let key = key(&v.key)?;
        if checked.iter().any(|c| c.key == key) {
            return Err(DomainError::invalid("variables", format!("the key “{key}” appears twice")));
        }
        let example = optional_value(v.example)?;
        let default = optional_value(v.default)?;
        if let Some(d) = &default {
            Template::parse(d).map_err(|e| DomainError::invalid("variables", format!("the default of {key}: {e}")))?;
        }
        checked.push(TemplateVariable { key, example, default });
    }
    for k in body.keys() {
        if !checked.iter().any(|c| &c.key == k) {
            checked.push(TemplateVariable { key: k.clone(), example: None, default: None });
        }
    }
    Ok(TemplateFields { name, channel_kind, content_sid, body: body_text.to_owned(), variables: checked })
}

fn optional_value(v: Option<String>) -> DomainResult<Option<String>> {
    let Some(v) = v.filter(|v| !v.trim().is_empty()) else { return Ok(None) };
    super::plain_text("variables", &v)?;
    if v.chars().count() > MAX_VALUE_CHARS {
        return Err(DomainError::invalid("variables", format!("a value has at most {MAX_VALUE_CHARS} characters")));
    }
    Ok(Some(v))
}

/// The values a sender gave, checked: known keys only, plain text, one message at most each.
pub fn values(template: &MessageTemplate, given: BTreeMap<String, String>) -> DomainResult<BTreeMap<String, String>> {
    for (k, v) in &given {
        if !template.variables.iter().any(|t| &t.key == k) {
            return Err(DomainError::invalid("variables", format!("the template has no variable “{k}”")));
        }
        super::plain_text("variables", v)?;
        if v.chars().count() > MAX_VALUE_CHARS {
            return Err(DomainError::invalid("variables", format!("a value has at most {MAX_VALUE_CHARS} characters")));
        }
    }
    Ok(given)
}

/// The values a template is sent with to one contact, and its text rendered with them: the
/// values given (the sender's, or a campaign's fixed ones; blank ones dropped), then each other
/// variable's default rendered for the contact by the one engine (a default that misses a value
/// of its own gives none). `context` is asked for only when a default is needed. Missing values
/// are listed in the `Rendered`, not refused: the caller decides (a send is 422, a campaign
/// recipient is skipped).
pub fn values_for<C: std::borrow::Borrow<TemplateContext>>(
    template: &MessageTemplate,
    given: BTreeMap<String, String>,
    context: impl FnOnce() -> DomainResult<C>,
) -> DomainResult<(BTreeMap<String, String>, Rendered)> {
    let mut values = values(template, given)?;
    values.retain(|_, v| !v.trim().is_empty());
    let defaults: Vec<(&String, &String)> = template
        .variables
        .iter()
        .filter(|v| !values.contains_key(&v.key))
        .filter_map(|v| v.default.as_ref().map(|d| (&v.key, d)))
        .collect();
    if !defaults.is_empty() {
        let context = context()?;
        for (key, default) in defaults {
            let rendered = Template::parse(default).map_err(|e| e.invalid("variables"))?.render(context.borrow())?;
            if rendered.missing.is_empty() {
                values.insert(key.clone(), rendered.text);
            }
        }
    }
    let rendered = ContentBody::parse(&template.body).map_err(|e| e.invalid("body"))?.render(&values)?;
    Ok((values, rendered))
}

/// Whether a template of `kind` may go to a conversation on `thread_kind`.
pub fn fits(template: &MessageTemplate, thread_kind: ChannelKind) -> DomainResult<()> {
    if template.channel_kind != thread_kind {
        return Err(DomainError::invalid(
            "template_id",
            format!("this is a {} template; the conversation is on {}", template.channel_kind, thread_kind),
        ));
    }
    Ok(())
}

/// Only admins create, change, sync and delete the team's templates.
pub fn may_manage(by: &User) -> DomainResult<()> {
    if by.role != Role::Admin {
        return Err(DomainError::Forbidden("only admins may manage the team’s templates"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(key: &str) -> TemplateVariable {
        TemplateVariable { key: key.into(), example: None, default: None }
    }

    #[test]
    fn sids_are_hx_and_32_hex_digits() {
        let sid = format!("HX{}", "a1".repeat(16));
        assert_eq!(content_sid(Some(&sid)).unwrap(), Some(sid));
        assert_eq!(content_sid(Some("  ")).unwrap(), None);
        for bad in ["HX123", "MX0123456789abcdef0123456789abcdef", &format!("HX{}", "g".repeat(32))] {
            assert!(content_sid(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_placeholder_gets_a_variable_and_unknown_ones_are_refused() {
        let f = fields("Order ready", ChannelKind::Whatsapp, None, "Hi {{1}}, order {{2}} is ready", vec![var("2")]).unwrap();
        let keys: Vec<&str> = f.variables.iter().map(|v| v.key.as_str()).collect();
        assert_eq!(keys, ["2", "1"]);
        assert_eq!(fields("x", ChannelKind::Whatsapp, None, "Hi {{1}}", vec![var("url")]).unwrap().variables, [var("url"), var("1")]);
        assert!(fields("x", ChannelKind::Whatsapp, None, "Hi {{1}}", vec![var("1"), var("1")]).is_err());
        assert!(fields("x", ChannelKind::Whatsapp, None, "Hi {{ two words }}", vec![]).is_err());
        assert!(fields("x", ChannelKind::Whatsapp, None, "  ", vec![]).is_err());
        let bad_default = TemplateVariable { key: "1".into(), example: None, default: Some("{{nobody.name}}".into()) };
        assert!(fields("x", ChannelKind::Whatsapp, None, "Hi {{1}}", vec![bad_default]).is_err());
    }

    #[test]
    fn content_variables_are_a_json_object_of_strings() {
        let c = ContentRef { sid: "HX".into(), variables: BTreeMap::from([("1".into(), "Ada".into()), ("2".into(), "#12".into())]) };
        assert_eq!(c.variables_json().unwrap(), r##"{"1":"Ada","2":"#12"}"##);
        assert_eq!(ContentRef { sid: "HX".into(), variables: BTreeMap::new() }.variables_json(), None);
    }
}
