package control

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/arcanos-dev/arcanos/pkg/fleet"
	arcanosv1 "github.com/arcanos-dev/arcanos/proto/gen/arcanos/v1"
)

// ListHosts returns every enrolled host, or those the selector chooses.
// Unlike a purge, a selector matching no host gives an empty list.
func (s *Service) ListHosts(ctx context.Context, req *arcanosv1.ListHostsRequest) (*arcanosv1.ListHostsResponse, error) {
	if _, err := operator(ctx); err != nil {
		return nil, err
	}
	hosts := s.opts.Registry.Hosts()
	sel := req.GetSelector()
	if sel.GetHosts() == "" && len(sel.GetLabels()) == 0 {
		return &arcanosv1.ListHostsResponse{Hosts: hosts}, nil
	}

	parsed, err := fleet.ParseSelector(sel)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	out := make([]*arcanosv1.Host, 0, len(hosts))
	for _, h := range hosts {
		// By host id, the certificate's name, never the reported host name.
		if parsed.Match(h.GetHostId(), h.GetLabels()) {
			out = append(out, h)
		}
	}
	return &arcanosv1.ListHostsResponse{Hosts: out}, nil
}
