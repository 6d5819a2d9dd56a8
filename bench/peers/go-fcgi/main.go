// The Go baseline: net/http/fcgi answering the same hello world over FastCGI.
// Usage: go run bench/peers/go-fcgi/main.go 127.0.0.1:PORT
package main

import (
	"log"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
)

func main() {
	addr := "127.0.0.1:9001"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	body := []byte("Hello, world")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(body)
	})
	log.Fatal(fcgi.Serve(ln, handler))
}
