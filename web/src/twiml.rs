//! TwiML for the voice webhooks, written with quick-xml (text and attributes escaped by the
//! writer). Only the verbs and attributes Switchboard uses, spelled as Twilio documents them:
//! `<Say>`, `<Dial timeout action>` with the number as its text, `<Record action maxLength
//! playBeep finishOnKey>` and `<Hangup/>`.

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::{Reader, Writer};

/// One verb of a voice answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verb {
    /// Text read to the caller.
    Say(String),
    /// Forward the call to `number`, ringing `timeout` seconds; Twilio then requests `action`
    /// with `DialCallStatus`.
    Dial { number: String, timeout: i32, action: String },
    /// Take a voicemail; Twilio requests `action` with `RecordingUrl` and `RecordingDuration`.
    Record { action: String, max_length: i32 },
    /// End the call.
    Hangup,
}

/// A `<Response>` document of `verbs`.
pub fn response(verbs: &[Verb]) -> String {
    let mut w = Writer::new(Vec::new());
    let written: std::io::Result<()> = (|| {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        if verbs.is_empty() {
            w.create_element("Response").write_empty()?;
            return Ok(());
        }
        w.create_element("Response").write_inner_content(|w| {
            for verb in verbs {
                match verb {
                    Verb::Say(text) => {
                        w.create_element("Say").write_text_content(BytesText::new(text))?;
                    }
                    Verb::Dial { number, timeout, action } => {
                        w.create_element("Dial")
                            .with_attribute(("timeout", timeout.to_string().as_str()))
                            .with_attribute(("action", action.as_str()))
                            .with_attribute(("method", "POST"))
                            .write_text_content(BytesText::new(number))?;
                    }
                    Verb::Record { action, max_length } => {
                        w.create_element("Record")
                            .with_attribute(("action", action.as_str()))
                            .with_attribute(("method", "POST"))
                            .with_attribute(("maxLength", max_length.to_string().as_str()))
                            .with_attribute(("playBeep", "true"))
                            .with_attribute(("finishOnKey", "#"))
                            .write_empty()?;
                    }
                    Verb::Hangup => {
                        w.create_element("Hangup").write_empty()?;
                    }
                }
            }
            Ok(())
        })?;
        Ok(())
    })();
    written.expect("writing XML to a Vec cannot fail");
    String::from_utf8(w.into_inner()).expect("quick-xml writes UTF-8")
}

// Reading TwiML back: the simulator follows our own answers with it (as Twilio would), and the
// tests check them against Twilio's documented verbs and attributes.

/// An element as parsed back: name, attributes, text.
#[derive(Debug, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
}

impl Element {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Parses a TwiML answer strictly (well-formed, end names checked, `<Response>` root): the
/// root's children in order, each with its text.
pub fn parse(xml: &str) -> Result<Vec<Element>, String> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut out: Vec<Element> = Vec::new();
    let mut depth = 0usize;
    let mut saw_root = false;
    loop {
        let event = reader.read_event().map_err(|e| format!("not well-formed XML: {e}"))?;
        match event {
            Event::Decl(_) => {}
            Event::Start(e) if depth == 0 && !saw_root => {
                root(&e)?;
                saw_root = true;
                depth = 1;
            }
            Event::Empty(e) if depth == 0 && !saw_root => {
                root(&e)?;
                saw_root = true;
            }
            Event::Start(e) => {
                out.push(element(&e)?);
                depth += 1;
            }
            Event::Empty(e) => out.push(element(&e)?),
            Event::Text(t) => {
                let text = t.decode().map_err(|e| e.to_string())?;
                match out.last_mut() {
                    Some(last) if depth > 1 => last.text.push_str(&text),
                    _ if text.trim().is_empty() => {}
                    _ => return Err("text outside a verb".into()),
                }
            }
            Event::GeneralRef(r) => {
                let ch = match r.as_ref() {
                    b"amp" => "&",
                    b"lt" => "<",
                    b"gt" => ">",
                    b"quot" => "\"",
                    b"apos" => "'",
                    _ => return Err("unknown entity".into()),
                };
                out.last_mut().ok_or("entity outside a verb")?.text.push_str(ch);
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => break,
            _ => return Err("unexpected XML content".into()),
        }
    }
    if !saw_root {
        return Err("no <Response>".into());
    }
    Ok(out)
}

fn root(e: &quick_xml::events::BytesStart) -> Result<(), String> {
    if e.name().as_ref() == b"Response" { Ok(()) } else { Err("the root is not <Response>".into()) }
}

fn element(e: &quick_xml::events::BytesStart) -> Result<Element, String> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let key = String::from_utf8(a.key.as_ref().to_vec()).map_err(|e| e.to_string())?;
        let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| e.to_string())?.into_owned();
        attrs.push((key, value));
    }
    let name = String::from_utf8(e.name().as_ref().to_vec()).map_err(|e| e.to_string())?;
    Ok(Element { name, attrs, text: String::new() })
}

/// Twilio's documented attributes of each verb we write (TwiML reference: Say, Dial,
/// Record, Hangup); none for anything else.
pub fn documented(verb: &str) -> &'static [&'static str] {
    match verb {
        "Say" => &["voice", "language", "loop"],
        "Dial" => &[
            "action",
            "method",
            "timeout",
            "callerId",
            "hangupOnStar",
            "timeLimit",
            "record",
            "trim",
            "recordingStatusCallback",
            "answerOnBridge",
            "ringTone",
        ],
        "Record" => &[
            "action",
            "method",
            "timeout",
            "finishOnKey",
            "maxLength",
            "playBeep",
            "trim",
            "recordingStatusCallback",
            "transcribe",
            "transcribeCallback",
        ],
        "Hangup" => &[],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_and_use_documented_attributes_only() {
        let xml = response(&[
            Verb::Say("Thanks for calling <Acme & Sons>".into()),
            Verb::Dial { number: "+14155550100".into(), timeout: 20, action: "/webhooks/twilio/voice/dial".into() },
            Verb::Record { action: "/webhooks/twilio/voice/recording".into(), max_length: 120 },
            Verb::Hangup,
        ]);
        assert!(xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#), "{xml}");
        let verbs = parse(&xml).unwrap();
        assert_eq!(verbs.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["Say", "Dial", "Record", "Hangup"]);
        assert_eq!(verbs[0].text, "Thanks for calling <Acme & Sons>");
        assert_eq!(verbs[1].text, "+14155550100");
        for v in &verbs {
            for (name, _) in &v.attrs {
                assert!(documented(&v.name).contains(&name.as_str()), "<{}> has no attribute {name}", v.name);
            }
        }
        let dial: std::collections::HashMap<_, _> = verbs[1].attrs.iter().cloned().collect();
        assert_eq!(dial["timeout"], "20");
        assert_eq!(dial["action"], "/webhooks/twilio/voice/dial");
        let record: std::collections::HashMap<_, _> = verbs[2].attrs.iter().cloned().collect();
        assert_eq!(record["maxLength"], "120");
        assert_eq!(record["playBeep"], "true");
    }

    #[test]
    fn an_empty_answer_is_an_empty_response() {
        assert_eq!(response(&[]), r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#);
        assert!(parse(&response(&[])).unwrap().is_empty());
        assert!(parse("<Response><Say>x</Dial></Response>").is_err());
        assert!(parse("<Reply/>").is_err());
    }
}
