// A UDP destination from its text form, for the addons that sendto themselves (srtp_out.cc's conference
// server send, rtp_gen.cc's load generator).
#pragma once

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

namespace udp_address {

/** `text` (IPv4 or IPv6) and `port` as a sockaddr: false when `text` is neither. */
inline bool toSockaddr(const char* text, uint32_t port, sockaddr_storage* out, socklen_t* length) {
  memset(out, 0, sizeof *out);
  auto* in = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    *length = sizeof(sockaddr_in);
    return true;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    *length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

}  // namespace udp_address
