// httpserver: a small net/http server for the tests of `vmseal run` and
// `vmseal seal PID` on a Go program (stdlib only).
//
// Usage: httpserver [PORT]
//
// It listens on 127.0.0.1:PORT (PORT 0 or none: a port the kernel chooses),
// prints the port it listens on as one line on stdout ("41234\n") once it
// accepts connections, and serves until it gets GET /quit or a signal:
//
//	GET /          200 "vmseal-go-ok\n"
//	GET /alloc     200 "alloc N SUM\n": N (?n=, 1..4096, default 64) buffers of
//	               64 KiB, buffer i filled with the byte i%256, by 4
//	               goroutines, every byte added up, then a garbage collection:
//	               SUM is 65536 * (0%256 + 1%256 + ... + (N-1)%256)
//	GET /pid       200 "PID\n" (its process id)
//	GET /quit      200 "bye\n", then exit status 0
//
// Anything else is a 404. Errors go to stderr; a port that cannot be bound
// exits with status 1.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
)

const bufferSize = 64 << 10

// alloc fills n buffers of bufferSize bytes, buffer i with the byte i%256,
// in 4 goroutines, adds up every byte read back, then collects garbage.
func alloc(n int) uint64 {
	const workers = 4
	sums := make([]uint64, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				b := make([]byte, bufferSize)
				for j := range b {
					b[j] = byte(i)
				}
				for _, v := range b {
					sums[w] += uint64(v)
				}
			}
		}(w)
	}
	wg.Wait()
	runtime.GC()
	var total uint64
	for _, s := range sums {
		total += s
	}
	return total
}

func handler(quit chan<- struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, "vmseal-go-ok\n")
		case "/alloc":
			n := 64
			if q := r.URL.Query().Get("n"); q != "" {
				v, err := strconv.Atoi(q)
				if err != nil || v < 1 || v > 4096 {
					http.Error(w, "n: 1..4096", http.StatusBadRequest)
					return
				}
				n = v
			}
			fmt.Fprintf(w, "alloc %d %d\n", n, alloc(n))
		case "/pid":
			fmt.Fprintf(w, "%d\n", os.Getpid())
		case "/quit":
			fmt.Fprint(w, "bye\n")
			select {
			case quit <- struct{}{}:
			default:
			}
		default:
			http.NotFound(w, r)
		}
	}
}

func main() {
	port := "0"
	if len(os.Args) > 2 {
		fmt.Fprintln(os.Stderr, "usage: httpserver [PORT]")
		os.Exit(2)
	}
	if len(os.Args) == 2 {
		port = os.Args[1]
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpserver:", err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	quit := make(chan struct{}, 1)
	srv := &http.Server{Handler: handler(quit)}
	done := make(chan struct{})
	go func() {
		<-quit
		// Shutdown stops accepting and waits for the reply to /quit.
		srv.Shutdown(context.Background())
		close(done)
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "httpserver:", err)
		os.Exit(1)
	}
	<-done
}
