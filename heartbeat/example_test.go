package heartbeat_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/beatmq/beatmq/heartbeat"
)

// lineServer serves one connection of a newline-delimited protocol in which
// "PING\n" is the heartbeat, with RabbitMQ's heartbeat rules: the server
// sends PING every T/2 when it sent nothing else, and drops the client after
// two checks T apart in which it received nothing. Any line, PING or not,
// counts as activity. Once the connection has ended it returns how many
// lines the client sent and whether the heartbeat timeout ended it.
func lineServer(ln net.Listener, interval time.Duration) (lines int, timedOut bool) {
	nc, err := ln.Accept()
	if err != nil {
		return 0, false
	}
	cc := heartbeat.NewCountingConn(nc) // counts every octet in and out
	defer cc.Close()

	var mu sync.Mutex // one writer: heartbeats never split another line
	write := func(s string) error {
		mu.Lock()
		defer mu.Unlock()
		_, err := io.WriteString(cc, s)
		return err
	}
	timeout := make(chan struct{})
	m := heartbeat.Start(heartbeat.Config{
		Interval:      interval,
		Counters:      cc,
		SendHeartbeat: func() error { return write("PING\n") },
		OnTimeout: func() {
			close(timeout)
			_ = cc.Reset() // RST, and the read loop below ends
		},
		OnSendError: func(error) { _ = cc.Close() },
	})

	sc := bufio.NewScanner(cc)
	for sc.Scan() {
		lines++
		if sc.Text() == "HELLO" {
			_ = write("WELCOME\n")
		}
	}
	m.Stop()
	select {
	case <-timeout:
		return lines, true
	default:
		return lines, false
	}
}

// result is what lineServer returned.
type result struct {
	lines    int
	timedOut bool
}

// serve runs lineServer on its own goroutine.
func serve(ln net.Listener, interval time.Duration) <-chan result {
	ch := make(chan result, 1)
	go func() {
		n, to := lineServer(ln, interval)
		ch <- result{n, to}
	}()
	return ch
}

// A line protocol over TCP whose client says HELLO and then goes silent:
// the server sends its PING heartbeats, then closes the connection 3T after
// the HELLO (two receiver checks without a received octet), as RabbitMQ
// closes an AMQP client that missed its heartbeats.
func Example_lineProtocolSilentClient() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	const T = 200 * time.Millisecond
	server := serve(ln, T)

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	_, _ = io.WriteString(c, "HELLO\n")
	_ = c.SetReadDeadline(time.Now().Add(10 * T)) // a bound, far above 3T
	pings := 0
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		switch sc.Text() {
		case "WELCOME":
			fmt.Println("client: WELCOME")
		case "PING":
			pings++ // every T/2 while the server has nothing else to say
		}
	}
	fmt.Println("client: heartbeats received before the close:", pings >= 2)
	res := <-server
	fmt.Printf("server: %d line from the client, closed for missed heartbeats: %v\n", res.lines, res.timedOut)
	// Output:
	// client: WELCOME
	// client: heartbeats received before the close: true
	// server: 1 line from the client, closed for missed heartbeats: true
}

// The same server with a client that sends its own PING every T/4 for 5T:
// the server's receiver sees octets at every check and never times out.
func Example_lineProtocolTalkingClient() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	const T = 200 * time.Millisecond
	server := serve(ln, T)

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	// Drain what the server sends, so its writes never block.
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		_, _ = io.Copy(io.Discard, c)
	}()
	sent := 0
	for deadline := time.Now().Add(5 * T); time.Now().Before(deadline); sent++ {
		if _, err := io.WriteString(c, "PING\n"); err != nil {
			fmt.Println("client:", err)
			break
		}
		time.Sleep(T / 4)
	}
	_ = c.(*net.TCPConn).CloseWrite() // EOF for the server
	res := <-server
	_ = c.Close()
	<-drained
	fmt.Println("client: sent its own heartbeats for 5T:", sent >= 5)
	fmt.Println("server: got every one:", res.lines == sent, "closed for missed heartbeats:", res.timedOut)
	// Output:
	// client: sent its own heartbeats for 5T: true
	// server: got every one: true closed for missed heartbeats: false
}

// CountingConn counts the octets that go through a connection: the
// heartbeat receiver compares Received between checks, the sender Sent.
func ExampleCountingConn() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	go func() { // an echo server
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	cc := heartbeat.NewCountingConn(nc)
	defer cc.Close()
	_, _ = io.WriteString(cc, "PING\n")
	_ = cc.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, _ := bufio.NewReader(cc).ReadString('\n')
	fmt.Printf("echoed %q; sent %d octets, received %d\n", line, cc.Sent(), cc.Received())
	// Output:
	// echoed "PING\n"; sent 5 octets, received 5
}
