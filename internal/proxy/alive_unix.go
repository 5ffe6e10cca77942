//go:build unix

package proxy

import (
	"net"
	"syscall"
)

// alive reports whether an idle connection is still open: nothing to read
// yet. An upstream that closed it (idle timeout, restart) has sent EOF, a
// reset or a TLS close_notify, which a peek without waiting sees; the
// connection is then dropped instead of failing the next request.
func alive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	// Control, not Read: the peek must not wait, and an idle connection
	// keeps an expired read deadline (see quiet), which Read would obey.
	open := false
	var b [1]byte
	err = rc.Control(func(fd uintptr) {
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK
	})
	return err == nil && open
}
