package fetch

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// reserved lists the ranges netip's predicates do not already name but that
// must never be reachable from a URL someone else chose: they route to the
// operator's own network, to carrier equipment, or nowhere public.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"; 0.0.0.0 reaches localhost on Linux
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (RFC 6598), often cloud-internal
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation (TEST-NET-1)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation (TEST-NET-2)
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation (TEST-NET-3)
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, includes 255.255.255.255
	netip.MustParsePrefix("::/96"),           // deprecated IPv4-compatible IPv6, includes :: and ::1
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
}

// Prefixes whose addresses carry an IPv4 address inside them: a gateway may
// forward to that IPv4 address, so it is checked as well.
var (
	nat64 = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052 well-known NAT64
	sixTo = netip.MustParsePrefix("2002::/16")    // 6to4
)

// CheckAddr returns an error wrapping ErrPrivateAddress when ip is loopback,
// private (RFC 1918, fc00::/7), link-local (169.254/16 including the cloud
// metadata address, fe80::/10), multicast, unspecified, CGNAT or otherwise
// reserved, looking inside IPv4-mapped, NAT64 and 6to4 IPv6 addresses.
// The fetcher calls it on every address it is about to connect to; callers
// may use it to reject a feed URL early, but only the dial-time check is
// authoritative (DNS may answer differently later).
func CheckAddr(ip netip.Addr) error {
	if !ip.IsValid() {
		return fmt.Errorf("invalid address: %w", ErrPrivateAddress)
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			if err := CheckAddr(netip.AddrFrom4([4]byte(b[12:16]))); err != nil {
				return fmt.Errorf("%s embeds %w", ip, err)
			}
		case sixTo.Contains(ip):
			if err := CheckAddr(netip.AddrFrom4([4]byte(b[2:6]))); err != nil {
				return fmt.Errorf("%s embeds %w", ip, err)
			}
		}
	}
	bad := ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified()
	if !bad {
		for _, p := range reserved {
			if p.Contains(ip) {
				bad = true
				break
			}
		}
	}
	if bad {
		return fmt.Errorf("%s: %w", ip, ErrPrivateAddress)
	}
	return nil
}

// dialControl runs after DNS resolution and before connect(2) for every
// address the dialer tries, so a host name that resolves to a public address
// at one moment and to 127.0.0.1 the next (DNS rebinding) is still refused:
// the check is on the address actually being connected to.
func dialControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Not an IP:port (a Unix socket, say): nothing a feed URL should reach.
		return fmt.Errorf("dial %s %s: %w", network, address, ErrPrivateAddress)
	}
	// net already prefixes "dial tcp ADDRESS: "; CheckAddr's error names the IP.
	return CheckAddr(ap.Addr())
}

// newDialer returns the dialer every connection goes through.
func newDialer(allowPrivate bool) *net.Dialer {
	d := &net.Dialer{
		// Connecting is a small part of the overall budget; a host that does
		// not accept within 10 s is down.
		Timeout: dialTimeout,
		// Keep idle connections to feed hosts alive between polls.
		KeepAlive: 30e9,
	}
	if !allowPrivate {
		d.Control = dialControl
	}
	return d
}
