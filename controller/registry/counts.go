package registry

// Counts returns how many hosts are enrolled and how many of them have a
// stream open. It copies nothing, so it is cheap enough for every metrics
// scrape.
func (r *Registry) Counts() (enrolled, online int) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, e := range r.hosts {
		if e.sess != nil {
			online++
		}
	}
	return len(r.hosts), online
}
