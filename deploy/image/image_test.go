package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/syncbuf"
)

// maxSize is the most the image may weigh, uncompressed, in bytes.
const maxSize = 25_000_000

// config is the part of an image's configuration a runtime acts on.
type config struct {
	User         string
	ExposedPorts map[string]struct{}
	Env          []string
	Entrypoint   []string
	Cmd          []string
	WorkingDir   string
}

// inspected is what 'podman image inspect' says of an image.
type inspected struct {
	ID     string `json:"Id"`
	Digest string
	Size   int64
	Config config
}

// TestImage builds the image twice from this checkout, as the README's
// "Container" block does, checks that both builds give one digest, that
// the image is small and configured as documented, then runs its
// entrypoint and default command on its read-only root file system as its
// user, and stops it with SIGTERM.
//
// podman run is refused by these machines' cgroup setup, so the test is its
// own runtime (runtime_test.go): it mounts the image (podman image mount)
// and starts the entrypoint chrooted there, in mount and network namespaces
// of its own, with the root and a volume read-only and the image's user,
// working directory and environment.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the container image twice")
	}
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman is not installed (apt-get install podman; .ci/run does): the image is not built")
	}
	if sysSetns[runtime.GOARCH] == 0 {
		t.Skipf("the test's runtime does not know setns(2) on %s", runtime.GOARCH)
	}
	if os.Geteuid() != 0 {
		t.Skip("not root: podman image mount and chroot need root; the image is not tested")
	}
	tag := fmt.Sprintf("localhost/stoa-imagetest:%d", os.Getpid())
	first := build(t, tag+"-a")
	podman(t, "rmi", tag+"-a")
	second := build(t, tag+"-b")
	t.Cleanup(func() { podman(t, "rmi", tag+"-b") })
	if first.Digest != second.Digest || first.ID != second.ID {
		t.Errorf("two builds of one checkout differ: digest %s then %s, ID %s then %s",
			first.Digest, second.Digest, first.ID, second.ID)
	}
	t.Logf("image %s: %d bytes, digest %s", tag+"-b", second.Size, second.Digest)
	if second.Size > maxSize {
		t.Errorf("image is %d bytes, want at most %d", second.Size, maxSize)
	}
	checkConfig(t, second.Config)

	root := strings.TrimSpace(podman(t, "image", "mount", tag+"-b"))
	t.Cleanup(func() { podman(t, "image", "unmount", tag+"-b") })
	err := os.WriteFile(filepath.Join(root, "probe"), nil, 0o644)
	if !errors.Is(err, syscall.EROFS) {
		t.Fatalf("writing to the mounted image: %v, want a read-only file system", err)
	}
	checkWritable(t, root)
	commit := checkVersion(t, root, second.Config)
	checkServe(t, root, second.Config, commit)
}

// build runs deploy/image/build and inspects the image it made.
func build(t *testing.T, tag string) inspected {
	t.Helper()
	cmd := exec.Command("./build", tag)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("deploy/image/build %s: %v\n%s", tag, err, stderr.Bytes())
	}
	var images []inspected
	if err := json.Unmarshal([]byte(podman(t, "image", "inspect", tag)), &images); err != nil || len(images) != 1 {
		t.Fatalf("podman image inspect %s: %d images, %v", tag, len(images), err)
	}
	if id := strings.TrimSpace(string(out)); id != images[0].ID {
		t.Errorf("deploy/image/build printed %q, want the image's ID %s", id, images[0].ID)
	}
	return images[0]
}

// podman runs podman with args and returns its standard output.
func podman(t *testing.T, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("podman", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return string(out)
}

// checkConfig checks the configuration the Dockerfile and the README
// promise: stoa as the entrypoint, serving /srv on 0.0.0.0:8080 with the
// admin endpoint on :9090, as user 65532.
func checkConfig(t *testing.T, c config) {
	t.Helper()
	want := config{
		User:         "65532:65532",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "9090/tcp": {}},
		Entrypoint:   []string{"/usr/local/bin/stoa"},
		Cmd:          []string{"serve", "/srv", "--listen", "0.0.0.0:8080", "--admin", ":9090", "--cache-dir", "/var/cache/stoa"},
		WorkingDir:   "/srv",
	}
	got := c
	got.Env = nil
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("image config = %+v, want %+v", got, want)
	}
	if !slices.Contains(c.Env, "XDG_DATA_HOME=/var/lib/stoa") {
		t.Errorf("image env = %q, want XDG_DATA_HOME=/var/lib/stoa (ACME's storage)", c.Env)
	}
}

// checkWritable checks that the folders stoa writes to, where volumes go
// on a read-only root, belong to the image's user alone: a named volume
// mounted there starts as a copy of them.
func checkWritable(t *testing.T, root string) {
	t.Helper()
	for _, dir := range []string{"/var/cache/stoa", "/var/lib/stoa"} {
		fi, err := os.Stat(filepath.Join(root, dir))
		if err != nil {
			t.Errorf("image: %v", err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if !fi.IsDir() || fi.Mode().Perm() != 0o700 || st.Uid != 65532 || st.Gid != 65532 {
			t.Errorf("image: %s is %v owned by %d:%d, want a folder drwx------ owned by 65532:65532", dir, fi.Mode(), st.Uid, st.Gid)
		}
	}
}

// stamped is the commit and commit time the build stamps, from git; ok is
// false outside a git checkout.
func stamped(t *testing.T) (commit, date string, ok bool) {
	t.Helper()
	out, err := exec.Command("git", "log", "-1", "--format=%H %ct").Output()
	if err != nil {
		t.Logf("not a git checkout (%v): the stamped commit is not checked", err)
		return "", "", false
	}
	hash, secs, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		t.Fatalf("git log: commit time %q: %v", secs, err)
	}
	return hash, time.Unix(n, 0).UTC().Format(time.RFC3339), true
}

// version matches the commit in the line 'stoa version' prints.
var version = regexp.MustCompile(`^stoa \S+ \(commit (\S+), built \S+, go\S+\)$`)

// checkVersion runs 'stoa version' in the image: the build stamped the
// checkout's commit and its time, not the clock's. It returns the commit
// stamped.
func checkVersion(t *testing.T, root string, c config) string {
	t.Helper()
	out, err := inImage(t, root, c, nil, "version").Output()
	if err != nil {
		t.Fatalf("stoa version in the image: %v", err)
	}
	got := strings.TrimSpace(string(out))
	t.Logf("stoa version in the image: %s", got)
	commit, date, ok := stamped(t)
	if ok && !strings.Contains(got, "(commit "+commit) || !strings.Contains(got, ", built "+date+", ") {
		t.Errorf("stoa version in the image = %q, want commit %s built %s", got, commit, date)
	}
	m := version.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("stoa version in the image = %q, want \"stoa VERSION (commit C, built DATE, goX)\"", got)
	}
	return m[1]
}

// served matches the lines stoa prints once it listens, the admin line
// last.
var served = regexp.MustCompile(`(?m)^stoa: (serving .* at|admin at) http://(\S+)/`)

// checkServe runs the image's entrypoint and default command unchanged, in
// a network namespace of its own (so its fixed ports are free), with a site
// mounted read-only over /srv, as the README's "podman run" block does: it
// serves the site on 8080, answers /readyz and /metrics (naming commit) on
// 9090, and exits 0 on SIGTERM.
func checkServe(t *testing.T, root string, c config, commit string) {
	t.Helper()
	site := t.TempDir()
	want := "<!doctype html><title>from the volume</title>\n"
	if err := os.WriteFile(filepath.Join(site, "index.html"), []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	// t.TempDir is private to root; the image's user must read the volume.
	if err := os.Chmod(site, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := inImage(t, root, c, []volume{{Source: site, Target: "/srv"}}, c.Cmd...)
	var stdout, stderr syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stoa in the image: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
	}()

	waitServing(t, &stdout, &stderr, exited)
	for _, want := range []string{"serving /srv at localhost:8080", "admin at localhost:9090"} {
		if !strings.Contains(announced(stdout.String()), want) {
			t.Errorf("stoa's stdout does not say it is %s:\n%s", want, stdout.String())
		}
	}
	client := inNetns(cmd.Process.Pid)
	if code, body := get(t, client, "http://127.0.0.1:8080/"); code != http.StatusOK || body != want {
		t.Errorf("GET :8080/: %d %q; want 200 and the volume's index.html %q", code, body, want)
	}
	if code, _ := get(t, client, "http://127.0.0.1:9090/readyz"); code != http.StatusOK {
		t.Errorf("GET :9090/readyz: %d, want 200", code)
	}
	info := `stoa_build_info{commit="` + commit + `",`
	if code, body := get(t, client, "http://127.0.0.1:9090/metrics"); code != http.StatusOK || !strings.Contains(body, "\n"+info) {
		t.Errorf("GET :9090/metrics: %d, want 200 with %s...; body:\n%.2000s", code, info, body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM stoa (pid %d): %v", cmd.Process.Pid, err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("stoa exited with %v after SIGTERM, want status 0; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("stoa still runs 30s after SIGTERM (shutdown_timeout is 10s); stdout:\n%s", stdout.String())
	}
}

// announced is what the "serving" and "admin" lines of out say, one
// "serving DESC at HOST:PORT" or "admin at HOST:PORT" a line.
func announced(out string) string {
	var b strings.Builder
	for _, m := range served.FindAllStringSubmatch(out, -1) {
		b.WriteString(m[1] + " " + m[2] + "\n")
	}
	return b.String()
}

// waitServing waits for stoa's "admin at" line, which comes once every
// listener is open and /readyz answers 200.
func waitServing(t *testing.T, stdout, stderr *syncbuf.Buffer, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(announced(stdout.String()), "admin at ") {
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("stoa exited before serving: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("stoa did not announce its admin address within 30s; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
}

// get fetches url with client and returns the status and body.
func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}
