//! What one recipient of a campaign gets, rendered once for the preview and the runner alike:
//! a body (free-form, or a canned reply's copied at the start) rendered by the one engine, or an
//! approved template whose values are the campaign's fixed ones, then each variable's default
//! rendered for the contact (`rules::message_templates::values_for`, the rule a send from a
//! thread uses). A value still missing is listed: the preview shows it, the runner skips the
//! recipient (`missing_variables`), nothing is ever sent with a raw placeholder.

use crate::domain::{ChannelKind, Contact, Team, User};
use crate::error::{DomainError, DomainResult};
use crate::rules::message_templates::{self as template_rules, ContentRef, MessageTemplate};
use crate::templates::{Template, TemplateContext};
use std::collections::BTreeMap;

/// A campaign's content, ready to render per contact.
pub enum Content {
    Body(Template),
    Approved { template: MessageTemplate, fixed: BTreeMap<String, String> },
}

/// One recipient's message.
pub struct RecipientMessage {
    /// What the thread shows.
    pub text: String,
    /// Variables without a value (the recipient is skipped).
    pub missing: Vec<String>,
    /// ContentSid + ContentVariables for the carrier (an approved template with a sid).
    pub content: Option<ContentRef>,
}

impl Content {
    /// A body of the engine.
    pub fn body(body: &str) -> DomainResult<Content> {
        Ok(Content::Body(Template::parse(body).map_err(|e| e.invalid("body"))?))
    }

    /// An approved template for a campaign on a `kind` number, with the campaign's fixed values
    /// (checked: keys of the template, plain text).
    pub fn approved(template: MessageTemplate, fixed: BTreeMap<String, String>, kind: ChannelKind) -> DomainResult<Content> {
        fits(&template, kind)?;
        let fixed = template_rules::values(&template, fixed).map_err(|e| rename(e, "content_variables"))?;
        Ok(Content::Approved { template, fixed })
    }

    /// Whether the carrier gets a ContentSid (so WhatsApp's 24-hour window does not apply).
    pub fn is_approved_with_sid(&self) -> bool {
        matches!(self, Content::Approved { template, .. } if template.content_sid.is_some())
    }

    /// The message for `contact`, sent by `sender` of `team`.
    pub fn render(&self, contact: &Contact, sender: &User, team: &Team) -> DomainResult<RecipientMessage> {
        match self {
            Content::Body(template) => {
                let r = template.render(&TemplateContext::for_message(contact, sender, team))?;
                Ok(RecipientMessage { text: r.text, missing: r.missing, content: None })
            }
            Content::Approved { template, fixed } => {
                let (values, r) =
                    template_rules::values_for(template, fixed.clone(), || Ok(TemplateContext::for_message(contact, sender, team)))?;
                let content = template.content_sid.clone().map(|sid| ContentRef { sid, variables: values });
                Ok(RecipientMessage { text: r.text, missing: r.missing, content })
            }
        }
    }
}

/// An approved template fits a campaign's number only when it is of the number's kind (422
/// `content_template_id`).
pub fn fits(template: &MessageTemplate, kind: ChannelKind) -> DomainResult<()> {
    template_rules::fits(template, kind).map_err(|_| {
        DomainError::invalid(
            "content_template_id",
            format!("this is a {} template; the campaign's number is {kind}", template.channel_kind),
        )
    })
}

fn rename(e: DomainError, field: &'static str) -> DomainError {
    match e {
        DomainError::Invalid { message, .. } => DomainError::invalid(field, message),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use crate::ids::*;
    use crate::rules::message_templates::TemplateVariable;
    use time::macros::datetime;

    fn template(kind: ChannelKind, sid: Option<&str>) -> MessageTemplate {
        let var = |key: &str, default: Option<&str>| TemplateVariable { key: key.into(), example: None, default: default.map(Into::into) };
        MessageTemplate {
            id: TemplateId::new(),
            team_id: TeamId::new(),
            name: "renewal".into(),
            channel_kind: kind,
            content_sid: sid.map(Into::into),
            body: "Hi {{1}}, code {{2}} until {{3}}".into(),
            variables: vec![var("1", Some("{{contact.first_name}}")), var("2", None), var("3", Some("{{contact.renewal}}"))],
            created_by: None,
            created_at: datetime!(2026-01-01 0:00 UTC),
            updated_at: datetime!(2026-01-01 0:00 UTC),
        }
    }

    #[test]
    fn an_approved_template_takes_fixed_values_then_defaults_per_contact_and_lists_what_is_missing() {
        let team = Team { id: TeamId::new(), name: "Acme".into(), simulator_mode: true, default_country: None };
        let sender = User { id: UserId::new(), team_id: team.id, email: "grace@acme.test".into(), name: "Grace".into(), role: Role::Admin };
        let fixed = BTreeMap::from([("2".to_owned(), "SPRING".to_owned())]);
        let content = Content::approved(template(ChannelKind::Whatsapp, Some("HX1")), fixed, ChannelKind::Whatsapp).unwrap();
        assert!(content.is_approved_with_sid());
        let mut ada =
            Contact::new(ContactId::new(), team.id, "Ada Lovelace".into(), "+447911123456".into(), datetime!(2026-01-01 0:00 UTC));
        ada.custom_fields.insert("renewal".into(), serde_json::json!("May 1"));
        let m = content.render(&ada, &sender, &team).unwrap();
        assert_eq!(m.text, "Hi Ada, code SPRING until May 1");
        assert!(m.missing.is_empty());
        let sent = m.content.unwrap();
        assert_eq!((sent.sid.as_str(), sent.variables.get("1").map(String::as_str)), ("HX1", Some("Ada")));
        // No renewal date: listed as missing, never filled with a placeholder.
        let bob = Contact::new(ContactId::new(), team.id, "Bob".into(), "+447911123457".into(), datetime!(2026-01-01 0:00 UTC));
        assert_eq!(content.render(&bob, &sender, &team).unwrap().missing, ["3"]);
        // A template of another kind, or a value for a key it does not have, is refused.
        let other = Content::approved(template(ChannelKind::Sms, None), BTreeMap::new(), ChannelKind::Whatsapp);
        assert!(matches!(other, Err(DomainError::Invalid { field: "content_template_id", .. })));
        let unknown = BTreeMap::from([("9".to_owned(), "x".to_owned())]);
        let bad = Content::approved(template(ChannelKind::Sms, None), unknown, ChannelKind::Sms);
        assert!(matches!(bad, Err(DomainError::Invalid { field: "content_variables", .. })));
    }
}
