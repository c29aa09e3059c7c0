//! Channel and provider names are matched without regard to case (Windows treats them so, and
//! shippers do not all keep the case: NXLog has written `security`) and reported in their
//! canonical case, so that one channel is never counted twice.

/// Channels the tool reads or commonly meets, in the case Windows writes them.
const CHANNELS: &[&str] = &[
    "Security",
    "System",
    "Application",
    "Setup",
    "ForwardedEvents",
    "Microsoft-Windows-Sysmon/Operational",
    "Windows PowerShell",
    "Microsoft-Windows-PowerShell/Operational",
    "Microsoft-Windows-WMI-Activity/Operational",
    "Microsoft-Windows-TaskScheduler/Operational",
    "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
    "Microsoft-Windows-Bits-Client/Operational",
    "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
    "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
];

/// Providers of the events the tool reads, and their neighbours, in Windows' case.
const PROVIDERS: &[&str] = &[
    "Microsoft-Windows-Security-Auditing",
    "Microsoft-Windows-Sysmon",
    "Microsoft-Windows-Kernel-General",
    "EventLog",
    "Microsoft-Windows-Eventlog",
    "Service Control Manager",
    "Microsoft-Windows-PowerShell",
    "PowerShell",
];

fn canonical<'a>(name: &'a str, known: &'static [&'static str]) -> &'a str {
    known
        .iter()
        .find(|k| k.eq_ignore_ascii_case(name))
        .copied()
        .unwrap_or(name)
}

/// A channel name in its canonical case (`security` → `Security`); unknown names as given.
pub fn canonical_channel(name: &str) -> &str {
    canonical(name, CHANNELS)
}

/// A provider name in its canonical case; unknown names as given.
pub fn canonical_provider(name: &str) -> &str {
    canonical(name, PROVIDERS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_case() {
        assert_eq!(canonical_channel("security"), "Security");
        assert_eq!(canonical_channel("SECURITY"), "Security");
        assert_eq!(
            canonical_channel("microsoft-windows-sysmon/operational"),
            "Microsoft-Windows-Sysmon/Operational"
        );
        assert_eq!(canonical_channel("Custom/Log"), "Custom/Log");
        assert_eq!(
            canonical_provider("microsoft-windows-security-auditing"),
            "Microsoft-Windows-Security-Auditing"
        );
        assert_eq!(canonical_provider("eventlog"), "EventLog");
    }
}
