//! `GET /docs`: the API reference as one self-contained HTML page, rendered from the OpenAPI
//! document when the server starts (no script, no font, nothing fetched: it works offline).

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page.
pub fn render(value: &serde_json::Value) -> String {
    let text = |v: &serde_json::Value, key: &str| {
        v.get(key)
            .and_then(|s| s.as_str())
            .map(escape)
            .unwrap_or_default()
    };
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>oktasync API</title>\
         <style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}\
         h2{border-bottom:1px solid #ddd;margin-top:2em}code,pre{background:#f4f4f4;padding:0 .3em}\
         .op{margin:1.2em 0;padding:.6em 1em;border-left:4px solid #48c;background:#fafcff}\
         .m{font-weight:bold;text-transform:uppercase;margin-right:.5em}table{border-collapse:collapse}\
         td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}</style></head><body>",
    );
    let info = &value["info"];
    html.push_str(&format!(
        "<h1>{} API {}</h1><p>{}</p><p>The machine-readable document: <a href=\"/openapi.json\"><code>/openapi.json</code></a> (OpenAPI {}).</p>",
        text(info, "title"),
        text(info, "version"),
        text(info, "description"),
        text(value, "openapi")
    ));
    let Some(paths) = value["paths"].as_object() else {
        html.push_str("</body></html>");
        return html;
    };
    for (path, item) in paths {
        let Some(ops) = item.as_object() else {
            continue;
        };
        for (method, op) in ops {
            html.push_str(&format!(
                "<div class=\"op\" id=\"{}-{}\"><p><span class=\"m\">{}</span><code>{}</code></p><p>{}</p>",
                escape(method),
                escape(path),
                escape(method),
                escape(path),
                text(op, "description").replace("\n", "<br>")
            ));
            if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
                html.push_str("<table><tr><th>parameter</th><th>in</th><th>meaning</th></tr>");
                for p in params {
                    html.push_str(&format!(
                        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                        text(p, "name"),
                        text(p, "in"),
                        text(p, "description")
                    ));
                }
                html.push_str("</table>");
            }
            if let Some(responses) = op["responses"].as_object() {
                let list: Vec<String> = responses
                    .iter()
                    .map(|(status, r)| {
                        let schema = r["content"]
                            .as_object()
                            .and_then(|c| c.values().next())
                            .and_then(|m| m["schema"]["$ref"].as_str())
                            .map(|s| {
                                format!(
                                    " <code>{}</code>",
                                    escape(s.rsplit('/').next().unwrap_or(s))
                                )
                            })
                            .unwrap_or_default();
                        format!("{}{schema}", escape(status))
                    })
                    .collect();
                html.push_str(&format!("<p>Responses: {}</p>", list.join(", ")));
            }
            html.push_str("</div>");
        }
    }
    if let Some(schemas) = value["components"]["schemas"].as_object() {
        html.push_str("<h2>Types</h2>");
        for (name, schema) in schemas {
            html.push_str(&format!("<h3 id=\"{0}\">{0}</h3>", escape(name)));
            if let Some(props) = schema["properties"].as_object() {
                html.push_str("<table><tr><th>field</th><th>meaning</th></tr>");
                for (field, p) in props {
                    html.push_str(&format!(
                        "<tr><td><code>{}</code></td><td>{}</td></tr>",
                        escape(field),
                        text(p, "description")
                    ));
                }
                html.push_str("</table>");
            }
        }
    }
    html.push_str("</body></html>");
    html
}
