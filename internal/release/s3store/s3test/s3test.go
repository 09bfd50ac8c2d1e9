// Package s3test starts a real S3-compatible server for tests: SeaweedFS's
// `weed mini`, on loopback, with signed requests checked against one
// identity, and one bucket. Tests of any package (the release store, e2e
// tests serving a site from S3) use it the same way:
//
//	srv := s3test.Seaweed(t)
//	srv.Setenv(t) // AWS_ENDPOINT_URL, keys, region for this process
//	cmd.Env = append(os.Environ(), srv.Env()...) // or for a child
//
// The weed binary is found through STOA_WEED; without it the test is
// skipped. `.ci/seaweedfs` builds it once into a cache and prints its path.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
// request, and to stop after SIGTERM before it is killed.
const (
	startTimeout = 90 * time.Second
	stopTimeout  = 15 * time.Second
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
}

// Seaweed starts `weed mini` in a temporary directory, bound to 127.0.0.1
// on free ports, creates a bucket, and stops the process in t.Cleanup. It
// skips t when STOA_WEED is not set.
func Seaweed(t testing.TB) *Server {
	t.Helper()
	weed := os.Getenv(WeedEnv)
	if weed == "" {
		t.Skipf("no SeaweedFS: set %s to a weed binary (.ci/seaweedfs builds one and prints its path)", WeedEnv)
	}
	if _, err := os.Stat(weed); err != nil {
		t.Fatalf("%s=%s: %v (.ci/seaweedfs builds weed and prints its path)", WeedEnv, weed, err)
	}
	s := &Server{
		Region:    "us-east-1",
		AccessKey: "stoatestkey",
		SecretKey: "stoa-test-secret-0123456789",
		Bucket:    "stoa-test",
		Dir:       t.TempDir(),
	}
	conf := filepath.Join(s.Dir, "s3.json")
	identity := fmt.Sprintf(`{"identities":[{"name":"stoa","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`, s.AccessKey, s.SecretKey)
	if err := os.WriteFile(conf, []byte(identity), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(s.Dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 10)
	s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(ports[6])
	args := []string{"mini", "-dir", data, "-ip", "127.0.0.1", "-ip.bind", "127.0.0.1",
		"-master.telemetry=false", "-webdav=false", "-s3.autoCreateBucket=false", "-s3.config", conf,
		"-master.volumeSizeLimitMB", "64",
		"-s3.port.iceberg", "0", "-s3.port.lance", "0", "-admin.port.legacy", "0",
		"-filer.localSocket", filepath.Join(s.Dir, "filer.sock"),
		"-s3.localSocket", filepath.Join(s.Dir, "s3.sock"),
	}
	for i, flag := range []string{"master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
		"filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc"} {
		args = append(args, "-"+flag, strconv.Itoa(ports[i]))
	}
	log, err := os.Create(filepath.Join(s.Dir, "weed.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(weed, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Dir = s.Dir
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		log.Close()
		t.Fatalf("starting %s: %v", weed, err)
	}
	s.PID = cmd.Process.Pid
	exited := make(chan struct{})
	go func() { cmd.Wait(); log.Close(); close(exited) }()
	t.Cleanup(func() { stop(t, cmd, exited) })
	if err := s.waitReady(exited); err != nil {
		t.Fatalf("SeaweedFS at %s: %v\n%s", s.Endpoint, err, tail(filepath.Join(s.Dir, "weed.log")))
	}
	return s
}

// stop ends weed by its PID: SIGTERM, then SIGKILL after stopTimeout.
func stop(t testing.TB, cmd *exec.Cmd, exited <-chan struct{}) {
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		t.Logf("weed (pid %d) ignored SIGTERM for %v: killed", cmd.Process.Pid, stopTimeout)
		cmd.Process.Kill()
		<-exited
	}
}

// waitReady creates the bucket, retrying until weed answers a signed
// request or startTimeout passes.
func (s *Server) waitReady(exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := s.Client()
	var last error
	for {
		_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.Bucket})
		if err == nil || strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
			return nil
		}
		last = err
		select {
		case <-exited:
			return errors.New("weed exited")
		case <-ctx.Done():
			return fmt.Errorf("not ready after %v: %v", startTimeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Client is an S3 client of the server, path-style, signed with its keys,
// without retries so that a test sees each failure.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint:     aws.String(s.Endpoint),
		Region:           s.Region,
		Credentials:      credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		UsePathStyle:     true,
		RetryMaxAttempts: 1,
	})
}

// Env is the environment that points the standard AWS configuration at the
// server, for a child process (append it to os.Environ()): the endpoint,
// region and keys, and no shared config, credentials files or EC2
// metadata, so nothing of the machine's own AWS setup is read.
func (s *Server) Env() []string {
	return Env(s.Endpoint, s.Region, s.AccessKey, s.SecretKey)
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
func freePorts(t testing.TB, n int) []int {
	t.Helper()
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
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// tail is the end of weed's log, for a failure message.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}
