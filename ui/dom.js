// Small DOM builders. Customer content (names, messages, file names) is hostile: it only ever
// reaches the page through textContent, never through HTML parsing.

import { language, tn } from "./i18n.js";
import { fileSize } from "./format.js";

/**
 * Creates an element with a class and text.
 * @param {string} tag
 * @param {string} [className]
 * @param {string | null | undefined} [text]
 */
export function element(tag, className = "", text = undefined) {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined && text !== null) {
    node.textContent = String(text);
  }
  return node;
}

/** Empties a container. */
export function clear(node) {
  node.replaceChildren();
}

/** A short local date and time for an RFC 3339 string. */
export function when(rfc3339) {
  if (!rfc3339) {
    return "";
  }
  const date = new Date(rfc3339);
  return date.toLocaleString(language(), { dateStyle: "short", timeStyle: "short" });
}

/** A readable file size in the locale's units and digits ("1.5 MB", "1,5 МБ"). */
export function size(bytes) {
  if (bytes === null || bytes === undefined) return "";
  return Number(bytes) < 1024 ? tn("size.bytes", Number(bytes)) : fileSize(bytes);
}
