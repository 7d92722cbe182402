// Package browser holds the dashboard's real-browser test: it starts Weir
// in-process with the provider simulator, records a few hundred attributed
// calls, and runs tests/browser/dashboard.test.mjs (node:test driving the
// Debian chromium with playwright-core) against it. It has no code of its
// own; nothing imports it.
package browser
