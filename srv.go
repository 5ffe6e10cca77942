package autodiscover

import (
	"cmp"
	"net"
	"slices"
	"strings"
)

// orderSRV orders SRV records as RFC 2782 says a client tries them: lowest
// priority first; within one priority, a weighted random order (records of
// weight 0 are placed first and chosen rarely). intn(n) returns a random
// number in [0, n). Records with the target "." (service not provided) are
// dropped. The input is not modified.
func orderSRV(records []*net.SRV, intn func(n int) int) []*net.SRV {
	var rs []*net.SRV
	for _, r := range records {
		if r.Target != "." && r.Target != "" {
			rs = append(rs, r)
		}
	}
	slices.SortStableFunc(rs, func(a, b *net.SRV) int {
		if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
			return c
		}
		// Weight 0 first within a priority (RFC 2782, "Usage rules"),
		// then by name, so that the order depends only on intn.
		if c := cmp.Compare(min(a.Weight, 1), min(b.Weight, 1)); c != 0 {
			return c
		}
		return cmp.Compare(strings.ToLower(a.Target), strings.ToLower(b.Target))
	})
	out := make([]*net.SRV, 0, len(rs))
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && rs[j].Priority == rs[i].Priority {
			j++
		}
		group := slices.Clone(rs[i:j])
		for len(group) > 0 {
			sum := 0
			for _, r := range group {
				sum += int(r.Weight)
			}
			pick := 0
			if sum > 0 {
				n := intn(sum + 1) // RFC 2782: uniform in [0, sum]
				run := 0
				for k, r := range group {
					run += int(r.Weight)
					if run >= n {
						pick = k
						break
					}
				}
			}
			out = append(out, group[pick])
			group = slices.Delete(group, pick, pick+1)
		}
		i = j
	}
	return out
}

// srvURL is the AutoDiscover URL for an SRV target: the port is not used
// (PROTOCOL.md §5.5), only port-443 records are.
func srvURL(target string) string {
	return "https://" + strings.TrimSuffix(target, ".") + autodiscoverPath
}
