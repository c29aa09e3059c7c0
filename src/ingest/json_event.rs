//! The JSON shape the evtx crate renders (and `evtx_dump -o json/jsonl` prints):
//! `{"Event":{"System":{…},"EventData":{…}}}` with XML attributes under `#attributes` and
//! element text under `#text`. Read into a [`RawRecord`].

use crate::record::{Provenance, RawRecord};
use crate::time::Ts;
use serde_json::{Map, Value};

/// Build a record from one rendered event. `None` when the JSON is not an event at all
/// (no `Event.System`).
pub fn record_from_event_json(v: &Value, prov: Provenance) -> Option<RawRecord> {
    let event = v.get("Event")?;
    let system = event.get("System")?.as_object()?;
    let provider = system
        .get("Provider")
        .and_then(|p| attr(p, "Name"))
        .map(value_text)
        .unwrap_or_default();
    let event_id = system
        .get("EventID")
        .map(text_of)
        .and_then(|t| t.trim().parse::<u32>().ok())
        .unwrap_or(0);
    let record_id = system
        .get("EventRecordID")
        .map(text_of)
        .and_then(|t| t.trim().parse::<u64>().ok());
    let time = system
        .get("TimeCreated")
        .and_then(|t| attr(t, "SystemTime"))
        .and_then(|t| Ts::parse(&value_text(t)));
    let channel = system.get("Channel").map(text_of).unwrap_or_default();
    let computer = system.get("Computer").map(text_of).unwrap_or_default();
    let mut data = Vec::new();
    if let Some(ed) = event.get("EventData") {
        flatten_data(ed, &mut data);
    } else if let Some(Value::Object(ud)) = event.get("UserData") {
        // UserData holds one provider-defined element whose children are the fields.
        for (k, inner) in ud {
            if k == "#attributes" {
                continue;
            }
            flatten_data(inner, &mut data);
        }
    }
    Some(RawRecord {
        channel,
        provider,
        event_id,
        record_id,
        time,
        computer,
        data,
        prov,
    })
}

fn attr<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.get("#attributes")?.get(name)
}

/// An element's text whether rendered bare (`"EventID": 1`) or with attributes
/// (`"EventID": {"#attributes": {...}, "#text": 1}`).
fn text_of(v: &Value) -> String {
    match v {
        Value::Object(m) => m.get("#text").map(value_text).unwrap_or_default(),
        other => value_text(other),
    }
}

/// A JSON value as the text Event Viewer's XML would show.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => a.iter().map(value_text).collect::<Vec<_>>().join(","),
        Value::Object(m) => m.get("#text").map(value_text).unwrap_or_default(),
    }
}

fn flatten_data(v: &Value, out: &mut Vec<(String, String)>) {
    let Value::Object(m) = v else {
        return;
    };
    flatten_obj(m, out);
}

fn flatten_obj(m: &Map<String, Value>, out: &mut Vec<(String, String)>) {
    for (k, v) in m {
        if k == "#attributes" {
            continue;
        }
        if k == "Data" || k == "#text" {
            // Unnamed <Data> elements: a list or a single value.
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                Value::Object(o) => match o.get("#text") {
                    Some(Value::Array(a)) => a.iter().collect(),
                    Some(t) => vec![t],
                    None => vec![],
                },
                other => vec![other],
            };
            for it in items {
                out.push((format!("Data{}", out.len() + 1), value_text(it)));
            }
            continue;
        }
        out.push((k.clone(), value_text(v)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn prov() -> Provenance {
        Provenance {
            file: Arc::from("x.evtx"),
            chunk: Some(0),
            offset: Some(4608),
            line: None,
        }
    }

    #[test]
    fn reads_system_and_event_data() {
        let v: Value = serde_json::from_str(r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"{5770385f}"}},"EventID":1,"TimeCreated":{"#attributes":{"SystemTime":"2019-04-30T20:35:11.8560890Z"}},"EventRecordID":9832,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"IEWIN7"},"EventData":{"ProcessId":3572,"Image":"C:\\Windows\\System32\\mmc.exe","Initiated":true,"RuleName":null}}}"##).unwrap();
        let r = record_from_event_json(&v, prov()).unwrap();
        assert_eq!(r.event_id, 1);
        assert_eq!(r.record_id, Some(9832));
        assert_eq!(r.provider, "Microsoft-Windows-Sysmon");
        assert_eq!(r.computer, "IEWIN7");
        assert_eq!(r.time.unwrap().iso(), "2019-04-30T20:35:11.8560890Z");
        assert_eq!(r.get("ProcessId"), Some("3572"));
        assert_eq!(r.get("Initiated"), Some("true"));
        assert_eq!(r.get("RuleName"), Some(""));
    }

    #[test]
    fn qualifiers_and_unnamed_data() {
        let v: Value = serde_json::from_str(r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"EventLog"}},"EventID":{"#attributes":{"Qualifiers":32768},"#text":6005},"Channel":"System","Computer":"H"},"EventData":{"Data":["a","b"],"Binary":"00"}}}"##).unwrap();
        let r = record_from_event_json(&v, prov()).unwrap();
        assert_eq!(r.event_id, 6005);
        assert_eq!(r.record_id, None);
        assert_eq!(r.time, None);
        assert_eq!(r.get("Data1"), Some("a"));
        assert_eq!(r.get("Data2"), Some("b"));
        assert_eq!(r.get("Binary"), Some("00"));
        assert!(record_from_event_json(&serde_json::json!({"x": 1}), prov()).is_none());
    }
}
