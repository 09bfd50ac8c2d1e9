package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestArchiveDownloadInBrowser clicks the listing's .zip link in headless
// Chromium, lets the browser save the download, and compares the saved
// archive with the folder: the link works from the page as a person uses
// it, and the browser names the file after the folder.
func TestArchiveDownloadInBrowser(t *testing.T) {
	execPath := needBrowser(t)
	t.Parallel()
	s := newSite(t)
	want := map[string]string{
		"photos/a.txt":       strings.Repeat("text ", 2000),
		"photos/sub/b.png":   string(patterned(50_000)),
		"photos/with space":  "spaced",
		"photos/ünïcode.css": "body{}",
	}
	for name, body := range want {
		s.write(name, body)
	}
	srv := startServer(t, s, "--browse", "--archive")
	ctx, _ := newBrowser(t, execPath)

	dir := t.TempDir()
	yes := true
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, EventsEnabled: &yes}); err != nil {
		t.Fatalf("setDownloadBehavior: %v", err)
	}
	evCtx, cancel := context.WithTimeout(ctx, navTimeout)
	defer cancel()
	begins := chromedp.BrowserEvents(evCtx, cdpbrowser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(evCtx, cdpbrowser.DownloadProgress)
	load(t, ctx, chromedp.Navigate("http://"+srv.addr+"/photos/"))
	if err := chromedp.Do(ctx, chromedp.Click(`a[href="?archive=zip"]`)); err != nil {
		t.Fatalf("click the zip link: %v", err)
	}
	var suggested string
	for ev, err := range begins {
		if err != nil {
			t.Fatalf("no download began: %v", err)
		}
		suggested = ev.SuggestedFilename
		break
	}
	if suggested != "photos.zip" {
		t.Errorf("the browser names the download %q, want photos.zip", suggested)
	}
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("the download did not complete: %v", err)
		}
		if ev.State == cdpbrowser.DownloadProgressStateCanceled {
			t.Fatalf("the download was canceled after %v bytes", ev.ReceivedBytes)
		}
		if ev.State == cdpbrowser.DownloadProgressStateCompleted {
			break
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, suggested))
	if err != nil {
		t.Fatal(err)
	}
	got := readArchive(t, "zip", b)
	for name, body := range want {
		if got[name] != body {
			t.Errorf("%s: %d bytes in the download, want %d", name, len(got[name]), len(body))
		}
	}
}
