// Command arcanosctl is the operator's command line for an arcanos fleet:
// it talks to the controller over mTLS.
package main

import (
	"os"

	"github.com/arcanos-dev/arcanos/cli/command"
)

func main() {
	os.Exit(command.Execute(os.Args[1:]))
}
