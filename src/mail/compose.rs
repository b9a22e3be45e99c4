//! Writing a mail: a few plain paragraphs and, at most, one link to act on, as plain text and as
//! simple HTML (escaped; no images, no tracking, no remote content). Mails never carry a secret
//! other than the single-use link they exist to deliver.

use super::Mail;
use crate::core::web::escape_html;

/// A mail to `to`, greeting nobody by name (the address may not be the person's).
pub fn compose(to: &str, kind: &'static str, subject: &str, paragraphs: &[&str], action: Option<(&str, &str)>) -> Mail {
    let mut text = String::new();
    let mut html = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family: sans-serif; line-height: 1.5\">",
    );
    for paragraph in paragraphs {
        text.push_str(paragraph);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>", escape_html(paragraph)));
    }
    if let Some((label, url)) = action {
        text.push_str(&format!("{label}:\n{url}\n\n"));
        html.push_str(&format!("<p><a href=\"{}\">{}</a></p>", escape_html(url), escape_html(label)));
    }
    let footer = "This is an automatic message from Keycard about your account's security.";
    text.push_str(footer);
    text.push('\n');
    html.push_str(&format!("<p style=\"color: #555\">{footer}</p></body></html>"));
    Mail { to: to.to_owned(), subject: subject.to_owned(), text_body: text, html_body: html, kind }
}

#[cfg(test)]
mod tests {
    use super::compose;

    #[test]
    fn text_and_escaped_html_with_one_link() {
        let mail = compose(
            "a@example.com",
            "test",
            "Subject",
            &["Hello <you> & co."],
            Some(("Open", "https://k.example/x?a=1&b=2")),
        );
        assert_eq!(mail.text_body.lines().next(), Some("Hello <you> & co."));
        assert!(mail.text_body.contains("Open:\nhttps://k.example/x?a=1&b=2\n"));
        assert!(mail.html_body.contains("<p>Hello &lt;you&gt; &amp; co.</p>"));
        assert!(mail.html_body.contains("<a href=\"https://k.example/x?a=1&amp;b=2\">Open</a>"));
        assert!(!mail.html_body.contains("<img"));
    }
}
