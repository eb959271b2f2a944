// The only module that touches window.__TAURI__ (injected because tauri.conf.json sets
// app.withGlobalTauri). Every other module imports from here, so tests and a browser preview
// can stand in for Tauri in one place.

/** True when the page runs inside the Parley window rather than a plain browser. */
export function insideTauri() {
  return typeof window.__TAURI__?.core?.invoke === "function";
}

/**
 * Calls a Rust command and resolves with its result.
 * Rejects with `{ code, message, retryable }` when the command fails or Tauri is absent.
 * `args` may also be a Uint8Array, sent as the raw body of the call (with `options.headers`).
 * @param {string} command
 * @param {Record<string, unknown> | Uint8Array} [args]
 * @param {{ headers?: Record<string, string> }} [options]
 * @returns {Promise<unknown>}
 */
export function invoke(command, args = {}, options = undefined) {
  if (!insideTauri()) {
    return Promise.reject({
      code: "unavailable",
      message: "Not running inside the Parley app.",
      retryable: false,
    });
  }
  return window.__TAURI__.core.invoke(command, args, options);
}

/**
 * Calls `handler(payload)` for every event of that name sent by the Rust side.
 * @param {string} event
 * @param {(payload: unknown) => void} handler
 */
export function listen(event, handler) {
  if (!insideTauri()) {
    return;
  }
  window.__TAURI__.event.listen(event, (message) => handler(message.payload));
}
