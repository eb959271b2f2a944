// What a failed command tells the agent: a sentence saying what happened and what Parley does next,
// picked by the error's code. The core's own words (which may name an API, an HTTP status or an OS
// error) go to the log, where Copy diagnostics finds them; only input the agent can fix is shown as
// the core wrote it.

import { t } from "./i18n.js";

/** Codes whose message is the core's own sentence about the agent's input, shown as written. */
const SHOWN_AS_WRITTEN = new Set(["invalid_input", "conflict"]);

/**
 * The sentence for a failed command's error (`{ code, message, retryable }` from the backend, or
 * anything thrown in the page).
 * @param {unknown} error
 */
export function plainError(error) {
  const code = typeof error === "object" && error !== null ? error.code : undefined;
  const message = typeof error === "object" && error !== null ? error.message : undefined;
  if (!code) return message ? String(message) : t("error.unknown");
  if (SHOWN_AS_WRITTEN.has(code) && message) return String(message);
  const key = `error.${code}`;
  const sentence = t(key);
  return sentence === key ? t("error.unknown") : sentence;
}
