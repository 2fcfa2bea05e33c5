//! Business hours, once: what a valid setting is (an IANA time zone, hours per weekday as one or
//! more intervals of local wall-clock time, holidays as local dates), whether the team is open
//! at an instant, when that next changes (the inbox's timer), and which automatic reply an
//! inbound message gets (out of hours, or the first message of a period).
//!
//! Times are wall-clock times in the team's zone: "09:00–17:00" is 09:00–17:00 local on every
//! day, whatever the UTC offset (DST included). On the day clocks spring forward, an interval
//! that starts in the skipped hour starts when the clock reads past it; on the day they fall
//! back, the repeated hour is open (or closed) both times.

use crate::domain::AutoReplyKind;
use crate::error::{DomainError, DomainResult};
use crate::templates::Template;
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// Intervals a day may have.
pub const MAX_INTERVALS_PER_DAY: usize = 4;
/// Holidays a team may list.
pub const MAX_HOLIDAYS: usize = 200;
/// How far ahead `next_change` looks (a team closed for a year has no next change).
const HORIZON_DAYS: i32 = 370;

/// One stretch of a day, `HH:MM` local (`end` may be `24:00`: until midnight).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Interval {
    pub start: String,
    pub end: String,
}

/// The hours of each weekday (an empty day is closed all day).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Week {
    pub mon: Vec<Interval>,
    pub tue: Vec<Interval>,
    pub wed: Vec<Interval>,
    pub thu: Vec<Interval>,
    pub fri: Vec<Interval>,
    pub sat: Vec<Interval>,
    pub sun: Vec<Interval>,
}

impl Week {
    /// Monday first.
    fn days(&self) -> [(&'static str, &Vec<Interval>); 7] {
        [
            ("weekly.mon", &self.mon),
            ("weekly.tue", &self.tue),
            ("weekly.wed", &self.wed),
            ("weekly.thu", &self.thu),
            ("weekly.fri", &self.fri),
            ("weekly.sat", &self.sat),
            ("weekly.sun", &self.sun),
        ]
    }

    /// The same hours on every day named (tests and seeds).
    pub fn every(days: &[&str], start: &str, end: &str) -> Week {
        let mut week = Week::default();
        let interval = || vec![Interval { start: start.into(), end: end.into() }];
        for day in days {
            match *day {
                "mon" => week.mon = interval(),
                "tue" => week.tue = interval(),
                "wed" => week.wed = interval(),
                "thu" => week.thu = interval(),
                "fri" => week.fri = interval(),
                "sat" => week.sat = interval(),
                "sun" => week.sun = interval(),
                _ => {}
            }
        }
        week
    }
}

/// A team's business hours and its two automatic replies. `enabled: false` (the default) means
/// no hours: always open, no out-of-hours reply.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct HoursSettings {
    pub enabled: bool,
    /// An IANA zone name (`Europe/Paris`).
    pub time_zone: String,
    pub weekly: Week,
    /// Closed all day (local dates, `YYYY-MM-DD`).
    pub holidays: Vec<String>,
    /// Sent to a message that arrives while closed (a template; `None`: no reply).
    pub out_of_hours_reply: Option<String>,
    pub out_of_hours_reply_hours: i32,
    /// Sent to the first message of a contact on a channel within the period (a template).
    pub first_message_reply: Option<String>,
    pub first_message_reply_hours: i32,
}

impl Default for HoursSettings {
    fn default() -> Self {
        HoursSettings {
            enabled: false,
            time_zone: "UTC".into(),
            weekly: Week::default(),
            holidays: vec![],
            out_of_hours_reply: None,
            out_of_hours_reply_hours: 12,
            first_message_reply: None,
            first_message_reply_hours: 24,
        }
    }
}

/// Checked business hours, ready to answer "open at t?".
#[derive(Clone, Debug)]
pub struct Schedule {
    enabled: bool,
    tz: TimeZone,
    /// Minutes of the day, [start, end), Monday first.
    days: [Vec<(i32, i32)>; 7],
    holidays: BTreeSet<Date>,
}

/// `HH:MM` as minutes of the day (`24:00` is 1440).
pub(crate) fn minutes(field: &'static str, text: &str) -> DomainResult<i32> {
    let bad = || DomainError::invalid(field, format!("{text:?} is not a time of day (HH:MM)"));
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (24, 0) => Ok(1440),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

/// A reply template: blank is none; at most a message's length; a valid template.
fn reply(field: &'static str, text: Option<String>) -> DomainResult<Option<String>> {
    let text = text.map(|t| super::without_nul(t.trim())).filter(|t| !t.is_empty());
    if let Some(t) = &text {
        if t.chars().count() > super::MAX_BODY_CHARS {
            return Err(DomainError::invalid(field, format!("has at most {} characters", super::MAX_BODY_CHARS)));
        }
        Template::parse(t).map_err(|e| e.invalid(field))?;
    }
    Ok(text)
}

/// The setting as given, checked and tidied (holidays sorted, each once), with its schedule.
pub fn settings(mut s: HoursSettings) -> DomainResult<(HoursSettings, Schedule)> {
    s.out_of_hours_reply = reply("out_of_hours_reply", s.out_of_hours_reply)?;
    s.first_message_reply = reply("first_message_reply", s.first_message_reply)?;
    for (field, hours) in
        [("out_of_hours_reply_hours", s.out_of_hours_reply_hours), ("first_message_reply_hours", s.first_message_reply_hours)]
    {
        if !(1..=720).contains(&hours) {
            return Err(DomainError::invalid(field, "must be between 1 and 720"));
        }
    }
    if s.holidays.len() > MAX_HOLIDAYS {
        return Err(DomainError::invalid("holidays", format!("at most {MAX_HOLIDAYS}")));
    }
    let mut holidays = BTreeSet::new();
    for h in &s.holidays {
        let date: Date = h.trim().parse().map_err(|_| DomainError::invalid("holidays", format!("{h:?} is not a date (YYYY-MM-DD)")))?;
        holidays.insert(date);
    }
    s.holidays = holidays.iter().map(|d| d.to_string()).collect();
    s.time_zone = s.time_zone.trim().to_owned();
    let schedule = schedule(&s)?;
    Ok((s, schedule))
}

/// The schedule of a setting (checked again when read back: a stored zone the database no
/// longer knows is refused, never taken for UTC).
pub fn schedule(s: &HoursSettings) -> DomainResult<Schedule> {
    let tz =
        TimeZone::get(&s.time_zone).map_err(|_| DomainError::invalid("time_zone", "is not a known IANA time zone (e.g. Europe/Paris)"))?;
    let mut days: [Vec<(i32, i32)>; 7] = Default::default();
    for (i, (field, intervals)) in s.weekly.days().into_iter().enumerate() {
        if intervals.len() > MAX_INTERVALS_PER_DAY {
            return Err(DomainError::invalid(field, format!("at most {MAX_INTERVALS_PER_DAY} intervals a day")));
        }
        let mut spans = intervals
            .iter()
            .map(|iv| {
                let (start, end) = (minutes(field, &iv.start)?, minutes(field, &iv.end)?);
                if start >= end {
                    return Err(DomainError::invalid(field, format!("{}–{} ends before it starts", iv.start, iv.end)));
                }
                Ok((start, end))
            })
            .collect::<DomainResult<Vec<_>>>()?;
        spans.sort();
        if spans.windows(2).any(|w| w[1].0 < w[0].1) {
            return Err(DomainError::invalid(field, "intervals overlap"));
        }
        days[i] = spans;
    }
    let holidays = s.holidays.iter().filter_map(|h| h.parse().ok()).collect();
    Ok(Schedule { enabled: s.enabled, tz, days, holidays })
}

pub(crate) fn timestamp(at: OffsetDateTime) -> Timestamp {
    Timestamp::new(at.unix_timestamp(), at.nanosecond() as i32).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub(crate) fn offset_date_time(ts: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ts.as_second()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl Schedule {
    /// Whether business hours apply at all (else the team is always open).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether the team is open at `at`.
    pub fn is_open(&self, at: OffsetDateTime) -> bool {
        self.open_at(timestamp(at))
    }

    fn open_at(&self, ts: Timestamp) -> bool {
        if !self.enabled {
            return true;
        }
        let local = ts.to_zoned_datetime(self.tz.clone());
        if self.holidays.contains(&local.date()) {
            return false;
        }
        let minute = i32::from(local.hour()) * 60 + i32::from(local.minute());
        self.days[local.weekday().to_monday_zero_offset() as usize].iter().any(|(s, e)| *s <= minute && minute < *e)
    }

    /// The first instant after `at` when open becomes closed or closed open (within a year);
    /// `None` when it never changes (hours off, always open, always closed).
    pub fn next_change(&self, at: OffsetDateTime) -> Option<OffsetDateTime> {
        if !self.enabled {
            return None;
        }
        let now = timestamp(at);
        let open = self.open_at(now);
        let horizon = now.checked_add(jiff::SignedDuration::from_hours(24 * i64::from(HORIZON_DAYS))).ok()?;
        // Clock changes move the local time under a fixed interval: they are candidates too.
        let transitions: Vec<Timestamp> = self.tz.following(now).map(|t| t.timestamp()).take_while(|t| *t <= horizon).collect();
        let mut day = now.to_zoned_datetime(self.tz.clone()).date();
        for _ in 0..=HORIZON_DAYS {
            let mut candidates: Vec<Timestamp> = std::iter::once(0)
                .chain(self.days[day.weekday().to_monday_zero_offset() as usize].iter().flat_map(|(s, e)| [*s, *e]))
                .filter_map(|m| self.instant(day, m))
                .chain(transitions.iter().copied().filter(|t| t.to_zoned_datetime(self.tz.clone()).date() == day))
                .filter(|t| *t > now)
                .collect();
            candidates.sort();
            if let Some(change) = candidates.into_iter().find(|t| self.open_at(*t) != open) {
                return Some(offset_date_time(change));
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    /// The instant the local clock reads `minute` on `day` (past a skipped hour: when the clock
    /// first reads later than it).
    fn instant(&self, day: Date, minute: i32) -> Option<Timestamp> {
        let (day, minute) = if minute >= 1440 { (day.tomorrow().ok()?, minute - 1440) } else { (day, minute) };
        let time = Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).ok()?;
        self.tz.to_zoned_datetime(day.to_datetime(time)).ok().map(|z| z.timestamp())
    }
}

/// Which automatic reply an inbound message gets, if any: while closed, the out-of-hours reply
/// (and no other); while open (or without hours), the first-message reply. Each is sent at most
/// once per contact, channel and period (the store's claim decides).
pub fn auto_reply(settings: &HoursSettings, open: bool) -> Option<(AutoReplyKind, &str, time::Duration)> {
    if settings.enabled && !open {
        return settings
            .out_of_hours_reply
            .as_deref()
            .map(|t| (AutoReplyKind::OutOfHours, t, time::Duration::hours(i64::from(settings.out_of_hours_reply_hours))));
    }
    settings
        .first_message_reply
        .as_deref()
        .map(|t| (AutoReplyKind::FirstMessage, t, time::Duration::hours(i64::from(settings.first_message_reply_hours))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn nine_to_five(tz: &str) -> Schedule {
        let s = HoursSettings {
            enabled: true,
            time_zone: tz.into(),
            weekly: Week::every(&["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00"),
            ..HoursSettings::default()
        };
        settings(s).unwrap().1
    }

    #[test]
    fn open_follows_the_team_s_wall_clock() {
        let paris = nine_to_five("Europe/Paris");
        // Monday 2026-03-02: 08:30 UTC is 09:30 in Paris (UTC+1).
        assert!(paris.is_open(datetime!(2026-03-02 08:30 UTC)));
        assert!(!paris.is_open(datetime!(2026-03-02 07:59 UTC)), "07:59 UTC is 08:59 in Paris");
        assert!(!paris.is_open(datetime!(2026-03-02 16:00 UTC)), "17:00 in Paris: closed (the end is not in)");
        assert!(!paris.is_open(datetime!(2026-03-07 12:00 UTC)), "Saturday");
        let tokyo = nine_to_five("Asia/Tokyo");
        // Monday 11:00 UTC is 20:00 in Tokyo: open in UTC, closed there.
        assert!(!tokyo.is_open(datetime!(2026-03-02 11:00 UTC)));
        assert!(tokyo.is_open(datetime!(2026-03-02 01:00 UTC)));
    }

    #[test]
    fn dst_edges_keep_local_hours() {
        let ny = nine_to_five("America/New_York");
        // Before the spring change (EST, UTC-5): 09:00 local is 14:00 UTC.
        assert!(ny.is_open(datetime!(2026-03-06 14:00 UTC)));
        assert!(!ny.is_open(datetime!(2026-03-06 13:59 UTC)));
        // After it (Sunday 2026-03-08, EDT, UTC-4): 09:00 local is 13:00 UTC.
        assert!(ny.is_open(datetime!(2026-03-09 13:00 UTC)));
        assert!(!ny.is_open(datetime!(2026-03-09 12:59 UTC)));
        // The next opening seen from the Friday evening before is Monday 09:00 EDT.
        assert_eq!(ny.next_change(datetime!(2026-03-06 23:00 UTC)), Some(datetime!(2026-03-09 13:00 UTC)));
        // An interval in the skipped hour starts when the clock jumps past it; the repeated hour
        // in autumn is open both times.
        let night = settings(HoursSettings {
            enabled: true,
            time_zone: "America/New_York".into(),
            weekly: Week::every(&["sun"], "01:30", "02:45"),
            ..HoursSettings::default()
        })
        .unwrap()
        .1;
        // 2026-03-08 07:00 UTC is 03:00 EDT (02:00–03:00 did not exist): closed after 02:45.
        assert!(!night.is_open(datetime!(2026-03-08 07:00 UTC)));
        assert!(night.is_open(datetime!(2026-03-08 06:45 UTC)), "01:45 EST");
        // 2026-11-01: 01:30 EDT (05:30 UTC) and 01:30 EST (06:30 UTC) are both open.
        assert!(night.is_open(datetime!(2026-11-01 05:30 UTC)));
        assert!(night.is_open(datetime!(2026-11-01 06:30 UTC)));
        assert!(!night.is_open(datetime!(2026-11-01 07:45 UTC)), "02:45 EST");
        // Closing at 02:45 in spring: the clock jumps from 02:00 to 03:00, so it closes at the jump.
        assert_eq!(night.next_change(datetime!(2026-03-08 06:45 UTC)), Some(datetime!(2026-03-08 07:00 UTC)));
    }

    #[test]
    fn holidays_close_the_whole_local_day() {
        let mut s = HoursSettings {
            enabled: true,
            time_zone: "Europe/Paris".into(),
            weekly: Week::every(&["fri"], "00:00", "24:00"),
            holidays: vec!["2026-12-25".into(), "2026-12-25".into()],
            ..HoursSettings::default()
        };
        let (tidy, sched) = settings(s.clone()).unwrap();
        assert_eq!(tidy.holidays, vec!["2026-12-25"], "each once");
        assert!(!sched.is_open(datetime!(2026-12-25 12:00 UTC)));
        assert!(!sched.is_open(datetime!(2026-12-24 23:30 UTC)), "00:30 on the 25th in Paris: the holiday");
        assert!(!sched.is_open(datetime!(2026-12-25 23:30 UTC)), "Saturday already in Paris");
        assert!(sched.is_open(datetime!(2027-01-01 00:30 UTC)), "Friday 01:30 in Paris, not a holiday");
        assert!(sched.is_open(datetime!(2027-01-01 12:00 UTC)), "a Friday that is not a holiday");
        s.holidays = vec!["25/12".into()];
        assert!(matches!(settings(s).unwrap_err(), DomainError::Invalid { field: "holidays", .. }));
    }

    #[test]
    fn settings_are_checked() {
        let bad = |s: HoursSettings| settings(s).unwrap_err();
        let base = HoursSettings { enabled: true, ..HoursSettings::default() };
        assert!(matches!(
            bad(HoursSettings { time_zone: "Mars/Olympus".into(), ..base.clone() }),
            DomainError::Invalid { field: "time_zone", .. }
        ));
        assert!(matches!(
            bad(HoursSettings { weekly: Week::every(&["mon"], "17:00", "09:00"), ..base.clone() }),
            DomainError::Invalid { field: "weekly.mon", .. }
        ));
        assert!(matches!(
            bad(HoursSettings { weekly: Week::every(&["tue"], "9:00", "17:00"), ..base.clone() }),
            DomainError::Invalid { field: "weekly.tue", .. }
        ));
        let mut overlapping = base.clone();
        overlapping.weekly.wed =
            vec![Interval { start: "09:00".into(), end: "12:00".into() }, Interval { start: "11:00".into(), end: "13:00".into() }];
        assert!(matches!(bad(overlapping), DomainError::Invalid { field: "weekly.wed", .. }));
        assert!(matches!(
            bad(HoursSettings { out_of_hours_reply: Some("{{ nope }}".into()), ..base.clone() }),
            DomainError::Invalid { field: "out_of_hours_reply", .. }
        ));
        assert!(matches!(bad(HoursSettings { first_message_reply_hours: 0, ..base.clone() }), DomainError::Invalid { .. }));
        let (s, _) = settings(HoursSettings { out_of_hours_reply: Some("  ".into()), ..base }).unwrap();
        assert_eq!(s.out_of_hours_reply, None, "blank is none");
    }

    #[test]
    fn one_automatic_reply_per_message() {
        let s = HoursSettings {
            enabled: true,
            out_of_hours_reply: Some("closed".into()),
            first_message_reply: Some("hello".into()),
            ..HoursSettings::default()
        };
        assert_eq!(auto_reply(&s, false).map(|r| r.0), Some(AutoReplyKind::OutOfHours));
        assert_eq!(auto_reply(&s, true).map(|r| r.0), Some(AutoReplyKind::FirstMessage));
        let no_ooh = HoursSettings { out_of_hours_reply: None, ..s.clone() };
        assert_eq!(auto_reply(&no_ooh, false), None, "closed: never the first-message reply");
        let off = HoursSettings { enabled: false, ..s };
        assert_eq!(auto_reply(&off, false).map(|r| r.0), Some(AutoReplyKind::FirstMessage), "no hours: always open");
        assert!(schedule(&off).unwrap().is_open(datetime!(2026-03-07 03:00 UTC)));
    }
}
