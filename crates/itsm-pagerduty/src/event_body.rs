//! The Events API v2 bodies, serialised straight from the caller's data (no intermediate
//! JSON values): links and images, and the trigger event.

use std::collections::BTreeMap;

use itsm_core::Link;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// One entry of an event's `links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct LinkOut<'a> {
    pub(crate) href: &'a str,
    pub(crate) text: &'a str,
}

/// One entry of an event's `images` (PagerDuty shows HTTPS images only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ImageOut<'a> {
    pub(crate) src: &'a str,
    pub(crate) href: &'a str,
    pub(crate) alt: &'a str,
}

/// Links as Events API `links`, and those to HTTPS images also as `images` (dashboards'
/// rendered panels).
pub(crate) fn links_and_images(links: &[Link]) -> (Vec<LinkOut<'_>>, Vec<ImageOut<'_>>) {
    let mut out = Vec::with_capacity(links.len());
    let mut images = Vec::new();
    for link in links {
        let url = link.url.as_str();
        out.push(LinkOut {
            href: url,
            text: &link.label,
        });
        // Compared as bytes: no slicing inside a character, whatever the path holds.
        let path = link.url.path().as_bytes();
        let is_image = [".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"]
            .iter()
            .any(|ext| {
                let ext = ext.as_bytes();
                path.len() >= ext.len() && path[path.len() - ext.len()..].eq_ignore_ascii_case(ext)
            });
        if is_image && link.url.scheme() == "https" {
            images.push(ImageOut {
                src: url,
                href: url,
                alt: &link.label,
            });
        }
    }
    (out, images)
}

/// `custom_details`: the page's details, with `service` set to the page's service.
pub(crate) struct Details<'a> {
    pub(crate) details: &'a BTreeMap<String, String>,
    pub(crate) service: &'a str,
}

impl Serialize for Details<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (k, v) in self.details.iter().filter(|(k, _)| k.as_str() != "service") {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("service", self.service)?;
        map.end()
    }
}

/// A trigger event.
#[derive(Serialize)]
pub(crate) struct Trigger<'a> {
    pub(crate) routing_key: &'a str,
    pub(crate) event_action: &'static str,
    pub(crate) dedup_key: &'a str,
    pub(crate) client: &'static str,
    pub(crate) payload: TriggerPayload<'a>,
    pub(crate) links: Vec<LinkOut<'a>>,
    pub(crate) images: Vec<ImageOut<'a>>,
}

/// A trigger event's `payload`.
#[derive(Serialize)]
pub(crate) struct TriggerPayload<'a> {
    pub(crate) summary: &'a str,
    pub(crate) severity: &'static str,
    pub(crate) source: &'a str,
    pub(crate) component: &'a str,
    pub(crate) timestamp: String,
    pub(crate) custom_details: Details<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn image_links_become_images_too() {
        let links = vec![
            Link::parse("Runbook", "https://wiki.example/rb/checkout").unwrap(),
            Link::parse("Latency", "https://grafana.example/render/d/x.PNG").unwrap(),
            Link::parse("Plain image", "http://grafana.example/x.png").unwrap(),
        ];
        let (links, images) = links_and_images(&links);
        assert_eq!(links.len(), 3);
        assert_eq!(
            serde_json::to_value(&links[0]).unwrap(),
            json!({"href": "https://wiki.example/rb/checkout", "text": "Runbook"})
        );
        assert_eq!(
            serde_json::to_value(&images).unwrap(),
            json!([{
                "src": "https://grafana.example/render/d/x.PNG",
                "href": "https://grafana.example/render/d/x.PNG",
                "alt": "Latency"
            }])
        );
    }

    #[test]
    fn details_carry_the_service_once_and_keep_the_rest() {
        let details = BTreeMap::from([
            ("service".to_owned(), "spoofed".to_owned()),
            ("region".to_owned(), "eu-west-1".to_owned()),
        ]);
        let value = serde_json::to_value(Details {
            details: &details,
            service: "checkout",
        })
        .unwrap();
        assert_eq!(value, json!({"region": "eu-west-1", "service": "checkout"}));
        let text = serde_json::to_string(&Details {
            details: &details,
            service: "checkout",
        })
        .unwrap();
        assert_eq!(text.matches("\"service\"").count(), 1, "{text}");
    }
}
