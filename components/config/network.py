"""Where clients find the registry: host names, IP addresses, the port and the TLS mode."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from components.config.source import ConfigError, Raw

TLS_MODES = ("self-signed", "provided", "http")

_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def dns_name_problem(name: str) -> str | None:
    """Which rule ``name`` breaks as a host name clients dial (and a certificate's DNS SAN), or None."""
    if not name:
        return "is empty"
    if is_ip(name):
        return "is an IP address, not a DNS name (put IP addresses in `ipAddresses`)"
    if name.endswith("."):
        return "ends with a dot (write the name without the trailing '.')"
    if len(name) > 253:
        return f"is {len(name)} characters long (a DNS name has at most 253)"
    if name.split(".")[-1].isdigit():
        return "ends in an all-numeric label, which no DNS name has (write an IP address in `ipAddresses`)"
    for label in name.split("."):
        if label == "*":
            return "is a wildcard (list the names clients really use; a provided certificate may still be a wildcard)"
        if not label:
            return "has an empty label (two dots in a row, or a leading dot)"
        if len(label) > 63:
            return f"has a label of {len(label)} characters ('{label[:20]}...'; a label has at most 63)"
        if label.startswith("-") or label.endswith("-"):
            return f"has a label that starts or ends with '-' ('{label}')"
        if not _DNS_LABEL.match(label):
            return f"has a character other than letters, digits, '-' and '.' (in '{label}')"
    return None


def ip_problem(value: str) -> str | None:
    """Why ``value`` is not an address clients can dial (and a certificate's IP SAN), or None."""
    if "%" in value:
        return (
            f"'{value}' has a zone ('%{value.split('%', 1)[1]}'): a zone means something on one host only; "
            "list the address alone"
        )
    if not is_ip(value):
        return f"'{value}' is not an IP address"
    address = ipaddress.ip_address(value)
    mapped = getattr(address, "ipv4_mapped", None)
    if address.is_unspecified or (mapped is not None and mapped.is_unspecified):
        return (
            f"'{value}' is the unspecified address, which no client can dial (publishing on every interface is "
            "`bindAddress`'s job)"
        )
    return None


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_loopback(name: str) -> bool:
    if name.lower() == "localhost" or name.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Network:
    """Where clients find the registry."""

    hosts: tuple[str, ...]
    """DNS names clients use; the first is the endpoint's host."""
    ip_addresses: tuple[str, ...]
    """IP addresses clients use (IP SANs)."""
    tls_mode: str
    """self-signed | provided | http."""
    port: int
    """Host port published for the registry (container port 5000)."""
    bind_address: str
    """Host address the port is published on."""

    @property
    def https(self) -> bool:
        """Whether the registry serves TLS: the TLS mode, worked out here once (``tlsMode`` http or not)."""
        return self.tls_mode != "http"

    @property
    def scheme(self) -> str:
        """The scheme of every URL the registry is reached at (the endpoint, each instance's readiness URL)."""
        return "https" if self.https else "http"

    @property
    def primary_host(self) -> str:
        return self.hosts[0] if self.hosts else self.ip_addresses[0]

    @property
    def endpoint(self) -> str:
        """The URL clients use: the default port for the scheme is left out."""
        default_port = 443 if self.https else 80
        host = self.primary_host
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        suffix = "" if self.port == default_port else f":{self.port}"
        return f"{self.scheme}://{host}{suffix}"

    def url_at(self, address: str) -> str:
        """The base URL of the registry at ``address`` (a host name or IP) and the published port."""
        return f"{self.scheme}://{f'[{address}]' if ':' in address else address}:{self.port}"

    @property
    def host_port(self) -> str:
        """host[:port] as the Spectro CLI and its certs.d directory name it."""
        return self.endpoint.split("://", 1)[1]


def parse_network(raw: Raw) -> Network:
    hosts = raw.strings("hosts")
    ips = raw.strings("ipAddresses")
    for host in hosts:
        problem = dns_name_problem(host)
        if problem:
            raise ConfigError(
                "hosts",
                f"'{host}' {problem}",
                'List the DNS names clients use, e.g. ["registry.example.com"].',
            )
    for ip in ips:
        problem = ip_problem(ip)
        if problem:
            raise ConfigError("ipAddresses", problem, "List the IPv4 or IPv6 addresses clients use.")
    if not hosts and not ips:
        raise ConfigError("hosts", "no host name or IP address is configured", "Set `hosts` and/or `ipAddresses`.")
    if len(set(h.lower() for h in hosts)) != len(hosts):
        raise ConfigError("hosts", "lists a name twice", "List each DNS name once.")
    if len({ipaddress.ip_address(ip) for ip in ips}) != len(ips):
        raise ConfigError("ipAddresses", "lists an address twice", "List each IP address once.")

    tls_mode = raw.text("tlsMode").strip()
    if tls_mode not in TLS_MODES:
        raise ConfigError("tlsMode", f"'{tls_mode}' is not a TLS mode", f"Use one of {', '.join(TLS_MODES)}.")
    allow_http = raw.boolean("allowInsecureHttp")
    if tls_mode == "http" and not allow_http:
        raise ConfigError(
            "tlsMode",
            "'http' serves credentials in clear text and needs an explicit opt-in",
            "Also set `allowInsecureHttp` to true, or use tlsMode self-signed.",
        )

    port = raw.integer("port")
    if port == 0:
        port = 80 if tls_mode == "http" else 443
    if not 1 <= port <= 65535:
        raise ConfigError(
            "port", f"{port} is out of range", "Use a port from 1 to 65535 (0 picks 443, or 80 for http)."
        )
    bind_address = raw.text("bindAddress").strip()
    if not is_ip(bind_address) or "%" in bind_address:
        raise ConfigError(
            "bindAddress", f"'{bind_address}' is not an IP address (without a zone)", "Use 0.0.0.0 or a host IP."
        )
    return Network(
        hosts=hosts, ip_addresses=ips, tls_mode=tls_mode, port=port, bind_address=canonical_bind_address(bind_address)
    )


def canonical_bind_address(bind_address: str) -> str:
    """The address as the engine reports a published port's HostIP (Go's net.IP.String: RFC 5952, lower-case
    hex, the longest zero run as ``::``), so the read-back ``ports`` (ForceNew) equals what was declared."""
    address = ipaddress.ip_address(bind_address)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise ConfigError(
            "bindAddress",
            f"'{bind_address}' is an IPv4-mapped IPv6 address, which Docker reports back as {address.ipv4_mapped} "
            "(the container would be replaced on every run)",
            f"Write the IPv4 address {address.ipv4_mapped} itself.",
        )
    return address.compressed
