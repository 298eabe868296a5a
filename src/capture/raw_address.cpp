#include "capture/raw_address.hpp"

#include <charconv>
#include <stdexcept>

namespace coreplay::capture {

namespace {

bool ends_with_pcap(std::string_view s) noexcept { return s.ends_with("pcap") || s.ends_with("pcapng"); }

std::vector<std::uint16_t> parse_ports(std::string_view list, std::string_view address) {
  std::vector<std::uint16_t> ports;
  while (true) {
    auto comma = list.find(',');
    std::string_view p = list.substr(0, comma);
    unsigned v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || ec != std::errc{} || end != p.data() + p.size() || v > 65535)
      throw std::invalid_argument("--input-raw " + std::string(address) + ": bad port '" + std::string(p) + "'");
    ports.push_back(static_cast<std::uint16_t>(v));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return ports;
}

}  // namespace

raw_address parse_raw_address(std::string_view address) {
  raw_address a;
  if (address.find("://") != std::string_view::npos)
    throw std::invalid_argument("--input-raw " + std::string(address) + ": k8s:// addresses are not supported");
  std::string_view host, ports;
  if (address.starts_with('[')) {
    auto close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() || address[close + 1] != ':')
      throw std::invalid_argument("--input-raw " + std::string(address) + ": expected [address]:port");
    host = address.substr(1, close - 1);
    ports = address.substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      if (!ends_with_pcap(address))
        throw std::invalid_argument("--input-raw " + std::string(address) + ": missing ':port'");
      a.host = std::string(address);
      a.ports = {0};
      a.pcap_file = true;
      return a;
    }
    host = address.substr(0, colon);
    ports = address.substr(colon + 1);
  }
  a.ports = parse_ports(ports, address);
  if (host == "0.0.0.0" || host == "::") host = {};
  a.host = host == "localhost" ? "127.0.0.1" : std::string(host);
  a.pcap_file = ends_with_pcap(a.host);
  return a;
}

bool listens_on_all_interfaces(const raw_address& a) noexcept { return a.host.empty(); }

std::string auto_bpf_filter(const bpf_filter_spec& spec) {
  bool all_ports = spec.ports.empty();
  for (auto p : spec.ports)
    if (p == 0) all_ports = true;
  auto port_clause = [&](std::string_view dir) {
    std::string s;
    if (all_ports) return "tcp " + std::string(dir) + " portrange 0-65535";
    for (std::size_t i = 0; i < spec.ports.size(); ++i) {
      if (i) s += " or ";
      s += "tcp " + std::string(dir) + " port " + std::to_string(spec.ports[i]);
    }
    return s;
  };
  auto host_clause = [&](std::string_view dir) {
    std::string s;
    for (std::size_t i = 0; i < spec.hosts.size(); ++i) {
      if (i) s += " or ";
      s += std::string(dir) + " host " + spec.hosts[i];
    }
    return s;
  };
  const bool with_hosts = !spec.hosts.empty() && !spec.promisc;
  std::string filter = with_hosts ? "((" + port_clause("dst") + ") and (" + host_clause("dst") + "))"
                                  : "(" + port_clause("dst") + ")";
  if (spec.track_response)
    filter += with_hosts ? " or ((" + port_clause("src") + ") and (" + host_clause("src") + "))"
                         : " or (" + port_clause("src") + ")";
  std::string prefix;
  if (spec.vlan && spec.vlan_vids.empty()) prefix = "vlan and ";
  for (int vid : spec.vlan_vids) prefix += "vlan " + std::to_string(vid) + " and ";
  if (!prefix.empty()) return prefix + "(" + filter + ")";
  return filter;
}

std::vector<capture_target> plan_capture(const raw_address& address,
                                         const std::vector<interface_candidate>& interfaces,
                                         const std::vector<std::string>& ignore, bpf_filter_spec spec,
                                         const std::string& custom_filter) {
  spec.ports = address.ports;
  std::vector<const interface_candidate*> usable;
  for (auto& i : interfaces) {
    bool ignored = false;
    for (auto& n : ignore) ignored = ignored || n == i.name;
    if (i.up && !i.addresses.empty() && !ignored) usable.push_back(&i);
  }
  std::vector<const interface_candidate*> chosen;
  bool host_is_ip = false;
  const std::string& host = address.host;
  if (host.empty()) {
    chosen = usable;
  } else if (host.ends_with('*')) {
    std::string_view prefix(host.data(), host.size() - 1);
    for (auto* i : usable)
      if (i->name.starts_with(prefix)) {
        chosen.push_back(i);
        break;  // gor uses only the first match
      }
  } else {
    for (auto* i : usable)
      if (i->name == host) chosen.push_back(i);
    if (chosen.empty()) {
      for (auto* i : usable)
        for (auto& a : i->addresses)
          if (a == host && (chosen.empty() || chosen.back() != i)) chosen.push_back(i);
      host_is_ip = true;
    }
  }
  std::vector<capture_target> out;
  for (auto* i : chosen) {
    capture_target t{i->name, custom_filter};
    if (t.bpf_filter.empty()) {
      spec.hosts = host_is_ip ? std::vector<std::string>{host} : i->addresses;
      t.bpf_filter = auto_bpf_filter(spec);
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace coreplay::capture
