package s3test

import "syscall"

// procAttr makes the kernel kill weed when the test binary dies, so a
// crashed or killed test leaves no server behind.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
