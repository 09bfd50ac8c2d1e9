//go:build !linux

package idlepark

// watch refuses: the caller waits in its own goroutine.
func watch(fd int, w *Waiter) bool { return false }
