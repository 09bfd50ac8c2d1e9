// Package acmetest is test support for running pebble, Let's Encrypt's small
// ACME test server, on loopback: it finds the installed binary (or skips the
// test), starts pebble on kernel-picked ports with a DNS server of its own
// that answers 127.0.0.1 for every name, and fetches the roots a client
// needs. It is imported only by tests (internal/acme and e2e); it lives in
// a non-test file because test code cannot be imported across packages.
package acmetest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stoahttp/stoa/internal/syncbuf"
)

const (
	pebbleModule  = "github.com/letsencrypt/pebble/v2"
	pebbleVersion = "v2.10.1"
)

// Options says where pebble validates challenges.
type Options struct {
	// HTTPPort is the port pebble sends HTTP-01 validation requests to
	// (RFC 8555 §8.3), on 127.0.0.1.
	HTTPPort int
	// TLSPort is the port pebble sends TLS-ALPN-01 validation handshakes
	// to (RFC 8737), on 127.0.0.1.
	TLSPort int
}

// Pebble is a running pebble, stopped when the test that started it ends.
type Pebble struct {
	// PID is pebble's process ID.
	PID int
	// Directory is the ACME directory URL (RFC 8555 §7.1.1).
	Directory string
	// APIRoots trusts the TLS certificates of pebble's ACME and
	// management interfaces (pebble's test "minica" CA).
	APIRoots *x509.CertPool
	// APIRootsFile is the PEM file APIRoots was read from, for clients
	// that take their roots from a file (SSL_CERT_FILE).
	APIRootsFile string

	mgmt string // management interface, https://host:port
	dns  *dnsServer
}

// Require skips t, with the command that installs pebble, unless pebble
// is installed, and fails t if pebble's module source (which holds its
// test certificates) cannot be had. Start calls it too; call it first to
// skip a whole test rather than each subtest.
func Require(t testing.TB) {
	t.Helper()
	in := lookup()
	if in.bin == "" {
		t.Skip("pebble not installed: go install " + pebbleModule + "/cmd/pebble@" + pebbleVersion + " (the CI installs it)")
	}
	if in.err != nil {
		t.Fatal(in.err)
	}
}

// Start runs pebble validating challenges on the ports o names and
// resolving every name to 127.0.0.1, and kills it (by its PID) when t
// ends, logging its output if t failed. It skips t if pebble is not
// installed.
func Start(t testing.TB, o Options) *Pebble {
	t.Helper()
	Require(t)
	in := lookup()
	dns := startDNS(t)
	listen, mgmt := freeAddr(t), freeAddr(t)
	confPath := writeConfig(t, in.mod, o, listen, mgmt)
	cmd := run(t, in.bin, confPath, dns.addr, listen, mgmt)

	rootsFile := filepath.Join(in.mod, "test/certs/pebble.minica.pem")
	apiRoots := x509.NewCertPool()
	minica, err := os.ReadFile(rootsFile)
	if err != nil || !apiRoots.AppendCertsFromPEM(minica) {
		t.Fatalf("pebble's test CA %s: %v", rootsFile, err)
	}
	return &Pebble{
		PID:          cmd.Process.Pid,
		Directory:    "https://" + listen + "/dir",
		APIRoots:     apiRoots,
		APIRootsFile: rootsFile,
		mgmt:         "https://" + mgmt,
		dns:          dns,
	}
}

// writeConfig writes pebble's configuration, listening on listen and mgmt
// with the test certificates of its module source at mod, and returns its
// path.
func writeConfig(t testing.TB, mod string, o Options, listen, mgmt string) string {
	t.Helper()
	var conf struct {
		Pebble map[string]any `json:"pebble"`
	}
	conf.Pebble = map[string]any{
		"listenAddress":                  listen,
		"managementListenAddress":        mgmt,
		"certificate":                    filepath.Join(mod, "test/certs/localhost/cert.pem"),
		"privateKey":                     filepath.Join(mod, "test/certs/localhost/key.pem"),
		"httpPort":                       o.HTTPPort,
		"tlsPort":                        o.TLSPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm":                   "ecdsa",
	}
	confJSON, err := json.Marshal(conf)
	if err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(t.TempDir(), "pebble-config.json")
	if err := os.WriteFile(confPath, confJSON, 0o600); err != nil {
		t.Fatal(err)
	}

	return confPath
}

// run starts pebble (bin) with the configuration at confPath, asking the
// DNS server at dnsAddr, and returns once it listens on listen and mgmt.
// It kills pebble (by its PID) when t ends, logging its output if t
// failed.
func run(t testing.TB, bin, confPath, dnsAddr, listen, mgmt string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "-config", confPath, "-dnsserver", dnsAddr)
	cmd.Env = append(os.Environ(),
		"PEBBLE_VA_NOSLEEP=1",
		"PEBBLE_WFE_NONCEREJECT=0",
		"NO_PROXY=*", "no_proxy=*", // validation stays on loopback
	)
	out := &syncbuf.Buffer{}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting pebble: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		pw.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill() // by its own PID
		<-exited
		if t.Failed() {
			t.Logf("pebble's output:\n%s", out)
		}
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			fmt.Fprintln(out, sc.Text())
			if !signalled && strings.Contains(sc.Text(), "ACME directory available at") {
				close(ready)
				signalled = true
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("pebble exited at start:\n%s", out)
	case <-time.After(30 * time.Second):
		t.Fatalf("pebble did not start within 30s:\n%s", out)
	}
	// pebble logs the address just before it listens.
	for _, addr := range []string{listen, mgmt} {
		if err := waitListening(addr, 10*time.Second); err != nil {
			t.Fatalf("pebble does not listen on %s (%v):\n%s", addr, err, out)
		}
	}
	return cmd
}

// IssuingChain fetches the root and intermediate pebble made up at start
// and signs certificates under (they change with every run).
func (p *Pebble) IssuingChain(t testing.TB) (root, inter *x509.Certificate) {
	t.Helper()
	return p.fetchCert(t, "/roots/0"), p.fetchCert(t, "/intermediates/0")
}

// Resolved returns the names pebble asked its DNS server about, in order,
// lower case and with the root's dot ("stoa.test.").
func (p *Pebble) Resolved() []string {
	return p.dns.names()
}

// fetchCert fetches one PEM certificate from pebble's management interface.
func (p *Pebble) fetchCert(t testing.TB, path string) *x509.Certificate {
	t.Helper()
	c := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.APIRoots}, Proxy: nil},
	}
	defer c.CloseIdleConnections()
	resp, err := c.Get(p.mgmt + path)
	if err != nil {
		t.Fatalf("fetching pebble's %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("fetching pebble's %s: status %d, %v", path, resp.StatusCode, err)
	}
	block, _ := pem.Decode(body)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("pebble's %s is not a PEM certificate: %.100q", path, body)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("pebble's %s: %v", path, err)
	}
	return cert
}

// install is where pebble's binary and module source are; bin is empty
// if pebble is not installed.
type install struct {
	bin, mod string
	err      error
}

// lookup finds pebble once per test binary: the answer cannot change
// while the tests run, and `go mod download` takes a moment.
var lookup = sync.OnceValue(func() install {
	bin := findPebble()
	if bin == "" {
		return install{}
	}
	mod, err := pebbleModuleDir()
	return install{bin: bin, mod: mod, err: err}
})

// findPebble returns the pebble binary's path, or "" if it is not
// installed on PATH or in GOPATH/bin.
func findPebble() string {
	if p, err := exec.LookPath("pebble"); err == nil {
		return p
	}
	if out, err := exec.Command(goTool(), "env", "GOPATH").Output(); err == nil {
		for dir := range strings.SplitSeq(strings.TrimSpace(string(out)), string(os.PathListSeparator)) {
			p := filepath.Join(dir, "bin", "pebble")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	return ""
}

// pebbleModuleDir returns the folder of pebble's module source, for its
// test certificates, downloading it into the module cache if needed. It
// runs outside stoa's module, so stoa's go.mod is never touched.
func pebbleModuleDir() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "acmetest")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, goTool(), "mod", "download", "-json", pebbleModule+"@"+pebbleVersion)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, err := cmd.Output()
	var mod struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &mod); jerr != nil || mod.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %v %s %s", pebbleModule, pebbleVersion, err, mod.Error, out)
	}
	return mod.Dir, nil
}

// goTool returns the go command of the toolchain running the tests.
func goTool() string {
	if p := filepath.Join(os.Getenv("GOROOT"), "bin", "go"); os.Getenv("GOROOT") != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

// freeAddr returns a loopback address nothing listens on, for pebble,
// which takes its addresses from its configuration file.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitListening waits, up to timeout, until something accepts on addr.
func waitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
