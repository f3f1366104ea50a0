package testenv

import (
	"fmt"
	"net"
	"time"
)

// FreeAddr is a loopback address nothing listens on now: for a server about to start, or a
// connection that must be refused.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// WaitListening waits until something accepts connections on addr.
func WaitListening(addr string, timeout time.Duration) error {
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		if time.Since(start) > timeout {
			return fmt.Errorf("nothing listens on %s after %v", addr, timeout)
		}
	}
}
