package pm2startup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/arcanos-dev/arcanos/pkg/rootfs"
)

// maxDump caps what is read of a dump file; dumps carry each app's whole
// environment and grow with it.
const maxDump = 64 << 20

// dumpApp is the only part of a dumped app we decode. A dump file holds each
// app's full environment (secrets included): those fields are never decoded,
// kept or logged.
type dumpApp struct {
	Name     string `json:"name"`
	ExecPath string `json:"pm_exec_path"`
}

// readDump reads the app names of the dump file at host path p. Problems are
// returned as notes; their text never quotes the file.
func readDump(root *os.Root, p string) ([]dumpApp, []string) {
	data, _, err := rootfs.ReadFile(root, rootfs.Rel(p), maxDump)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, []string{"no dump file " + p + ": pm2 resurrect starts no apps"}
	}
	if err != nil {
		return nil, []string{"dump file not read: " + rootfs.Describe(err)}
	}

	var apps []dumpApp
	if err := json.Unmarshal(data, &apps); err != nil {
		// The decoder's messages can quote a character of the input; say
		// only where it failed.
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, []string{fmt.Sprintf("dump file %s is not valid JSON (at byte %d)", p, syn.Offset)}
		}
		return nil, []string{fmt.Sprintf("dump file %s is not a JSON array of apps", p)}
	}
	if len(apps) == 0 {
		return nil, []string{"dump file " + p + " lists no apps"}
	}
	return apps, nil
}
