//! Dates written the way readers of the site's language write them.

use jiff::civil::{Date, DateTime, Weekday};

const FR_MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const FR_MONTHS_SHORT: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
    "déc.",
];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn weekday(lang: &str, day: Weekday) -> &'static str {
    let fr = lang == "fr";
    match day {
        Weekday::Monday => {
            if fr {
                "lundi"
            } else {
                "Monday"
            }
        }
        Weekday::Tuesday => {
            if fr {
                "mardi"
            } else {
                "Tuesday"
            }
        }
        Weekday::Wednesday => {
            if fr {
                "mercredi"
            } else {
                "Wednesday"
            }
        }
        Weekday::Thursday => {
            if fr {
                "jeudi"
            } else {
                "Thursday"
            }
        }
        Weekday::Friday => {
            if fr {
                "vendredi"
            } else {
                "Friday"
            }
        }
        Weekday::Saturday => {
            if fr {
                "samedi"
            } else {
                "Saturday"
            }
        }
        Weekday::Sunday => {
            if fr {
                "dimanche"
            } else {
                "Sunday"
            }
        }
    }
}

/// Reads the local date and time of an RFC 3339 value (`2027-03-14T18:30:00+01:00`)
/// or a plain date, ignoring the offset: the wall-clock time is what readers see.
pub fn parse_local(text: &str) -> Option<DateTime> {
    let text = text.trim();
    if text.len() >= 19
        && let Ok(dt) = text[..19].parse::<DateTime>()
    {
        return Some(dt);
    }
    let day = text.get(..10)?.parse::<Date>().ok()?;
    Some(day.to_datetime(jiff::civil::Time::midnight()))
}

/// Formats `value` in `style`; `None` for an unknown style.
pub fn format(value: DateTime, style: &str, lang: &str) -> Option<String> {
    let fr = lang == "fr";
    let month = (value.month() - 1) as usize;
    let day = value.day();
    let year = value.year();
    let day_fr = if day == 1 {
        "1er".to_owned()
    } else {
        day.to_string()
    };
    // French keeps a number with its unit on one line: non-breaking spaces.
    let long = if fr {
        format!("{day_fr}\u{a0}{} {year}", FR_MONTHS[month])
    } else {
        format!("{day} {} {year}", EN_MONTHS[month])
    };
    let time = if fr {
        match value.minute() {
            0 => format!("{}\u{a0}h", value.hour()),
            m => format!("{}\u{a0}h\u{a0}{m:02}", value.hour()),
        }
    } else {
        let hour = match value.hour() % 12 {
            0 => 12,
            h => h,
        };
        let half = if value.hour() < 12 { "am" } else { "pm" };
        match value.minute() {
            0 => format!("{hour} {half}"),
            m => format!("{hour}:{m:02} {half}"),
        }
    };
    let weekday = weekday(lang, value.weekday());
    Some(match style {
        "long" => long,
        "short" if fr => format!("{day:02}/{:02}/{year}", month + 1),
        "short" => format!("{} {day}, {year}", &EN_MONTHS[month][..3]),
        "day" => format!("{weekday} {long}"),
        "time" => time,
        "datetime" if fr => format!("{weekday} {long} à\u{a0}{time}"),
        "datetime" => format!("{weekday} {long}, {time}"),
        "month" if fr => format!("{} {year}", FR_MONTHS[month]),
        "month" => format!("{} {year}", EN_MONTHS[month]),
        "day_number" => day.to_string(),
        "month_short" if fr => FR_MONTHS_SHORT[month].to_owned(),
        "month_short" => EN_MONTHS[month][..3].to_owned(),
        "weekday" => weekday.to_owned(),
        "iso" => format!("{year:04}-{:02}-{day:02}", month + 1),
        _ => return None,
    })
}

pub const STYLES: &str =
    "long, short, day, time, datetime, month, day_number, month_short, weekday, iso";

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime {
        parse_local(text).unwrap()
    }

    /// Shows non-breaking spaces as `~` so expectations stay readable.
    fn fr(t: DateTime, style: &str) -> String {
        format(t, style, "fr").unwrap().replace('\u{a0}', "~")
    }

    #[test]
    fn french_dates() {
        let t = at("2027-03-14T18:30:00+01:00");
        assert_eq!(fr(t, "long"), "14~mars 2027");
        assert_eq!(fr(t, "datetime"), "dimanche 14~mars 2027 à~18~h~30");
        assert_eq!(fr(t, "short"), "14/03/2027");
        assert_eq!(fr(at("2027-02-01"), "long"), "1er~février 2027");
        assert_eq!(fr(at("2027-02-01T09:00:00Z"), "time"), "9~h");
    }

    #[test]
    fn english_dates() {
        let t = at("2027-03-14T18:30:00+01:00");
        assert_eq!(
            format(t, "datetime", "en").unwrap(),
            "Sunday 14 March 2027, 6:30 pm"
        );
        assert_eq!(format(t, "short", "en").unwrap(), "Mar 14, 2027");
        assert_eq!(
            format(at("2027-03-14T00:00:00Z"), "time", "en").unwrap(),
            "12 am"
        );
        assert_eq!(format(t, "fancy", "en"), None);
    }
}
