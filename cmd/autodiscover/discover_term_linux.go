package main

import (
	"bufio"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// readNoEcho reads a line from the terminal with echo turned off.
func readNoEcho(f *os.File) (string, error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", err
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return "", err
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	s, err := bufio.NewReader(f).ReadString('\n')
	return strings.TrimRight(s, "\r\n"), err
}

// isTTY reports whether f is a terminal (not merely a character device
// such as /dev/null).
func isTTY(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
