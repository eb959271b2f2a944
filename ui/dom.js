// Small DOM builders. Customer content (names, messages, file names) is hostile: it only ever
// reaches the page through textContent, never through HTML parsing.

import { language } from "./i18n.js";

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

/** A readable file size. */
export function size(bytes) {
  if (bytes === null || bytes === undefined) {
    return "";
  }
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
