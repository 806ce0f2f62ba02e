//! Minimal HTML helpers for the consent pages.

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}\
         .perm{{display:block;margin:.5rem 0}} .banner{{background:#fff3cd;padding:.5rem;border-radius:4px}}</style>\
         </head><body><p class=\"banner\">Herald platform sandbox: no real account is involved.</p>{}</body></html>",
        escape(title),
        body
    )
}
