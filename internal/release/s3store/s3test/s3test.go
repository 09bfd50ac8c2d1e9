// Package s3test starts a real S3-compatible server for tests: SeaweedFS's
// `weed mini`, on loopback, with signed requests checked against one
// identity, and one bucket. Tests of any package (the release store, e2e
// tests serving a site from S3) use it the same way:
//
//	srv := s3test.Seaweed(t)
//	srv.Setenv(t) // AWS_ENDPOINT_URL, keys, region for this process
//	cmd.Env = append(os.Environ(), srv.Env()...) // or for a child
//
// Starting weed takes seconds; Shared starts one per test binary instead.
//
// The weed binary is found through STOA_WEED; without it the test is
// skipped. `.ci/seaweedfs` builds it once into a cache and prints its path.
package s3test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// WeedEnv names the environment variable that holds the weed binary's path.
const WeedEnv = "STOA_WEED"

// Limits of the harness: how long weed may take to answer its first S3
// request, and to stop after SIGTERM before it is killed, and how many
// times it is started when it exits at once.
const (
	startTimeout  = 90 * time.Second
	stopTimeout   = 15 * time.Second
	startAttempts = 3
)

// Server is a running S3-compatible server and what a client needs to
// reach it.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	Region    string
	AccessKey string
	SecretKey string
	Bucket    string // created before Seaweed returns
	Dir       string // weed's data directory and its log, weed.log
	PID       int
	CABundle  string // with StartTLS: the PEM file of the endpoint's certificate

	weed    string // the binary and its command line, for Restart
	cmdline []string
	ports   []int // all of weed's ports, ports[2i+1] gRPC
	cmd     *exec.Cmd
	exited  chan struct{} // closed when weed has exited
}

// Seaweed starts SeaweedFS (see Start) with the weed binary named by
// STOA_WEED, and stops it in t.Cleanup. It skips t when STOA_WEED is not
// set.
func Seaweed(t testing.TB) *Server {
	t.Helper()
	weed := os.Getenv(WeedEnv)
	if weed == "" {
		t.Skip(SkipMessage)
	}
	dir, err := os.MkdirTemp("", "stoa-seaweed-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s, err := Start(weed, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Log(err)
		}
	})
	return s
}

// shared is the server of Shared, started once per test binary.
var shared struct {
	once sync.Once
	srv  *Server
	dir  string
	err  error
}

// Shared is Seaweed for a whole test binary: the first call starts the
// server, later ones share it (tests then keep to prefixes of their own).
// The package's TestMain must call StopShared after m.Run (see Main).
func Shared(t testing.TB) *Server {
	t.Helper()
	weed := os.Getenv(WeedEnv)
	if weed == "" {
		t.Skip(SkipMessage)
	}
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "stoa-seaweed-")
		if shared.err == nil {
			shared.srv, shared.err = Start(weed, shared.dir)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv
}

// Main runs a package's tests and stops the server of Shared after them:
// the whole TestMain of a package that uses Shared.
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// StopShared stops the server of Shared, if one was started.
func StopShared() {
	if shared.srv != nil {
		shared.srv.Stop()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}

// SkipMessage says why a test that needs SeaweedFS did not run.
const SkipMessage = "no SeaweedFS: set " + WeedEnv + " to a weed binary (.ci/seaweedfs builds one and prints its path)"

// Start starts `weed mini` with its data in dir, bound to 127.0.0.1 on free
// ports, with one identity whose keys every request must be signed with,
// and returns once the bucket is created. Stop ends it.
func Start(weed, dir string) (*Server, error) { return startRetry(weed, dir, false) }

// StartTLS is Start with the S3 endpoint on HTTPS, its certificate signed
// for 127.0.0.1 by a CA of its own (Server.CABundle, which Env passes as
// AWS_CA_BUNDLE). Over HTTPS the SDK sends checksums as aws-chunked
// trailers, which plain HTTP never shows.
func StartTLS(weed, dir string) (*Server, error) { return startRetry(weed, dir, true) }

func startRetry(weed, dir string, tls bool) (*Server, error) {
	if _, err := os.Stat(weed); err != nil {
		return nil, fmt.Errorf("%s=%s: %v (.ci/seaweedfs builds weed and prints its path)", WeedEnv, weed, err)
	}
	// A free port can be taken by another process before weed binds it;
	// weed then exits, and a new set of ports is tried.
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		var s *Server
		s, err = start(weed, filepath.Join(dir, strconv.Itoa(attempt)), tls)
		if !errors.Is(err, errExited) {
			return s, err
		}
	}
	return nil, err
}

var errExited = errors.New("weed exited")

func start(weed, dir string, tls bool) (*Server, error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	s := &Server{
		Region:    "us-east-1",
		AccessKey: "stoatestkey",
		SecretKey: "stoa-test-secret-0123456789",
		Bucket:    "stoa-test",
		Dir:       dir,
	}
	// Each component of weed mini has an HTTP port (ports[2i]) and a
	// gRPC one (ports[2i+1]); the last is S3's HTTPS port.
	ports, err := freePorts(2*len(components) + 1)
	if err != nil {
		return nil, err
	}
	args, err := s.args(ports, tls)
	if err != nil {
		return nil, err
	}
	s.weed, s.cmdline, s.ports = weed, args, ports
	if err := s.run(false); err != nil {
		return nil, err
	}
	return s, nil
}

// Restart starts weed again after Stop, on the same data directory and
// ports, as a server that comes back after an outage: what was stored is
// there again. It returns once the server takes writes.
func (s *Server) Restart() error {
	select {
	case <-s.exited:
	default:
		return fmt.Errorf("weed (pid %d) is running: Stop it first", s.PID)
	}
	return s.run(true)
}

// run starts weed with s's command line and waits until it answers, its
// output going to weed.log (appended to on a restart).
func (s *Server) run(restart bool) error {
	flag := os.O_CREATE | os.O_TRUNC
	if restart {
		flag = os.O_APPEND
	}
	log, err := os.OpenFile(filepath.Join(s.Dir, "weed.log"), os.O_WRONLY|flag, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.weed, s.cmdline...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Dir = s.Dir
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting %s: %v", s.weed, err)
	}
	s.PID = cmd.Process.Pid
	s.cmd = cmd
	exited := make(chan struct{})
	s.exited = exited
	go func() {
		cmd.Wait()
		log.Close()
		// weed mini puts its gRPC sockets in /tmp whatever the flags.
		for i, c := range components {
			os.Remove(fmt.Sprintf("/tmp/seaweedfs-%s-grpc-%d.sock", c, s.ports[2*i+1]))
		}
		close(exited)
	}()
	if err := s.waitReady(restart); err != nil {
		s.Stop()
		return fmt.Errorf("SeaweedFS at %s: %w\n%s", s.Endpoint, err, tail(filepath.Join(s.Dir, "weed.log")))
	}
	return nil
}

// components are the servers of weed mini that take ports.
var components = []string{"master", "volume", "filer", "s3", "admin"}

// args writes weed's S3 identities (and with tls its certificate) into
// s.Dir and returns its command line, setting s.Endpoint.
func (s *Server) args(ports []int, tls bool) ([]string, error) {
	conf := filepath.Join(s.Dir, "s3.json")
	identity := fmt.Sprintf(`{"identities":[{"name":"stoa","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`, s.AccessKey, s.SecretKey)
	if err := os.WriteFile(conf, []byte(identity), 0o600); err != nil {
		return nil, err
	}
	data := filepath.Join(s.Dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		return nil, err
	}
	s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(ports[2*slices.Index(components, "s3")])
	// -logdir: glog's files would go to /tmp.
	args := []string{"-logdir", s.Dir, "mini", "-dir", data, "-ip", "127.0.0.1", "-ip.bind", "127.0.0.1",
		"-master.telemetry=false", "-webdav=false", "-s3.autoCreateBucket=false", "-s3.config", conf,
		"-master.volumeSizeLimitMB", "64",
		"-s3.port.iceberg", "0", "-s3.port.lance", "0", "-admin.port.legacy", "0",
		"-filer.localSocket", filepath.Join(s.Dir, "filer.sock"),
		"-s3.localSocket", filepath.Join(s.Dir, "s3.sock"),
	}
	for i, c := range components {
		args = append(args, "-"+c+".port", strconv.Itoa(ports[2*i]), "-"+c+".port.grpc", strconv.Itoa(ports[2*i+1]))
	}
	if tls {
		cert, key, err := selfSigned(s.Dir)
		if err != nil {
			return nil, err
		}
		s.CABundle = cert
		https := strconv.Itoa(ports[len(ports)-1])
		s.Endpoint = "https://127.0.0.1:" + https
		args = append(args, "-s3.port.https", https, "-s3.cert.file", cert, "-s3.key.file", key)
	}
	return args, nil
}

// Stop ends weed by its PID: SIGTERM, then SIGKILL after stopTimeout.
func (s *Server) Stop() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(stopTimeout):
		s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("weed (pid %d) ignored SIGTERM for %v: killed", s.PID, stopTimeout)
	}
}

// waitReady creates the bucket (on a restart: writes and deletes an
// object in it), retrying until weed answers a signed request or
// startTimeout passes.
func (s *Server) waitReady(restart bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := s.Client()
	var last error
	for {
		var err error
		if restart {
			// CreateBucket may say BucketAlreadyExists then, as of a bucket
			// someone else owns; and reads work some seconds before writes
			// do, until the volume server has joined the master again.
			err = s.probeWrite(ctx, client)
		} else {
			_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.Bucket})
		}
		if err == nil || strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
			return nil
		}
		last = err
		select {
		case <-s.exited:
			return errExited
		case <-ctx.Done():
			return fmt.Errorf("not ready after %v: %v", startTimeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// probeWrite stores an object in the bucket and deletes it.
func (s *Server) probeWrite(ctx context.Context, client *s3.Client) error {
	key := ".s3test-ready"
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.Bucket, Key: &key, Body: strings.NewReader("ready")}); err != nil {
		return err
	}
	_, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.Bucket, Key: &key})
	return err
}

// Client is an S3 client of the server, path-style, signed with its keys,
// without retries so that a test sees each failure.
func (s *Server) Client() *s3.Client {
	o := s3.Options{
		BaseEndpoint:     aws.String(s.Endpoint),
		Region:           s.Region,
		Credentials:      credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		UsePathStyle:     true,
		RetryMaxAttempts: 1,
	}
	if s.CABundle != "" {
		pool := x509.NewCertPool()
		if pem, err := os.ReadFile(s.CABundle); err == nil {
			pool.AppendCertsFromPEM(pem)
		}
		o.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	return s3.New(o)
}

// Env is the environment that points the standard AWS configuration at the
// server, for a child process (append it to os.Environ()): the endpoint,
// region and keys, and no shared config, credentials files or EC2
// metadata, so nothing of the machine's own AWS setup is read.
func (s *Server) Env() []string {
	env := Env(s.Endpoint, s.Region, s.AccessKey, s.SecretKey)
	if s.CABundle != "" {
		env = append(env, "AWS_CA_BUNDLE="+s.CABundle)
	}
	return env
}

// Setenv sets Env in this process for the test's duration, and unsets every
// other AWS_ variable (t.Setenv restores them).
func (s *Server) Setenv(t testing.TB) {
	t.Helper()
	Setenv(t, s.Env())
}

// Env is the environment that points the standard AWS configuration at
// endpoint with the given keys (see Server.Env); for a fake server too.
func Env(endpoint, region, accessKey, secretKey string) []string {
	none := filepath.Join(os.TempDir(), "stoa-s3test-no-such-file")
	return []string{
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_REGION=" + region,
		"AWS_ACCESS_KEY_ID=" + accessKey,
		"AWS_SECRET_ACCESS_KEY=" + secretKey,
		"AWS_CONFIG_FILE=" + none,
		"AWS_SHARED_CREDENTIALS_FILE=" + none,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Setenv sets env (NAME=VALUE lines) for the test's duration after
// unsetting every AWS_ variable of this process.
func Setenv(t testing.TB, env []string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "AWS_") {
			t.Setenv(name, "") // restores the value at cleanup
			os.Unsetenv(name)
		}
	}
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
}

// freePorts has the kernel pick n free loopback ports. They are free when
// returned, not reserved: weed takes ports by number only.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// tail is the end of weed's log, for a failure message.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}
