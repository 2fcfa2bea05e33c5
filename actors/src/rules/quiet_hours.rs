//! A campaign's quiet hours, once: what a valid setting is (`{start: "21:00", end: "08:00"}`,
//! local wall-clock times, a window that may cross midnight), a contact's time zones, and until
//! when a recipient is held (`held_until`, pure: the runner gives it "now").
//!
//! A contact's zone: the `time_zone` contact field (a custom field of that key holding an IANA
//! name, `Europe/Paris`) when it names a zone jiff knows; else the zones of its phone number's
//! country (`phonenumber` gives the region; `ZONES` maps a region to its main zones); else the
//! sending number's zones; else UTC. A country spanning several zones (US, CA, MX, BR, RU, AU,
//! ID, …) is taken conservatively: it is quiet for the contact if it is quiet in ANY of the
//! country's main zones, so nobody is texted at night, at the price of a shorter sending day
//! (the US with 21:00–08:00 and Hawaii to New York: 13:00–21:00 Eastern). A `time_zone` field
//! lifts that for the contacts who have it.
//!
//! Times are wall-clock times: on a day the clocks change, "08:00" is when the clock reads 08:00
//! (past a skipped hour: when it first reads later).

use super::hours::{minutes, offset_date_time, timestamp};
use crate::domain::Contact;
use crate::error::{DomainError, DomainResult};
use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The contact field (a custom field of this key) that names a contact's IANA time zone.
pub const TIME_ZONE_FIELD: &str = "time_zone";

/// Quiet hours as the API spells them: local `HH:MM` times; `start` after `end` crosses midnight.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

/// Checked quiet hours: minutes of the day, [start, end) (wrapping past midnight when start >
/// end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietWindow {
    start: i32,
    end: i32,
}

/// Checks and tidies quiet hours: two different times of day (`24:00` is not one).
pub fn quiet_hours(q: QuietHours) -> DomainResult<(QuietHours, QuietWindow)> {
    let (start, end) = (q.start.trim().to_owned(), q.end.trim().to_owned());
    let window = QuietWindow { start: minutes("quiet_hours.start", &start)?, end: minutes("quiet_hours.end", &end)? };
    if window.start >= 1440 || window.end >= 1440 {
        return Err(DomainError::invalid("quiet_hours", "times are 00:00 to 23:59"));
    }
    if window.start == window.end {
        return Err(DomainError::invalid("quiet_hours", "start and end must differ"));
    }
    Ok((QuietHours { start, end }, window))
}

impl QuietWindow {
    /// The window of stored quiet hours (checked again when read back).
    pub fn of(q: &QuietHours) -> DomainResult<QuietWindow> {
        Ok(quiet_hours(q.clone())?.1)
    }

    fn quiet_in(&self, tz: &TimeZone, ts: Timestamp) -> bool {
        let local = ts.to_zoned_datetime(tz.clone());
        let m = i32::from(local.hour()) * 60 + i32::from(local.minute());
        if self.start < self.end { self.start <= m && m < self.end } else { m >= self.start || m < self.end }
    }

    /// The first instant after `ts` when the clock of `tz` reads `end`.
    fn end_after(&self, tz: &TimeZone, ts: Timestamp) -> Timestamp {
        let time = Time::new((self.end / 60) as i8, (self.end % 60) as i8, 0, 0).unwrap_or(Time::midnight());
        let mut day = ts.to_zoned_datetime(tz.clone()).date();
        for _ in 0..3 {
            if let Ok(z) = tz.to_zoned_datetime(day.to_datetime(time))
                && z.timestamp() > ts
            {
                return z.timestamp();
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        ts
    }

    /// Until when a recipient in `zones` is held at `now`: `None` when it is quiet in none of
    /// them; else the first instant it is quiet in none (each zone's quiet hours end, and
    /// another's may have begun meanwhile). A set of zones so wide that it is always quiet
    /// somewhere is held to the end of the latest window; the next look holds it again.
    pub fn held_until(&self, zones: &[TimeZone], now: OffsetDateTime) -> Option<OffsetDateTime> {
        let now = timestamp(now);
        let mut at = now;
        for _ in 0..=zones.len() {
            let ends: Vec<Timestamp> = zones.iter().filter(|z| self.quiet_in(z, at)).map(|z| self.end_after(z, at)).collect();
            match ends.into_iter().max() {
                Some(end) => at = end,
                None => break,
            }
        }
        (at > now).then(|| offset_date_time(at))
    }
}

/// Main IANA zones of the countries whose numbers span several (the conservative rule: quiet
/// in any is quiet), then one zone for other common countries. A region not listed falls back.
const ZONES: &[(&str, &[&str])] = &[
    (
        "US",
        &[
            "America/New_York",
            "America/Chicago",
            "America/Denver",
            "America/Phoenix",
            "America/Los_Angeles",
            "America/Anchorage",
            "Pacific/Honolulu",
        ],
    ),
    ("CA", &["America/St_Johns", "America/Halifax", "America/Toronto", "America/Winnipeg", "America/Edmonton", "America/Vancouver"]),
    ("MX", &["America/Cancun", "America/Mexico_City", "America/Hermosillo", "America/Tijuana"]),
    ("BR", &["America/Noronha", "America/Sao_Paulo", "America/Manaus", "America/Rio_Branco"]),
    ("AU", &["Australia/Sydney", "Australia/Brisbane", "Australia/Adelaide", "Australia/Darwin", "Australia/Perth"]),
    (
        "RU",
        &[
            "Europe/Kaliningrad",
            "Europe/Moscow",
            "Europe/Samara",
            "Asia/Yekaterinburg",
            "Asia/Omsk",
            "Asia/Novosibirsk",
            "Asia/Irkutsk",
            "Asia/Vladivostok",
            "Asia/Kamchatka",
        ],
    ),
    ("ID", &["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"]),
    ("AR", &["America/Argentina/Buenos_Aires"]),
    ("CL", &["America/Santiago"]),
    ("CO", &["America/Bogota"]),
    ("PE", &["America/Lima"]),
    ("NZ", &["Pacific/Auckland"]),
    ("GB", &["Europe/London"]),
    // Numbers of the crown dependencies share +44 (+44 7911 1… is Guernsey's).
    ("GG", &["Europe/Guernsey"]),
    ("JE", &["Europe/Jersey"]),
    ("IM", &["Europe/Isle_of_Man"]),
    ("IE", &["Europe/Dublin"]),
    ("PT", &["Europe/Lisbon"]),
    ("ES", &["Europe/Madrid"]),
    ("FR", &["Europe/Paris"]),
    ("BE", &["Europe/Brussels"]),
    ("NL", &["Europe/Amsterdam"]),
    ("LU", &["Europe/Luxembourg"]),
    ("DE", &["Europe/Berlin"]),
    ("CH", &["Europe/Zurich"]),
    ("AT", &["Europe/Vienna"]),
    ("IT", &["Europe/Rome"]),
    ("DK", &["Europe/Copenhagen"]),
    ("NO", &["Europe/Oslo"]),
    ("SE", &["Europe/Stockholm"]),
    ("FI", &["Europe/Helsinki"]),
    ("PL", &["Europe/Warsaw"]),
    ("CZ", &["Europe/Prague"]),
    ("HU", &["Europe/Budapest"]),
    ("RO", &["Europe/Bucharest"]),
    ("GR", &["Europe/Athens"]),
    ("UA", &["Europe/Kyiv"]),
    ("TR", &["Europe/Istanbul"]),
    ("IL", &["Asia/Jerusalem"]),
    ("AE", &["Asia/Dubai"]),
    ("SA", &["Asia/Riyadh"]),
    ("EG", &["Africa/Cairo"]),
    ("ZA", &["Africa/Johannesburg"]),
    ("NG", &["Africa/Lagos"]),
    ("KE", &["Africa/Nairobi"]),
    ("MA", &["Africa/Casablanca"]),
    ("IN", &["Asia/Kolkata"]),
    ("PK", &["Asia/Karachi"]),
    ("BD", &["Asia/Dhaka"]),
    ("TH", &["Asia/Bangkok"]),
    ("VN", &["Asia/Ho_Chi_Minh"]),
    ("MY", &["Asia/Kuala_Lumpur"]),
    ("SG", &["Asia/Singapore"]),
    ("PH", &["Asia/Manila"]),
    ("CN", &["Asia/Shanghai"]),
    ("HK", &["Asia/Hong_Kong"]),
    ("TW", &["Asia/Taipei"]),
    ("KR", &["Asia/Seoul"]),
    ("JP", &["Asia/Tokyo"]),
];

/// The zones of a phone number's country (`None`: not a number, or a country not in `ZONES`).
pub fn phone_zones(phone: &str) -> Option<Vec<TimeZone>> {
    let parsed = phonenumber::parse(None, phone).ok()?;
    let region = parsed.country().id()?;
    let names = ZONES.iter().find(|(r, _)| *r == region.as_ref())?.1;
    let zones: Vec<TimeZone> = names.iter().filter_map(|n| TimeZone::get(n).ok()).collect();
    (!zones.is_empty()).then_some(zones)
}

/// A contact's zones: its `time_zone` field when that names a known zone, else its number's
/// country's, else `fallback` (the sender's), else UTC.
pub fn contact_zones(contact: &Contact, fallback: &[TimeZone]) -> Vec<TimeZone> {
    let field = contact.custom_fields.get(TIME_ZONE_FIELD).and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.is_empty());
    if let Some(tz) = field.and_then(|name| TimeZone::get(name).ok()) {
        return vec![tz];
    }
    if let Some(zones) = phone_zones(&contact.phone) {
        return zones;
    }
    if !fallback.is_empty() {
        return fallback.to_vec();
    }
    vec![TimeZone::UTC]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::*;
    use time::macros::datetime;

    fn window(start: &str, end: &str) -> QuietWindow {
        quiet_hours(QuietHours { start: start.into(), end: end.into() }).unwrap().1
    }

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn contact(phone: &str, zone: Option<&str>) -> Contact {
        let mut c = Contact::new(ContactId::new(), TeamId::new(), "Ada".into(), phone.into(), datetime!(2026-01-01 0:00 UTC));
        if let Some(z) = zone {
            c.custom_fields.insert(TIME_ZONE_FIELD.into(), serde_json::json!(z));
        }
        c
    }

    #[test]
    fn settings_are_two_different_times_of_day() {
        assert!(quiet_hours(QuietHours { start: "21:00".into(), end: "08:00".into() }).is_ok());
        for (s, e) in [("21:00", "21:00"), ("25:00", "08:00"), ("9pm", "08:00"), ("21:00", "24:00")] {
            assert!(quiet_hours(QuietHours { start: s.into(), end: e.into() }).is_err(), "{s}–{e}");
        }
    }

    #[test]
    fn a_window_across_midnight_holds_until_the_local_morning() {
        let w = window("21:00", "08:00");
        let paris = [tz("Europe/Paris")];
        // 22:30 in Paris (UTC+1 in January): held until 08:00 Paris, 07:00 UTC.
        assert_eq!(w.held_until(&paris, datetime!(2026-01-15 21:30 UTC)), Some(datetime!(2026-01-16 7:00 UTC)));
        // 02:00 in Paris: the same morning.
        assert_eq!(w.held_until(&paris, datetime!(2026-01-16 1:00 UTC)), Some(datetime!(2026-01-16 7:00 UTC)));
        // 08:00 sharp and 20:59: not quiet.
        assert_eq!(w.held_until(&paris, datetime!(2026-01-16 7:00 UTC)), None);
        assert_eq!(w.held_until(&paris, datetime!(2026-01-16 19:59 UTC)), None);
        // A daytime window (12:00–14:00 lunch) does not wrap.
        let lunch = window("12:00", "14:00");
        assert_eq!(lunch.held_until(&paris, datetime!(2026-01-16 11:30 UTC)), Some(datetime!(2026-01-16 13:00 UTC)));
        assert_eq!(lunch.held_until(&paris, datetime!(2026-01-16 14:30 UTC)), None);
    }

    #[test]
    fn summer_time_moves_the_utc_instant() {
        let w = window("21:00", "08:00");
        // In July Paris is UTC+2: 08:00 local is 06:00 UTC.
        assert_eq!(w.held_until(&[tz("Europe/Paris")], datetime!(2026-07-15 22:00 UTC)), Some(datetime!(2026-07-16 6:00 UTC)));
    }

    #[test]
    fn a_country_of_several_zones_is_quiet_if_any_of_them_is() {
        let w = window("21:00", "08:00");
        let us = phone_zones("+14155550100").unwrap();
        assert!(us.len() >= 4);
        // 14:00 UTC in January: 09:00 New York, 06:00 Los Angeles, 04:00 Honolulu: held until
        // 08:00 in Honolulu (18:00 UTC), when it is quiet nowhere.
        assert_eq!(w.held_until(&us, datetime!(2026-01-15 14:00 UTC)), Some(datetime!(2026-01-15 18:00 UTC)));
        // 19:00 UTC: 14:00 New York … 09:00 Honolulu: not quiet anywhere.
        assert_eq!(w.held_until(&us, datetime!(2026-01-15 19:00 UTC)), None);
        // 02:30 UTC: 21:30 New York: held until Honolulu's morning, 18:00 UTC.
        assert_eq!(w.held_until(&us, datetime!(2026-01-16 2:30 UTC)), Some(datetime!(2026-01-16 18:00 UTC)));
    }

    #[test]
    fn the_zone_comes_from_the_field_then_the_country_then_the_sender() {
        assert_eq!(contact_zones(&contact("+14155550100", Some("Asia/Tokyo")), &[]), vec![tz("Asia/Tokyo")]);
        assert_eq!(contact_zones(&contact("+33612345678", None), &[]), vec![tz("Europe/Paris")]);
        assert_eq!(contact_zones(&contact("+447400123456", Some("Not/AZone")), &[]), vec![tz("Europe/London")]);
        assert_eq!(contact_zones(&contact("+447911123456", None), &[]), vec![tz("Europe/Guernsey")], "+44 7911 1 is Guernsey's");
        assert_eq!(contact_zones(&contact("+81312345678", Some(" ")), &[]), vec![tz("Asia/Tokyo")]);
        assert_eq!(contact_zones(&contact("garbage", None), &[tz("Europe/Berlin")]), vec![tz("Europe/Berlin")]);
        assert_eq!(contact_zones(&contact("garbage", None), &[]), vec![TimeZone::UTC]);
        assert!(contact_zones(&contact("+61412345678", None), &[]).len() > 1, "Australia spans zones");
        // Every zone of the table is one jiff knows.
        for (region, names) in ZONES {
            for n in *names {
                assert!(TimeZone::get(n).is_ok(), "{region}: {n}");
            }
        }
    }
}
