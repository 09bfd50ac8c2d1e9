package image

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// runtimeEnv, set in the environment of this test binary, makes it a
// container runtime for one process instead of running tests: the value is
// a runtimeSpec in JSON.
const runtimeEnv = "STOA_IMAGE_TEST_RUNTIME"

// runtimeSpec is one container to run.
type runtimeSpec struct {
	Root     string   // the image's root file system
	Dir      string   // working directory inside Root
	UID, GID int      // the user to run as
	Volumes  []volume // mounted read-only
	Env      []string // the whole environment
	Argv     []string // entrypoint and arguments, inside Root
}

// volume is a folder of this machine mounted read-only at Target inside
// the container.
type volume struct{ Source, Target string }

func TestMain(m *testing.M) {
	if spec := os.Getenv(runtimeEnv); spec != "" {
		err := runContainer(spec)
		fmt.Fprintln(os.Stderr, "image test runtime:", err)
		os.Exit(125) // as podman run does when it cannot start the container
	}
	os.Exit(m.Run())
}

// inImage returns the command that runs the image's entrypoint with args as
// a runtime would: chrooted into root, made read-only, with the volumes, as
// the image's user, in its working directory, with its environment. The
// command is this test binary, which sets that up in a mount namespace of
// its own and then becomes the entrypoint (same PID).
func inImage(t *testing.T, root string, c config, volumes []volume, args ...string) *exec.Cmd {
	t.Helper()
	uid, gid, ok := strings.Cut(c.User, ":")
	u, err1 := strconv.Atoi(uid)
	g, err2 := strconv.Atoi(gid)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("image user %q, want UID:GID", c.User)
	}
	spec, err := json.Marshal(runtimeSpec{Root: root, Dir: c.WorkingDir, UID: u, GID: g, Volumes: volumes,
		Env: c.Env, Argv: append(slices.Clone(c.Entrypoint), args...)})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{runtimeEnv + "=" + string(spec)}
	// Mount and network namespaces of its own: its mounts vanish with it,
	// and the image's fixed ports are free there.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWNET}
	return cmd
}

// runContainer sets up and executes the container of spec; it returns only
// on failure.
func runContainer(encoded string) error {
	var spec runtimeSpec
	if err := json.Unmarshal([]byte(encoded), &spec); err != nil {
		return err
	}
	// Nothing mounted here may reach the machine's mount namespace.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := loopbackUp(); err != nil {
		return err
	}
	if err := bindReadOnly(spec.Root, spec.Root); err != nil {
		return err
	}
	for _, v := range spec.Volumes {
		if err := bindReadOnly(v.Source, filepath.Join(spec.Root, v.Target)); err != nil {
			return err
		}
	}
	if err := syscall.Chroot(spec.Root); err != nil {
		return fmt.Errorf("chroot %s: %w", spec.Root, err)
	}
	if err := syscall.Chdir(spec.Dir); err != nil {
		return fmt.Errorf("working directory %s: %w", spec.Dir, err)
	}
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(spec.GID); err != nil {
		return fmt.Errorf("setgid %d: %w", spec.GID, err)
	}
	if err := syscall.Setuid(spec.UID); err != nil {
		return fmt.Errorf("setuid %d: %w", spec.UID, err)
	}
	return syscall.Exec(spec.Argv[0], spec.Argv, spec.Env)
}

// loopbackUp brings up the loopback interface of a new network namespace,
// which starts down.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer syscall.Close(fd)
	// struct ifreq: the name, then the flags (a short) at offset 16.
	var ifr [40]byte
	copy(ifr[:], "lo")
	if err := ioctl(fd, syscall.SIOCGIFFLAGS, &ifr); err != nil {
		return fmt.Errorf("loopback flags: %w", err)
	}
	ifr[16] |= syscall.IFF_UP
	if err := ioctl(fd, syscall.SIOCSIFFLAGS, &ifr); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	return nil
}

func ioctl(fd int, req uintptr, ifr *[40]byte) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(ifr))); errno != 0 {
		return errno
	}
	return nil
}

// sysSetns is setns(2)'s number, which package syscall lacks, on the
// architectures the test runs on (golang.org/x/sys/unix has it, as an
// indirect dependency only).
var sysSetns = map[string]uintptr{"amd64": 308, "arm64": 268}

// inNetns returns a client whose connections are made in the network
// namespace of process pid.
func inNetns(pid int) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		done := make(chan result, 1)
		go func() {
			// Never unlocked: the thread, moved to another namespace,
			// ends with this goroutine rather than serve others.
			runtime.LockOSThread()
			ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
			if err != nil {
				done <- result{nil, err}
				return
			}
			defer ns.Close()
			if _, _, errno := syscall.Syscall(sysSetns[runtime.GOARCH], ns.Fd(), syscall.CLONE_NEWNET, 0); errno != 0 {
				done <- result{nil, fmt.Errorf("setns: %w", errno)}
				return
			}
			// The socket is made on this thread, so in that namespace,
			// and stays there whichever thread uses it next.
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			done <- result{c, err}
		}()
		r := <-done
		return r.c, r.err
	}
	return &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
}

// bindReadOnly mounts source at target, read-only.
func bindReadOnly(source, target string) error {
	if err := syscall.Mount(source, target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s at %s: %w", source, target, err)
	}
	if err := syscall.Mount("", target, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("make %s read-only: %w", target, err)
	}
	return nil
}
