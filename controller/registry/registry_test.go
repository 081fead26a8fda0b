package registry

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/arcanos-dev/arcanos/pkg/store"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// An agent cannot change the labels it was enrolled with by reporting
// others: labels choose overlays and selections.
func TestHelloCannotChangeEnrolledLabels(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "arcanos.db"), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := New(ctx, st, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Enrolled(ctx, "db-1", map[string]string{"role": "db"}); err != nil {
		t.Fatal(err)
	}
	sess := NewSession("db-1", func(error) {})
	hello := &arcanosv1.Hello{HostId: "db-1", Hostname: "db-1", Labels: map[string]string{"role": "web"}}
	if err := r.Attach(ctx, sess, hello); err != nil {
		t.Fatal(err)
	}
	if got := r.Host("db-1").GetLabels()["role"]; got != "db" {
		t.Fatalf("role = %q after a hello saying web; want the enrolled db", got)
	}
}
