//! Turning a user-agent text into what a person recognises: "Firefox 133 on Linux", "Phone".
//!
//! Parsing is done by `woothee` (a maintained, table-driven parser); this file only words its
//! answer. The result is plain text: the page renders it (and the raw agent) as escaped text
//! nodes or attributes, never as HTML.

use woothee::parser::Parser;

/// Shown when the agent names no browser and no system Keycard can recognise.
pub const UNKNOWN_DEVICE: &str = "Unknown browser on unknown system";

/// A user agent, worded for the devices page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceLabel {
    /// "Firefox 133 on Linux", "Safari 17 on iPhone", or [`UNKNOWN_DEVICE`].
    pub name: String,
    /// "Computer", "Phone", "Tablet", "Bot" or "Unknown device".
    pub kind: &'static str,
}

const UNKNOWN: &str = "UNKNOWN";

/// What an app's user agent says of where it runs: the browser and system when recognised, else
/// the text itself, shortened ("keycard-cli/0.1 (linux)").
pub fn describe_or_quote(user_agent: &str) -> String {
    let label = describe(user_agent);
    if label.name == UNKNOWN_DEVICE {
        user_agent.chars().take(64).collect()
    } else {
        label.name
    }
}

pub fn describe(user_agent: &str) -> DeviceLabel {
    let Some(parsed) = Parser::new().parse(user_agent) else {
        return DeviceLabel { name: UNKNOWN_DEVICE.to_owned(), kind: "Unknown device" };
    };
    let browser = known(parsed.name).map(|name| match major(parsed.version) {
        Some(version) => format!("{name} {version}"),
        None => name.to_owned(),
    });
    let system = known(parsed.os).map(system_name);
    let name = match (browser, system) {
        (None, None) => UNKNOWN_DEVICE.to_owned(),
        (Some(browser), None) => format!("{browser} on unknown system"),
        (None, Some(system)) => format!("Unknown browser on {system}"),
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
    };
    let kind = match (parsed.category, parsed.os) {
        (_, "iPad") => "Tablet",
        ("pc", _) => "Computer",
        ("smartphone" | "mobilephone", _) => "Phone",
        ("crawler", _) => "Bot",
        ("appliance", _) => "Appliance",
        _ => "Unknown device",
    };
    DeviceLabel { name, kind }
}

fn known(value: &str) -> Option<&str> {
    (!value.is_empty() && value != UNKNOWN).then_some(value)
}

/// The major version ("133" of "133.0"), when there is a numeric one.
fn major(version: &str) -> Option<&str> {
    let major = version.split('.').next()?;
    (!major.is_empty() && major.chars().all(|c| c.is_ascii_digit())).then_some(major)
}

/// woothee's system names, in the words people use today.
fn system_name(os: &str) -> String {
    match os {
        "Mac OSX" => "macOS".to_owned(),
        "iOS" => "iOS".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers() {
        let firefox = describe("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0");
        assert_eq!(firefox, DeviceLabel { name: "Firefox 133 on Linux".into(), kind: "Computer" });
        let safari = describe(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
             (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        );
        assert_eq!(safari, DeviceLabel { name: "Safari 17 on iPhone".into(), kind: "Phone" });
        let chrome = describe(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
             Chrome/131.0.0.0 Safari/537.36",
        );
        assert_eq!(chrome.name, "Chrome 131 on Windows 10");
        assert_eq!(chrome.kind, "Computer");
        let mac = describe(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) \
             Version/17.5 Safari/605.1.15",
        );
        assert_eq!(mac.name, "Safari 17 on macOS");
    }

    #[test]
    fn unknown_agents_fall_back() {
        for agent in ["", "curl-ish/1", "<script>alert(1)</script>", "\u{0}\u{7f}", &"x".repeat(600)] {
            let label = describe(agent);
            assert!(!label.name.contains('<'), "{agent:?} -> {label:?}");
            if label.name != UNKNOWN_DEVICE {
                assert!(label.name.contains(" on "), "{label:?}");
            }
        }
        assert_eq!(describe("").name, UNKNOWN_DEVICE);
        assert_eq!(describe("<script>alert(1)</script>").name, UNKNOWN_DEVICE);
        assert_eq!(describe("<script>alert(1)</script>").kind, "Unknown device");
    }

    #[test]
    fn markup_inside_a_known_agent_stays_out_of_the_label() {
        let label =
            describe("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/<img src=x onerror=alert(1)>");
        assert!(!label.name.contains('<') && !label.name.contains('>'), "{label:?}");
    }

    #[test]
    fn versions() {
        assert_eq!(major("133.0"), Some("133"));
        assert_eq!(major("UNKNOWN"), None);
        assert_eq!(major(""), None);
    }
}
