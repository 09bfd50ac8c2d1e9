//go:build !linux

package s3test

import "syscall"

// procAttr: only Linux can tie weed's life to the test binary's.
func procAttr() *syscall.SysProcAttr { return nil }
