package allowlist

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// jsTimeout bounds the evaluation of an ecosystem file. A variable only so
// that tests of the memory budget do not race it.
var jsTimeout = 2 * time.Second

// jsMaxCallStack bounds recursion in an ecosystem file.
const jsMaxCallStack = 2000

// jsPrelude defines the only globals an ecosystem file sees besides the
// ECMAScript built-ins: a no-op console, a frozen process with an empty env
// (files often read process.env.X), and a require that always throws.
const jsPrelude = `
var console = Object.freeze({log: function() {}, info: function() {}, warn: function() {},
	error: function() {}, debug: function() {}});
var process = Object.freeze({env: Object.freeze({})});
var require = function (name) {
	throw new TypeError("require(" + JSON.stringify(String(name)) + ") is not available: " +
		"the ecosystem file is read in a sandbox without modules; list the apps literally");
};
`

// evalEcosystemJS evaluates a CommonJS ecosystem file in a goja sandbox and
// reads the app names from module.exports. The sandbox has no file system,
// network, process or module access (goja provides none unless given), so
// the file runs with none of the agent's powers; it is interrupted after
// jsTimeout, its recursion is bounded, and it is stopped when it goes over
// its memory budget (see ecosystem_budget.go, and the limitations there).
func evalEcosystemJS(file string, src []byte) ([]string, error) {
	name := filepath.Base(file)
	if err := checkCompile(src); err != nil {
		return nil, err
	}
	prg, err := goja.Compile(name, string(src), false)
	if err != nil {
		return nil, jsError(nil, name, err, src)
	}

	vm := goja.New()
	vm.SetMaxCallStackSize(jsMaxCallStack)
	timer := time.AfterFunc(jsTimeout, func() { vm.Interrupt("timeout") })
	defer timer.Stop()

	// The CommonJS names are globals rather than the parameters of Node's
	// function wrapper, so that line:column in errors are the file's own.
	module := vm.NewObject()
	exports := vm.NewObject()
	var names []string
	err = guard(vm, func() error {
		if _, err := vm.RunString(jsPrelude); err != nil {
			return fmt.Errorf("sandbox setup failed: %w", err)
		}
		if err := installBudget(vm); err != nil {
			return fmt.Errorf("sandbox setup failed: %w", err)
		}
		for k, v := range map[string]any{
			"module": module, "exports": exports,
			"__filename": file, "__dirname": filepath.Dir(file),
		} {
			if err := vm.Set(k, v); err != nil {
				return err
			}
		}
		if err := module.Set("exports", exports); err != nil {
			return err
		}
		defer watchHeap(vm)()
		if _, err := vm.RunProgram(prg); err != nil {
			return err
		}
		names, err = appsFromJS(module.Get("exports"))
		return err
	})
	if err != nil {
		return nil, jsError(vm, name, err, src)
	}
	return dedupe(names), nil
}

// guard runs f, which calls into the runtime from Go, and returns what it
// returned or what the runtime threw: a JavaScript exception, or an
// interrupt or stack overflow, which goja's Try lets through as panics.
func guard(vm *goja.Runtime, f func() error) (err error) {
	defer func() {
		if x := recover(); x != nil {
			if e, ok := x.(error); ok {
				err = e
				return
			}
			err = fmt.Errorf("evaluation panicked: %v", x)
		}
	}()

	if ex := vm.Try(func() { err = f() }); ex != nil {
		return ex
	}
	return err
}

// jsError turns an evaluation error into a message that says what to fix.
func jsError(vm *goja.Runtime, name string, err error, src []byte) error {
	var interrupted *goja.InterruptedError
	var overflow *goja.StackOverflowError
	var syntax *goja.CompilerSyntaxError
	var ex *goja.Exception
	var budget *budgetError
	switch {
	case errors.As(err, &interrupted) && errors.As(err, &budget):
		return fmt.Errorf("%w%s; an ecosystem file must only list apps", budget, where(name, interrupted.Stack()))
	case errors.As(err, &interrupted):
		return fmt.Errorf("did not finish within %v (an endless loop?); it must only "+
			"assign module.exports", jsTimeout)
	case errors.As(err, &overflow):
		return errors.New("recursed too deep; it must only assign module.exports")
	case errors.As(err, &syntax):
		msg := "is not valid JavaScript: " + syntax.Error()
		if strings.Contains(string(src), "export ") || strings.Contains(string(src), "import ") {
			msg += "; ES module syntax (import/export) is not supported, " +
				"use module.exports = {apps: [...]}"
		}
		return errors.New(msg)
	case errors.As(err, &ex) && vm != nil:
		return fmt.Errorf("evaluating it failed: %s", exceptionText(vm, name, ex))
	}
	return err
}

// exceptionText describes what a file threw and where. Turning the thrown
// value into text may run the file's code (a toString), so it is guarded too.
func exceptionText(vm *goja.Runtime, name string, ex *goja.Exception) string {
	text := "an exception"
	_ = guard(vm, func() error {
		if v := ex.Value(); v != nil {
			text = firstLine(v.String())
		}
		return nil
	})
	return text + where(name, ex.Stack())
}

// where returns " (at NAME:LINE:COL)" for the innermost frame of stack in
// the ecosystem file called name, or "" when there is none.
func where(name string, stack []goja.StackFrame) string {
	for _, f := range stack {
		if f.SrcName() == name {
			pos := f.Position()
			return fmt.Sprintf(" (at %s:%d:%d)", f.SrcName(), pos.Line, pos.Column)
		}
	}
	return ""
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// appsFromJS reads app names from module.exports: {apps: [...]} or a bare
// array of apps. It only reads properties; strings are taken as they are and
// nothing is converted through user code. It runs inside guard, and getters or
// proxies it triggers are still under the interrupt.
func appsFromJS(exports goja.Value) ([]string, error) {
	obj, ok := exports.(*goja.Object)
	if !ok {
		return nil, errors.New("does not set module.exports; write module.exports = {apps: [...]}")
	}

	list := obj
	if obj.ClassName() != "Array" {
		apps, ok := obj.Get("apps").(*goja.Object)
		if !ok || apps.ClassName() != "Array" {
			return nil, errors.New("module.exports has no apps array; write " +
				"module.exports = {apps: [{name: \"api\", script: \"server.js\"}]}")
		}
		list = apps
	}

	n := list.Get("length").ToInteger()
	if n > maxApps {
		return nil, fmt.Errorf("lists %d apps, more than the %d read", n, maxApps)
	}
	var names []string
	var errs []error
	for i := range int(n) {
		app, ok := list.Get(fmt.Sprint(i)).(*goja.Object)
		if !ok {
			errs = append(errs, fmt.Errorf("apps[%d] must be an object with a name", i))
			continue
		}
		name, err := appName(i, jsString(app.Get("name")), jsString(app.Get("script")))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		names = append(names, name)
	}
	if err := joinProblems(errs); err != nil {
		return nil, err
	}
	return names, nil
}

// jsString returns a JavaScript string value as a Go string, nil for
// undefined or null, and any other value as-is (which appName rejects).
func jsString(v goja.Value) any {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	if _, isObj := v.(*goja.Object); isObj {
		return v
	}
	return v.Export()
}
