// A Go program for the compatibility suite: gofmt -s rewrites it (its
// layout is off on purpose), Go's compiler compiles it.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

type  word struct { text string; count int }

func   count(text string) []word {
	m := map[string]int{}
	for _, w := range strings.Fields(text) { m[strings.ToLower(w)]++ }
	var out []word
	for k, v := range m { out = append(out, word{text: k, count: v}) }
	sort.Slice(out, func(i, j int) bool { if out[i].count != out[j].count { return out[i].count > out[j].count }; return out[i].text < out[j].text })
	return out
}

func main() {
	var wg sync.WaitGroup
	results := make([][]word, 4)
	for i := range results {
		wg.Add(1)
		go func(i int) { defer wg.Done(); results[i] = count(strings.Repeat("the quick brown fox jumps over the lazy dog ", i+1)) }(i)
	}
	wg.Wait()
	for i, r := range results[:] { fmt.Fprintf(os.Stdout, "%d: %v\n", i, r[:3]) }
}
