package e2e

// The listing page in a real browser: what a person sees and clicks, as
// Chromium renders it, rather than the bytes the other tests read. Names that
// try to inject markup, links that must survive percent-encoding both ways,
// the sort links of the column headings, and a phone-width layout.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Bounds on the browser test: the whole test, and one navigation in it.
const (
	browserTimeout = 60 * time.Second
	navTimeout     = 15 * time.Second
)

// spacesBody is the content of "a file with spaces.txt", the file the test
// opens first by clicking its link.
const spacesBody = "Hello from a file with spaces.\n"

// A browserEntry is a file or directory of the browsed root.
type browserEntry struct {
	name string
	dir  bool
	size int           // of a file's body: spacesBody, or that many 'x'
	age  time.Duration // before the reference time: the Modified column
}

// text is how the listing shows e: directories end in '/'.
func (e browserEntry) text() string {
	if e.dir {
		return e.name + "/"
	}
	return e.name
}

// body is the content of the file e.
func (e browserEntry) body() string {
	if e.name == "a file with spaces.txt" {
		return spacesBody
	}
	return strings.Repeat("x", e.size)
}

// longName has no break opportunity, to test wrapping on a narrow screen.
var longName = "long-" + strings.Repeat("name-", 40) + "end.txt"

// browserEntries are the root's entries. Every size and every age is
// distinct, so that each sort order is fully determined by its key.
var browserEntries = []browserEntry{
	{name: "Another dir", dir: true, age: 20 * time.Hour},
	{name: "sub dir", dir: true, age: 30 * time.Hour}, // holds innerFile
	{name: `"><img src=x onerror=alert(1)>.txt`, size: 12, age: 3 * time.Hour},
	{name: `<script>alert(1)<_script>.txt`, size: 7, age: 9 * time.Hour},
	{name: "a file with spaces.txt", size: len(spacesBody), age: 1 * time.Hour},
	{name: "alpha.txt", size: 100, age: 7 * time.Hour},
	{name: "Big.txt", size: 300_000, age: 2 * time.Hour},
	{name: "empty.txt", size: 0, age: 11 * time.Hour},
	{name: "file2.txt", size: 2000, age: 4 * time.Hour},
	{name: "file10.txt", size: 1500, age: 10 * time.Hour},
	// As an unprefixed relative link this would be a javascript: URL
	// (RFC 3986 §4.2): clicking it would run alert(2).
	{name: "javascript:alert(2).txt", size: 64, age: 6 * time.Hour},
	{name: longName, size: 900, age: 8 * time.Hour},
	{name: "ünïcödé-名前.txt", size: 512, age: 5 * time.Hour},
}

// innerFile is the one file in "sub dir".
const innerFile, innerBody = "inner file.txt", "inside the sub dir\n"

// byNameAsc is the documented name order (natural, case-insensitive),
// written out rather than computed so that the test does not share the
// server's comparison.
var byNameAsc = []string{
	"Another dir/", "sub dir/",
	`"><img src=x onerror=alert(1)>.txt`,
	`<script>alert(1)<_script>.txt`,
	"a file with spaces.txt",
	"alpha.txt",
	"Big.txt",
	"empty.txt",
	"file2.txt",
	"file10.txt",
	"javascript:alert(2).txt",
	longName,
	"ünïcödé-名前.txt",
}

// wantOrder returns the link texts of the root in the order the listing
// documents for key ("name", "size" or "time"): directories first, then by
// the key, with ties (the sizes of directories) broken by ascending name.
func wantOrder(key string, desc bool) []string {
	es := slices.Clone(browserEntries)
	rank := func(e browserEntry) int { return slices.Index(byNameAsc, e.text()) }
	slices.SortFunc(es, func(a, b browserEntry) int {
		if a.dir != b.dir {
			if a.dir {
				return -1
			}
			return 1
		}
		var c int
		switch key {
		case "name":
			c = rank(a) - rank(b)
		case "size":
			if !a.dir {
				c = a.size - b.size
			}
		case "time":
			c = cmp.Compare(b.age, a.age) // older first
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = rank(a) - rank(b)
		}
		return c
	})
	var out []string
	for _, e := range es {
		out = append(out, e.text())
	}
	return out
}

// TestListingInBrowser loads the --browse listing in headless Chromium and
// checks what a person gets: every hostile name shown as text and never run,
// links that open the right file and directory, working sort headings, and
// a page that fits a phone screen. It writes screenshots to $STOA_ARTIFACTS.
func TestListingInBrowser(t *testing.T) {
	execPath := needBrowser(t)
	t.Parallel()

	s := newSite(t)
	if err := os.Remove(s.path("index.html")); err != nil {
		t.Fatal(err) // an index would be served instead of the listing
	}
	ref := time.Now().Truncate(time.Second)
	s.write("sub dir/"+innerFile, innerBody)
	for _, e := range browserEntries {
		if e.dir {
			s.mkdir(e.name)
		} else {
			s.write(e.name, e.body())
		}
		s.setModTime(e.name, ref.Add(-e.age)) // a directory's after its content
	}
	srv := startServer(t, s, "--browse")
	base := "http://" + srv.addr

	ctx, b := newBrowser(t, execPath)

	// Every page of the test is checked for injected markup, and every
	// dialog (alert, confirm, prompt) the pages open is recorded.
	t.Run("listing", func(t *testing.T) {
		load(t, ctx, chromedp.Navigate(base+"/"))
		checkListingPage(t, ctx, "/")
		checkLocation(t, ctx, "/", "")
		if got := linkTexts(t, ctx); !slices.Equal(got, byNameAsc) {
			t.Errorf("GET /: link texts =\n%s\nwant\n%s", quoteLines(got), quoteLines(byNameAsc))
		}
		// Each link must lead to the entry it names, whatever the
		// percent-encoding the page chose.
		targets := evaluate[[]string](t, ctx, `[...document.querySelectorAll("tbody td:first-child a")]
			.map(a => decodeURIComponent(new URL(a.href).pathname))`)
		var want []string
		for _, name := range byNameAsc {
			want = append(want, "/"+name)
		}
		if !slices.Equal(targets, want) {
			t.Errorf("GET /: decoded link targets =\n%s\nwant\n%s", quoteLines(targets), quoteLines(want))
		}
	})

	t.Run("open each file", func(t *testing.T) {
		for _, f := range browserEntries {
			if f.dir {
				continue
			}
			t.Run(f.name, func(t *testing.T) {
				load(t, ctx, chromedp.Navigate(base+"/"))
				if !clickLink(t, ctx, f.name) {
					return
				}
				got := evaluate[string](t, ctx, `decodeURIComponent(location.pathname) + location.search`)
				if want := "/" + f.name; got != want {
					t.Errorf("after clicking %q: decoded location = %q, want %q", f.name, got, want)
				}
				body := evaluate[string](t, ctx, `document.body.textContent`)
				if want := f.body(); body != want {
					t.Errorf("after clicking %q: body text = %q (%d bytes), want %q (%d bytes)",
						f.name, clip([]byte(body), 80), len(body), clip([]byte(want), 80), len(want))
				}
			})
		}
	})

	t.Run("sub dir and back", func(t *testing.T) {
		load(t, ctx, chromedp.Navigate(base+"/"))
		if !clickLink(t, ctx, "sub dir/") {
			return
		}
		checkLocation(t, ctx, "/sub%20dir/", "")
		checkListingPage(t, ctx, "/sub dir/")
		if got, want := linkTexts(t, ctx), []string{"../", innerFile}; !slices.Equal(got, want) {
			t.Errorf("/sub dir/: link texts = %q, want %q", got, want)
		}
		if !clickLink(t, ctx, "../") {
			return
		}
		checkLocation(t, ctx, "/", "")
		if got := linkTexts(t, ctx); !slices.Equal(got, byNameAsc) {
			t.Errorf("after ../: link texts =\n%s\nwant the root's\n%s", quoteLines(got), quoteLines(byNameAsc))
		}
		// A link inside a directory whose name needs encoding.
		if !clickLink(t, ctx, "sub dir/") || !clickLink(t, ctx, innerFile) {
			return
		}
		checkLocation(t, ctx, "/sub%20dir/inner%20file.txt", "")
		if got := evaluate[string](t, ctx, `document.body.textContent`); got != innerBody {
			t.Errorf("/sub dir/%s: body text = %q, want %q", innerFile, got, innerBody)
		}
	})

	t.Run("sort", func(t *testing.T) {
		steps := []struct {
			column int // 1 Name, 2 Size, 3 Modified: the heading clicked
			search string
			want   []string
			desc   bool
		}{
			{2, "?sort=size&order=asc", wantOrder("size", false), false},
			{2, "?sort=size&order=desc", wantOrder("size", true), true},
			{3, "?sort=time&order=asc", wantOrder("time", false), false},
			{3, "?sort=time&order=desc", wantOrder("time", true), true},
			{1, "?sort=name&order=asc", wantOrder("name", false), false},
			{1, "?sort=name&order=desc", wantOrder("name", true), true},
		}
		load(t, ctx, chromedp.Navigate(base+"/"))
		checkAriaSort(t, ctx, "GET /", 1, false)
		for _, st := range steps {
			// Each step clicks on the page the one before it left, as a
			// person would.
			what := fmt.Sprintf("heading %d clicked to %s", st.column, st.search)
			load(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf("thead th:nth-child(%d) > a", st.column))))
			checkLocation(t, ctx, "/", st.search)
			checkListingPage(t, ctx, "/")
			checkAriaSort(t, ctx, what, st.column, st.desc)
			if got := linkTexts(t, ctx); !slices.Equal(got, st.want) {
				t.Errorf("%s: link texts =\n%s\nwant\n%s", what, quoteLines(got), quoteLines(st.want))
			}
		}
	})

	t.Run("filter", func(t *testing.T) {
		load(t, ctx, chromedp.Navigate(base+"/"))
		box := chromedp.CSS(`input[type="search"]`)
		if err := chromedp.Do(ctx, chromedp.SendKeys(box, "FILE")); err != nil {
			t.Fatalf("type into the filter box: %v", err)
		}
		// Case ignored: "a file with spaces.txt", "file2.txt", "file10.txt".
		want := []string{"a file with spaces.txt", "file2.txt", "file10.txt"}
		if got := shownLinkTexts(t, ctx); !slices.Equal(got, want) {
			t.Errorf("filter %q: rows shown =\n%s\nwant\n%s", "FILE", quoteLines(got), quoteLines(want))
		}
		if err := chromedp.Do(ctx, chromedp.SendKeys(box, "\b\b\b\b")); err != nil {
			t.Fatalf("clear the filter box: %v", err)
		}
		if got := shownLinkTexts(t, ctx); !slices.Equal(got, byNameAsc) {
			t.Errorf("filter cleared: rows shown =\n%s\nwant every row\n%s", quoteLines(got), quoteLines(byNameAsc))
		}
	})

	t.Run("light and dark", func(t *testing.T) {
		artifacts := artifactsDir(t)
		pages := []struct {
			name, path string
			status     int64
		}{
			{"listing", "/", 200},
			{"error", "/no-such-file.txt", 404},
		}
		for _, pg := range pages {
			t.Run(pg.name, func(t *testing.T) {
				background := map[string]string{}
				for _, scheme := range []string{"light", "dark"} {
					emulate := emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}
					if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulate); err != nil {
						t.Fatalf("emulate prefers-color-scheme: %s: %v", scheme, err)
					}
					loadStatus(t, ctx, chromedp.Navigate(base+pg.path), pg.status)
					if got := evaluate[bool](t, ctx, `matchMedia("(prefers-color-scheme: `+scheme+`)").matches`); !got {
						t.Fatalf("%s: the emulated scheme %s does not match", pg.path, scheme)
					}
					background[scheme] = evaluate[string](t, ctx, `getComputedStyle(document.body).backgroundColor`)
					screenshot(t, ctx, filepath.Join(artifacts, pg.name+"-"+scheme+".png"))
				}
				if background["light"] == background["dark"] {
					t.Errorf("%s: body background %s in both light and dark mode, want dark mode to change it", pg.path, background["light"])
				}
			})
		}
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
			t.Errorf("reset the emulated media: %v", err)
		}
	})

	t.Run("layout", func(t *testing.T) {
		artifacts := artifactsDir(t)
		viewports := []struct {
			name          string
			width, height int64
			opts          []chromedp.EmulateViewportOption
		}{
			{"desktop", 1280, 800, nil},
			{"phone", 375, 667, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch,
				chromedp.EmulatePortrait, chromedp.EmulateScale(2)}},
		}
		for _, vp := range viewports {
			t.Run(vp.name, func(t *testing.T) {
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height, vp.opts...)); err != nil {
					t.Fatalf("emulate a %dx%d viewport: %v", vp.width, vp.height, err)
				}
				load(t, ctx, chromedp.Navigate(base+"/"))
				checkFits(t, ctx, vp.name, vp.width)
				screenshot(t, ctx, filepath.Join(artifacts, "listing-"+vp.name+".png"))
			})
		}
		if err := chromedp.Do(ctx, chromedp.EmulateReset()); err != nil {
			t.Errorf("reset the emulated viewport: %v", err)
		}
	})

	// The dialog check is only worth something if a dialog would be seen:
	// open one on purpose, then expect it to be the only one.
	const probe = "stoa-e2e-probe"
	evaluate[chromedp.Void](t, ctx, `setTimeout(() => alert("`+probe+`"), 0), null`)
	if !eventually(navTimeout, func() bool { return slices.Contains(b.dialogs(), probe) }) {
		t.Errorf("a probe alert() was not reported within %v: the dialog check below proves nothing", navTimeout)
	}
	if got := slices.DeleteFunc(b.dialogs(), func(m string) bool { return m == probe }); len(got) > 0 {
		t.Errorf("the pages opened %d JavaScript dialog(s) with messages %q: a file name ran as script", len(got), got)
	}
}

// artifactsDir returns the folder screenshots go to: $STOA_ARTIFACTS, or
// stoa-artifacts in the temporary folder.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("STOA_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "stoa-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot writes a PNG of the whole page shown to path.
func screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of %s: %s", location(t, ctx), path)
}

// shownLinkTexts is linkTexts of the rows a reader sees: not those the
// filter box hid.
func shownLinkTexts(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return evaluate[[]string](t, ctx, `[...document.querySelectorAll("tbody td:first-child a")]
		.filter(a => a.checkVisibility()).map(a => a.innerText)`)
}

// needBrowser returns the Chromium or Chrome a test drives, and skips the
// test, saying why, under -short or when none is installed.
func needBrowser(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("drives a real browser; skipped with -short")
	}
	p := chromiumPath()
	if p == "" {
		t.Skip("chromium not installed: apt-get install chromium (the CI installs it)")
	}
	return p
}

// chromiumPath returns the Chromium or Chrome to drive, or "" if none is
// installed.
func chromiumPath() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// A browser is the headless Chromium of one test, with its one tab.
type browser struct {
	mu       sync.Mutex
	messages []string // of the JavaScript dialogs opened, in order
	output   bytes.Buffer
}

func (b *browser) dialogs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.messages)
}

// newBrowser starts headless Chromium with a fresh profile, bounded by
// browserTimeout, and returns the context of its tab. Every dialog the tab
// opens is recorded and dismissed, so that a script injected by a file name
// is reported instead of blocking the page. The browser is stopped when the
// test ends.
func newBrowser(t *testing.T, execPath string) (context.Context, *browser) {
	t.Helper()
	b := &browser{}
	profile := filepath.Join(t.TempDir(), "profile")
	t.Cleanup(func() {
		// Chromium's helper processes can still write to the profile a
		// moment after the browser exits; t.TempDir's own removal does
		// not retry on Linux.
		eventually(5*time.Second, func() bool { return os.RemoveAll(profile) == nil })
	})
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox, // the CI runs as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// No internet here: nothing may try to reach it.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(lockedWriter{&b.mu, &b.output}),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc) // waits for the browser to exit
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(tabCtx); err != nil { // starts the browser
		cancelTab()
		b.mu.Lock()
		defer b.mu.Unlock()
		t.Fatalf("start %s: %v; its output:\n%s", execPath, err, clip(b.output.Bytes(), 3000))
	}
	dialogs := chromedp.Events(tabCtx, page.JavascriptDialogOpening)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range dialogs {
			if err != nil {
				return // the tab is closed
			}
			b.mu.Lock()
			b.messages = append(b.messages, ev.Message)
			b.mu.Unlock()
			chromedp.Call(tabCtx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	t.Cleanup(func() {
		cancelTab()
		<-done
	})
	return tabCtx, b
}

// load runs a navigating action (Navigate, or a Click on a link) and waits
// for the new page to load, failing the test unless it loaded with 200.
func load(t *testing.T, ctx context.Context, action chromedp.Action[chromedp.Void]) {
	t.Helper()
	loadStatus(t, ctx, action, 200)
}

// loadStatus is load for a page that must come with status.
func loadStatus(t *testing.T, ctx context.Context, action chromedp.Action[chromedp.Void], status int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, navTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, action)
	if err != nil {
		t.Fatalf("navigation: %v", err)
	}
	if resp.Status != status {
		t.Fatalf("navigation to %s: status %d, want %d", resp.URL, resp.Status, status)
	}
}

// clickLink clicks the link of the listing whose text is text, with the
// mouse, and waits for the page it leads to. It reports false, failing the
// test, if the listing has no such link.
func clickLink(t *testing.T, ctx context.Context, text string) bool {
	t.Helper()
	lit, err := json.Marshal(text) // a JSON string is a JavaScript string literal
	if err != nil {
		t.Fatal(err)
	}
	find := fmt.Sprintf(`[...document.querySelectorAll("tbody td:first-child a")].find(a => a.innerText === %s)`, lit)
	if !evaluate[bool](t, ctx, find+` !== undefined`) {
		t.Errorf("%s: no link with the text %q; the links are\n%s", location(t, ctx), text, quoteLines(linkTexts(t, ctx)))
		return false
	}
	load(t, ctx, chromedp.Click(chromedp.JSPath(find)))
	return true
}

// evaluate runs a JavaScript expression in the page and decodes its value.
func evaluate[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, navTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// location returns the URL of the page shown.
func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	return evaluate[string](t, ctx, `location.href`)
}

// linkTexts returns the text of the name links of a listing, in order, as
// the browser renders it.
func linkTexts(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return evaluate[[]string](t, ctx, `[...document.querySelectorAll("tbody td:first-child a")].map(a => a.innerText)`)
}

// checkLocation reports a page whose path or query is not the one wanted.
func checkLocation(t *testing.T, ctx context.Context, path, search string) {
	t.Helper()
	got := evaluate[[]string](t, ctx, `[location.pathname, location.search]`)
	if len(got) != 2 || got[0] != path || got[1] != search {
		t.Errorf("location = %q, want path %q and query %q", got, path, search)
	}
}

// listingTags and listingAttrs are every element and attribute a listing
// page is made of (see internal/listing): anything else on the page came
// from a file name.
const (
	listingTags = `["html","head","meta","title","style","body","h1","p","table","thead","tbody","tr","th","td","a","time","span",` +
		`"svg","symbol","path","circle","use","input"]`
	listingAttrs = `["lang","charset","name","content","href","aria-sort","datetime","colspan",` +
		`"width","height","aria-hidden","id","viewBox","fill","stroke","stroke-width","stroke-linejoin","d","cx","cy","r",` +
		`"type","placeholder","aria-label","oninput"]`
)

// checkListingPage checks that the page is the listing of dir and holds
// only the markup a listing is made of: no element or attribute injected by
// a name (no <script>, no <img onerror=...>).
func checkListingPage(t *testing.T, ctx context.Context, dir string) {
	t.Helper()
	if got, want := evaluate[string](t, ctx, `document.querySelector("h1").innerText`), "Index of "+dir; got != want {
		t.Errorf("%s: heading = %q, want %q", dir, got, want)
	}
	foreign := evaluate[[]string](t, ctx, `(() => {
		const tags = `+listingTags+`, attrs = `+listingAttrs+`, found = new Set();
		for (const e of document.querySelectorAll("*")) {
			if (!tags.includes(e.localName)) found.add("<" + e.localName + ">");
			for (const a of e.attributes) if (!attrs.includes(a.name)) found.add(e.localName + "[" + a.name + "]");
		}
		return [...found];
	})()`)
	if len(foreign) > 0 {
		t.Errorf("%s: the page holds markup no listing has, injected by a file name: %q", dir, foreign)
	}
	if n := evaluate[int](t, ctx, `document.scripts.length + document.images.length`); n != 0 {
		t.Errorf("%s: the page has %d script and image element(s), want none", dir, n)
	}
}

// checkAriaSort reports a heading row where column is not the one marked
// as sorted, in the direction wanted, or where another is marked too.
func checkAriaSort(t *testing.T, ctx context.Context, what string, column int, desc bool) {
	t.Helper()
	got := evaluate[[]string](t, ctx, `[...document.querySelectorAll("thead th")].map(th => th.getAttribute("aria-sort") || "")`)
	want := []string{"", "", ""}
	want[column-1] = "ascending"
	if desc {
		want[column-1] = "descending"
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: aria-sort of the headings = %q, want %q", what, got, want)
	}
}

// checkFits reports a page wider than the viewport (a horizontal scroll
// bar) and a name link that is hidden or sticks out of the viewport.
func checkFits(t *testing.T, ctx context.Context, name string, width int64) {
	t.Helper()
	var m struct {
		ClientWidth int64    `json:"clientWidth"`
		ScrollWidth int64    `json:"scrollWidth"`
		InnerWidth  int64    `json:"innerWidth"`
		Outside     []string `json:"outside"`
	}
	raw := evaluate[[]byte](t, ctx, `(() => {
		const outside = [];
		for (const a of document.querySelectorAll("tbody td:first-child a, thead a")) {
			const r = a.getBoundingClientRect();
			if (r.width === 0 || r.height === 0 || r.left < 0 || r.right > window.innerWidth) {
				outside.push(a.innerText + " at [" + r.left + ", " + r.right + "]");
			}
		}
		return {clientWidth: document.documentElement.clientWidth,
			scrollWidth: document.documentElement.scrollWidth,
			innerWidth: window.innerWidth, outside};
	})()`)
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	// A mobile browser zooms out to fit a page that overflows, which widens
	// innerWidth: so the layout width must still be the device's.
	if m.ClientWidth != width || m.InnerWidth != width {
		t.Errorf("%s: documentElement.clientWidth = %d and innerWidth = %d, want both %d (the page was zoomed out to fit)",
			name, m.ClientWidth, m.InnerWidth, width)
	}
	if m.ScrollWidth > m.InnerWidth {
		t.Errorf("%s: documentElement.scrollWidth = %d > innerWidth = %d: the listing scrolls sideways", name, m.ScrollWidth, m.InnerWidth)
	}
	if len(m.Outside) > 0 {
		t.Errorf("%s: links hidden or outside the %dpx viewport:\n%s", name, m.InnerWidth, quoteLines(m.Outside))
	}
}

// quoteLines formats names one per line, quoted, for failure messages.
func quoteLines(names []string) string {
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "\t%q\n", n)
	}
	return b.String()
}
