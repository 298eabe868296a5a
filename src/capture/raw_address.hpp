// gor's --input-raw address forms and its automatic BPF filter.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace coreplay::capture {

struct raw_address {
  // "" for all interfaces (gor: "", 0.0.0.0, ::, [::]); an IP ("localhost" becomes 127.0.0.1),
  // an interface name, a "prefix*" wildcard, or with pcap_file the file path.
  std::string host;
  std::vector<std::uint16_t> ports;  // {0} means every port
  bool pcap_file = false;            // the host names a .pcap/.pcapng file (engine pcap_file)
};

// Parses `host:port[,port...]`, `[v6]:port`, `file.pcap[:port]`. Throws std::invalid_argument
// with a message naming the address when it cannot be read (k8s:// is not supported).
raw_address parse_raw_address(std::string_view address);

bool listens_on_all_interfaces(const raw_address& a) noexcept;

struct bpf_filter_spec {
  std::vector<std::uint16_t> ports;  // empty or {0}: every port
  std::vector<std::string> hosts;    // the capture's own IPs (none: ports only)
  bool track_response = false;       // also the server's packets (src port)
  bool promisc = false;              // no host clause (gor)
  bool vlan = false;                 // prefix "vlan and "
  std::vector<int> vlan_vids;        // each adds "vlan <vid> and " (gor: nested tags, not "any of")
};

// The filter gor builds (capture.go:Filter): requests to the ports (and hosts), plus with
// track_response the responses from them.
std::string auto_bpf_filter(const bpf_filter_spec& spec);

// A network interface as libpcap lists it (list_capture_interfaces() in pcap_live.hpp).
struct interface_candidate {
  std::string name;
  std::vector<std::string> addresses;  // IPv4 and IPv6, as text
  bool up = false;
  bool loopback = false;
};

struct capture_target {
  std::string interface;
  std::string bpf_filter;
};

// Where gor captures (capture.go:setInterfaces): every interface that is up and has an
// address, minus `ignore`; or only the one the host names (exact name, the first match of a
// "prefix*", or the interface owning the IP). The filter is `custom_filter` when set, else the
// automatic one, with hosts = the IP given, or the interface's addresses. `spec.ports` and
// `spec.hosts` are filled here. Empty when nothing matches (the caller reports it).
std::vector<capture_target> plan_capture(const raw_address& address,
                                         const std::vector<interface_candidate>& interfaces,
                                         const std::vector<std::string>& ignore, bpf_filter_spec spec,
                                         const std::string& custom_filter = {});

}  // namespace coreplay::capture
