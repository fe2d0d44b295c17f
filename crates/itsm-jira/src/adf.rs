//! Atlassian Document Format: plain text in (one paragraph per line), plain text out.

use serde::ser::{Serialize, SerializeSeq, SerializeStruct, Serializer};
use serde_json::Value;

/// An ADF document holding `text`, one paragraph per line (empty lines are kept as empty
/// paragraphs so the text reads back the same).
pub(crate) fn doc(text: &str) -> Value {
    serde_json::to_value(Doc(text)).unwrap_or(Value::Null)
}

/// The document of [`doc`], serialised straight into a request body (no `Value` tree built
/// first): `{"type": "doc", "version": 1, "content": [paragraph...]}`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Doc<'a>(pub(crate) &'a str);

impl Serialize for Doc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut doc = s.serialize_struct("Doc", 3)?;
        doc.serialize_field("type", "doc")?;
        doc.serialize_field("version", &1)?;
        doc.serialize_field("content", &Paragraphs(self.0))?;
        doc.end()
    }
}

/// One paragraph per line.
struct Paragraphs<'a>(&'a str);

impl Serialize for Paragraphs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for line in self.0.split('\n') {
            seq.serialize_element(&Paragraph(line))?;
        }
        seq.end()
    }
}

/// `{"type": "paragraph", "content": []}`, or with one text node for a non-empty line.
struct Paragraph<'a>(&'a str);

impl Serialize for Paragraph<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut p = s.serialize_struct("Paragraph", 2)?;
        p.serialize_field("type", "paragraph")?;
        let text: &[TextNode<'_>] = if self.0.is_empty() {
            &[]
        } else {
            &[TextNode(self.0)]
        };
        p.serialize_field("content", text)?;
        p.end()
    }
}

/// `{"type": "text", "text": ...}`.
struct TextNode<'a>(&'a str);

impl Serialize for TextNode<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_struct("TextNode", 2)?;
        t.serialize_field("type", "text")?;
        t.serialize_field("text", self.0)?;
        t.end()
    }
}

/// The text of an ADF document (or of a plain string, as older payloads send): text nodes
/// joined, block nodes separated by newlines. Anything else gives an empty string.
pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(_) => {
            let mut blocks = Vec::new();
            if let Some(content) = value.get("content").and_then(Value::as_array) {
                for block in content {
                    let mut line = String::new();
                    inline(block, &mut line);
                    blocks.push(line);
                }
            }
            blocks.join("\n")
        }
        _ => String::new(),
    }
}

fn inline(node: &Value, out: &mut String) {
    match node.get("type").and_then(Value::as_str) {
        Some("text") => {
            if let Some(t) = node.get("text").and_then(Value::as_str) {
                out.push_str(t);
            }
        }
        Some("hardBreak") => out.push('\n'),
        _ => {
            if let Some(children) = node.get("content").and_then(Value::as_array) {
                for (i, child) in children.iter().enumerate() {
                    let block = child
                        .get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t == "paragraph");
                    if block && i > 0 {
                        out.push('\n');
                    }
                    inline(child, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_lines() {
        let text_in = "Deployed checkout 1.4.2\n\nPipeline run 991";
        let d = doc(text_in);
        assert_eq!(d["type"], "doc");
        assert_eq!(d["version"], 1);
        assert_eq!(
            d["content"][0]["content"][0]["text"],
            "Deployed checkout 1.4.2"
        );
        assert_eq!(text(&d), text_in);
        assert_eq!(
            d,
            serde_json::json!({ "type": "doc", "version": 1, "content": [
                { "type": "paragraph", "content": [{ "type": "text", "text": "Deployed checkout 1.4.2" }] },
                { "type": "paragraph", "content": [] },
                { "type": "paragraph", "content": [{ "type": "text", "text": "Pipeline run 991" }] },
            ] })
        );
        // Written straight into a body, it is the same JSON.
        let direct: Value =
            serde_json::from_str(&serde_json::to_string(&Doc(text_in)).unwrap()).unwrap();
        assert_eq!(direct, d);
    }

    #[test]
    fn reads_documented_example_and_tolerates_junk() {
        let example = serde_json::json!({"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"Lorem ipsum"},{"type":"hardBreak"},{"type":"text","text":"dolor"}]}]});
        assert_eq!(text(&example), "Lorem ipsum\ndolor");
        assert_eq!(text(&serde_json::json!("plain")), "plain");
        assert_eq!(text(&serde_json::json!(42)), "");
        assert_eq!(text(&serde_json::json!({"content": 5})), "");
    }
}
