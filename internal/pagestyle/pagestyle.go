// Package pagestyle owns the look of the HTML pages stoa writes itself, the
// built-in error pages (package errpage) and directory listings (package
// listing): one small style sheet both carry, light or dark as the reader's
// system prefers (prefers-color-scheme, CSS Media Queries Level 5).
//
// The sheet is inline, in a <style> element of each page, rather than served
// at a path of its own: an error page is one prebuilt response that must
// look right whatever path failed (a rule that denies /.stoa/, a site whose
// every path is proxied or rewritten), no name is taken from the site's own
// files, and no second request is made. The cost is that a site whose header
// rules send a strict Content-Security-Policy without style-src
// 'unsafe-inline' (or the sheet's hash) gets these pages unstyled: still
// readable, as every rule here is decoration. stoa's own security_headers
// set no style-src.
package pagestyle

// CSS is the style sheet every page of stoa's own starts with, without the
// <style> element: a page appends its own rules after it. It is small
// because error pages carry it at full request rate (a 404 stays under
// 1 KiB), and it has no url(), @import or comment, so a page stays
// self-contained.
const CSS = ":root{color-scheme:light dark}" +
	"body{font:1rem/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#1f2328;background:#fff}" +
	"h1{font-size:1.25rem;overflow-wrap:anywhere}" +
	"a{color:#0969da}" +
	"@media (prefers-color-scheme:dark){body{color:#e6edf3;background:#0d1117}a{color:#58a6ff}}\n"
