package allowlist

import (
	_ "embed"
	"fmt"
	"runtime/metrics"
	"time"

	"github.com/dop251/goja"
)

// The memory budget of an ecosystem file. goja has no memory cap, and its
// interrupt is only seen between JavaScript operations, never inside one
// built-in: `new Array(3e8).fill(1)` is a single call that grew the agent
// past 12 GB and killed it while the time limit waited. Two guards share
// the budget:
//
//   - before a built-in that makes or walks something sized by a number
//     (an array length, a repeat count, a pad length, the strings a join or
//     replace would write) runs, jsBudget checks that size against
//     jsMaxLength and stops the file if it is larger (ecosystem_budget.js);
//   - while the file runs, a watchdog reads the Go heap every jsHeapPoll and
//     stops the file once it grew by more than jsHeapBudget: that catches
//     growth made of many small operations (a loop that pushes or doubles a
//     string), which the interrupt can stop.
//
// LIMITATION: these guards narrow what one native call can allocate; they do
// not make it impossible. Still open: a string built with + (not guarded)
// up to the heap budget and then copied into properties by object spread
// ({...s}); an array made huge by index or length assignment and returned
// from a toJSON method or a JSON.stringify replacer; a regular expression
// with catastrophic backtracking (CPU, not memory: it outlives the time
// limit). Evaluating in a child process with an address-space limit would
// close them.
//
// LIMITATION: the heap watchdog sees the whole process: allocations of
// other goroutines during the few milliseconds an evaluation takes count
// against the file, and a busy process could see a sound file refused.
const (
	// jsMaxLength is the largest array length, string length or JSON text
	// a guarded built-in may make or walk (about a million).
	jsMaxLength = 1 << 20
	// jsHeapBudget is how far the Go heap may grow while a file runs.
	jsHeapBudget = 128 << 20
	// jsHeapPoll is how often the watchdog reads the heap.
	jsHeapPoll = 10 * time.Millisecond
)

// Bounds on compiling an ecosystem file, which happens in one native call
// before the time limit starts and which the interrupt could not stop
// anyway. goja's parser recurses once per nested bracket: a 1 MiB file of
// parentheses overflowed the Go stack, a fatal error. Its compile time
// also grows faster than the size of some files: a 64 KiB chain of nested
// blocks took 30 s.
//
// LIMITATION: some constructs without brackets still compile slowly within
// jsMaxSize (a chain of 20,000 arrow functions or of 30,000 additions takes
// about 8 s), and that time is not bounded by jsTimeout.
const (
	// jsMaxSize caps a JavaScript ecosystem file; data belongs in JSON.
	jsMaxSize = 64 << 10
	// jsMaxNesting caps how deep brackets ( [ { nest in it.
	jsMaxNesting = 500
)

// checkCompile refuses a JavaScript source that could overflow the parser's
// stack or take long to compile. Brackets in strings and comments count
// too, which only makes the bound stricter.
func checkCompile(src []byte) error {
	if len(src) > jsMaxSize {
		return fmt.Errorf("is a JavaScript file of %d bytes, more than the %d read; "+
			"list the apps in an ecosystem .json file instead", len(src), jsMaxSize)
	}
	depth, line := 0, 1
	for _, c := range src {
		switch c {
		case '\n':
			line++
		case '(', '[', '{':
			if depth++; depth > jsMaxNesting {
				return fmt.Errorf("nests brackets more than %d deep (line %d); "+
					"an ecosystem file must only list apps", jsMaxNesting, line)
			}
		case ')', ']', '}':
			depth = max(depth-1, 0)
		}
	}
	return nil
}

// jsBudget wraps the built-ins of a runtime: it is a JavaScript function
// (budget, max) run once before the ecosystem file.
//
//go:embed ecosystem_budget.js
var jsBudget string

// budgetError stops an ecosystem file that went over its memory budget; it
// is the value of the goja interrupt.
type budgetError struct {
	what string
}

func (e *budgetError) Error() string {
	return "exceeded its memory budget: " + e.what
}

// installBudget wraps the built-ins of vm so that the guarded ones check
// the sizes they would make against jsMaxLength first (see jsBudget), and
// removes the typed arrays, whose constructors allocate at once.
func installBudget(vm *goja.Runtime) error {
	v, err := vm.RunString(jsBudget)
	if err != nil {
		return fmt.Errorf("memory budget setup: %w", err)
	}
	setup, ok := goja.AssertFunction(v)
	if !ok {
		return fmt.Errorf("memory budget setup: not a function")
	}
	stop := func(what string) {
		vm.Interrupt(&budgetError{what: what})
	}
	if _, err := setup(goja.Undefined(), vm.ToValue(stop), vm.ToValue(jsMaxLength)); err != nil {
		return fmt.Errorf("memory budget setup: %w", err)
	}
	return nil
}

// watchHeap interrupts vm once the Go heap has grown by more than
// jsHeapBudget since the call, until the returned stop is called.
func watchHeap(vm *goja.Runtime) (stop func()) {
	base := heapObjectBytes()
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(jsHeapPoll)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if now := heapObjectBytes(); now > base+jsHeapBudget {
					vm.Interrupt(&budgetError{what: fmt.Sprintf(
						"the heap grew by %d MiB, more than the %d MiB allowed",
						(now-base)>>20, jsHeapBudget>>20)})
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

// heapObjectBytes reads the bytes the Go heap holds in objects, live or not
// yet swept, without stopping the world.
func heapObjectBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
