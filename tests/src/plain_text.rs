//! The app's own words on screen hold nothing technical (issue 17, "No technical text"): no OS error,
//! HTTP method or path, API name, MIME type, `parley-cli`, temporary path or UUID, and nothing else a
//! test names (a raw `{{1}}` substitution, a teammate's id where the app knows their name). Customer
//! content (names, messages, file names) is left out: it is the customer's, not the app's. Used by
//! `tests/tests/window_a11y.rs` (every screen) and `tests/tests/window_plain_text.rs` (every notice).

use serde_json::json;

use crate::window::Window;

/// What the app's own text must never show an agent.
pub const TECHNICAL: &str =
    "os error|POST |GET |/api/|API v|application/|image/|audio/|parley-cli|/tmp/|[0-9a-f]{8}-[0-9a-f]{4}-";

/// Where customer content is shown (names, messages, file names): left out of the technical check.
pub const CUSTOMER_CONTENT: &str = ".conversation__title, .conversation__preview, .message__text, \
    .message__quote, .message__file-name, #thread-title, #details-contact dd, .details__past-preview, \
    .search-hit, #viewer-title, #viewer-image";

/// The words every hit's line carries: `<screen>: technical text <where> "<text>" (matches "<what>",
/// ...)`, naming the part of [`TECHNICAL`] that matched and each literal found.
pub const HIT: &str = "technical text";

/// Reads the app's own visible text on the screen as it is: every visible text node, the
/// `placeholder`, `title`, `aria-label` and `alt` of visible elements, and every option of a visible
/// `<select>` (what its list shows when opened), customer content ([`CUSTOMER_CONTENT`]) left out.
/// Returns one line per text that matches [`TECHNICAL`] or holds one of `literals` (as written,
/// case-sensitive), each starting with `screen`.
pub async fn technical_text(window: &Window, screen: &str, literals: &[String]) -> Vec<String> {
    let found = window
        .js(
            "const pattern = new RegExp(arguments[0]);\
             const customer = arguments[1];\
             const literals = arguments[2];\
             const hits = [];\
             const where = (node) => node.id ? '#' + node.id\
               : node.tagName.toLowerCase() + Array.from(node.classList).map(c => '.' + c).join('');\
             const check = (node, label, text) => {\
               if (!text) return;\
               const matched = pattern.exec(text);\
               const what = (matched ? [matched[0]] : []).concat(literals.filter(l => text.includes(l)));\
               if (what.length === 0) return;\
               hits.push(where(node) + label + ' ' + JSON.stringify(text.trim().slice(0, 160))\
                 + ' (matches ' + what.map(w => JSON.stringify(w)).join(', ') + ')');\
             };\
             const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);\
             for (let node = walker.nextNode(); node; node = walker.nextNode()) {\
               const parent = node.parentElement;\
               if (!parent || parent.closest('select') || parent.closest(customer)) continue;\
               if (!parent.checkVisibility()) continue;\
               check(parent, '', node.textContent);\
             }\
             for (const field of document.querySelectorAll('[placeholder], [title], [aria-label], [alt]')) {\
               if (field.closest(customer) || !field.checkVisibility()) continue;\
               for (const name of ['placeholder', 'title', 'aria-label', 'alt']) {\
                 check(field, '[' + name + ']', field.getAttribute(name));\
               }\
             }\
             for (const select of document.querySelectorAll('select')) {\
               if (select.closest(customer) || !select.checkVisibility()) continue;\
               for (const option of select.options) check(select, ' option', option.textContent);\
             }\
             return hits;",
            vec![json!(TECHNICAL), json!(CUSTOMER_CONTENT), json!(literals)],
        )
        .await;
    found
        .as_array()
        .into_iter()
        .flatten()
        .map(|hit| format!("{screen}: {HIT} {}", hit.as_str().unwrap_or_default()))
        .collect()
}
