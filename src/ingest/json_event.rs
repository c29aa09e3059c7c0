//! The JSON shape the evtx crate renders (and `evtx_dump -o json/jsonl` prints):
//! `{"Event":{"System":{…},"EventData":{…}}}` with XML attributes under `#attributes` and
//! element text under `#text`. Read into a [`RawRecord`].

use crate::record::{Provenance, RawRecord};
use crate::time::Ts;
use serde_json::Value;

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

/// Build a record from one rendered event's JSON bytes; `Ok(None)` when the JSON is not an
/// event at all (no `Event.System` object). Parsed into a light borrowed tree, not a
/// `serde_json::Value`: strings without escapes are borrowed from the input, objects are plain
/// vectors (no key hashing). Duplicate keys: the last value wins, at the first key's place.
pub fn record_from_event_json_bytes(
    json: &[u8],
    prov: Provenance,
) -> serde_json::Result<Option<RawRecord>> {
    let v: lite::V<'_> = serde_json::from_slice(json)?;
    Ok(lite::record(&v, prov))
}

/// A borrowed, allocation-light JSON tree for one rendered record.
mod lite {
    use super::{Provenance, RawRecord, Ts};
    use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::borrow::Cow;
    use std::fmt;
    use std::sync::Arc;

    pub enum V<'a> {
        Null,
        /// Strings, and numbers and booleans already rendered as `Value`'s `Display` would.
        Text(Cow<'a, str>),
        Arr(Vec<V<'a>>),
        Obj(Vec<(Cow<'a, str>, V<'a>)>),
    }

    struct Key<'a>(Cow<'a, str>);

    impl<'de> Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct KV;
            impl<'de> Visitor<'de> for KV {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a key")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v.to_owned())))
                }
                fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v)))
                }
            }
            d.deserialize_str(KV)
        }
    }

    impl<'de> Deserialize<'de> for V<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(VV)
        }
    }

    struct VV;

    impl<'de> Visitor<'de> for VV {
        type Value = V<'de>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("JSON")
        }
        fn visit_unit<E>(self) -> Result<V<'de>, E> {
            Ok(V::Null)
        }
        fn visit_none<E>(self) -> Result<V<'de>, E> {
            Ok(V::Null)
        }
        fn visit_bool<E>(self, v: bool) -> Result<V<'de>, E> {
            Ok(V::Text(Cow::Borrowed(if v { "true" } else { "false" })))
        }
        fn visit_u64<E>(self, v: u64) -> Result<V<'de>, E> {
            Ok(V::Text(Cow::Owned(v.to_string())))
        }
        fn visit_i64<E>(self, v: i64) -> Result<V<'de>, E> {
            Ok(V::Text(Cow::Owned(v.to_string())))
        }
        fn visit_f64<E>(self, v: f64) -> Result<V<'de>, E> {
            // As `Value`: a finite float is a `Number` (same `Display`), anything else null.
            Ok(match serde_json::Number::from_f64(v) {
                Some(n) => V::Text(Cow::Owned(n.to_string())),
                None => V::Null,
            })
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<V<'de>, E> {
            Ok(V::Text(Cow::Borrowed(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<V<'de>, E> {
            Ok(V::Text(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> Result<V<'de>, E> {
            Ok(V::Text(Cow::Owned(v)))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<V<'de>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(v) = seq.next_element()? {
                out.push(v);
            }
            Ok(V::Arr(out))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V<'de>, A::Error> {
            let mut out: Vec<(Cow<'de, str>, V<'de>)> = Vec::new();
            while let Some(Key(k)) = map.next_key()? {
                let v: V<'de> = map.next_value()?;
                // A repeated key keeps its first place and takes the last value.
                match out.iter_mut().find(|(ek, _)| *ek == k) {
                    Some(slot) => slot.1 = v,
                    None => out.push((k, v)),
                }
            }
            Ok(V::Obj(out))
        }
    }

    impl<'a> V<'a> {
        fn get(&self, key: &str) -> Option<&V<'a>> {
            match self {
                V::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }
    }

    fn attr<'v, 'a>(v: &'v V<'a>, name: &str) -> Option<&'v V<'a>> {
        v.get("#attributes")?.get(name)
    }

    fn text_of(v: &V<'_>) -> String {
        match v {
            V::Obj(_) => v.get("#text").map(value_text).unwrap_or_default(),
            other => value_text(other),
        }
    }

    fn value_text(v: &V<'_>) -> String {
        match v {
            V::Null => String::new(),
            V::Text(s) => s.as_ref().to_owned(),
            V::Arr(a) => a.iter().map(value_text).collect::<Vec<_>>().join(","),
            V::Obj(_) => v.get("#text").map(value_text).unwrap_or_default(),
        }
    }

    pub fn record(v: &V<'_>, prov: Provenance) -> Option<RawRecord> {
        let event = v.get("Event")?;
        let system = event.get("System")?;
        if !matches!(system, V::Obj(_)) {
            return None;
        }
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
            flatten(ed, &mut data);
        } else if let Some(V::Obj(ud)) = event.get("UserData") {
            for (k, inner) in ud {
                if k == "#attributes" {
                    continue;
                }
                flatten(inner, &mut data);
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

    fn flatten(v: &V<'_>, out: &mut Vec<(Arc<str>, String)>) {
        let V::Obj(m) = v else {
            return;
        };
        for (k, v) in m {
            if k == "#attributes" {
                continue;
            }
            if k == "Data" || k == "#text" {
                let one = std::slice::from_ref(v);
                let items: &[V<'_>] = match v {
                    V::Arr(a) => a,
                    V::Obj(_) => match v.get("#text") {
                        Some(V::Arr(a)) => a,
                        Some(t) => std::slice::from_ref(t),
                        None => &[],
                    },
                    _ => one,
                };
                for it in items {
                    out.push((format!("Data{}", out.len() + 1).into(), value_text(it)));
                }
                continue;
            }
            out.push((Arc::from(k.as_ref()), value_text(v)));
        }
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
        let d = r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"{5770385f}"}},"EventID":1,"TimeCreated":{"#attributes":{"SystemTime":"2019-04-30T20:35:11.8560890Z"}},"EventRecordID":9832,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"IEWIN7"},"EventData":{"ProcessId":3572,"Image":"C:\\Windows\\System32\\mmc.exe","Initiated":true,"RuleName":null}}}"##;
        let r = record_from_event_json_bytes(d.as_bytes(), prov())
            .unwrap()
            .unwrap();
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
        let d = r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"EventLog"}},"EventID":{"#attributes":{"Qualifiers":32768},"#text":6005},"Channel":"System","Computer":"H"},"EventData":{"Data":["a","b"],"Binary":"00"}}}"##;
        let r = record_from_event_json_bytes(d.as_bytes(), prov())
            .unwrap()
            .unwrap();
        assert_eq!(r.event_id, 6005);
        assert_eq!(r.record_id, None);
        assert_eq!(r.time, None);
        assert_eq!(r.get("Data1"), Some("a"));
        assert_eq!(r.get("Data2"), Some("b"));
        assert_eq!(r.get("Binary"), Some("00"));
        assert!(
            record_from_event_json_bytes(br#"{"x": 1}"#, prov())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn odd_shapes() {
        let docs = [
            r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"{5770385f}"}},"EventID":1,"TimeCreated":{"#attributes":{"SystemTime":"2019-04-30T20:35:11.8560890Z"}},"EventRecordID":9832,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"IEWIN7"},"EventData":{"ProcessId":3572,"Image":"C:\\Windows\\System32\\mmc.exe","Initiated":true,"RuleName":null,"F":1.5,"N":-3,"A":[1,"b",null],"O":{"#text":"t"}}}}"##,
            r##"{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":32768},"#text":6005},"Channel":"System","Computer":"H"},"EventData":{"Data":["a","b"],"Binary":"00"}}}"##,
            r##"{"Event":{"System":{"EventID":5,"Computer":"H"},"EventData":{"Data":{"#attributes":{"Name":"x"},"#text":["p","q"]},"K":"1","K":"2","#text":"z"}}}"##,
            r##"{"Event":{"System":{"EventID":5},"UserData":{"#attributes":{},"Inner":{"A":"1","Data":"d"}}}}"##,
            r##"{"Event":{"System":{"EventID":5},"EventData":null,"UserData":{"I":{"A":"1"}}}}"##,
            r##"{"Event":{"System":[1]}}"##,
            r##"{"x":1}"##,
        ];
        let got: Vec<Option<RawRecord>> = docs
            .iter()
            .map(|d| record_from_event_json_bytes(d.as_bytes(), prov()).unwrap())
            .collect();
        let r = got[0].as_ref().unwrap();
        assert_eq!(
            (r.get("F"), r.get("N"), r.get("A"), r.get("O")),
            (Some("1.5"), Some("-3"), Some("1,b,"), Some("t"))
        );
        let r = got[2].as_ref().unwrap();
        assert_eq!(r.get("K"), Some("2"), "the last duplicate wins");
        assert_eq!(
            (r.get("Data1"), r.get("Data2"), r.get("Data4")),
            (Some("p"), Some("q"), Some("z"))
        );
        let r = got[3].as_ref().unwrap();
        assert_eq!((r.get("A"), r.get("Data2")), (Some("1"), Some("d")));
        assert!(got[5].is_none() && got[6].is_none());
        assert!(record_from_event_json_bytes(b"{\"Event\":", prov()).is_err());
    }
}
