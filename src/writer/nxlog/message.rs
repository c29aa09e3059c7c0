//! The rendered `Message`, `Category` and account fields NXLog adds to a record: the provider's
//! message text with the event's values filled in, as Windows renders it for NXLog.

use crate::writer::schema::Log;

/// NXLog's `Domain` and `AccountName` for a record's `Security/@UserID`.
pub fn account_of(sid: &str) -> (&'static str, &'static str) {
    match sid {
        "S-1-5-18" => ("NT AUTHORITY", "SYSTEM"),
        "S-1-5-19" => ("NT AUTHORITY", "LOCAL SERVICE"),
        "S-1-5-20" => ("NT AUTHORITY", "NETWORK SERVICE"),
        _ => ("", ""),
    }
}

/// NXLog's `Category`: the event's task name.
pub fn category(log: Log, event_id: u16) -> &'static str {
    match (log, event_id) {
        (Log::Sysmon, 1) => "Process Create (rule: ProcessCreate)",
        (Log::Sysmon, 3) => "Network connection detected (rule: NetworkConnect)",
        (Log::Sysmon, 4) => "Sysmon service state changed",
        (Log::Sysmon, 5) => "Process terminated (rule: ProcessTerminate)",
        (Log::Security, 4608) => "Security State Change",
        (Log::Security, 4688) => "Process Creation",
        (Log::Security, 4689) => "Process Termination",
        (Log::Security, 5156 | 5157) => "Filtering Platform Connection",
        _ => "None",
    }
}

const TOKEN_NOTE: &str = "Token Elevation Type indicates the type of token that was assigned to the new process in accordance with User Account Control policy.\r\n\r\nType 1 is a full token with no privileges removed or groups disabled.  A full token is only used if User Account Control is disabled or if the user is the built-in Administrator account or a service account.\r\n\r\nType 2 is an elevated token with no privileges removed or groups disabled.  An elevated token is used when User Account Control is enabled and the user chooses to start the program using Run as administrator.  An elevated token is also used when an application is configured to always require administrative privilege or to always require maximum privilege, and the user is a member of the Administrators group.\r\n\r\nType 3 is a limited token with administrative privileges removed and administrative groups disabled.  The limited token is used when User Account Control is enabled, the application does not require administrative privilege, and the user does not choose to start the program using Run as administrator.";

/// A logon id as the Security messages print it: `0x3E7` (the EventData text is `0x3e7`).
fn logon_id(text: &str) -> String {
    match text.strip_prefix("0x") {
        Some(hex) => format!("0x{}", hex.to_uppercase()),
        None => text.to_owned(),
    }
}

/// The message text of one event, from its EventData `(name, text)` pairs.
pub fn message(log: Log, event_id: u16, data: &[(&str, String)]) -> String {
    let get = |name: &str| {
        data.iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let subject = |heading: &str| {
        format!(
            "{heading}:\r\n\tSecurity ID:\t\t{}\r\n\tAccount Name:\t\t{}\r\n\tAccount Domain:\t\t{}\r\n\tLogon ID:\t\t{}",
            get("SubjectUserSid"),
            get("SubjectUserName"),
            get("SubjectDomainName"),
            logon_id(get("SubjectLogonId"))
        )
    };
    match (log, event_id) {
        (Log::Sysmon, id) => {
            let heading = match id {
                1 => "Process Create",
                3 => "Network connection detected",
                4 => "Sysmon service state changed",
                5 => "Process terminated",
                _ => "Sysmon event",
            };
            let mut out = format!("{heading}:");
            for (name, text) in data {
                out.push_str(&format!("\r\n{name}: {text}"));
            }
            out
        }
        (Log::Security, 4688) => format!(
            "A new process has been created.\r\n\r\n{}\r\n\r\nTarget Subject:\r\n\tSecurity ID:\t\t{}\r\n\tAccount Name:\t\t{}\r\n\tAccount Domain:\t\t{}\r\n\tLogon ID:\t\t{}\r\n\r\nProcess Information:\r\n\tNew Process ID:\t\t{}\r\n\tNew Process Name:\t{}\r\n\tToken Elevation Type:\t{}\r\n\tMandatory Label:\t\t{}\r\n\tCreator Process ID:\t{}\r\n\tCreator Process Name:\t{}\r\n\tProcess Command Line:\t{}\r\n\r\n{TOKEN_NOTE}",
            subject("Creator Subject"),
            get("TargetUserSid"),
            get("TargetUserName"),
            get("TargetDomainName"),
            logon_id(get("TargetLogonId")),
            get("NewProcessId"),
            get("NewProcessName"),
            get("TokenElevationType"),
            get("MandatoryLabel"),
            get("ProcessId"),
            get("ParentProcessName"),
            get("CommandLine"),
        ),
        (Log::Security, 4689) => format!(
            "A process has exited.\r\n\r\n{}\r\n\r\nProcess Information:\r\n\tProcess ID:\t{}\r\n\tProcess Name:\t{}\r\n\tExit Status:\t{}",
            subject("Subject"),
            get("ProcessId"),
            get("ProcessName"),
            get("Status"),
        ),
        (Log::Security, id @ (5156 | 5157)) => {
            let verdict = if id == 5156 { "permitted" } else { "blocked" };
            let direction = match get("Direction") {
                "%%14592" => "Inbound",
                "%%14593" => "Outbound",
                other => other,
            };
            let layer = match get("LayerName") {
                "%%14610" => "Receive/Accept",
                "%%14611" => "Connect",
                other => other,
            };
            format!(
                "The Windows Filtering Platform has {verdict} a connection.\r\n\r\nApplication Information:\r\n\tProcess ID:\t\t{}\r\n\tApplication Name:\t{}\r\n\r\nNetwork Information:\r\n\tDirection:\t\t{direction}\r\n\tSource Address:\t\t{}\r\n\tSource Port:\t\t{}\r\n\tDestination Address:\t{}\r\n\tDestination Port:\t\t{}\r\n\tProtocol:\t\t{}\r\n\r\nFilter Information:\r\n\tFilter Run-Time ID:\t{}\r\n\tLayer Name:\t\t{layer}\r\n\tLayer Run-Time ID:\t{}",
                get("ProcessID"),
                get("Application"),
                get("SourceAddress"),
                get("SourcePort"),
                get("DestAddress"),
                get("DestPort"),
                get("Protocol"),
                get("FilterRTID"),
                get("LayerRTID"),
            )
        }
        (Log::Security, 4608) => "Windows is starting up.\r\n\r\nThis event is logged when LSASS.EXE starts and the auditing subsystem is initialized.".to_owned(),
        (Log::System, 6005) => "The Event log service was started.".to_owned(),
        (Log::System, 12) => format!(
            "The operating system started at system time \u{200e}{}.",
            get("StartTime")
        ),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_messages_fill_in_the_values() {
        let data = [
            ("SubjectUserSid", "S-1-5-18".to_owned()),
            ("SubjectLogonId", "0x3e7".to_owned()),
            ("ProcessId", "0x156c".to_owned()),
            ("ProcessName", "C:\\x.exe".to_owned()),
            ("Status", "0x0".to_owned()),
        ];
        let m = message(Log::Security, 4689, &data);
        assert!(
            m.starts_with(
                "A process has exited.\r\n\r\nSubject:\r\n\tSecurity ID:\t\tS-1-5-18\r\n"
            ),
            "{m}"
        );
        assert!(m.contains("Logon ID:\t\t0x3E7\r\n"), "{m}");
        assert!(
            m.ends_with("Process ID:\t0x156c\r\n\tProcess Name:\tC:\\x.exe\r\n\tExit Status:\t0x0"),
            "{m}"
        );
        let m = message(Log::Sysmon, 5, &data[2..4]);
        assert_eq!(
            m,
            "Process terminated:\r\nProcessId: 0x156c\r\nProcessName: C:\\x.exe"
        );
        assert_eq!(
            category(Log::Security, 5156),
            "Filtering Platform Connection"
        );
        assert_eq!(account_of("S-1-5-18"), ("NT AUTHORITY", "SYSTEM"));
    }
}
