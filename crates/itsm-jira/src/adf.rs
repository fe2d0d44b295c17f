//! Atlassian Document Format: plain text in (one paragraph per line), plain text out.

use serde_json::{Value, json};

/// An ADF document holding `text`, one paragraph per line (empty lines are kept as empty
/// paragraphs so the text reads back the same).
pub(crate) fn doc(text: &str) -> Value {
    let paragraphs: Vec<Value> = text
        .split('\n')
        .map(|line| {
            if line.is_empty() {
                json!({ "type": "paragraph", "content": [] })
            } else {
                json!({ "type": "paragraph", "content": [{ "type": "text", "text": line }] })
            }
        })
        .collect();
    json!({ "type": "doc", "version": 1, "content": paragraphs })
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
