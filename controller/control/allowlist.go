package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arcanos-dev/arcanos/pkg/overlay"
	"github.com/arcanos-dev/arcanos/pkg/store"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// maxAllowlistDoc caps a central allowlist document.
const maxAllowlistDoc = 4 << 20

// GetAllowlist returns the current central allowlist.
func (s *Service) GetAllowlist(ctx context.Context, _ *arcanosv1.GetAllowlistRequest) (*arcanosv1.GetAllowlistResponse, error) {
	if _, err := operator(ctx); err != nil {
		return nil, err
	}
	cur, err := s.opts.Store.CurrentAllowlist(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Error(codes.NotFound,
			"no central allowlist is set yet; set one with arcanosctl allowlist set FILE --expected-version 0")
	}
	if err != nil {
		return nil, storeStatus(err, "read allowlist")
	}
	return &arcanosv1.GetAllowlistResponse{Current: cur}, nil
}

// emptyFor says why doc is refused when it authorizes nothing, or nothing
// for some enrolled host (no overlay that applies to it adds anything), or
// "" when every host gets something. With no host enrolled yet, a host
// without labels is the one judged.
func emptyFor(d *overlay.Document, hosts []*arcanosv1.Host) string {
	const tail = ": every process, service, PM2 app and container there would be unauthorized " +
		"(and stopped by real purges on hosts that allow termination); if that is what you want, " +
		"set it with --allow-empty"
	if d.AuthorizesNothing() {
		return "allowlist not stored: it authorizes nothing, on any host" + tail
	}
	var bare []string
	for _, h := range hosts {
		if d.AuthorizesNothingFor(h.GetLabels()) {
			bare = append(bare, h.GetHostId())
		}
	}
	if len(hosts) == 0 && d.AuthorizesNothingFor(nil) {
		return "allowlist not stored: its base authorizes nothing, so a host that no overlay applies to " +
			"gets nothing" + tail
	}
	if len(bare) == 0 {
		return ""
	}
	slices.Sort(bare)
	named := strings.Join(bare[:min(len(bare), 5)], ", ")
	if len(bare) > 5 {
		named += fmt.Sprintf(" and %d more", len(bare)-5)
	}
	return fmt.Sprintf("allowlist not stored: it authorizes nothing for %d enrolled host(s) (%s): "+
		"its base is empty and no overlay that applies to them adds anything%s", len(bare), named, tail)
}

// SetAllowlist validates the document (base, each overlay, and the
// effective document of every known host's labels) and stores it as the
// next version when expected_version is still current.
func (s *Service) SetAllowlist(ctx context.Context, req *arcanosv1.SetAllowlistRequest) (*arcanosv1.SetAllowlistResponse, error) {
	who, err := operator(ctx)
	if err != nil {
		return nil, err
	}
	doc := req.GetDocument()
	if len(doc) > maxAllowlistDoc {
		return nil, status.Errorf(codes.InvalidArgument, "allowlist is %d bytes; at most %d", len(doc), maxAllowlistDoc)
	}

	var labelSets []map[string]string
	hosts := s.opts.Registry.Hosts()
	for _, h := range hosts {
		labelSets = append(labelSets, h.GetLabels())
	}
	d, err := overlay.Validate(doc, labelSets)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "allowlist not stored, fix every problem:\n%v", err)
	}
	if !req.GetAllowEmpty() {
		if why := emptyFor(d, hosts); why != "" {
			return nil, status.Error(codes.InvalidArgument, why)
		}
	}

	cur, err := s.opts.Store.SetAllowlist(ctx, doc, req.GetExpectedVersion(), who, req.GetComment())
	if errors.Is(err, store.ErrVersionConflict) {
		return nil, status.Errorf(codes.FailedPrecondition,
			"allowlist changed since version %d: get the current one, merge, and set it again (%v)",
			req.GetExpectedVersion(), err)
	}
	if err != nil {
		return nil, storeStatus(err, "store allowlist")
	}
	s.log.Info("allowlist changed", "version", cur.GetVersion(), "by", who)
	return &arcanosv1.SetAllowlistResponse{Current: cur}, nil
}

// AllowlistHistory returns the newest versions first (20 unless asked).
func (s *Service) AllowlistHistory(ctx context.Context, req *arcanosv1.AllowlistHistoryRequest) (*arcanosv1.AllowlistHistoryResponse, error) {
	if _, err := operator(ctx); err != nil {
		return nil, err
	}
	versions, err := s.opts.Store.AllowlistHistory(ctx, limit(req.GetLimit(), 20, 1000))
	if err != nil {
		return nil, storeStatus(err, "allowlist history")
	}
	return &arcanosv1.AllowlistHistoryResponse{Versions: versions}, nil
}
