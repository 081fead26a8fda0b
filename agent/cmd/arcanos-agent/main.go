// Command arcanos-agent runs the purge sequence on the host it is on.
package main

import (
	"os"

	"github.com/arcanos-dev/arcanos/agent/command"
)

func main() {
	os.Exit(command.Execute(os.Args[1:]))
}
