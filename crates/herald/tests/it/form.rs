//! Reads an HTML form the way a browser would submit it: hidden fields, the checked radio, the
//! checked and enabled checkboxes.

pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
    /// Submit buttons: (name, value).
    pub buttons: Vec<(String, String)>,
}

impl Form {
    /// The fields a browser sends when the button with `value` is clicked.
    pub fn submit(mut self, value: &str) -> Vec<(String, String)> {
        let button = self
            .buttons
            .iter()
            .find(|(_, v)| v == value)
            .expect("the button exists")
            .clone();
        self.fields.push(button);
        self.fields
    }
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(
        tag[start..end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

fn has(tag: &str, flag: &str) -> bool {
    tag.split(|c: char| c.is_whitespace() || c == '>')
        .any(|w| w == flag)
}

/// The first form in `html`, with what submitting it unchanged would send, minus unticked `untick` values.
pub fn parse(html: &str, untick: &[&str]) -> Form {
    let form_start = html.find("<form").expect("a form");
    let form_tag = &html[form_start..form_start + html[form_start..].find('>').expect("form tag end")];
    let action = attr(form_tag, "action").expect("form action");
    let mut fields = Vec::new();
    let mut rest = &html[form_start..];
    while let Some(i) = rest.find("<input") {
        let end = rest[i..].find('>').expect("input end") + i;
        let tag = &rest[i..end];
        rest = &rest[end..];
        let (Some(name), value) = (attr(tag, "name"), attr(tag, "value").unwrap_or_default()) else {
            continue;
        };
        if has(tag, "disabled") {
            continue;
        }
        match attr(tag, "type").as_deref() {
            Some("checkbox" | "radio") if !has(tag, "checked") || untick.contains(&value.as_str()) => {}
            _ => fields.push((name, value)),
        }
    }
    let mut buttons = Vec::new();
    let mut rest = &html[form_start..];
    while let Some(i) = rest.find("<button") {
        let end = rest[i..].find('>').expect("button end") + i;
        if let (Some(n), Some(v)) = (attr(&rest[i..end], "name"), attr(&rest[i..end], "value")) {
            buttons.push((n, v));
        }
        rest = &rest[end..];
    }
    Form {
        action,
        fields,
        buttons,
    }
}
